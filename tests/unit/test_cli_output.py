"""`--format json` documents validate against their schema (lab/cli_output.py) (pure: predict and faults)."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lab.cli import app
from lab.cli_output import Faults, Predict
import lab.nemesis as nemesis


def run(*args):
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


def test_predict_json_follows_its_schema_and_the_model():
    doc = Predict.model_validate_json(run("predict", "two_node", "kill:a", "--format", "json"))
    assert json.loads(run("predict", "two_node", "--format", "json"))["schema"] == "kalab.predict/1"
    kill = next(r for r in doc.rows if r.event == "kill:a")
    # RFC 3768 §6.4.2: b (100) takes over within its master down interval 3 + 156/256 s after a is killed
    assert kill.options == [["b"]] and abs(kill.latest_s - (3 + 156 / 256)) < 1e-3
    assert "MDI" in kill.rules and "MDI" in doc.rules


def test_faults_json_lists_every_registered_kind():
    doc = Faults.model_validate_json(run("faults", "--format", "json"))
    assert {f.kind for f in doc.faults} == set(nemesis.kinds()) and all(f.summary for f in doc.faults)


def test_an_unknown_format_is_one_clear_error():
    r = CliRunner().invoke(app, ["faults", "--format", "yaml"])
    assert r.exit_code != 0 and "use text or json" in str(r.exception or r.output)


def test_kalab_render_shows_what_the_lab_runs_and_plain_what_you_would_deploy():
    shown = run("render", "model_track", "a")
    assert 'script "/usr/local/sbin/kalab-check chk test ! -e /run/kalab/fail-chk"' in shown
    assert "run through /usr/local/sbin/kalab-check NAME" in shown           # the header says why
    plain = run("render", "model_track", "a", "--plain")
    assert 'script "test ! -e /run/kalab/fail-chk"' in plain and "kalab-check" not in plain


def test_version_and_a_heal_without_a_target_say_what_to_do():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("kalab (keepalived-lab) ")
    r = CliRunner().invoke(app, ["heal"])             # no NAME, no --all: never "heal everything" by default
    assert r.exit_code != 0 and "or heal every fault of the lab with --all" in str(r.exception)


def test_predict_takes_a_track_file_value_and_faults_show_optional_parameters():
    doc = Predict.model_validate_json(run("predict", "track_file", "file:a:flag:6", "--format", "json"))
    row = next(r for r in doc.rows if r.event == "file:a:flag:6")
    assert row.options == [["b"]] and row.effective_priorities["a"] == 90 and "TRACK_FILE" in row.rules   # 150 - 60
    assert "[peer=NODE]" in run("faults")                       # rich markup does not eat [optional=...]


def test_judge_json_names_its_schema(tmp_path):
    import json as _json
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from two_node_history import END, START, hist
    h = hist(*START, END, with_topology=True)
    p = tmp_path / "h.jsonl"
    h.to_jsonl(p)
    r = CliRunner().invoke(app, ["judge", str(p), "--format", "json"])
    assert _json.loads(r.stdout)["schema"] == "kalab.judge/1"


PAIR = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"


def test_predict_and_lint_take_keepalived_conf_files_as_kalab_check_does(tmp_path):
    # the priorities per node come from the files' @lb1/@lb2 lines (a newcomer's predict said "not a mapping")
    p = Predict.model_validate_json(run("predict", str(PAIR / "lb1.conf"), str(PAIR / "lb2.conf"), "kill:lb1",
                                        "--format", "json"))
    web = [r for r in p.rows if r.instance == "VI_WEB"]
    assert web[1].effective_priorities == {"lb1": 150, "lb2": 100} and web[-1].options == [["lb2"]]
    # one file, two config ids: two members, each named FILE@ID (keepalived -t is not run here: no Docker)
    one = tmp_path / "keepalived.conf"
    one.write_text("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n@lb1 priority 150\n@lb2 priority 100\n"
                   " virtual_ipaddress {\n  10.1.2.100/24\n }\n}\n")
    r = CliRunner().invoke(app, ["lint", f"{one}@lb1", f"{one}@lb2", "--no-keepalived", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [f["file"] for f in json.loads(r.output)["files"]] == [f"{one}@lb1", f"{one}@lb2"]
