"""``kalab judge HISTORY.jsonl``: a recorded history judged offline, no Docker; exit 0 holds, 1 violated,
2 cannot judge. The history carries its topology in its meta record (self-contained)."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lab.cli import app
from lab.history import History
from lab.topology import load

TOPO = load(Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml")
MDI_A, MDI_B = 3 + 106 / 256, 3 + 156 / 256


def write(tmp_path, *rows, topology=True) -> Path:
    h = History()
    for t, kind, data in rows:
        h.append(kind, t=t, **data)
    h.t0 = 0.0
    if topology:
        h.meta["topology"] = json.loads(TOPO.model_dump_json(exclude_none=True))
    p = tmp_path / "history.jsonl"
    h.to_jsonl(p)
    return p


def st(t, node, state, prio):
    return (t, "state", dict(node=node, instance="VI_1", state=state, priority=prio))


def nd(t, node, action):
    return (t, "node", dict(node=node, action=action))


START = [nd(0.0, "a", "start"), nd(0.1, "b", "start"), nd(0.3, "a", "ready"), nd(0.4, "b", "ready"),
         st(0.4, "a", "BACKUP", 150), st(0.5, "b", "BACKUP", 100), st(0.3 + MDI_A, "a", "MASTER", 150)]
END = (30.0, "note", dict(text="end"))


def test_holds_exits_0_and_prints_each_judgement_with_its_rule(tmp_path):
    p = write(tmp_path, *START, nd(10.0, "a", "kill"), st(10.0 + MDI_B - 0.3, "b", "MASTER", 100), END)
    r = CliRunner().invoke(app, ["judge", str(p)])
    assert r.exit_code == 0, r.output
    assert "verdict: holds" in r.output and "RFC 3768" in r.output


def test_violated_exits_1_and_json_names_the_problem(tmp_path):
    p = write(tmp_path, *START, st(12.0, "b", "MASTER", 100), END)       # a split brain with no cause
    r = CliRunner().invoke(app, ["judge", str(p), "--format", "json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    assert out["verdict"] == "violated" and any("b" in j["problem"] for j in out["judgements"] if j["problem"])


def test_cannot_judge_exits_2(tmp_path):
    p = write(tmp_path, *START, (10.0, "fault", dict(name="x", action="apply", target="a")), END)
    r = CliRunner().invoke(app, ["judge", str(p)])
    assert r.exit_code == 2, r.output
    assert "no model meaning" in r.output


def test_a_history_without_a_topology_asks_for_one(tmp_path):
    p = write(tmp_path, *START, END, topology=False)
    r = CliRunner().invoke(app, ["judge", str(p)])
    assert r.exit_code == 3 and "--topology" in (r.output + str(r.exception))
    r = CliRunner().invoke(app, ["judge", str(p), "--topology", "two_node"])
    assert r.exit_code == 0, r.output


def test_unreadable_input_exits_3_with_one_line_not_1(tmp_path):
    bad = tmp_path / "junk.jsonl"
    for content in (b"\x00\xff\xfe junk", b'{"t": 1, "kind": "node", "data": {"node": "a", "action": "signal"}}\n',
                    b'{"t": 0, "kind": "meta", "data": {"t0": 0, "topology": {"name": 5}}}\n'):
        bad.write_bytes(content)
        r = CliRunner().invoke(app, ["judge", str(bad)])
        assert r.exit_code == 3, (content, r.output, r.exception)
        assert "Traceback" not in r.output
    r = CliRunner().invoke(app, ["judge", str(tmp_path / "missing.jsonl")])
    assert r.exit_code == 3
