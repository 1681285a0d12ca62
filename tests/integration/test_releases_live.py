"""keepalived releases in labs: each node runs the release its image names, a cluster may mix releases, and a
rolling upgrade is rehearsed one node at a time (lab.releases, lab.upgrade).

Expected values come from the rules, not from a run:
* man 5 keepalived.conf and RFC 3768 §6.4.3: the highest priority becomes MASTER whatever release each node
  runs (VRRP is the same protocol on the wire); preemption is on by default.
* RFC 3768 §6.1: a backup takes over a killed master within its master down interval
  (3 x advert_int + (256 - priority)/256 s); a gracefully stopped master sends priority 0 (§6.4.3), so the
  backup takes over after its skew time.
"""
import pytest

from lab.releases import RELEASES, release
from lab.timers import MARGIN, master_down_interval
from lab.upgrade import rehearse, upgrade_order

from seed.builders import pair

MDI_100 = master_down_interval(100, 1.0, 2)          # 3.609375 s
MDI_150 = master_down_interval(150, 1.0, 2)          # 3.4140625 s


@pytest.mark.every_release
@pytest.mark.topology("two_node")
def test_each_node_runs_the_keepalived_its_image_tag_names(lab, lab_keepalived):
    r = release(lab_keepalived)
    assert lab.wait_for_master("VI_1").name == "a"
    for n in lab.keepalived_nodes() + [lab.client.node]:
        tag = n.container.image.tags[0]
        assert tag.startswith(f"kalab/node:{r.version}-{r.suite}-"), tag
        assert n.running_version() == r.version
        assert n.features()["version"] == r.version
    assert lab.history.meta["releases"] == {"a": r.version, "b": r.version, "client": r.version}


@pytest.mark.parametrize("a_rel,b_rel", [("2.1.5", "2.3.4"), ("2.3.4", "2.1.5")], ids=["a2.1.5-b2.3.4", "a2.3.4-b2.1.5"])
def test_a_mixed_pair_elects_fails_over_and_preempts_as_the_model_says(lab_factory, a_rel, b_rel):
    # a (priority 150) and b (100) on different releases: VRRP on the wire is the same protocol, so the
    # rules of one release hold: a wins, b takes over a killed a within b's master down interval, a preempts
    # back within its own once it runs again
    topo = pair({"priority": 150}, {"priority": 100}, name="mixed_pair")
    topo.nodes["s1"].keepalived, topo.nodes["s2"].keepalived = a_rel, b_rel
    lab = lab_factory(topo)
    assert lab.node("s1").running_version() == a_rel and lab.node("s2").running_version() == b_rel
    assert lab.wait_for_master("VI_1").name == "s1"
    t_kill = lab.node("s1").kill()
    ev = lab.wait_for_transition("VI_1", "MASTER", since=t_kill, timeout=MDI_100 + MARGIN)
    assert ev["node"] == "s2"
    lab.check.assert_master_down_takeover("s2", "VI_1", since=t_kill)
    t_start = lab.node("s1").start()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="s1", since=t_start, timeout=MDI_150 + 5 + MARGIN)
    assert lab.vip_holders("VI_1") == ["s1"]
    assert lab.client.http_get_vip("VI_1") == "s1"
    lab.check.assert_matches_model()


@pytest.mark.topology("two_node")
def test_a_rolling_upgrade_of_two_node_is_judged_at_every_step_and_its_downtime_measured(lab_factory):
    lab = lab_factory("two_node", keepalived="2.2.7")
    assert lab.wait_for_master("VI_1").name == "a"
    assert upgrade_order(lab) == ["b", "a"], "the backup first, the MASTER last"
    result = rehearse(lab, "2.3.4")
    assert [(s.node, s.action, s.release) for s in result.steps] == [
        ("b", "stop", "2.2.7"), ("b", "start", "2.3.4"), ("a", "stop", "2.2.7"), ("a", "start", "2.3.4")]
    assert [s.verdict for s in result.steps] == ["holds"] * 4, [s.problem for s in result.steps]
    # who is MASTER after each step: a throughout, b while a is stopped, a again once it runs (preempt)
    assert [s.masters["VI_1"] for s in result.steps] == [["a"], ["a"], ["b"], ["a"]]
    assert result.versions == {"a": "2.3.4", "b": "2.3.4"}
    # one stop and one exit per node (newcomer trial: replacing an already stopped node recorded both again)
    assert [(e["node"], e["action"]) for e in lab.history.events("node") if e["action"] in ("stop", "exited")] == [
        ("b", "stop"), ("b", "exited"), ("a", "stop"), ("a", "exited")]
    assert result.verdict == "holds"
    (avail,) = result.availability.values()
    outs = avail.outages()
    # the VIP is out while a's stop hands it to b (a sends priority 0: b takes over after its skew time) and at
    # most briefly when a takes it back; never longer than b's master down interval
    assert 1 <= len(outs) <= 2, outs
    assert all(o.end is not None and o.length <= MDI_100 + MARGIN for o in outs), outs
    assert outs[0].before == "a" and outs[0].after == "b"
    assert {w for _, w in avail.answered_by()} <= {"a", "b", ""}
    assert 0 < result.downtime <= 2 * (MDI_100 + MARGIN)
    text = "\n".join(result.lines(lab.history.t0))
    assert "verdict: holds, total VIP downtime" in text and "every node runs keepalived 2.3.4" in text
