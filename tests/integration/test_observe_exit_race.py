"""An observation that meets a node which stopped after the lab last looked (CI, stop 23).

``vip_holders`` asks every running node for its addresses. A node that exits between that question and
its ``ip addr`` exec (SIGTERM to keepalived, PID 1: the container ends a moment after its priority-0
advert) made the engine answer 409 "is not running", and the whole observation raised. A stopped
container has no network namespace left, so it holds no address: the observation goes on without it and
records that it was not running. A running node whose ``ip addr`` fails is still an error (cannot judge),
never "holds nothing"."""
import pytest
from docker.errors import DockerException

from lab.errors import NodeNotRunning

pytestmark = pytest.mark.topology("two_node")


def test_a_node_that_exits_before_its_exec_holds_nothing_and_is_named(lab, monkeypatch):
    assert lab.wait_for_master("VI_1").name == "a"
    a = lab.node("a")
    a.stop()
    with pytest.raises(NodeNotRunning, match=r"\ba\b.*exited") as refused:
        a.exec(["true"])
    # still the engine's kind of error for code that catches that (the journal writer tries the next node)
    assert isinstance(refused.value, DockerException)
    with pytest.raises(NodeNotRunning):
        a.ipv4_addresses()
    assert not a.holds(lab.vip("VI_1"))
    assert lab.wait_for_master("VI_1").name == "b"
    # the race itself: the lab's first look at a (vip_holders' own) saw it running, it exited after
    real, looks = a.status, []
    monkeypatch.setattr(a, "status", lambda: looks.append(1) or ("running" if len(looks) == 1 else real()))
    assert lab.vip_holders("VI_1") == ["b"]
    ev = lab.history.events("vip", instance="VI_1")[-1]
    assert ev["not_running"] == ["a"], ev.data
    assert len(looks) >= 2, "a was not asked after the stale look: the race was not exercised"


def test_a_paused_node_cannot_be_asked_and_says_so(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    b = lab.node("b")
    b.pause()
    try:
        with pytest.raises(NodeNotRunning, match=r"\bb\b.*paused"):
            b.exec(["true"])
    finally:
        b.unpause()
    assert b.exec(["true"]).ok
