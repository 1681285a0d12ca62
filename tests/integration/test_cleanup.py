"""Nothing leaks: every container and network a lab creates is removed on exit, on
Ctrl-C, and (after a crash) at the next lab start. Everything is found by label."""
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.lab import Lab
from lab.runtime import labels as L
from lab.runtime.cleanup import remove_lab

ROOT = Path(__file__).resolve().parents[2]
TOPO = ROOT / "topologies" / "two_node.yaml"

CHILD = textwrap.dedent(f"""
    import signal, sys
    from lab.lab import Lab
    with Lab({str(TOPO)!r}) as lab:
        print(lab.id, flush=True)
        signal.pause()
""")


def labelled(docker, lab_id):
    """(containers, networks + volumes) carrying the lab's label."""
    f = {"label": f"{L.LAB}={lab_id}"}
    return (len(docker.containers.list(all=True, filters=f)),
            len(docker.networks.list(filters=f)) + len(docker.volumes.list(filters=f)))


def default_sigint():
    """preexec_fn: Ctrl-C's default in the child even when this run ignores SIGINT (a shell's
    background job does), so Python in the child raises KeyboardInterrupt as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_child():
    p = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         preexec_fn=default_sigint)
    lab_id = p.stdout.readline().strip()        # blocks until the child's lab is up
    assert lab_id, p.stderr.read()
    return p, lab_id


def test_leaving_the_context_removes_containers_and_network(lab_docker):
    with Lab(TOPO) as lab:
        assert labelled(lab_docker, lab.id) == (3, 2)
    assert labelled(lab_docker, lab.id) == (0, 0)


def test_ctrl_c_removes_everything(lab_docker):
    p, lab_id = start_child()
    try:
        assert labelled(lab_docker, lab_id) == (3, 2)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)
        assert labelled(lab_docker, lab_id) == (0, 0)
    finally:                                    # a failed test must not leave the child or its lab behind
        if p.poll() is None:
            p.kill()
            p.wait()
        remove_lab(lab_docker, lab_id)


def test_leftovers_of_a_killed_run_are_reaped_by_the_next_start(lab_docker):
    p, lab_id = start_child()
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    assert labelled(lab_docker, lab_id) == (3, 2), "SIGKILL leaves no chance to clean up"
    with Lab(TOPO) as lab:
        assert lab.id != lab_id
        assert labelled(lab_docker, lab_id) == (0, 0)


def test_two_removers_of_one_lab_both_return_only_when_it_is_gone(lab_docker):
    """Two reapers racing on one orphan (two lab starts at once under xdist): the one that finds the
    containers already being removed waits for them instead of returning with the lab still there."""
    import docker as docker_py
    from concurrent.futures import ThreadPoolExecutor
    from lab.runtime.images import ensure_node_image
    image = ensure_node_image(lab_docker)
    for attempt in range(3):
        lab_id = f"race{attempt}x"
        labels = {L.LAB: lab_id}
        net = lab_docker.networks.create(f"kalab-{lab_id}-lan", labels=labels)
        try:
            for i in range(3):       # keepalived-like PID 1 that ignores SIGTERM: removal takes a moment
                lab_docker.containers.run(image, entrypoint=["sleep", "infinity"], detach=True, labels=labels,
                                          network=net.name, name=f"kalab-{lab_id}-n{i}")
            clients = [docker_py.from_env(), docker_py.from_env()]
            with ThreadPoolExecutor(2) as pool:
                left = list(pool.map(lambda c: (remove_lab(c, lab_id), labelled(c, lab_id))[1], clients))
            assert left == [(0, 0), (0, 0)], f"attempt {attempt}: a remover returned with the lab still there: {left}"
        finally:
            remove_lab(lab_docker, lab_id)
