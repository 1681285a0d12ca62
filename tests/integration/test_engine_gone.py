"""The engine stops answering in the middle of a lab test (issue 18): the run says so in one line per
test, prints no traceback (there were 1,426 lines of urllib3 ConnectionError), and what it left on
the engine is reaped by the next start.

The "engine" the inner run talks to is a socket proxy in front of the real one (DOCKER_HOST); closing
the proxy is the engine going away for that run, while the real engine keeps serving this one."""
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from lab.runtime import labels as L
from lab.runtime.cleanup import reap_orphans, remove_lab

from _relay import Relay

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


INNER = textwrap.dedent('''
    import pytest

    @pytest.mark.topology("two_node")
    def test_engine_goes_away(lab):
        lab.wait_for_master("VI_1")
        print("LAB-ID", lab.id, flush=True)
        while True:                          # until the engine stops answering
            lab.node("a").exec("true")
''')


def test_engine_gone_mid_test_one_line_no_traceback_then_reaped(tmp_path, lab_docker):
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip("the relay stands in front of a local engine socket")
    sock = tmp_path / "engine.sock"
    proxy = Relay.unix(str(sock), host.removeprefix("unix://"))
    (tmp_path / "test_gone.py").write_text(INNER)
    p = subprocess.Popen([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "test_gone.py",
                          f"--lab-topologies={ROOT / 'topologies'}"], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env={**os.environ, "DOCKER_HOST": f"unix://{sock}"})
    lab_id = None
    seen = []
    try:
        timer = threading.Timer(180, p.kill)
        timer.start()
        for line in p.stdout:
            seen.append(line)
            if line.startswith("LAB-ID") or " LAB-ID " in line:
                lab_id = line.split("LAB-ID", 1)[1].split()[0]
                break
        timer.cancel()
        assert lab_id, "".join(seen)
        proxy.close()                           # the engine goes away for the inner run
        rest, _ = p.communicate(timeout=180)
        out = "".join(seen) + rest
        assert p.returncode == 1, out
        assert "Traceback" not in out and "urllib3" not in out, out
        assert "the Docker engine (unix://" in out and "stopped answering" in out, out
        assert len(out.splitlines()) < 120, f"{len(out.splitlines())} lines:\n{out[-4000:]}"
        # the inner run is gone and its lab is still on the (real) engine: the next start reaps it
        assert lab_id in reap_orphans(lab_docker)
        assert not lab_docker.containers.list(all=True, filters={"label": f"{L.LAB}={lab_id}"})
    finally:
        proxy.close()
        if p.poll() is None:
            p.kill()
            p.wait()
        if lab_id:
            remove_lab(lab_docker, lab_id)
