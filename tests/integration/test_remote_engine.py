"""The lab on an engine it reaches over TCP, as it would a remote one (issue 13): ``DOCKER_HOST`` points at
a loopback relay to the same engine, so nothing tells the lab the engine is local: no host-side capture
(adverts come from inside a container), and every node's clocks are measured against this host's.

Expected before the run: the engine is in fact on this host, so the true offsets are zero and every
measured one must lie within its own uncertainty; the two-node and keepalived-fault tests pass as they
do on the local socket."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _relay import Relay

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_two_node_and_fault_tests_pass_through_a_tcp_engine(tmp_path, lab_docker):
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip("the relay stands in front of a local engine socket")
    relay = Relay.tcp(host.removeprefix("unix://"))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short",
                            "tests/integration/test_two_node.py", "tests/integration/test_faults_keepalived.py",
                            f"--lab-report={tmp_path / 'reports'}"], cwd=ROOT, capture_output=True, text=True,
                           timeout=1200, env={**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{relay.port}"})
    finally:
        relay.close()
    out = r.stdout + r.stderr
    # the failure itself (its assertion and the lines under E) before the tail: a long history tail would push
    # it out of a plain tail of the output
    failures = out.partition("= FAILURES =")[2]
    assert r.returncode == 0, (failures[:5000] + "\n[...]\n" if failures else "") + out[-3000:]
    histories = list((tmp_path / "reports").rglob("history.jsonl"))
    assert histories
    seen_paths = set()
    for h in histories:
        lines = [json.loads(l) for l in h.read_text().splitlines()]
        meta = lines[0]["data"]
        offsets = meta.get("clock_offsets") or {}
        nodes = [n for n, s in meta["topology"]["nodes"].items() if s.get("kind", "keepalived") == "keepalived"]
        assert set(offsets) == set(nodes), f"{h.parent.name}: clocks measured for {sorted(offsets)}, nodes {nodes}"
        for n, o in offsets.items():
            assert abs(o["mono"]) <= o["uncertainty"] and abs(o["wall"]) <= o["uncertainty"] + 0.001, (h.parent.name, n, o)
        paths = {e["data"].get("path") for e in lines if e["kind"] == "advert"}
        assert paths <= {"container"}, f"{h.parent.name}: adverts via {paths} (no host capture for a remote engine)"
        seen_paths |= paths
    assert seen_paths == {"container"}, f"no adverts recorded in {len(histories)} labs"
