"""vrrp_sync_group in the election model and the judge (pure; issue 12: "vrrp_sync_group").

Expected values from man 5 keepalived.conf 2.2.7, VRRP synchronization group(s), written before running:
"transition of one instance will be reflected to others group members" (R_SYNC_FAULT: a member in FAULT
puts the group in FAULT); "tracking weights [of members' scripts/files are] automatically set to zero"; the
group's own trackers "update the status/priority of all VRRP instances which are members" (R_SYNC_WEIGHTS);
where the man page is silent, keepalived 2.2.7's source: a group goes MASTER only when every member wants
MASTER (R_SYNC_MASTER, vrrp_sync.c vrrp_sync_can_goto_master).
Topology: a (150) and b (100) run VI_1 on eth0 (lan) and VI_2 on eth1 (wan), both in group G.
"""
from __future__ import annotations

import pytest

from lab.election import ElectionModel, InterfaceChange, NodeUp, Reload, ScriptResult, specs_from_topology
from lab.election.inputs import TrackFileValue
from lab.election.rules import R_IFACE, R_SYNC_FAULT, R_SYNC_MASTER
from lab.judge import Verdict, judge
from lab.topology import validate

from two_node_history import END, MDI_A, MDI_B, hist, nd


def topo(group: dict | None = None, a1: dict | None = None, a2: dict | None = None, groups_on: str = "shared",
         scripts: dict | None = None, files: dict | None = None):
    vi = lambda itf, vrid, vip: {"state": "BACKUP", "interface": itf, "virtual_router_id": vrid,
                                 "virtual_ipaddress": [vip]}
    grp = {"G": {"group": ["VI_1", "VI_2"], **(group or {})}}
    data = {"name": "sg", "networks": {"lan": {}, "wan": {}},
            "vrrp_instances": {"VI_1": vi("eth0", 51, "lan+200/24"), "VI_2": vi("eth1", 52, "wan+200/24")},
            "vrrp_scripts": scripts or {"chk": {"script": "test ! -e /run/kalab/fail-chk", "interval": 1, "weight": -60}},
            **({"vrrp_track_files": files} if files else {}),
            "nodes": {
                "a": {"interfaces": {"eth0": {"network": "lan"}, "eth1": {"network": "wan"}},
                      "vrrp_instances": {"VI_1": {"priority": 150, **(a1 or {})}, "VI_2": {"priority": 150, **(a2 or {})}}},
                "b": {"interfaces": {"eth0": {"network": "lan"}, "eth1": {"network": "wan"}},
                      "vrrp_instances": {"VI_1": {"priority": 100}, "VI_2": {"priority": 100}}}}}
    if groups_on == "shared":
        data["vrrp_sync_groups"] = grp
    else:
        data["nodes"][groups_on]["vrrp_sync_groups"] = grp
    return validate(data)


def started(t):
    m = ElectionModel(specs_from_topology(t))
    m.apply(NodeUp("a"))
    out = m.apply(NodeUp("b"))
    assert [e.master for e in out] == ["a", "a"]
    return m


def test_one_member_in_fault_puts_the_whole_group_in_fault():
    m = started(topo())
    e1, e2 = m.apply(InterfaceChange("a", "eth1", up=False))        # VI_2's own interface
    assert e2.states["a"] == "FAULT" and R_IFACE in e2.rules
    assert e1.states["a"] == "FAULT" and R_SYNC_FAULT in e1.rules   # VI_1's eth0 is up: the group's FAULT
    assert e1.master == e2.master == "b"
    # VI_1's master sent priority 0 as it left (b wants VI_1 after its skew time), but VI_2's link is down (no
    # priority 0: b wants VI_2 only after its master down interval); b's group goes MASTER when both want it
    assert R_SYNC_MASTER in e1.rules and (e1.earliest, e1.latest) == (e2.earliest, e2.latest)
    assert e1.earliest == pytest.approx(MDI_B - 1.0) and e1.latest == pytest.approx(MDI_B)
    back = m.apply(InterfaceChange("a", "eth1", up=True))
    assert [e.master for e in back] == ["a", "a"]


def test_without_the_group_only_the_instance_on_the_link_moves():
    t = topo()
    t.vrrp_sync_groups.clear()
    m = started(t)
    e1, e2 = m.apply(InterfaceChange("a", "eth1", up=False))
    assert e1.master == "a" and e2.master == "b"


def test_a_members_weighted_script_is_beyond_the_model_docs_and_daemon_disagree():
    specs = specs_from_topology(topo(a1={"track_script": ["chk"]}))
    why = " ".join(specs["VI_1"]["a"].unmodelled)
    assert "weighted track_script chk" in why and "judges neither" in why


def test_a_members_unweighted_script_faults_the_group():
    m = started(topo(a1={"track_script": [{"chk": {"weight": 0}}]}))
    e1, e2 = m.apply(ScriptResult("a", "chk", ok=False))
    assert e1.states["a"] == e2.states["a"] == "FAULT" and e1.master == e2.master == "b"


def test_the_groups_own_weighted_script_moves_every_member():
    m = started(topo(group={"track_script": ["chk"]}))      # chk weight -60: 150 - 60 = 90 < 100
    e1, e2 = m.apply(ScriptResult("a", "chk", ok=False))
    assert e1.effective_priorities["a"] == e2.effective_priorities["a"] == 90
    assert e1.master == e2.master == "b"


def test_a_members_track_file_with_the_default_weight_faults_the_group():
    # R_SYNC_WEIGHTS: weight 1 (the default) becomes 0: a non-zero value is a failure -> FAULT
    m = started(topo(a2={"track_file": ["flag"]}, files={"flag": {"file": "/run/kalab/flag"}}))
    e1, e2 = m.apply(TrackFileValue("a", "flag", 3))
    assert e1.states["a"] == e2.states["a"] == "FAULT"


def test_a_members_track_file_with_another_weight_is_ignored():
    m = started(topo(a2={"track_file": ["flag"]}, files={"flag": {"file": "/run/kalab/flag", "weight": -50}}))
    e1, e2 = m.apply(TrackFileValue("a", "flag", 3))
    assert e1.master == e2.master == "a" and e2.effective_priorities["a"] == 150


@pytest.mark.parametrize("kw,says", [
    (dict(a2={"priority": 120}), "elect differently"),
    (dict(groups_on="a"), "run on different nodes"),
])
def test_a_group_whose_members_elect_differently_cannot_be_judged(kw, says):
    specs = specs_from_topology(topo(**kw))
    assert any(says in u for u in specs["VI_1"]["a"].unmodelled)


def test_a_member_with_state_master_starts_as_backup_without_preemption_settings():
    specs = specs_from_topology(topo(a1={"state": "MASTER", "nopreempt": True}, a2={"state": "MASTER", "nopreempt": True}))
    sp = specs["VI_1"]["a"]
    assert (sp.state, sp.nopreempt, sp.preempts) == ("BACKUP", False, True)
    assert specs["VI_1"]["a"].unmodelled == ()


def sg_hist(*rows):
    st2 = lambda t, node, inst, state, prio: (t, "state", dict(node=node, instance=inst, state=state, priority=prio))
    start = [nd(0.0, "a", "start"), nd(0.1, "b", "start"), nd(0.3, "a", "ready"), nd(0.4, "b", "ready")]
    for inst in ("VI_1", "VI_2"):
        start += [st2(0.4, "a", inst, "BACKUP", 150), st2(0.5, "b", inst, "BACKUP", 100),
                  st2(0.3 + MDI_A, "a", inst, "MASTER", 150)]
    return hist(*start, *[r(st2) for r in rows], END)


def test_judged_history_the_group_fails_over_together_holds_and_half_is_violated():
    specs = specs_from_topology(topo())
    link = {"input": "interface", "node": "a", "interface": "eth1", "up": False}
    fault = lambda st2: (10.0, "fault", dict(name="link-a", action="apply", target="a", fault_kind="link", model=[link]))
    good = sg_hist(fault, lambda st2: st2(10.01, "a", "VI_2", "FAULT", 150), lambda st2: st2(10.01, "a", "VI_1", "FAULT", 150),
                   lambda st2: st2(13.5, "b", "VI_1", "MASTER", 100), lambda st2: st2(13.5, "b", "VI_2", "MASTER", 100))
    rep = judge(good, specs, margin=1.0, startup=15.0)
    assert rep.verdict is Verdict.HOLDS, [j.problem for j in rep.judgements]
    alone = sg_hist(fault, lambda st2: st2(10.01, "a", "VI_2", "FAULT", 150), lambda st2: st2(10.01, "a", "VI_1", "FAULT", 150),
                    lambda st2: st2(10.5, "b", "VI_1", "MASTER", 100), lambda st2: st2(13.5, "b", "VI_2", "MASTER", 100))
    assert judge(alone, specs, margin=1.0, startup=15.0).verdict is Verdict.VIOLATED     # VI_1 went ahead alone
    half = sg_hist(fault, lambda st2: st2(10.01, "a", "VI_2", "FAULT", 150),
                   lambda st2: st2(13.5, "b", "VI_2", "MASTER", 100))           # VI_1 stays on a: not a group
    assert judge(half, specs, margin=1.0, startup=15.0).verdict is Verdict.VIOLATED


def test_an_input_that_splits_the_groups_members_stops_judging_there():
    specs = specs_from_topology(topo())
    reload = {"input": "reload", "node": "a", "instance": "VI_1", "changes": {"priority": 50}}
    h = sg_hist(lambda st2: (10.0, "fault", dict(name="reload-a", action="apply", target="a", fault_kind="reload",
                                                  model=[reload])))
    rep = judge(h, specs, margin=1.0, startup=15.0)
    assert rep.verdict is Verdict.CANNOT_JUDGE and "vrrp_sync_group G on a" in rep.stopped_at.reason
    assert judge(h, specs, margin=1.0, startup=15.0, allow=["vrrp_sync_group"]).verdict is Verdict.HOLDS
