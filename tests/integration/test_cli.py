"""`kalab` as a person uses it: up, status, fault, watch, logs, report, down — each in its own process.

The lab survives between commands (found through labels). Errors are one sentence, no traceback.
"""
import json
import re
import os
import signal
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

ROOT = Path(__file__).resolve().parents[2]
MDI_B = 3 + (256 - 100) / 256          # b's master down interval, RFC 3768 §6.1
MARGIN = 1.0


def default_sigint():
    """preexec_fn: Ctrl-C's default in `kalab watch` even when this run ignores SIGINT (background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kalab(*args, check=True, timeout=180):
    r = subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, "COLUMNS": "200"})
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    return r


@pytest.fixture
def cli_lab(lab_docker):
    r = kalab("up", "two_node")
    lab_id = re.search(r"lab (\w+) is up", r.stdout).group(1)
    yield lab_id
    kalab("down", "--lab", lab_id, check=False)


def test_up_status_fault_watch_report_down(cli_lab, tmp_path):
    lab_id = cli_lab
    st = kalab("status", "--lab", lab_id).stdout
    row_a = next(l for l in st.splitlines() if l.strip("│ ").startswith("a "))
    assert "MASTER" in row_a and "yes" in row_a
    from lab.cli_output import Labs, Status          # the scriptable forms validate against their schema
    doc = Status.model_validate_json(kalab("status", "--lab", lab_id, "--format", "json").stdout)
    assert doc.lab == lab_id and {(r.node, r.state, r.holds_vip) for r in doc.rows} >= {("a", "MASTER", True)}
    labs = Labs.model_validate_json(kalab("list", "--format", "json").stdout)
    assert lab_id in {x.lab for x in labs.labs}

    watch = subprocess.Popen([sys.executable, "-m", "lab.cli", "watch", "--lab", lab_id, "--adverts"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint)
    try:
        seen = []
        for line in watch.stdout:
            seen.append(line)
            if "watching; Ctrl-C to stop" in line:
                break
        # the fault while watching: its events are stamped when it took effect, after adverts the watch
        # already printed (a newcomer saw the live view leave the fault out)
        kalab("fault", "a", "kill", "--lab", lab_id)
        for line in watch.stdout:                 # the live view prints b's takeover when it happens
            seen.append(line)
            if "b: VI_1 -> MASTER" in line:
                break
        live = seen[next(i for i, l in enumerate(seen) if "watching" in l):]
        assert any("a: kill" in l for l in live) and any("fault kill-a apply" in l for l in live), "".join(live)
    finally:
        watch.send_signal(signal.SIGINT)
        rest = watch.communicate(timeout=30)[0]
    assert watch.returncode == 0 and "stopped watching" in rest and "Traceback" not in rest

    st = kalab("status", "--lab", lab_id).stdout
    row_b = next(l for l in st.splitlines() if l.strip("│ ").startswith("b "))
    assert "MASTER" in row_b and "yes" in row_b
    assert "Entering MASTER STATE" in kalab("logs", "b", "--lab", lab_id).stdout

    kalab("report", "--out", str(tmp_path), "--lab", lab_id)
    img = mpimg.imread(tmp_path / "timeline.png")
    assert img.shape[1] > 600
    assert "b MASTER +" in (tmp_path / "timeline.svg").read_text()
    hist = [json.loads(l) for l in (tmp_path / "history.jsonl").read_text().splitlines()]
    lines = [json.dumps(e, sort_keys=True) for e in hist if e["kind"] in ("node", "fault", "state")]
    assert len(lines) == len(set(lines)), "every record once (parallel node starts wrote the journal twice)"
    kill = next(e for e in hist if e["kind"] == "node" and e["data"]["action"] == "kill")
    # b's takeover after the kill (b may also have been MASTER briefly at the start, before a preempted)
    took = next(e for e in hist if e["kind"] == "state" and e["data"]["node"] == "b" and e["data"]["state"] == "MASTER"
                and e["t"] > kill["t"])
    assert 0 < took["t"] - kill["t"] <= MDI_B + MARGIN

    down = kalab("down", "--lab", lab_id).stdout
    # the record against keepalived's own dump before removal (lab.crosscheck): b runs (state, effective
    # priority, adverts sent through the sidecar), a was killed (not comparable)
    m = re.search(r"(\d+) compared, (\d+) mismatches, (\d+) not comparable", down)
    assert m and int(m.group(1)) >= 3 and m.group(2) == "0", down
    assert "a * dump: not cross-checked (the container is exited)" in down, "each figure not compared says why"
    r = kalab("status", "--lab", lab_id, check=False)
    assert r.returncode == 1 and "no lab" in r.stderr and not r.stdout.strip(), "errors on stderr only"


def test_errors_are_one_sentence():
    r = kalab("up", "no_such_topology", check=False)
    assert r.returncode == 1 and "no such topology" in r.stderr
    r = kalab("fault", "a", "kill", "--lab", "deadbeef", check=False)
    assert r.returncode == 1 and "no lab 'deadbeef'" in r.stderr


def test_shell_runs_in_the_node_and_prune_asks_first(cli_lab):
    r = kalab("shell", "a", "--lab", cli_lab, "--", "hostname")
    assert r.stdout.strip() == "a"
    r = subprocess.run([sys.executable, "-m", "lab.cli", "shell", "a", "--lab", cli_lab], input="ip -4 -o addr show eth0\n",
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert re.search(r"inet 10\.\d+\.\d+\.200/", r.stdout), "bash in the master node sees the VIP"
    r = subprocess.run([sys.executable, "-m", "lab.cli", "prune"], input="n\n", cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert cli_lab in r.stdout and "remove these" in r.stdout and r.returncode != 0, "lists, asks, and stops on no"
    assert kalab("status", "--lab", cli_lab).returncode == 0, "nothing was removed"


def test_shell_without_the_docker_client(cli_lab, tmp_path):
    # PATH with no `docker`: one command still runs (through the engine's API); a shell says what to install
    env = {**os.environ, "PATH": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "lab.cli", "shell", "a", "--lab", cli_lab, "--", "hostname"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env=env)
    assert (r.returncode, r.stdout.strip()) == (0, "a"), r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "lab.cli", "shell", "a", "--lab", cli_lab, "--", "false"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1, "the command's exit code"
    r = subprocess.run([sys.executable, "-m", "lab.cli", "shell", "a", "--lab", cli_lab], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1 and "docker command-line client" in r.stderr and "Traceback" not in r.stdout + r.stderr


def test_up_quiet_prints_only_the_lab_id(lab_docker):
    r = kalab("up", "two_node", "-q")
    try:
        assert re.fullmatch(r"\w+\n", r.stdout), r.stdout          # one line: the id, for `ID=$(kalab up -q ...)`
        lab_id = r.stdout.strip()
        assert lab_id in kalab("list").stdout
    finally:
        kalab("down", "--lab", r.stdout.strip(), check=False)


TAILS = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^tail ' || true"


def tails(lab_id):
    from lab.lab import Lab
    lab = Lab.attach(lab_id)
    return {n.name: int(n.exec(TAILS).output.strip() or 0) for n in lab.keepalived_nodes()}


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_watch_leaves_no_follower_in_the_nodes(cli_lab, how):
    import time
    assert tails(cli_lab) == {"a": 0, "b": 0}, "kalab up left followers running"
    watch = subprocess.Popen([sys.executable, "-m", "lab.cli", "watch", "--lab", cli_lab], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint)
    try:
        for line in watch.stdout:
            if "watching; Ctrl-C to stop" in line:
                break
        assert sum(tails(cli_lab).values()) >= 2, "the watch follows every node"
        watch.send_signal(getattr(signal, how))
        watch.communicate(timeout=30)
        deadline = time.monotonic() + 10     # the engine closes the exec's stdin when the watch's connection ends
        while (left := tails(cli_lab)) != {"a": 0, "b": 0}:
            assert time.monotonic() < deadline, f"`tail -F` still running in the nodes after the watch ended: {left}"
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()


def test_scriptable_forms_validate_against_their_schema(cli_lab, tmp_path):
    from lab.cli_output import Applied, Exec, Report, WatchEvent
    lab_id = cli_lab
    assert Applied.model_validate_json(kalab("faults", "--applied", "--lab", lab_id, "--format", "json").stdout).faults == []
    kalab("fault", "b", "drop-vrrp", "direction=in", "--lab", lab_id)
    doc = Applied.model_validate_json(kalab("faults", "--applied", "--lab", lab_id, "--format", "json").stdout)
    assert [(f.kind, f.node, f.params.get("direction")) for f in doc.faults] == [("drop-vrrp", "b", "in")]
    assert "drop-vrrp" in kalab("faults", "--applied", "--lab", lab_id).stdout
    kalab("heal", "--all", "--lab", lab_id)
    assert Applied.model_validate_json(kalab("faults", "--applied", "--lab", lab_id, "--format", "json").stdout).faults == []

    ex = Exec.model_validate_json(kalab("exec", "--lab", lab_id, "--format", "json", "--", "hostname").stdout)
    assert {(r.node, r.output.strip(), r.exit_code) for r in ex.rows} == {("a", "a", 0), ("b", "b", 0), ("client", "client", 0)}
    r = kalab("exec", "--lab", lab_id, "-n", "a", "--", "false", check=False)
    assert r.returncode == 1 and "a (exit 1)" in r.stdout

    rep = Report.model_validate_json(kalab("report", "--out", str(tmp_path), "--lab", lab_id, "--format", "json").stdout)
    assert {"history.jsonl", "timeline.png"} <= set(rep.files) and all(Path(p).exists() for p in rep.files.values())

    watch = subprocess.Popen([sys.executable, "-m", "lab.cli", "watch", "--lab", lab_id, "--format", "json"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        events = []
        for line in watch.stdout:                 # the history so far, one JSON object per line
            events.append(WatchEvent.model_validate_json(line))
            if events[-1].kind == "state" and events[-1].data.get("node") == "a" and events[-1].data.get("state") == "MASTER":
                break
        assert all(e.lab == lab_id for e in events) and events[-1].text.startswith("a: VI_1 -> MASTER")
    finally:
        watch.send_signal(signal.SIGINT)
        watch.communicate(timeout=30)
    assert "--install-completion" in kalab("--help").stdout


def test_a_kalab_up_lab_records_every_advert_from_the_first(cli_lab, tmp_path):
    # kalab up has exited: only the capture sidecar can have recorded these (issue 13)
    lab_id = cli_lab
    kalab("fault", "a", "kill", "--lab", lab_id)
    from lab.lab import Lab
    from lab.runtime.sidecar import ROLE
    watcher = Lab.attach(lab_id)
    watcher.follow_journal()
    for n in watcher.keepalived_nodes():
        n.follow_events()
    b_master = watcher.history.wait_for(
        lambda h: h.events("state", node="b", instance="VI_1", state="MASTER"), MDI_B + MARGIN + 5)
    t_b = b_master[0].t
    # b's first advert as MASTER is sent on the transition (RFC 3768 §6.4.2: "Send an ADVERTISEMENT");
    # it reaches the journal through the sidecar within moments
    watcher.history.wait_for(lambda h: [e for e in h.events("advert", since=t_b - 0.5) if e["src"] == str(watcher.node("b").addresses["eth0"])], 5)
    kalab("report", "--out", str(tmp_path), "--lab", lab_id)
    hist = [json.loads(l) for l in (tmp_path / "history.jsonl").read_text().splitlines()]
    adverts = [e for e in hist if e["kind"] == "advert"]
    srcs = {e["data"]["src"] for e in adverts}
    addr = {n: str(watcher.node(n).addresses["eth0"]) for n in ("a", "b")}
    assert {addr["a"], addr["b"]} <= srcs, f"adverts from both nodes in the report: {srcs}"
    assert all(e["data"]["path"] == "sidecar" for e in adverts)
    states = [e for e in hist if e["kind"] == "state" and e["data"]["state"] == "MASTER"]
    for st in states:                           # every master's first advert is there, at its transition
        src = addr[st["data"]["node"]]
        first = min((e["t"] for e in adverts if e["data"]["src"] == src and e["t"] >= st["t"] - 0.5), default=None)
        assert first is not None and first - st["t"] < 0.5, \
            f"{st['data']['node']} became MASTER at {st['t']:.3f}; its first advert after: {first}"
    sidecars = watcher.docker.containers.list(filters={"label": f"io.kalab.lab={lab_id}"})
    assert [c.labels.get("io.kalab.role") for c in sidecars].count(ROLE) == 1
