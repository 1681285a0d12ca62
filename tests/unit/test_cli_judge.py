"""``kalab judge HISTORY.jsonl``: a recorded history judged offline, no Docker; exit 0 holds, 1 violated,
2 cannot judge. The history carries its topology in its meta record (self-contained)."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lab.cli import app

from two_node_history import END, MDI_B, START, hist, nd, st  # noqa: E402


def write(tmp_path, *rows, topology=True) -> Path:
    p = tmp_path / "history.jsonl"
    hist(*rows, with_topology=topology).to_jsonl(p)
    return p


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
