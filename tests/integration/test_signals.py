"""Ended by a signal at any moment, the lab leaves nothing behind (issue 18).

* pytest ended by SIGTERM (a CI timeout or cancel), SIGHUP (a closed terminal) or Ctrl-C, once or
  twice: the labs are torn down, the run exits "interrupted" (2), no traceback, no false leak report.
* ``kalab up`` SIGKILLed at each phase of its start (networks made, containers made, containers
  started): what it left is reaped by the next start; once up, the lab is kept and no reaper touches
  it. SIGHUP while it waits for the election: it removes its own lab.

The phases are taken from the engine's own events for the process's labels, not from timing."""
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lab.runtime import labels as L
from lab.runtime.cleanup import lab_ids, reap_orphans, remove_lab

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def objects(docker, lab_id):
    f = {"label": f"{L.LAB}={lab_id}"}
    return (len(docker.containers.list(all=True, filters=f)) + len(docker.networks.list(filters=f))
            + len(docker.volumes.list(filters=f)))


def default_signals():
    """preexec_fn: the child gets the default handlers even when this run ignores some (a background job)."""
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL if s != signal.SIGINT else signal.default_int_handler)


def read_until(p, pattern, timeout, seen):
    """Lines of ``p``'s merged output until one matches ``pattern`` (or fail after ``timeout`` s)."""
    rx = re.compile(pattern)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        for line in p.stdout:
            seen.append(line)
            m = rx.search(line)
            if m:
                return m
    finally:
        timer.cancel()
    pytest.fail(f"no line matching {pattern!r} within {timeout} s:\n{''.join(seen)[-3000:]}")


BLOCKED = textwrap.dedent('''
    import signal
    import pytest

    @pytest.mark.topology("two_node")
    def test_blocks(lab):
        print("LAB-ID", lab.id, flush=True)
        signal.pause()
''')


@pytest.mark.parametrize("signals", [["SIGTERM"], ["SIGHUP"], ["SIGINT"], ["SIGINT", "SIGINT"], ["SIGTERM", "SIGTERM"]],
                         ids=lambda s: "+".join(s))
def test_pytest_ended_by_a_signal_removes_its_labs(tmp_path, lab_docker, signals):
    (tmp_path / "test_blocked.py").write_text(BLOCKED)
    p = subprocess.Popen([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "test_blocked.py",
                          f"--lab-topologies={ROOT / 'topologies'}"], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
    seen: list[str] = []
    lab_id = None
    try:
        lab_id = read_until(p, r"LAB-ID (\w+)", 120, seen).group(1)
        assert objects(lab_docker, lab_id) > 0
        first = signals[0]
        p.send_signal(getattr(signal, first))
        if len(signals) > 1:       # the second arrives once the first is being handled (the teardown)
            read_until(p, r"keepalived-lab: \w+: stopping the run", 30, seen)
            p.send_signal(getattr(signal, signals[1]))
        rest, _ = p.communicate(timeout=120)
        out = "".join(seen) + rest
        assert p.returncode == pytest.ExitCode.INTERRUPTED, out
        assert objects(lab_docker, lab_id) == 0, f"lab {lab_id} leaked after {signals}:\n{out[-3000:]}"
        assert "Traceback" not in out, out
        assert "left containers or networks behind" not in out, "a false leak report: " + out
        if len(signals) > 1:
            assert "again; still removing the labs" in out, out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if lab_id:
            remove_lab(lab_docker, lab_id)


class Events:
    """The engine's network and container events of one process's labs, from before it started."""

    def __init__(self, docker):
        self.docker = docker
        self.since = int(time.time()) - 1
        self.stream = docker.events(decode=True, since=self.since, filters={"type": ["network", "container"]})

    def wait(self, owner: str, what: set, timeout: float) -> dict[str, str]:
        """Wait for every (type, action) in ``what`` from ``owner``'s labels; returns the lab id."""
        timer = threading.Timer(timeout, self.stream.close)
        timer.start()
        lab = None
        try:
            for ev in self.stream:
                attrs = ev.get("Actor", {}).get("Attributes", {})
                if ev.get("Type") == "network" and attrs.get("name", "").startswith("kalab-"):
                    try:                  # network events carry no labels: read them from the network
                        attrs = self.docker.api.inspect_network(ev["Actor"]["ID"])["Labels"] or {}
                    except Exception:
                        continue
                if attrs.get(L.OWNER) != owner:
                    continue
                lab = attrs.get(L.LAB, lab)
                what.discard((ev.get("Type"), ev.get("Action")))
                if not what:
                    return lab
        finally:
            timer.cancel()
        pytest.fail(f"the engine did not report {what} for {owner} within {timeout} s")

    def close(self):
        self.stream.close()


def kalab_up(*args):
    return subprocess.Popen([sys.executable, "-m", "lab.cli", "up", "two_node", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)


# what each phase has done when the engine reports it: a network made, a container made, one started
PHASES = {"networks made": {("network", "create")},
          "containers made": {("container", "create")},
          "a container started": {("container", "start")}}


def test_kalab_up_killed_at_any_phase_leaves_nothing_after_the_next_start(lab_docker):
    host = socket.gethostname()
    left: list[str] = []           # labs of killed runs, each must be gone after the next start
    made: list[str] = []
    pids: list[int] = []
    try:
        for phase, what in [*PHASES.items(), ("up", None)]:
            ev = Events(lab_docker)
            p = kalab_up("-q")
            pids.append(p.pid)
            try:
                lab_id = ev.wait(f"{host}:{p.pid}", {("network", "create")}, 120)
                made.append(lab_id)
                # the new start reaps before it makes its networks: every earlier orphan is gone now
                for old in left:
                    assert objects(lab_docker, old) == 0, f"after the next start, the lab of a run killed " \
                                                          f"'{phase}' is still there: {old}"
                if what is None:
                    out, _ = p.communicate(timeout=120)
                    assert p.returncode == 0 and out.strip().endswith(lab_id), out
                    break
                if what != {("network", "create")}:
                    if ("container", "start") in what:
                        what = {("container", "start")}
                    ev.wait(f"{host}:{p.pid}", set(what), 120)
                p.kill()
                p.wait(timeout=10)
                assert objects(lab_docker, lab_id) > 0, "SIGKILL leaves no chance to clean up"
                assert lab_ids(lab_docker)[lab_id].get(L.KEEP) == "0", "not kept before it is up"
                left.append(lab_id)
            finally:
                ev.close()
                if p.poll() is None:
                    p.kill()
                    p.wait()
        up = made[-1]
        assert lab_ids(lab_docker)[up][L.KEEP] == "1", "a lab that is up is kept"
        assert up not in reap_orphans(lab_docker), "kept: its owner is gone but no reaper removes it"
        r = subprocess.run([sys.executable, "-m", "lab.cli", "down", "--lab", up], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0 and objects(lab_docker, up) == 0, r.stdout + r.stderr
    finally:                       # whatever a failed test left: every lab of the runs it spawned
        owners = {f"{host}:{pid}" for pid in pids}
        for i, lb in lab_ids(lab_docker).items():
            if i in made or lb.get(L.OWNER) in owners:
                remove_lab(lab_docker, i)


def test_kalab_up_hung_up_while_waiting_removes_its_lab(lab_docker):
    host = socket.gethostname()
    ev = Events(lab_docker)
    p = kalab_up()
    lab_id = None
    owner = f"{host}:{p.pid}"
    try:
        lab_id = ev.wait(f"{host}:{p.pid}", {("network", "create")}, 120)
        ev.wait(f"{host}:{p.pid}", {("container", "start")}, 120)
        p.send_signal(signal.SIGHUP)
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 130, out
        assert "Traceback" not in out, out
        assert objects(lab_docker, lab_id) == 0, out
    finally:
        ev.close()
        if p.poll() is None:
            p.kill()
            p.wait()
        for i, lb in lab_ids(lab_docker).items():
            if lb.get(L.OWNER) == owner:
                remove_lab(lab_docker, i)


def test_a_killed_lint_leaves_its_container_only_until_the_next_lint(lab_docker, tmp_path):
    from lab.runtime.ktest import lint_image
    lint_image(lab_docker)                         # built before: the kill below lands in the lint itself
    conf = tmp_path / "k.conf"
    conf.write_text("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 5\n    priority 100\n"
                    "    virtual_ipaddress {\n        10.0.0.5\n    }\n}\n")
    host = socket.gethostname()
    ev = Events(lab_docker)
    p = subprocess.Popen([sys.executable, "-m", "lab.cli", "lint", str(conf)], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    owners = {f"{host}:{p.pid}"}
    try:
        lab_id = ev.wait(f"{host}:{p.pid}", {("container", "create")}, 120)
        p.kill()
        p.wait(timeout=10)
        if objects(lab_docker, lab_id) == 0:
            pytest.fail("the lint finished before the kill: nothing to reap was left")
        r = subprocess.run([sys.executable, "-m", "lab.cli", "lint", str(conf)], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert "Traceback" not in r.stdout + r.stderr
        assert objects(lab_docker, lab_id) == 0, "the next lint reaps the killed lint's container"
    finally:
        ev.close()
        if p.poll() is None:
            p.kill()
            p.wait()
        for i, lb in lab_ids(lab_docker).items():
            if lb.get(L.OWNER) in owners:
                remove_lab(lab_docker, i)
