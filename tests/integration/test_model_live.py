"""The election model and real keepalived agree, on every release (lab.releases; lab.election, lab.judge, lab.checks).

Expected values are written from the rules before running (man 5 keepalived.conf 2.2.7,
RFC 3768); every test also replays its whole history through the model
(``lab.check.assert_matches_model()``), so model and daemon are compared at every step.
Timers: advert_int 1 s, so master down interval = 3 + (256 - p)/256 s (RFC 3768 §6.1);
script interval 1 s, fall/rise as configured. Margin: lab.MARGIN (1 s) on every deadline.
"""
from pathlib import Path

import re

import pytest
import yaml

from lab.checks import CheckFailed
from lab.timers import MARGIN
from lab.topology import validate
from lab.topology.render import vip_addresses

from _start_race import make_master

pytestmark = [pytest.mark.integration, pytest.mark.every_release]
TOPOS = Path(__file__).resolve().parents[2] / "topologies"


def variant(a: dict, b: dict, scripts: dict | None = None, base: str = "model_track"):
    """topologies/<base>.yaml with node a's and b's VI_1 fields replaced, scripts overridden."""
    path = TOPOS / f"{base}.yaml"
    data = yaml.safe_load(path.read_text())
    data["nodes"]["a"]["vrrp_instances"]["VI_1"] = a
    data["nodes"]["b"]["vrrp_instances"]["VI_1"] = b
    for name, fields in (scripts or {}).items():
        data["vrrp_scripts"][name].update(fields)
    return validate(data, str(path))


# (id, a's VI_1, b's VI_1, script flipped: (node, script, ok), expected MASTER after, flipped node's effective priority)
WEIGHT_CASES = [
    # man: negative weight subtracted on failure. 150 - 40 = 110 > 100: a keeps the VIP
    ("negative_weight_too_small", dict(priority=150, track_script=[{"chk": {"weight": -40}}]), dict(priority=100),
     ("a", "chk", False), "a", 110),
    # 150 - 60 = 90 < 100: b preempts (it discards a's lower adverts, RFC 3768 §6.4.2)
    ("negative_weight_moves", dict(priority=150, track_script=[{"chk": {"weight": -60}}]), dict(priority=100),
     ("a", "chk", False), "b", 90),
    # 150 - 50 = 100 == 100: a backup does not preempt an equal-priority master (RFC 3768 §6.4.2)
    ("negative_weight_to_equal", dict(priority=150, track_script=[{"chk": {"weight": -50}}]), dict(priority=100),
     ("a", "chk", False), "a", 100),
    # man: positive weight added on success. b: 100 + 60 = 160 > 150: b preempts
    ("positive_weight_moves", dict(priority=150), dict(priority=100, track_script=["chk_up"]),
     ("b", "chk_up", True), "b", 160),
    # b: 100 + 40 = 140 < 150: a keeps the VIP
    ("positive_weight_too_small", dict(priority=150), dict(priority=100, track_script=[{"chk_up": {"weight": 40}}]),
     ("b", "chk_up", True), "a", 140),
]


@pytest.mark.parametrize("a,b,flip,master,prio", [c[1:] for c in WEIGHT_CASES], ids=[c[0] for c in WEIGHT_CASES])
def test_weights_move_the_vip_by_the_arithmetic(lab_factory, a, b, flip, master, prio):
    lab = lab_factory(variant(a, b))
    assert lab.wait_for_master("VI_1").name == "a"
    node, script, ok = flip
    t = lab.set_script(node, script, ok)
    lab.check.assert_matches_model()                       # waits for the model's deadline, judges all
    lab.check.assert_master(master, "VI_1", within=0)
    lab.check.assert_effective_priority(node, "VI_1", prio)
    if master == "a":
        lab.check.assert_no_vip_flap("VI_1", during=(t, None))
    assert lab.vip_holders("VI_1") == [master]
    assert lab.client.http_get_vip("VI_1") == master


@pytest.mark.claim("man-clamp", "priority: tracking keeps the effective priority in 1..254 (a priority "
                   "that is not 255 is never raised to 255)", source="man 5 keepalived.conf")
def test_effective_priority_is_kept_in_1_to_254(lab_factory):
    # man 5 keepalived.conf vrrp_instance priority (R_CLAMP): tracking cannot raise a priority that is
    # not 255 to 255, and the effective priority stays in 1..254: a = 250 + 60 -> 254, b = 30 - 60 -> 1
    lab = lab_factory(variant(dict(priority=250, track_script=["chk_up"]), dict(priority=30, track_script=["chk"]),
                              scripts={"chk": {"fall": 1, "rise": 1}}))
    assert lab.wait_for_master("VI_1").name == "a"
    lab.set_script("a", "chk_up", True)
    lab.set_script("b", "chk", False)
    lab.check.assert_matches_model()
    lab.check.assert_effective_priority("a", "VI_1", 254)    # JSON dump and a's next advert
    lab.check.assert_effective_priority("b", "VI_1", 1)
    assert lab.history.priorities("VI_1") == {"a": 254, "b": 1}, "notify_fifo's priority reports agree"


@pytest.mark.claim("man-reverse", "track_script reverse: the direction of the priority adjustment is "
                   "reversed (a positive weight is taken off while the script succeeds)", source="man 5 keepalived.conf")
def test_reverse_weight_lowers_the_priority_while_the_script_succeeds(lab_factory):
    # man 5 keepalived.conf track_script (R_REVERSE): reverse reverses the direction of the adjustment, so
    # weight 20 reverse takes 20 off while the script succeeds: a = 150 - 20 = 130 < b 140, b preempts;
    # when it fails again a is back at 150 > 140 and preempts (RFC 3768 §6.4.2: lower adverts are discarded)
    lab = lab_factory(variant(dict(priority=150, track_script=[{"chk_up": {"weight": 20, "reverse": True}}]),
                              dict(priority=140)))
    assert lab.wait_for_master("VI_1").name == "a"          # chk_up starts failing: no adjustment
    lab.set_script("a", "chk_up", True)
    lab.check.assert_matches_model()
    lab.check.assert_master("b", "VI_1", within=0)
    lab.check.assert_effective_priority("a", "VI_1", 130)
    lab.set_script("a", "chk_up", False)
    lab.check.assert_matches_model()
    lab.check.assert_master("a", "VI_1", within=0)
    lab.check.assert_effective_priority("a", "VI_1", 150)


@pytest.mark.claim("man-owner", "priority 255 with state MASTER becomes MASTER immediately, and track_scripts "
                   "cannot reduce priority 255", source="man 5 keepalived.conf")
def test_address_owner_is_master_at_once_and_keeps_255(lab_factory):
    # man 5 keepalived.conf vrrp_instance: with priority 255 and state MASTER the instance becomes MASTER
    # immediately (no 3-4 advert intervals wait, R_STARTUP); priority 255 cannot be reduced by
    # track_scripts (R_OWNER), so a failing weight -60 script leaves a at 255 and b (200) never takes over
    lab = lab_factory(variant(dict(priority=255, state="MASTER", track_script=["chk"]), dict(priority=200),
                              scripts={"chk": {"fall": 1, "rise": 1}}))
    t_ready = lab.keepalived_started("a")          # keepalived's own 'Startup complete': its clocks start here
    t0 = lab.history.t0
    up = lab.wait_for_transition("VI_1", "MASTER", node="a", since=t0, timeout=t_ready - t0 + MARGIN)
    assert up.t - t_ready <= MARGIN < 3 * 1.0, f"MASTER {up.t - t_ready:.3f} s after keepalived started, not at once"
    assert lab.wait_for_master("VI_1").name == "a"
    t = lab.set_script("a", "chk", False)
    lab.check.assert_matches_model()                        # waits past b's master down interval
    lab.check.assert_effective_priority("a", "VI_1", 255)
    assert lab.history.masters("VI_1") == ["a"]
    lab.check.assert_no_vip_flap("VI_1", during=(t, None))


def test_killed_master_comes_back_and_preempts(lab_factory):
    lab = lab_factory(TOPOS / "two_node.yaml")
    assert lab.wait_for_master("VI_1").name == "a"
    lab.node("a").kill()
    kill = lab.history.events("node", node="a", action="kill")[-1]
    lab.check.assert_master("b", "VI_1")                    # model deadline: b's master down interval
    took = lab.check.assert_takeover_time("VI_1")
    assert took <= 3 + 156 / 256 + 1.0                      # RFC 3768 §6.1 + margin
    lab.node("a").start()
    lab.check.assert_master("a", "VI_1")                    # preempt (man 5: default), a's MDI after start
    # from the kill on (before it, b may lawfully have won the start race for a moment: the judge's business)
    lab.check.assert_notify_sequence("b", ["MASTER", "BACKUP"], instance="VI_1", since=kill.get("t_issued", kill.t))
    lab.check.assert_matches_model()
    lab.check.assert_single_master("VI_1", during=(lab.history.events("state", node="a", state="MASTER")[-1].t, None))


def test_nopreempt_node_stays_backup_when_it_comes_back(lab_factory):
    # man 5 keepalived.conf nopreempt: the higher priority machine does not take over (initial state BACKUP)
    lab = lab_factory(variant(dict(priority=150, nopreempt=True), dict(priority=100)))
    make_master(lab, "VI_1", "a")       # the start is a race with nopreempt on a (tests/integration/_start_race.py)
    lab.node("a").kill()
    lab.check.assert_master("b", "VI_1")
    t = lab.node("a").start()
    lab.check.assert_matches_model()                        # waits a's start allowance + MDI: a must stay BACKUP
    assert lab.history.masters("VI_1") == ["b"]
    lab.check.assert_notify_sequence("a", ["BACKUP"], instance="VI_1", since=t)
    lab.check.assert_no_vip_flap("VI_1", during=(t, None))


def test_weight_zero_failure_faults_after_fall_runs_and_recovers_after_rise_runs(lab_factory):
    # man 5: weight 0 -> FAULT after <fall> consecutive failures, leave FAULT after <rise> successes
    lab = lab_factory(variant(dict(priority=150, track_script=[{"chk": {"weight": 0}}]), dict(priority=100),
                              scripts={"chk": {"weight": 0, "fall": 3, "rise": 2, "interval": 1}}))
    assert lab.wait_for_master("VI_1").name == "a"
    t_ko = lab.set_script("a", "chk", False)
    fault = lab.wait_for_transition("VI_1", "FAULT", node="a", since=t_ko, timeout=3 + 1.0)
    # three failing runs, one per second: the third comes 2..3 s after the flip
    assert 2 - 1.0 <= fault.t - t_ko <= 3 + 1.0, f"FAULT {fault.t - t_ko:.3f} s after the flip"
    lab.check.assert_master("b", "VI_1")
    t_ok = lab.set_script("a", "chk", True)
    backup = lab.wait_for_transition("VI_1", "BACKUP", node="a", since=t_ok, timeout=2 + 1.0)
    assert 1 - 1.0 <= backup.t - t_ok <= 2 + 1.0, f"left FAULT {backup.t - t_ok:.3f} s after the flip"
    lab.check.assert_master("a", "VI_1")                    # then preempts back (150 > 100)
    lab.check.assert_notify_sequence("a", ["MASTER", "FAULT", "BACKUP", "MASTER"], instance="VI_1",
                                     since=lab.history.events("state", node="a", state="MASTER")[0].t)
    lab.check.assert_matches_model()


def test_equal_priority_backup_does_not_preempt(lab_factory):
    # RFC 3768 §6.4.2: a backup accepts adverts of priority >= its own
    lab = lab_factory(variant(dict(priority=100), dict(priority=100)))
    first = lab.wait_for_master("VI_1").name
    other = "b" if first == "a" else "a"
    lab.node(first).kill()
    lab.check.assert_master(other, "VI_1")
    t = lab.node(first).start()
    lab.check.assert_matches_model()                        # the model's tie is resolved by what was observed
    assert lab.history.masters("VI_1") == [other]
    lab.check.assert_no_vip_flap("VI_1", during=(t, None))


@pytest.mark.parametrize("b_extra,a_log", [
    # RFC 3768 §7.1: a receiver MUST discard an advert for a VRID it does not run (R_VRID)
    ({"virtual_router_id": 62}, None),
    # RFC 3768 §7.1 MAY verify the addresses; keepalived up to 2.3.2 (vrrp_check_packet) drops an advert whose
    # address list differs (addr_list_err) and logs it (R_ADDR_LIST); 2.3.3 on logs it and processes it
    # (R_ADDR_LIST_ACCEPTED): one virtual router, a (150) is the only MASTER
    ({"virtual_ipaddress": ["lan+201/24"]}, r"ip address associated with VRID 61 not present in (MASTER )?advert"),
], ids=["other-vrid", "reused-vrid-other-vips"])
def test_instances_that_discard_each_others_adverts_are_both_master(lab_factory, lab_keepalived, b_extra, a_log):
    # expected from the rules: neither accepts the other's adverts, so each becomes MASTER after its own
    # master down interval and stays MASTER (a split brain made by the configuration)
    from lab.election.rules import R_ADDR_LIST, applies
    from lab.releases import release
    discards = "virtual_router_id" in b_extra or applies(R_ADDR_LIST, release(lab_keepalived).version)
    lab = lab_factory(variant(dict(priority=150), dict(priority=100, **b_extra)))
    lab.check.assert_matches_model()                        # waits for the model's deadline, judges all
    if not discards:
        assert lab.history.masters("VI_1") == ["a"]
        # b, BACKUP now, heard a's other address list and logged it once (rate limited: vrrp.c
        # log_rate_limited_error); a hears no advert of b's once b is BACKUP
        assert re.search(a_log, lab.node("b").logs(400)), "b logs the other address list"
        return
    assert lab.history.masters("VI_1") == ["a", "b"]
    for n in ("a", "b"):                                    # each holds its own VIP (inside view)
        vip = vip_addresses(lab.topology, n, "VI_1", lab.subnets)[0]
        assert any(i.ip == vip for l in lab.node(n).ipv4_addresses().values() for i in l), f"{n} holds {vip}"
    if a_log:
        assert lab.node("a").wait_for_log(a_log, timeout=2 * MARGIN) is not None, "a logs why it discards b's adverts"


def test_graceful_stop_hands_over_after_the_skew_time(lab_factory):
    # RFC 3768 §6.4.3/§6.4.2: shutdown sends priority 0; the backup takes over after Skew_Time
    lab = lab_factory(TOPOS / "two_node.yaml")
    assert lab.wait_for_master("VI_1").name == "a"
    lab.node("a").stop()
    took = lab.check.assert_takeover_time("VI_1")
    assert took <= (256 - 100) / 256 + 1.0
    zero = [e for e in lab.history.events("advert") if e["priority"] == 0]
    assert zero and zero[0]["src"] == str(lab.node("a").address), "the priority-0 advert was captured"
    lab.check.assert_matches_model()


def test_a_wrong_expectation_fails_with_timeline_and_logs(lab_factory):
    lab = lab_factory(TOPOS / "two_node.yaml")
    lab.wait_for_master("VI_1")
    with pytest.raises(CheckFailed) as err:
        lab.check.assert_master("b", "VI_1")                # wrong on purpose: a has priority 150
    text = str(err.value)
    assert "expected b to be the only MASTER of VI_1" in text
    assert "the model expects MASTER {a}" in text and "RFC 3768" in text
    assert "timeline (last" in text and "a: VI_1 -> MASTER (priority 150)" in text
    assert "--- a log tail ---" in text and "--- b log tail ---" in text


async def test_async_wait_while_the_master_is_killed(lab_factory):
    lab = lab_factory(TOPOS / "two_node.yaml")
    assert (await lab.run(lab.wait_for_master, "VI_1")).name == "a"
    t_kill = await lab.run(lab.node("a").kill)
    mdi_b = 3 + (256 - 100) / 256                           # RFC 3768 §6.1
    ev = await lab.wait_for(lambda h: next(iter(h.events("state", since=t_kill, state="MASTER")), None), mdi_b + 1.0)
    assert ev is not None and ev["node"] == "b" and ev.t - t_kill <= mdi_b + 1.0
    await lab.run(lab.check.assert_matches_model)
