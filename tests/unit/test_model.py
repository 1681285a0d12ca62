"""Election model, table-driven. Every row cites the rule (lab.election.rules.R_*) it checks.

Expected values are worked out by hand from man 5 keepalived.conf (2.2.7) and
RFC 3768/5798 and written in the rows; the model must reproduce them.
"""
import ipaddress

import pytest

from lab.election import model as M
from lab.election import (AdvertsBlocked, ElectionModel, InstanceSpec, InterfaceChange, NodeDown, NodePaused,
                       NodeResumed, NodeUp, Reload, ScriptResult, TrackSpec, effective_priority)
from lab.topology import validate

IP = {"a": ipaddress.IPv4Address("10.0.0.11"), "b": ipaddress.IPv4Address("10.0.0.12"),
      "c": ipaddress.IPv4Address("10.0.0.13")}


def mdi(p, adv=1.0):
    """RFC 3768 §6.1, written out: 3 x advert_int + (256 - p)/256."""
    return 3 * adv + (256 - p) / 256


def inst(node, prio, **kw):
    kw.setdefault("primary_ip", IP[node])
    kw.setdefault("interface", "eth0")
    return InstanceSpec(node=node, instance="VI_1", priority=prio, **kw)


def specs(*insts):
    return {"VI_1": {i.node: i for i in insts}}


def started(*insts, startup=0.0):
    m = ElectionModel(specs(*insts), startup=startup)
    for i in insts:
        m.apply(NodeUp(i.node))
    return m


# ------------------------------------------------------------------ effective priority arithmetic
T = TrackSpec
PRIORITY_ROWS = [
    # rule, priority, [(track, ok)], expected effective priority
    (M.R_WEIGHT_POS, 100, [(T("s", 20), True)], 120),
    (M.R_WEIGHT_POS, 100, [(T("s", 20), False)], 100),
    (M.R_WEIGHT_NEG, 100, [(T("s", -30), False)], 70),
    (M.R_WEIGHT_NEG, 100, [(T("s", -30), True)], 100),
    (M.R_REVERSE, 100, [(T("s", 20, reverse=True), True)], 80),
    (M.R_REVERSE, 100, [(T("s", 20, reverse=True), False)], 100),
    (M.R_REVERSE, 100, [(T("s", -30, reverse=True), False)], 130),
    (M.R_REVERSE, 100, [(T("s", -30, reverse=True), True)], 100),
    (M.R_CLAMP, 250, [(T("s", 20), True)], 254),
    (M.R_CLAMP, 10, [(T("s", -30), False)], 1),
    (M.R_CLAMP, 200, [(T("s", 53), True), (T("t", 53), True)], 254),
    (M.R_OWNER, 255, [(T("s", -50), False)], 255),
    (M.R_OWNER, 255, [(T("s", 50), True)], 255),
    (M.R_WEIGHT_POS + " / " + M.R_WEIGHT_NEG, 100, [(T("s", 20), True), (T("t", -50), False)], 70),
    (M.R_WEIGHT0, 100, [(T("s", 0), False)], 100),       # weight 0 never adjusts; it faults
]


@pytest.mark.parametrize("rule,priority,tracks,expected", PRIORITY_ROWS)
def test_effective_priority(rule, priority, tracks, expected):
    spec = inst("a", priority, tracks=tuple(t for t, _ in tracks))
    assert spec.effective_priority({t.script: ok for t, ok in tracks}) == expected, rule


def test_effective_priority_rejects_out_of_range_priority():
    with pytest.raises(ValueError, match="1..255"):
        effective_priority(0)


FAULT_ROWS = [
    (M.R_WEIGHT0, T("s", 0), False, True),
    (M.R_WEIGHT0, T("s", 0), True, False),
    (M.R_WEIGHT0_REVERSE, T("s", 0, reverse=True), True, True),
    (M.R_WEIGHT0_REVERSE, T("s", 0, reverse=True), False, False),
    (M.R_WEIGHT_NEG, T("s", -10), False, False),          # weighted trackers never fault
]


@pytest.mark.parametrize("rule,track,ok,faults", FAULT_ROWS)
def test_fault_trackers(rule, track, ok, faults):
    assert inst("a", 100, tracks=(track,)).faulted({track.script: ok}) is faults, rule


@pytest.mark.parametrize("rule,track,ok,window", [
    (M.R_WEIGHT0, T("s", 0, fall=3, interval=1), False, (2.0, 3.0)),
    (M.R_WEIGHT0, T("s", 0, rise=2, interval=1), True, (1.0, 2.0)),
    (M.R_WEIGHT_NEG, T("s", -5, fall=1, interval=2), False, (0.0, 2.0)),
])
def test_detection_window_counts_fall_and_rise_runs(rule, track, ok, window):
    assert track.detection(ok) == window, rule


def test_interface_down_faults_the_instance():
    assert inst("a", 100).faulted({}, ["eth0"]), M.R_IFACE
    assert not inst("a", 100).faulted({}, ["eth1"]), M.R_IFACE


@pytest.mark.parametrize("rule,spec,preempts,delay", [
    (M.R_NOPREEMPT, dict(nopreempt=True, state="BACKUP"), False, 0.0),
    (M.R_NOPREEMPT, dict(nopreempt=True, state="MASTER"), True, 0.0),    # needs initial state BACKUP
    (M.R_PREEMPT_DELAY, dict(preempt_delay=5, state="BACKUP"), True, 5.0),
    (M.R_PREEMPT_DELAY, dict(preempt_delay=5, state="MASTER"), True, 0.0),
])
def test_nopreempt_and_preempt_delay_need_initial_state_backup(rule, spec, preempts, delay):
    s = inst("a", 100, **spec)
    assert (s.preempts, s.effective_preempt_delay) == (preempts, delay), rule


@pytest.mark.parametrize("rule,prio,adv,version,expected", [
    (M.R_MDI, 100, 1.0, 2, 3 + 156 / 256),
    (M.R_MDI, 150, 1.0, 2, 3 + 106 / 256),
    (M.R_MDI, 255, 1.0, 2, 3 + 1 / 256),
    (M.R_MDI, 100, 2.0, 2, 6 + 156 / 256),           # v2 skew ignores advert_int
    (M.R_MDI, 100, 0.5, 3, 1.5 + 0.30),              # v3: (256-100) x 50 cs / 256 = 30 cs (integer)
])
def test_master_down_interval(rule, prio, adv, version, expected):
    assert inst("a", prio, advert_int=adv, version=version).master_down_interval() == pytest.approx(expected), rule


# ------------------------------------------------------------------ elections over event sequences
def test_highest_priority_wins_at_start_after_its_master_down_interval():
    m = ElectionModel(specs(inst("a", 150), inst("b", 100)), startup=15)
    e1 = m.apply(NodeUp("a"))[0]
    assert e1.master == "a" and (e1.earliest, e1.latest) == pytest.approx((mdi(150), 15 + mdi(150))), M.R_STARTUP
    e2 = m.apply(NodeUp("b"))[0]
    assert e2.master == "a" and not e2.changed, M.R_HIGHEST
    assert e2.states == {"a": "MASTER", "b": "BACKUP"}


def test_killed_master_is_replaced_within_the_backups_master_down_interval():
    m = started(inst("a", 150), inst("b", 100))
    e = m.apply(NodeDown("a"))[0]
    assert e.master == "b" and e.changed, M.R_MDI
    assert (e.earliest, e.latest) == pytest.approx((mdi(100) - 1, mdi(100)))
    assert e.states == {"a": "DOWN", "b": "MASTER"}


def test_graceful_stop_sends_priority_zero_and_the_backup_takes_over_after_skew_time():
    m = started(inst("a", 150), inst("b", 100))
    e = m.apply(NodeDown("a", graceful=True))[0]
    assert e.master == "b" and (e.earliest, e.latest) == pytest.approx((0, 156 / 256)), M.R_PRIO0
    assert M.R_PRIO0 in e.rules


def test_stopping_a_backup_changes_nothing():
    m = started(inst("a", 150), inst("b", 100))
    e = m.apply(NodeDown("b", graceful=True))[0]
    assert e.master == "a" and not e.changed


def test_restarted_higher_priority_node_preempts_back():
    m = started(inst("a", 150), inst("b", 100), startup=15)
    m.apply(NodeDown("a"))
    e = m.apply(NodeUp("a"))[0]
    assert e.master == "a" and e.changed, M.R_PREEMPT
    assert (e.earliest, e.latest) == pytest.approx((mdi(150), 15 + mdi(150)))


def test_nopreempt_node_stays_backup_after_restart():
    m = started(inst("a", 150, nopreempt=True), inst("b", 100), startup=15)
    m.apply(NodeDown("a"))
    e = m.apply(NodeUp("a"))[0]
    assert e.master == "b" and not e.changed, M.R_NOPREEMPT
    assert M.R_NOPREEMPT in e.rules
    assert e.latest == pytest.approx(15 + mdi(150)), "watch as long as a preemption would have taken"


def test_nopreempt_with_initial_state_master_preempts_anyway():
    m = started(inst("a", 150, nopreempt=True, state="MASTER"), inst("b", 100))
    m.apply(NodeDown("a"))
    assert m.apply(NodeUp("a"))[0].master == "a", M.R_NOPREEMPT


def test_preempt_delay_adds_to_the_takeover():
    m = started(inst("a", 150, preempt_delay=5), inst("b", 100))
    m.apply(NodeDown("a"))
    e = m.apply(NodeUp("a"))[0]
    assert e.master == "a" and e.earliest == pytest.approx(mdi(150) + 5), M.R_PREEMPT_DELAY


CHK = "chk"


@pytest.mark.parametrize("rule,a_prio,b_prio,a_track,b_track,script_node,ok,master,a_eff,b_eff", [
    # negative weight on the master: moves the VIP only if priority - |weight| < the backup's priority
    (M.R_WEIGHT_NEG, 150, 100, T(CHK, -40, fall=2, rise=2), None, "a", False, "a", 110, 100),
    (M.R_WEIGHT_NEG, 150, 100, T(CHK, -60, fall=2, rise=2), None, "a", False, "b", 90, 100),
    (M.R_EQUAL_BACKUP, 150, 100, T(CHK, -50, fall=2, rise=2), None, "a", False, "a", 100, 100),
    # positive weight on the backup (script starts failing, then succeeds)
    (M.R_WEIGHT_POS, 150, 100, None, T(CHK, 60, init_fail=True), "b", True, "b", 150, 160),
    (M.R_WEIGHT_POS, 150, 100, None, T(CHK, 40, init_fail=True), "b", True, "a", 150, 140),
    (M.R_CLAMP, 254, 200, None, T(CHK, 100, init_fail=True), "b", True, "a", 254, 254),
    (M.R_REVERSE, 150, 100, T(CHK, -60, reverse=True), None, "a", False, "a", 210, 100),
    (M.R_OWNER, 255, 200, T(CHK, -100), None, "a", False, "a", 255, 200),
])
def test_weights_move_the_vip_by_the_arithmetic(rule, a_prio, b_prio, a_track, b_track, script_node, ok, master,
                                               a_eff, b_eff):
    a = inst("a", a_prio, tracks=(a_track,) if a_track else ())
    b = inst("b", b_prio, tracks=(b_track,) if b_track else ())
    m = started(a, b)
    assert m.expect("VI_1").master == "a"
    e = m.apply(ScriptResult(script_node, CHK, ok))[0]
    assert e.effective_priorities == {"a": a_eff, "b": b_eff}, rule
    assert e.master == master, rule
    assert e.changed == (master != "a")


def test_negative_weight_takeover_window_counts_fall_runs_then_the_backups_timer():
    m = started(inst("a", 150, tracks=(T(CHK, -60, fall=2, rise=2, interval=1),)), inst("b", 100))
    e = m.apply(ScriptResult("a", CHK, False))[0]
    # detection 1..2 s (fall 2 x interval 1), then b discards a's lower adverts and times out
    assert (e.earliest, e.latest) == pytest.approx((1 + mdi(100) - 1, 2 + mdi(100))), M.R_PREEMPT
    back = m.apply(ScriptResult("a", CHK, True))[0]
    assert back.master == "a" and (back.earliest, back.latest) == pytest.approx((1 + mdi(150) - 1, 2 + mdi(150)))


def test_weight_zero_failure_faults_the_master_and_rise_brings_it_back():
    m = started(inst("a", 150, tracks=(T(CHK, 0, fall=3, rise=2, interval=1),)), inst("b", 100))
    e = m.apply(ScriptResult("a", CHK, False))[0]
    assert e.states == {"a": "FAULT", "b": "MASTER"}, M.R_WEIGHT0
    assert (e.earliest, e.latest) == pytest.approx((2, 3 + mdi(100))), M.R_FAULT_LEAVE
    assert "a" not in e.effective_priorities
    back = m.apply(ScriptResult("a", CHK, True))[0]
    assert back.states == {"a": "MASTER", "b": "BACKUP"}, M.R_PREEMPT
    assert (back.earliest, back.latest) == pytest.approx((1 + mdi(150) - 1, 2 + mdi(150)))


def test_weight_zero_failure_on_the_backup_leaves_the_master_alone():
    m = started(inst("a", 150), inst("b", 100, tracks=(T(CHK, 0),)))
    e = m.apply(ScriptResult("b", CHK, False))[0]
    assert e.master == "a" and e.states["b"] == "FAULT" and not e.changed, M.R_WEIGHT0


def test_nodes_starting_within_the_race_tolerance_leave_an_open_tie():
    # race=1.0: the lab cannot place keepalived's start closer than that to the container's start
    m = ElectionModel(specs(inst("a", 100), inst("b", 100)), race=1.0)
    m.apply(NodeUp("a"), t=0.0)
    e = m.apply(NodeUp("b"), t=0.5)[0]        # before a's master down interval: no master yet
    assert set(e.options) == {frozenset("a"), frozenset("b")}, M.R_EQUAL_BACKUP
    with pytest.raises(ValueError, match="tie"):
        e.masters
    m.observe_master("VI_1", ["b"])
    assert m.expect("VI_1").master == "b"


def test_equal_priorities_started_apart_the_first_started_times_out_first():
    # R_STARTUP / R_MDI: equal master down intervals, so the earlier start's timer fires first; the later
    # node then hears an equal-priority advert and stays BACKUP (R_EQUAL_BACKUP)
    m = ElectionModel(specs(inst("a", 100), inst("b", 100)))
    m.apply(NodeUp("a"), t=0.0)
    e = m.apply(NodeUp("b"), t=0.5)[0]
    assert e.options == (frozenset("a"),), M.R_EQUAL_BACKUP


def test_a_later_start_of_the_higher_priority_node_lets_the_lower_win_first_under_nopreempt():
    # b (100) starts 0.5 s before a (150, nopreempt): b's timer (3.609 s) fires at 3.609, a's (3.414 s)
    # at 3.914; b becomes MASTER first and a, nopreempt, accepts its adverts (R_NOPREEMPT)
    m = ElectionModel(specs(inst("a", 150, nopreempt=True), inst("b", 100)))
    m.apply(NodeUp("b"), t=0.0)
    e = m.apply(NodeUp("a"), t=0.5)[0]
    assert e.options == (frozenset("b"),), M.R_NOPREEMPT


def test_equal_priority_backup_does_not_preempt_a_master():
    m = started(inst("a", 100), inst("b", 100))
    m.observe_master("VI_1", ["a"])
    m.apply(NodeDown("a"))
    assert m.expect("VI_1").master == "b"
    e = m.apply(NodeUp("a"))[0]
    assert e.master == "b" and not e.changed, M.R_EQUAL_BACKUP
    assert M.R_EQUAL_BACKUP in e.rules


def test_nodes_started_one_after_the_other_first_one_wins_an_equal_priority():
    m = ElectionModel(specs(inst("a", 100), inst("b", 100)))
    m.apply(NodeUp("a"), t=0.0)
    assert m.apply(NodeUp("b"), t=10.0)[0].master == "a", M.R_EQUAL_BACKUP


def test_blocked_adverts_give_two_masters_and_the_higher_ip_wins_when_they_meet():
    m = ElectionModel(specs(inst("a", 100), inst("b", 100)))
    m.apply(NodeUp("a"), t=0.0)
    m.apply(NodeUp("b"), t=0.0)
    m.observe_master("VI_1", ["b"])
    e = m.apply(AdvertsBlocked("a"))[0]
    # a hears nothing and becomes MASTER; b hears a's equal-priority adverts from a lower IP and stays
    assert e.masters == frozenset({"a", "b"}), M.R_BLOCKED
    assert (e.earliest, e.latest) == pytest.approx((mdi(100) - 1, mdi(100)))
    e = m.apply(AdvertsBlocked("a", blocked=False))[0]
    assert e.master == "b", M.R_EQUAL_MASTERS            # 10.0.0.12 > 10.0.0.11
    assert (e.earliest, e.latest) == (0, 1)


def test_blocking_the_backup_with_the_greater_ip_hands_it_the_vip_at_equal_priority():
    m = started(inst("a", 100), inst("b", 100))         # a started first: a is MASTER
    e = m.apply(AdvertsBlocked("b"))[0]
    assert e.master == "b", M.R_EQUAL_MASTERS            # a, as master, yields to the greater IP


def test_blocked_lower_priority_node_is_a_second_master_until_unblocked():
    m = started(inst("a", 150), inst("b", 100))
    assert m.apply(AdvertsBlocked("b"))[0].masters == frozenset("ab"), M.R_BLOCKED
    assert m.apply(AdvertsBlocked("b", blocked=False))[0].master == "a", M.R_MASTERS_MEET


def test_blocking_the_masters_receive_side_changes_nothing():
    m = started(inst("a", 150), inst("b", 100))
    e = m.apply(AdvertsBlocked("a"))[0]
    assert e.master == "a" and not e.changed


def test_interface_down_on_the_master_faults_it():
    m = started(inst("a", 150), inst("b", 100))
    e = m.apply(InterfaceChange("a", "eth0", up=False))[0]
    assert e.states["a"] == "FAULT" and e.master == "b", M.R_IFACE
    assert e.latest == pytest.approx(mdi(100))
    e = m.apply(InterfaceChange("a", "eth0", up=True))[0]
    assert e.master == "a", M.R_PREEMPT


def test_reload_with_a_higher_priority_preempts():
    m = started(inst("a", 150), inst("b", 100))
    e = m.apply(Reload.of("b", "VI_1", priority=200))[0]
    assert e.master == "b" and e.effective_priorities["b"] == 200, M.R_PREEMPT
    assert e.latest == pytest.approx(mdi(200))


def test_paused_master_keeps_its_vip_and_meets_the_new_master_when_resumed():
    m = started(inst("a", 150), inst("b", 100))
    e = m.apply(NodePaused("a"))[0]
    assert e.master == "b" and e.vip_holders == frozenset("ab") and e.states["a"] == "PAUSED", M.R_DOWN
    e = m.apply(NodeResumed("a"))[0]
    assert e.master == "a" and e.vip_holders == frozenset("a"), M.R_MASTERS_MEET
    assert e.latest == 1


def test_three_nodes_the_highest_backup_wins():
    m = started(inst("a", 150), inst("b", 120), inst("c", 100))
    e = m.apply(NodeDown("a"))[0]
    assert e.master == "b" and e.latest == pytest.approx(mdi(120)), M.R_HIGHEST


def test_unknown_node_is_a_clear_error():
    m = started(inst("a", 150))
    with pytest.raises(KeyError, match="no keepalived node 'z'.*a"):
        m.apply(NodeUp("z"))


def test_specs_from_topology_resolve_track_weights_and_addresses():
    topo = validate({
        "name": "t", "networks": {"lan": {}},
        "vrrp_scripts": {"chk": {"script": "true", "weight": -20, "fall": 2, "rise": 3, "interval": 2}},
        "vrrp_instances": {"VI_1": {"interface": "eth0", "virtual_router_id": 7, "virtual_ipaddress": ["lan+200"]}},
        "nodes": {
            "a": {"interfaces": {"eth0": {"network": "lan"}},
                  "vrrp_instances": {"VI_1": {"priority": 150, "track_script": ["chk"]}}},
            "b": {"interfaces": {"eth0": {"network": "lan"}},
                  "vrrp_instances": {"VI_1": {"priority": 100, "nopreempt": True,
                                              "track_script": [{"chk": {"weight": 30, "reverse": True}}]}}},
        }})
    s = M.specs_from_topology(topo, {"a": {"eth0": IP["a"]}})
    a, b = s["VI_1"]["a"], s["VI_1"]["b"]
    assert a.tracks == (T("chk", -20, False, 3, 2, 2.0),) and a.primary_ip == IP["a"] and a.vrid == 7
    assert b.tracks[0].weight == 30 and b.tracks[0].reverse and b.nopreempt and b.primary_ip is None
    assert M.predict(s, [NodeUp("a"), NodeUp("b"), ScriptResult("a", "chk", False)])[-1].effective_priorities == \
        {"a": 130, "b": 70}


@pytest.mark.parametrize("release,masters", [
    ("2.1.5", {"a", "b"}), ("2.2.7", {"a", "b"}),      # R_ADDR_LIST: each discards the other's adverts
    ("2.3.3", {"a"}), ("2.3.4", {"a"}),                # R_ADDR_LIST_ACCEPTED: they hear each other, 150 wins
])
def test_one_vrid_with_other_vips_is_two_masters_until_keepalived_2_3_3(release, masters):
    from lab.election.rules import R_ADDR_LIST, R_ADDR_LIST_ACCEPTED, applies
    a = inst("a", 150, vrid=61, vips=frozenset({"lan+200"}), release=release)
    b = inst("b", 100, vrid=61, vips=frozenset({"lan+201"}), release=release)
    m = ElectionModel(specs(a, b))
    m.apply(NodeUp("a"))
    (exp,) = m.apply(NodeUp("b"))
    assert exp.options == (frozenset(masters),)
    assert applies(R_ADDR_LIST, release) == (masters == {"a", "b"})
    assert applies(R_ADDR_LIST_ACCEPTED, release) == (masters == {"a"})
