"""wait_for_master's notion of "settled" (pure part; issue 12 defect 5): a started keepalived node that
has not reported any state yet may still win, so the election is not settled while one exists."""
from pathlib import Path

from lab.history import History
from lab.topology import load
from lab.waits import WaitsMixin

TOPO = load(Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml")


class Waiting(WaitsMixin):
    def __init__(self):
        self.history, self.topology, self.nodes = History(), TOPO, {}


def test_a_started_node_that_has_not_reported_keeps_the_election_open():
    w = Waiting()
    h = w.history
    h.append("node", t=0.0, node="b", action="start")
    h.append("node", t=0.1, node="a", action="start")
    h.append("state", t=0.2, node="b", instance="VI_1", state="BACKUP", priority=100)
    h.append("state", t=3.8, node="b", instance="VI_1", state="MASTER", priority=100)
    assert w._settled_master(h, "VI_1") is None, "a (150) started and has not reported: it may still win"
    h.append("state", t=3.9, node="a", instance="VI_1", state="BACKUP", priority=150)
    assert w._settled_master(h, "VI_1") is None, "a (150) is a preempting BACKUP above the master"
    h.append("state", t=7.0, node="a", instance="VI_1", state="MASTER", priority=150)
    h.append("state", t=7.1, node="b", instance="VI_1", state="BACKUP", priority=100)
    assert w._settled_master(h, "VI_1") == "a"


def test_a_killed_node_does_not_keep_it_open():
    w = Waiting()
    h = w.history
    for t, n in ((0.0, "a"), (0.1, "b")):
        h.append("node", t=t, node=n, action="start")
    h.append("node", t=1.0, node="a", action="kill")
    h.append("state", t=4.0, node="b", instance="VI_1", state="MASTER", priority=100)
    assert w._settled_master(h, "VI_1") == "b"


def test_a_waits_clock_starts_at_the_latest_input_not_before_it():
    # CI: `since` was taken before a heal whose `rm` took 1.2 s on a loaded host; the deadline counted that
    # 1.2 s against keepalived and the wait ran out 0.01 s before the lawful MASTER report
    import time

    import pytest

    from lab.errors import LabTimeout

    class Recording(History):
        asked: list = []

        def wait_for(self, predicate, timeout, **kw):
            self.asked.append(timeout)
            return None

    w = Waiting()
    w.history = Recording()
    w.keepalived_nodes = lambda: []
    w.timeout_error = LabTimeout
    now = time.monotonic()
    since = now - 1.2
    w.history.append("fault", t=now, name="command-s1", action="heal", target="s1")
    w.history.append("node", t=now + 0.5, node="s1", action="exited")         # the node's own doing: no input
    with pytest.raises(LabTimeout):
        w.wait_for_transition("VI_1", "MASTER", node="a", since=since, timeout=5.0)
    (left,) = w.history.asked
    assert now + 5.0 - time.monotonic() - 0.05 <= left <= 5.0, f"deadline from the heal at +0 s, not since: {left}"
    w.history.asked.clear()
    with pytest.raises(LabTimeout):
        w.wait_for_transition("VI_1", "MASTER", node="a", since=since, timeout=5.0, clock_from=since)
    assert w.history.asked[0] <= 5.0 - 1.2 + 0.01, "an explicit clock_from still wins"
