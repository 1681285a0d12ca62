"""Seed §4: priority and weight arithmetic, every bullet.

The seed's bullets, with s1 the master and s2 the backup, a vrrp_script tracked by both:
* no weight: "the priority decides; but if the Master fails and the Backup's priority is lower
  than the Master's, the switchover fails" (切换失败);
* weight > 0: master OK: m + w > b + w -> master stays; master fails: m < b + w -> switch;
* weight < 0: master OK: m > b -> master stays; master fails: m - |w| < b -> switch.
Rules for the deadlines: man 5 keepalived.conf (vrrp_script: interval, fall, weight; a
failing script with weight 0 puts the instance in FAULT) and RFC 3768 §6.1 (master down interval).
"""
import time

import pytest

from lab.conformance import expect_claim
from lab.timers import MARGIN

from .builders import fail_script, flag_script, mdi, pair

#: a conformance claim is checked on every keepalived release (lab.releases): one column each
pytestmark = pytest.mark.every_release


INTERVAL = 1.0



def deadline(backup_prio: int) -> float:
    """Script notices within one interval (fall 1), then the backup waits its master down interval."""
    return INTERVAL + mdi(backup_prio) + MARGIN


def tracked(a_prio, b_prio, **script):
    return pair({"state": "BACKUP", "priority": a_prio}, {"state": "BACKUP", "priority": b_prio},
                shared={"track_script": ["chk"]}, scripts=flag_script("chk", **script))


@pytest.mark.claim("4-noweight", "§4: without weight, when the Master fails (its check fails) and the Backup's "
                   "priority is lower, the switchover fails (the VIP stays)")
@pytest.mark.differs(reason="seed: with no weight a failing check cannot move "
                   "the VIP to a lower-priority backup; keepalived: weight 0 (the default) puts the instance "
                   "in FAULT when the script fails (man 5 keepalived.conf, vrrp_script weight), the VIP moves")
def test_no_weight_failure(lab_factory):
    lab = lab_factory(tracked(150, 100))
    assert lab.wait_for_master("VI_1").name == "s1"
    t = time.monotonic()            # the action begins: a report before it (a start race's) is not its effect
    fail_script(lab, "s1", "chk")
    fault = lab.wait_for_transition("VI_1", "FAULT", node="s1", since=t, timeout=INTERVAL + MARGIN + 1)
    took = lab.history.wait_for(lambda h: h.events("state", since=fault.t - 0.1, node="s2", state="MASTER"),
                                mdi(100) + MARGIN, slack=MARGIN)
    holders = lab.vip_holders("VI_1")
    expect_claim(holders == ["s1"] and not took, f"the VIP moved: holders {holders}, s1 went FAULT")


@pytest.mark.claim("4-pos-stay", "§4 weight > 0, master OK: m + w > b + w, the master stays master")
def test_positive_weight_both_ok_master_stays(lab_factory):
    lab = lab_factory(tracked(100, 90, weight=20))      # 120 vs 110
    assert lab.wait_for_master("VI_1").name == "s1"
    assert lab.history.priorities("VI_1")["s1"] == 120, "effective priority = 100 + 20 while the check succeeds"


@pytest.mark.claim("4-pos-switch", "§4 weight > 0, master fails: m < b + w, master and backup switch")
def test_positive_weight_master_fails_switches(lab_factory):
    lab = lab_factory(tracked(100, 90, weight=20))      # s1 fails: 100 < 90 + 20 = 110
    assert lab.wait_for_master("VI_1").name == "s1"
    t = time.monotonic()            # the action begins: a report before it (a start race's) is not its effect
    failing = fail_script(lab, "s1", "chk")
    ev = lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=deadline(110))
    assert ev["priority"] == 110
    assert lab.vip_holders("VI_1") == ["s2"]
    failing.heal()                                       # back to 120 > 110: preempts back
    back = lab.wait_for_transition("VI_1", "MASTER", node="s1", since=ev.t, timeout=deadline(120))
    assert back["priority"] == 120


@pytest.mark.claim("4-pos-noswitch", "§4 weight > 0: when m >= b + w the master's failure does not switch "
                   "(the inequality's converse)")
def test_positive_weight_too_small_no_switch(lab_factory):
    lab = lab_factory(tracked(150, 100, weight=20))     # s1 fails: 150 > 100 + 20 = 120
    assert lab.wait_for_master("VI_1").name == "s1"
    t = time.monotonic()            # the action begins: a report before it (a start race's) is not its effect
    fail_script(lab, "s1", "chk")
    moved = lab.history.wait_for(lambda h: h.events("state", since=t, node="s2", state="MASTER"), deadline(120), slack=MARGIN)
    assert not moved
    assert lab.vip_holders("VI_1") == ["s1"]


@pytest.mark.claim("4-neg-stay", "§4 weight < 0, master OK: m > b, the master stays master")
def test_negative_weight_ok_master_stays(lab_factory):
    lab = lab_factory(tracked(150, 100, weight=-60))
    assert lab.wait_for_master("VI_1").name == "s1"
    assert lab.history.priorities("VI_1")["s1"] == 150, "a negative weight is not applied while the check succeeds"


@pytest.mark.claim("4-neg-switch", "§4 weight < 0, master fails: m - |w| < b, master and backup switch")
def test_negative_weight_master_fails_switches(lab_factory):
    lab = lab_factory(tracked(150, 100, weight=-60))    # 150 - 60 = 90 < 100
    assert lab.wait_for_master("VI_1").name == "s1"
    t = time.monotonic()            # the action begins: a report before it (a start race's) is not its effect
    fail_script(lab, "s1", "chk")
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=deadline(100))
    assert lab.vip_holders("VI_1") == ["s2"]
    assert lab.client.http_get_vip("VI_1") == "s2"


@pytest.mark.claim("4-neg-noswitch", "§4 weight < 0: when m - |w| > b the master's failure does not switch")
def test_negative_weight_too_small_no_switch(lab_factory):
    lab = lab_factory(tracked(150, 100, weight=-20))    # 130 > 100
    assert lab.wait_for_master("VI_1").name == "s1"
    t = time.monotonic()            # the action begins: a report before it (a start race's) is not its effect
    fail_script(lab, "s1", "chk")
    moved = lab.history.wait_for(lambda h: h.events("state", since=t, node="s2", state="MASTER"), deadline(100), slack=MARGIN)
    assert not moved
    assert lab.vip_holders("VI_1") == ["s1"]
