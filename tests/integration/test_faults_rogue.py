"""Rogue VRRP adverts from the attacker container (topologies/faults_auth.yaml: VRRPv2, PASS auth
``kalab123``, VRID 63, a 150, b 100, advert_int 1).

Expected values from RFC 3768, written before running:
* §6.4.3: a MASTER receiving an advert with a higher priority (255 here) becomes BACKUP at once;
  the rogue keeps mastership while it advertises; after it stops, a becomes MASTER after its master
  down interval (3 x 1 + (256-150)/256 = 3.414 s) from the last rogue advert.
* §6.4.2: a BACKUP receiving priority 0 sets its Master_Down_Timer to Skew_Time ((256-100)/256 =
  0.609 s for b); §6.4.3: a MASTER receiving priority 0 sends an advert at once and stays MASTER,
  which resets the backups' timers: with a live master, forged priority-0 adverts change nothing.
* §7.1: a receiver MUST discard an advert whose authentication, VRID (no such virtual router),
  version or advert interval does not match; keepalived logs it. keepalived 2.2.7 disagrees in one
  respect (strict xfail, SILENCED): its master falls silent while such adverts keep arriving.
"""
import pytest

from lab.timers import MARGIN, TIMER_TOLERANCE

pytestmark = pytest.mark.topology("faults_auth")

ADVERT_INT = 1.0
MDI_A = 3 * ADVERT_INT + (256 - 150) / 256
SKEW_B = (256 - 100) / 256
#: how soon the master must answer a priority-0 advert: before b's skew time runs out (RFC 3768
#: §6.4.2/§6.4.3), otherwise b would take over; capture timestamps on a loaded host add noise
PACKET_TOLERANCE = SKEW_B


def test_rogue_priority_255_takes_mastership_and_priority_0_is_answered_by_the_master(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    rogue_ip = str(lab.node("attacker").address)
    rogue = lab.fault("rogue", "attacker", priority=255)
    rogue.apply()       # returns once the sender's first advert has gone out (kalab-rogue --daemon)
    ev = lab.wait_for_transition("VI_1", "BACKUP", node="a", since=rogue.issued_at, clock_from=rogue.applied_at, timeout=MARGIN)
    # timed from the first forged advert on the wire, not from the fault's issue: starting the sender in the
    # attacker container took 1.7 s on a loaded engine (CI, stop 23), and that is not keepalived's time
    forged = lab.history.wait_for(
        lambda h: [e for e in h.events("advert", since=rogue.issued_at, src=rogue_ip) if e["priority"] == 255],
        ADVERT_INT + MARGIN, account=False)
    assert forged, "cannot judge: the capture recorded no forged advert from the attacker"
    holes = lab.history.capture_holes(rogue.issued_at, ev.t)
    assert not holes, f"cannot judge the demotion: the capture may have missed the first forged advert: {holes}"
    assert -TIMER_TOLERANCE <= ev.t - forged[0].t <= MARGIN, \
        f"the first higher-priority advert demotes the master at once: {ev.t - forged[0].t:.3f} s after it"
    assert lab.vip_holders("VI_1") == [], "the real routers released the VIP to the rogue"
    assert lab.history.states("VI_1")["b"] == "BACKUP"
    rogue.heal()
    lab.wait_for_transition("VI_1", "MASTER", node="a", since=rogue.heal_issued_at, clock_from=rogue.healed_at, timeout=MDI_A + MARGIN)
    # a's master down interval runs from the last forged advert it heard (RFC 3768 §6.4.2), wherever the
    # heal's kill landed between its issue and its return
    lab.check.assert_master_down_takeover("a", "VI_1", since=rogue.heal_issued_at, tolerance=TIMER_TOLERANCE, late=MARGIN)
    assert lab.vip_holders("VI_1") == ["a"]

    # priority 0 ("the master stopped") while the real master lives: RFC 3768 §6.4.3 makes the MASTER
    # answer at once with its own advert, which resets the backup's timer to the master down interval
    # before its skew time (0.609 s) runs out; so b stays BACKUP and a MASTER.
    zero = lab.fault("rogue", "attacker", priority=0, interval=0.7)
    zero.apply()
    changed = lab.history.wait_for(lambda h: h.events("state", since=zero.issued_at), 4 * 0.7 + SKEW_B + MARGIN, slack=MARGIN)
    zero.heal()
    assert not changed, f"priority-0 adverts moved the election: {changed}"
    a_ip = str(lab.node("a").address)
    adverts = lab.history.events("advert", since=zero.issued_at)
    zeros = [e for e in adverts if e["src"] == rogue_ip and e["priority"] == 0][:-1]
    assert len(zeros) >= 3
    for z in zeros:
        assert any(e["src"] == a_ip and 0 <= e.t - z.t <= PACKET_TOLERANCE for e in adverts), \
            f"a did not answer the priority-0 advert at {z.t - lab.history.t0:.3f} s"
    assert lab.vip_holders("VI_1") == ["a"]


MDI_B = 3 * ADVERT_INT + (256 - 100) / 256
#: how long the malformed adverts flow: longer than b's master down interval plus an advert, so that
#: whether a goes on advertising decides the outcome, not how long the engine took to start the sender
FLOOD = MDI_B + 2 * ADVERT_INT


class MasterFellSilent(AssertionError):
    """The master sent no advert of its own while discarded adverts arrived (see SILENCED)."""


#: daemon and docs disagree (measured: no advert from a for 3.6 s of a 0.2 s flood, b MASTER until a
#: answered its advert; the wrong-VRID flood does not do it, as keepalived drops it before the instance)
SILENCED = pytest.mark.xfail(strict=True, raises=MasterFellSilent, reason=(
    "RFC 3768 §7.1: an advert that fails these checks is discarded, so it changes nothing; keepalived 2.2.7's "
    "MASTER sends no advert of its own while such adverts for its VRID arrive faster than its advert_int "
    "(keepalived's own advert_sent counter agrees), so b's master down interval runs out and b becomes "
    "MASTER until a answers b's advert"))


@pytest.mark.parametrize("wrong,log_hint", [
    pytest.param({"auth_pass": "wrongpw"}, "pass", marks=SILENCED, id="wrong-auth"),
    pytest.param({"vrid": 64}, None, id="wrong-vrid"),
    pytest.param({"version": 3}, "version", marks=SILENCED, id="vrrpv3"),
    pytest.param({"advert_int": 3}, "interval", marks=SILENCED, id="wrong-advert-int"),
])
def test_malformed_rogue_adverts_are_ignored(lab, wrong, log_hint):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("rogue", "attacker", priority=255, interval=0.2, **wrong)
    f.apply()
    changed = lab.history.wait_for(lambda h: h.events("state", since=f.issued_at), FLOOD, slack=MARGIN)
    a_ip = str(lab.node("a").address)
    f.heal()
    if log_hint:
        logs = lab.node("a").logs(tail=40).lower()
        assert log_hint in logs, f"keepalived should log the discarded advert ({log_hint!r}):\n{logs[-800:]}"
    if changed:                 # the whole change: a hears b's advert and may report it before b's MASTER line
        lab.history.wait_for(lambda h: h.events("state", since=f.issued_at, node="b", state="MASTER"),
                             ADVERT_INT + MARGIN, account=False)
        changed = lab.history.events("state", since=f.issued_at)
        # why b moved: a's silence (no advert of a's for b's whole master down interval before b's MASTER,
        # RFC 3768 §6.4.2) is the disagreement with the docs named in SILENCED; anything else is a failure.
        # Timed from a's adverts, not from the fault's issue (the flood may start well after it)
        up = next((e for e in changed if e["node"] == "b" and e["state"] == "MASTER"), None)
        # b's takeover on the wire is its first advert (a answers it at once, sometimes before b's notify line)
        b_ip = str(lab.node("b").address)
        t_up = min([up.t] + [e.t for e in lab.history.events("advert", src=b_ip, since=f.issued_at)]) if up else None
        before = [e for e in lab.history.events("advert", src=a_ip, since=f.issued_at - 2 * ADVERT_INT)
                  if up is not None and e.t < t_up]
        if up is not None and before and t_up - before[-1].t >= MDI_B - TIMER_TOLERANCE:
            raise MasterFellSilent(f"a sent no advert for {t_up - before[-1].t:.2f} s (b's master down interval "
                                   f"{MDI_B:.3f} s) while adverts with {wrong} arrived; then "
                                   f"{up.describe(lab.history.t0).strip()}")
    assert not changed, f"an advert with {wrong} moved the election: {changed}"
    assert lab.vip_holders("VI_1") == ["a"]
