"""Every node's first transition is in the history (issue 13: the lost first notify line).

Fifty labs, started five at a time: a busy client lost an exec's first output (docker-py reads the
upgraded connection behind a buffered reader, tests/integration/test_exec_complete.py), and stdout and
stderr pieces arrive in any order (tests/unit/test_follow.py). For each
node, the lines of its events log in the container and the state events the lab recorded must agree,
and every keepalived node's first state is BACKUP: both nodes of two_node are configured
``state BACKUP`` (man 5 keepalived.conf, vrrp_instance ``state``: the initial state)."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lab.lab import Lab
from lab.runtime.node_events import EVENTS_LOG, parse_fifo_line

pytestmark = pytest.mark.integration
TOPO = Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml"
LABS, AT_ONCE = 50, 5


def one_lab(i: int) -> list[str]:
    problems = []
    with Lab(TOPO, capture=False) as lab:
        lab.wait_for_master("VI_1")
        for node in lab.keepalived_nodes():
            in_node = [parse_fifo_line(l) for l in node.exec(["cat", EVENTS_LOG]).output.splitlines()]
            in_node = [(e["t"], e["state"]) for e in in_node if e and e["kind"] == "state"]
            recorded = [(e.t, e["state"]) for e in lab.history.events("state", node=node.name)]
            if recorded[:len(in_node)] != in_node:
                problems.append(f"lab {i} node {node.name}: events log {in_node}, recorded {recorded}")
            elif not recorded or recorded[0][1] != "BACKUP":
                problems.append(f"lab {i} node {node.name}: first recorded state {recorded[:1]}, not BACKUP")
        # and the record agrees with keepalived's own dump (lab.crosscheck: state, effective priority)
        problems += [f"lab {i}: {f.text()}" for f in lab.cross_check() if f.ok is False]
    return problems


def test_every_nodes_first_transition_is_recorded(lab_docker):
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        problems = [p for ps in pool.map(one_lab, range(LABS)) for p in ps]
    assert not problems, "\n".join(problems)


def test_every_run_of_a_restarted_node_is_recorded(lab_factory):
    """A node restarted again and again: each run's events-log lines are in the history, once each. Seen in
    CI: the follower of the stopped run was still finishing when the node started again, no follower was
    started for the new run, and a's MASTER after a restart never reached the record. Each restart of a
    (150, preempting) gives a new run that reports BACKUP (its initial state) and then MASTER."""
    lab = lab_factory(TOPO, capture=False)
    assert lab.wait_for_master("VI_1").name == "a"
    a = lab.node("a")
    for _ in range(4):
        t = a.restart(timeout=1)
        lab.wait_for_transition("VI_1", "MASTER", node="a", since=t, timeout=lab.convergence_deadline("VI_1"))
    in_node = [parse_fifo_line(l) for l in a.exec(["cat", EVENTS_LOG]).output.splitlines()]
    in_node = [(e["t"], e["state"]) for e in in_node if e and e["kind"] == "state"]
    recorded = [(e.t, e["state"]) for e in lab.history.events("state", node="a")]
    assert recorded == in_node, "the history and a's events log disagree"
    assert [s for _, s in in_node].count("BACKUP") >= 5 and [s for _, s in in_node].count("MASTER") == 5
