"""Network faults: drop VRRP (multicast and unicast), one-way loss, partition, link down, random loss, delay.

Expected values from the documented rules, written before running (two_node: a 150, b 100, advert_int 1):
* RFC 3768 §6.4.2: a BACKUP that hears no advert for Master_Down_Interval (3 x 1 + (256-100)/256 =
  3.609 s for b) becomes MASTER. §6.4.3: a MASTER that hears a lower-priority advert stays MASTER
  (two VIP holders); one that hears a higher-priority advert becomes BACKUP at once, so after heal
  a single holder remains within one advert interval (at most one master down interval).
* man 5 keepalived.conf (interface, track_interface): an instance whose interface goes down enters
  FAULT and releases its VIPs.
* iptables-extensions(8) statistic: ``--mode random --probability p`` matches each packet with
  probability p: n packets give a Binomial(n, p) count of drops.
"""
import re

import pytest

from lab.timers import MARGIN
from lab.nemesis._exec import tagged_rules

ADVERT_INT = 1.0
MDI_B = 3 * ADVERT_INT + (256 - 100) / 256     # 3.609375 s
MDI_A = 3 * ADVERT_INT + (256 - 150) / 256     # 3.4140625 s
TIMER_TOLERANCE = 0.1


def _masters(lab):
    """Nodes whose last notify_fifo line for VI_1 says MASTER. keepalived 2.2.7 also writes the event
    MASTER_RX_LOWER_PRI (a MASTER heard a lower priority, man 5 keepalived.conf notify_master_rx_lower_pri),
    which leaves the node MASTER."""
    return sorted(n for n, s in lab.history.states("VI_1").items() if s in ("MASTER", "MASTER_RX_LOWER_PRI"))


def _no_kalab_rules(lab):
    return {n.name: tagged_rules(n) for n in lab.nodes.values() if n.status() == "running" and tagged_rules(n)}


@pytest.mark.topology("two_node")
def test_dropping_vrrp_on_the_backup_gives_two_holders_until_heal(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("drop-vrrp", "b", direction="in")
    f.apply()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    # b waits out its master down interval from the last advert it heard (a goes on advertising)
    lab.check.assert_master_down_takeover("b", "VI_1", since=f.issued_at, until=f.applied_at,
                                          tolerance=TIMER_TOLERANCE, late=MARGIN)
    assert lab.vip_holders("VI_1") == ["a", "b"], "split brain: a hears b's lower priority and stays MASTER"
    f.heal()
    lab.wait_for_transition("VI_1", "BACKUP", node="b", since=f.heal_issued_at, clock_from=f.healed_at, timeout=MDI_B)
    assert lab.vip_holders("VI_1") == ["a"]
    assert not _no_kalab_rules(lab)
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


@pytest.mark.topology("faults_unicast")
def test_dropping_outbound_unicast_vrrp_on_the_master_splits_the_brain(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    assert "unicast_peer" in lab.node("a").read_file("/etc/keepalived/keepalived.conf")
    f = lab.fault("drop-vrrp", "a", direction="out")
    f.apply()
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    assert lab.vip_holders("VI_1") == ["a", "b"]
    f.heal()
    lab.wait_for_transition("VI_1", "BACKUP", node="b", since=f.heal_issued_at, clock_from=f.healed_at, timeout=MDI_B)
    assert lab.vip_holders("VI_1") == ["a"]
    assert not _no_kalab_rules(lab)
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


@pytest.mark.topology("two_node")
def test_one_way_loss_matters_only_from_master_to_backup(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    quiet = lab.fault("one-way", "b", to="a")     # b -> a lost: a silent backup loses nothing
    quiet.apply()
    changed = lab.history.wait_for(lambda h: h.events("state", since=quiet.issued_at), MDI_B + MARGIN, slack=MARGIN)
    assert not changed, f"b -> a loss changed states: {changed}"
    quiet.heal()
    f = lab.fault("one-way", "a", to="b")         # a -> b lost: b times out, a hears b and stays
    f.apply()
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    assert lab.vip_holders("VI_1") == ["a", "b"]
    assert _masters(lab) == ["a", "b"]
    f.heal()
    lab.wait_for_transition("VI_1", "BACKUP", node="b", since=f.heal_issued_at, clock_from=f.healed_at, timeout=MDI_B)
    assert lab.vip_holders("VI_1") == ["a"]
    assert not _no_kalab_rules(lab)
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


@pytest.mark.topology("two_node")
def test_partition_makes_both_sides_master_and_heal_restores_one(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("partition", "a", groups="a/b,client")
    f.apply()
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    assert _masters(lab) == ["a", "b"]
    assert lab.vip_holders("VI_1") == ["a", "b"]
    assert lab.node("client").exec(["ping", "-c", "1", "-W", "1", str(lab.node("a").address)]).exit_code != 0
    assert lab.node("client").exec(["ping", "-c", "1", "-W", "1", str(lab.node("b").address)]).ok
    f.heal()
    lab.wait_for_transition("VI_1", "BACKUP", node="b", since=f.heal_issued_at, clock_from=f.healed_at, timeout=MDI_B)
    assert _masters(lab) == ["a"]
    assert lab.vip_holders("VI_1") == ["a"]
    assert not _no_kalab_rules(lab)
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


@pytest.mark.topology("two_node")
def test_link_down_puts_the_master_in_fault_and_up_restores_it(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("link-down", "a", iface="eth0")
    f.apply()
    lab.wait_for_transition("VI_1", "FAULT", node="a", since=f.issued_at, clock_from=f.applied_at, timeout=MARGIN)
    assert not lab.node("a").holds(lab.vip("VI_1")), "FAULT releases the VIP"
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    f.heal()
    lab.wait_for_transition("VI_1", "MASTER", node="a", since=f.heal_issued_at, clock_from=f.healed_at, timeout=MDI_A + 2 * MARGIN)
    lab.wait_for_transition("VI_1", "BACKUP", node="b", since=f.heal_issued_at, clock_from=f.healed_at, timeout=MDI_A + 2 * MARGIN)
    assert lab.vip_holders("VI_1") == ["a"]
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


#: 200 probes at p = 0.5: the count of drops is Binomial(200, 0.5), sd 7.07; +/- 40 is beyond 5.6 sd.
LOSS_N, LOSS_P, LOSS_BAND = 200, 0.5, 40
DELAY_MS, JITTER_MS = 200.0, 50.0
#: NFQUEUE delay accuracy allowed: helper wake-up and docker-shared CPU on a loaded 2-core host
#: (25 ms held alone; under a full parallel suite more is needed)
DELAY_SLACK_MS = 60.0


def _ping(node, addr, count, interval):
    out = node.exec(["ping", "-q", "-c", str(count), "-i", f"{interval:g}", "-W", "2", str(addr)]).output
    recv = int(re.search(r"(\d+) received", out).group(1))
    rtt = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", out)
    return recv, tuple(float(x) for x in rtt.groups()) if rtt else None


@pytest.mark.topology("two_node")
@pytest.mark.judge(allow=["delay"])      # a 3 s VRRP delay reaches the master down interval: no rule (cannot judge)
def test_random_loss_and_delay_hit_what_they_say(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    a, b = lab.node("a"), lab.node("b")
    loss = lab.fault("loss", "b", percent=LOSS_P * 100, proto="icmp")
    with loss:
        recv, _ = _ping(a, b.address, LOSS_N, 0.01)
        seen, dropped = loss.counters()
    assert seen == LOSS_N and dropped == LOSS_N - recv
    assert abs(dropped - LOSS_N * LOSS_P) <= LOSS_BAND, f"{dropped}/{LOSS_N} dropped"

    delay = lab.fault("delay", "b", ms=DELAY_MS, proto="icmp")   # echo requests held at b's input
    with delay:
        recv, (mn, avg, mx, mdev) = _ping(a, b.address, 10, 0.05)
    assert recv == 10
    print(f"NFQUEUE delay {DELAY_MS} ms: rtt min/avg/max {mn}/{avg}/{mx} ms")
    assert DELAY_MS <= mn and avg <= DELAY_MS + DELAY_SLACK_MS
    with lab.fault("delay", "b", ms=DELAY_MS, jitter_ms=JITTER_MS, proto="icmp"):
        recv, (mn, avg, mx, mdev) = _ping(a, b.address, 20, 0.05)
    assert DELAY_MS - JITTER_MS <= mn and mx <= DELAY_MS + JITTER_MS + DELAY_SLACK_MS and mdev > 5
    assert _ping(a, b.address, 3, 0.05)[1][2] < 50, "healed: no delay left"

    # VRRP: holding adverts at b for longer than MDI - advert_int opens one gap > MDI when the delay
    # starts, so b takes over; the delayed 150 adverts then arrive and b yields (RFC 3768 §6.4.2/3).
    hold = 3.0
    vd = lab.fault("delay", "b", ms=hold * 1000, proto="vrrp")
    vd.apply()
    up = lab.wait_for_transition("VI_1", "MASTER", node="b", since=vd.issued_at, clock_from=vd.applied_at, timeout=MDI_B + MARGIN)
    down = lab.wait_for_transition("VI_1", "BACKUP", node="b", since=up.t, timeout=hold + ADVERT_INT + MARGIN)
    assert down.t - vd.issued_at <= ADVERT_INT + hold + MARGIN
    vd.heal()
    assert _masters(lab) == ["a"] and lab.vip_holders("VI_1") == ["a"]
    assert not _no_kalab_rules(lab)
    assert not b.exec("ls /run/kalab/faults/*.pid").ok, "delay helpers stopped"
