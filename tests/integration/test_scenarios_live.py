"""Scenario files live (issue 16): `kalab record` of a `kalab up` + `kalab fault` + `kalab heal` sequence
writes a file that `kalab run` replays with the verdict the recorded run got; a scenario whose
expectation the rules do not give fails as a pytest item naming its line.

Expected values from the rules: two_node (a 150, b 100, preempt): a SIGKILLed a hands over to b after b's
master down interval, 3 + (256 - 100)/256 = 3.609 s (RFC 3768 §6.1, §6.4.2); a started again preempts
(man 5 keepalived.conf, preempt is the default)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MDI_B = 3 + (256 - 100) / 256
MDI_A = 3 + (256 - 150) / 256
MARGIN = 1.0
STARTUP = 15.0


def kalab(*args, check=True, timeout=180, cwd=ROOT):
    r = subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, "COLUMNS": "200"})
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def watch_until(lab_id: str, text: str, timeout: float) -> None:
    """`kalab watch` until a line contains ``text`` (event driven: the watch prints transitions as they come)."""
    p = subprocess.Popen([sys.executable, "-m", "lab.cli", "watch", "--lab", lab_id], cwd=ROOT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    import threading
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    seen = []
    try:
        for line in p.stdout:
            seen.append(line)
            if text in line:
                return
        raise AssertionError(f"`kalab watch` did not show {text!r} within {timeout:.1f} s:\n{''.join(seen)}")
    finally:
        timer.cancel()
        p.kill()
        p.communicate()


@pytest.fixture
def up_lab(lab_docker):
    r = kalab("up", "two_node")
    lab_id = re.search(r"lab (\w+) is up", r.stdout).group(1)
    yield lab_id
    kalab("down", "--lab", lab_id, check=False)


def test_a_recorded_incident_replays_with_the_same_verdict(up_lab, tmp_path):
    kalab("fault", "a", "kill", "--lab", up_lab)
    watch_until(up_lab, "b: VI_1 -> MASTER", MDI_B + 2 * MARGIN)
    kalab("heal", "kill-a", "--lab", up_lab)
    watch_until(up_lab, "a: VI_1 -> MASTER", STARTUP + MDI_A + MARGIN)
    kalab("fault", "b", "drop-vrrp", "direction=in", "--lab", up_lab)
    kalab("heal", "--all", "--lab", up_lab)
    out = tmp_path / "incident.scenario.yaml"
    kalab("record", "--lab", up_lab, "--out", str(out))
    kalab("report", "--out", str(tmp_path / "original"), "--lab", up_lab)
    original = kalab("judge", str(tmp_path / "original" / "history.jsonl"), check=False)
    assert original.returncode == 0, original.stdout          # the recorded run holds

    text = out.read_text()
    from lab.scenario import load
    sc = load(out, [ROOT / "topologies"])
    assert sc.topology_ref == "two_node"
    steps = [(s.action, s.text) for s in sc.steps if s.action != "wait"]
    assert steps[:4] == [("expect", "expect {master: {VI_1: a}}"), ("fault", "kill a"),
                         ("expect", "expect {master: {VI_1: b}}"), ("heal", "heal kill-a")], text
    assert ("fault", "drop-vrrp b direction=in") in steps and ("heal", "heal drop-vrrp-b") in steps, text
    assert sc.steps[-1].action == "expect" and sc.steps[-1].expect.judge, text
    assert sc.steps[-1].expect.master == {"VI_1": frozenset({"a"})}, text

    replay = kalab("run", str(out), "--report", str(tmp_path / "replay"), check=False, timeout=300)
    assert replay.returncode == original.returncode == 0, replay.stdout + replay.stderr
    assert "verdict: holds" in replay.stdout
    expects = sum(1 for s in sc.steps if s.action == "expect")
    assert replay.stdout.count("[holds]") == expects + 3, replay.stdout     # each expect, and the three final checks


def test_an_expectation_the_rules_do_not_give_fails_naming_its_line(lab_docker, tmp_path):
    (tmp_path / "wrong.scenario.yaml").write_text(
        "name: wrong\nsource: this test\ndocumented: a (150) is MASTER after start-up\n"
        f"topology: {ROOT / 'topologies' / 'two_node.yaml'}\n"
        "steps:\n"
        "  - expect: {master: b}\n"                 # line 6: the rules give a (150 > 100)
        "  - expect: {master: a, judge: holds}\n")
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "wrong.scenario.yaml"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "wrong.scenario.yaml:6: expect {master: b}: violated: MASTER of VI_1: expected b, observed a" in out
    assert "1 failed" in out
