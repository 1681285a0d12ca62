"""A lab is removed only by its owner or when its owner is provably gone (issue 18).

Two processes with the same host name in different PID namespaces (CI jobs in containers with host
networking) share one engine: neither may reap the other's live lab. An owner inside a container of
this engine is gone when its container is. The rules: lab/runtime/owner.py."""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.runtime import labels as L
from lab.runtime.cleanup import lab_ids, reap_orphans, remove_lab
from lab.runtime.owner import CONTAINER, START, Owner, me, own_container_id

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def make_lab(docker, lab_id: str, owner: Owner) -> None:
    """The cheapest labelled object of a lab: a volume carrying the lab's labels (lab_ids sees it)."""
    docker.volumes.create(f"kalab-{lab_id}-shared", labels=L.lab_labels(lab_id, "ownership", owner))


# the other namespace: make a lab of its own, reap what it thinks is orphaned, report, wait for stdin
INNER = textwrap.dedent("""
    import json, sys
    from lab.runtime import labels as L
    from lab.runtime.cleanup import reap_orphans
    from lab.runtime.engine import ensure_engine
    from lab.runtime.owner import me
    d = ensure_engine(install=False)
    inner_id = sys.argv[1]
    d.volumes.create(f"kalab-{inner_id}-shared", labels=L.lab_labels(inner_id, "ownership", me()))
    print(json.dumps({"me": me().labels(), "reaped": reap_orphans(d)}), flush=True)
    sys.stdin.readline()
""")


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) (util-linux) to make a PID namespace")
def test_two_pid_namespaces_never_reap_each_others_live_labs(lab_docker):
    outer_id, inner_id = "own0out", "own0inn"
    make_lab(lab_docker, outer_id, me())
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", INNER, inner_id],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = p.stdout.readline()
        assert line, p.stderr.read()
        inner = json.loads(line)
        inner_owner = Owner.from_labels(inner["me"])
        assert inner_owner.pidns != me().pidns and inner_owner.host == me().host, "same host name, another namespace"
        # the inner process cannot see this process's PID: hostname:pid alone would call it dead
        assert outer_id not in inner["reaped"], "a run in another PID namespace reaped this process's live lab"
        assert outer_id in lab_ids(lab_docker)
        assert inner_id not in reap_orphans(lab_docker), "this process reaped the other namespace's live lab"
        assert inner_id in lab_ids(lab_docker)
        p.stdin.write("\n")
        p.stdin.flush()
        p.wait(timeout=30)
        # gone now, but nothing here can prove it (its namespace is not ours): never reaped, only removed by hand
        assert inner_id not in reap_orphans(lab_docker)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        remove_lab(lab_docker, outer_id)
        remove_lab(lab_docker, inner_id)


def test_a_reused_pid_does_not_keep_an_orphan_alive(lab_docker):
    # the recorded PID is alive (this very process) but the start time says another process owned it
    o = me()
    make_lab(lab_docker, "own1pid", Owner(o.host, o.pid, o.pidns, o.boot, str(int(o.start) - 1)))
    try:
        assert "own1pid" in reap_orphans(lab_docker)
        assert "own1pid" not in lab_ids(lab_docker)
    finally:
        remove_lab(lab_docker, "own1pid")


def test_an_owner_in_a_container_of_this_engine_is_gone_with_its_container(lab_docker):
    from lab.runtime.images import ensure_node_image
    image = ensure_node_image(lab_docker)
    c = lab_docker.containers.run(image, entrypoint=["sleep", "infinity"], detach=True, network_mode="none",
                                  labels={"io.kalab.test": "owner-container"})
    try:
        # the owner's process identity is from another namespace: only its container can tell
        owner = Owner(me().host, 4242, "pid:[1]", me().boot, "99", c.id)
        assert owner.labels()[CONTAINER] == c.id and owner.labels()[START] == "99"
        make_lab(lab_docker, "own2ctr", owner)
        assert "own2ctr" not in reap_orphans(lab_docker), "the owner's container runs: the lab may be alive"
        c.kill()
        assert "own2ctr" in reap_orphans(lab_docker), "the owner's container stopped: every process in it ended"
        # and a process inside a container finds that container's id the way me() does
        probe = lab_docker.containers.run(image, entrypoint=["cat", "/proc/self/mountinfo"], detach=True,
                                          network_mode="none", labels={"io.kalab.test": "owner-container"})
        try:
            probe.wait(timeout=30)
            assert own_container_id(probe.logs().decode()) == probe.id
        finally:
            probe.remove(force=True)
    finally:
        c.remove(force=True)
        remove_lab(lab_docker, "own2ctr")


def test_only_a_container_the_engine_knows_is_recorded():
    # another engine's container id (or none) proves nothing here, so it is left out
    assert me(lambda cid: False).container == ""
    assert me(lambda cid: True).container == own_container_id()
