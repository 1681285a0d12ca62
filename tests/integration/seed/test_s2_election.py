"""Seed §2.1 / §2.2: VRRP states, preemptive and non-preemptive election, Examples 1 and 2.

Expected values are the seed's words (quoted in each claim); timing deadlines are the
protocol's (RFC 3768 §6.1 master down interval, lab.timers). Where keepalived 2.2.7 does
otherwise the test is a strict xfail that says both.
"""
import pytest

from lab.conformance import expect_claim
from lab.timers import MARGIN

from _start_race import make_master

from .builders import ADV, mdi, pair

#: a conformance claim is checked on every keepalived release (lab.releases): one column each
pytestmark = pytest.mark.every_release





@pytest.mark.claim("2.1-states", "§2.1: a VRRP router is in Initialize, Master or Backup state")
def test_states_backup_then_master(lab_factory):
    lab = lab_factory(pair({"state": "BACKUP", "priority": 150}, {"state": "BACKUP", "priority": 100}))
    assert lab.wait_for_master("VI_1").name == "s1"
    seq = [e["state"] for e in lab.history.events("state", node="s1", instance="VI_1")]
    assert seq[:2] == ["BACKUP", "MASTER"], "Initialize -> Backup -> Master (keepalived reports from Backup on)"
    assert {e["state"] for e in lab.history.events("state")} <= {"BACKUP", "MASTER"}


@pytest.mark.claim("2.1-preempt-join", "§2.1 default preemption: a higher-priority router that joins "
                   "becomes MASTER at once (立即成为Master)")
@pytest.mark.differs(reason="seed: the joining higher-priority router becomes MASTER at once; "
                   "keepalived starts it in BACKUP and it preempts only when its master down interval "
                   "(3 x advert_int + skew, ~3.4 s at priority 150) expires, as RFC 3768 §6.4.2 prescribes")
def test_higher_priority_join_is_master_at_once(lab_factory):
    lab = lab_factory(pair({"state": "BACKUP", "priority": 150}, {"state": "BACKUP", "priority": 100}))
    lab.node("s1").stop()
    assert lab.wait_for_master("VI_1").name == "s2"
    t = lab.node("s1").start()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="s1", since=t, timeout=mdi(150) + 15)
    took = ev.t - ev_backup(lab, "s1", t).t
    # RFC 3768 §6.4.2: a backup that hears lower-priority adverts and may preempt waits out its
    # master down interval; this part must hold (a failure here is a real failure)
    assert mdi(150) - ADV - MARGIN <= took <= mdi(150) + MARGIN, f"{took:.2f} s after entering BACKUP"
    expect_claim(took <= ADV, f"'at once' means before the next advert; it took {took:.2f} s")


def ev_backup(lab, node, since):
    return lab.wait_for_transition("VI_1", "BACKUP", node=node, since=since, timeout=15)


@pytest.mark.claim("2.1-preempt-recover", "§2.1 default preemption: the recovered former master takes the "
                   "service back (one more VIP switch)")
def test_recovered_master_takes_back(lab_factory):
    lab = lab_factory(pair({"state": "BACKUP", "priority": 150}, {"state": "BACKUP", "priority": 100}))
    assert lab.wait_for_master("VI_1").name == "s1"
    t = lab.node("s1").kill()
    assert lab.wait_for_transition("VI_1", "MASTER", since=t, timeout=mdi(100) + MARGIN)["node"] == "s2"
    t = lab.node("s1").start()
    lab.wait_for_transition("VI_1", "MASTER", node="s1", since=t, timeout=lab.convergence_deadline("VI_1"))
    assert lab.vip_holders("VI_1") == ["s1"]
    assert lab.client.http_get_vip("VI_1") == "s1"


@pytest.mark.claim("2.1-nopreempt", "§2.1 non-preemptive mode: the recovered former master becomes Backup "
                   "and does not take over")
def test_nopreempt_recovered_master_stays_backup(lab_factory):
    lab = lab_factory(pair({"state": "BACKUP", "priority": 150, "nopreempt": True},
                           {"state": "BACKUP", "priority": 100, "nopreempt": True}))
    make_master(lab, "VI_1", "s1")      # the start is a race with nopreempt on s1 (tests/integration/_start_race.py)
    t = lab.node("s1").kill()
    assert lab.wait_for_transition("VI_1", "MASTER", since=t, timeout=mdi(100) + MARGIN)["node"] == "s2"
    t = lab.node("s1").start()
    lab.wait_for_transition("VI_1", "BACKUP", node="s1", since=t, timeout=15)
    # a preempting s1 would be MASTER one master down interval after it started: wait that long for it
    took = lab.history.wait_for(lambda h: h.events("state", since=t, node="s1", state="MASTER"),
                                mdi(150) + MARGIN, slack=MARGIN)
    assert not took, "s1 preempted despite nopreempt"
    assert lab.vip_holders("VI_1") == ["s2"]


@pytest.mark.claim("2.2-ex1a", "§2.2 Example 1a: Server1 MASTER with the higher priority: Server1 is MASTER, "
                   "Server2 takes over when it fails, Server1 takes back on return")
def test_example_1a(lab_factory):
    lab = lab_factory(pair({"state": "MASTER", "priority": 150}, {"state": "BACKUP", "priority": 100}))
    assert lab.wait_for_master("VI_1").name == "s1"
    t = lab.node("s1").kill()
    assert lab.wait_for_transition("VI_1", "MASTER", since=t, timeout=mdi(100) + MARGIN)["node"] == "s2"
    t = lab.node("s1").start()
    back = lab.wait_for_transition("VI_1", "MASTER", node="s1", since=t, timeout=15)
    lab.wait_for_transition("VI_1", "BACKUP", node="s2", since=back.t - 0.5, timeout=ADV + MARGIN)
    assert lab.vip_holders("VI_1") == ["s1"]


@pytest.mark.claim("2.2-ex1b", "§2.2 Example 1b: Server1 state MASTER but the lower priority: Server2 becomes "
                   "MASTER, Server1 takes over when it fails, Server2 takes back on return")
def test_example_1b_priority_beats_state(lab_factory):
    lab = lab_factory(pair({"state": "MASTER", "priority": 100}, {"state": "BACKUP", "priority": 150}))
    assert lab.wait_for_master("VI_1").name == "s2"
    assert lab.vip_holders("VI_1") == ["s2"]
    t = lab.node("s2").kill()
    assert lab.wait_for_transition("VI_1", "MASTER", since=t, timeout=mdi(100) + MARGIN)["node"] == "s1"
    t = lab.node("s2").start()
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=lab.convergence_deadline("VI_1"))
    lab.wait_for_transition("VI_1", "BACKUP", node="s1", since=t, timeout=lab.convergence_deadline("VI_1"))
    assert lab.vip_holders("VI_1") == ["s2"]


@pytest.mark.claim("2.2-ex2", "§2.2 Example 2: two BACKUP nodes with nopreempt: the first started becomes "
                   "MASTER; on its failure the other takes over; on return no takeover")
def test_example_2_first_started_wins(lab_factory):
    lab = lab_factory(pair({"state": "BACKUP", "priority": 150, "nopreempt": True},
                           {"state": "BACKUP", "priority": 100, "nopreempt": True}))
    lab.node("s1").stop()                          # s2 is "the first started"
    assert lab.wait_for_master("VI_1").name == "s2"
    t = lab.node("s1").start()                      # the higher priority joins later: no takeover
    lab.wait_for_transition("VI_1", "BACKUP", node="s1", since=t, timeout=15)
    assert not lab.history.wait_for(lambda h: h.events("state", since=t, node="s1", state="MASTER"),
                                    mdi(150) + MARGIN, slack=MARGIN)
    t = lab.node("s2").kill()                       # failover
    assert lab.wait_for_transition("VI_1", "MASTER", since=t, timeout=mdi(150) + MARGIN)["node"] == "s1"
    t = lab.node("s2").start()                      # return: no takeover
    lab.wait_for_transition("VI_1", "BACKUP", node="s2", since=t, timeout=15)
    assert not lab.history.wait_for(lambda h: h.events("state", since=t, node="s2", state="MASTER"),
                                    mdi(100) + MARGIN, slack=MARGIN)
    assert lab.vip_holders("VI_1") == ["s1"]
