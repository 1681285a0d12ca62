"""VRRPv3 over IPv6 beside VRRPv2 over IPv4, with one VRID (topologies/dual_stack.yaml: a 150, b 100,
advert_int 1, VI_1 IPv4 VIP lan+200, VI_6 IPv6 VIP fd00:6b61:51::100, both virtual_router_id 51).

Expected values from the documented rules, written before running:
* RFC 5798 §5.1.2.1/§5.1.2.2: an IPv6 advert is sent from the interface's link-local address to
  ff02::12 with hop limit 255; §5.2.3: one VRID in IPv4 and in IPv6 is two virtual routers, each elected
  on its own adverts, so a is MASTER of both and b BACKUP of both.
* RFC 5798 §6.1: Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time, Skew_Time =
  ((256 - Priority) x Master_Adver_Interval) / 256: for b 3 + 156/256 = 3.609 s (the same as VRRPv2's
  at advert_int 1). After a SIGKILL of a, b takes over each instance one master down interval after the
  last advert of that family it heard.
* §6.4.3: the new master owns the IPv6 VIP; the client reaches it over IPv6 (nginx answers the VIP).
"""
import ipaddress

import pytest

from lab.timers import MARGIN, TIMER_TOLERANCE

pytestmark = pytest.mark.topology("dual_stack")

VIP6 = ipaddress.IPv6Address("fd00:6b61:51::100")


def test_ipv6_instance_elects_on_its_own_adverts_and_fails_over_with_the_ipv4_one(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    assert lab.wait_for_master("VI_6").name == "a"
    assert lab.vips("VI_6") == [VIP6]
    assert lab.vip_holders("VI_6") == ["a"]
    assert lab.vip_holders("VI_1") == ["a"]
    assert lab.http_get_vip("VI_6") == "a", "the client reaches the IPv6 VIP on its master"
    # kalab status's view too (newcomer finding: it compared IPv4 addresses only and said a held no IPv6 VIP)
    from lab.status import status_rows
    held = {(r.node, r.instance): r.holds_vip for r in status_rows(lab)}
    assert held[("a", "VI_6")] and not held[("b", "VI_6")] and held[("a", "VI_1")], held

    a, b = lab.node("a"), lab.node("b")
    a_ll = {str(x) for x in a.link_local()}
    assert len(a_ll) == 1 and all(ipaddress.IPv6Address(x).is_link_local for x in a_ll), a_ll
    got = lab.history.wait_for(lambda h: [e for e in h.events("advert", vrid=51) if e.get("family") == 6
                                          and e["src"] in a_ll], 2 * 1.0 + MARGIN, account=False)
    assert got, "no IPv6 advert from a's link-local address was captured"
    v6 = got[-1]
    assert (v6["dst"], v6["ttl"], v6["version"], v6["priority"], v6["advert_int"]) == ("ff02::12", 255, 3, 150, 1.0)
    assert v6["addresses"] == [str(VIP6)]
    v4 = [e for e in lab.history.events("advert", vrid=51) if e.get("family") == 4 and e["src"] == str(a.address)]
    assert v4 and v4[-1]["version"] == 2 and v4[-1]["dst"] == "224.0.0.18", "the IPv4 instance advertises apart"

    kill = lab.fault("sigkill", "a")
    kill.apply()
    for inst in ("VI_1", "VI_6"):
        lab.wait_for_transition(inst, "MASTER", node="b", since=kill.issued_at, clock_from=kill.applied_at,
                                timeout=3 + (256 - 100) / 256 + MARGIN)
        # each timed from the last advert of its own family that b heard
        lab.check.assert_master_down_takeover("b", inst, since=kill.issued_at, tolerance=TIMER_TOLERANCE, late=MARGIN)
    assert lab.vip_holders("VI_6") == ["b"]
    assert lab.http_get_vip("VI_6") == "b"
    b_ll = {str(x) for x in b.link_local()}
    assert lab.history.wait_for(lambda h: [e for e in h.events("advert", since=kill.issued_at, vrid=51)
                                           if e.get("family") == 6 and e["src"] in b_ll], 1.0 + MARGIN, account=False)
    lab.check.assert_matches_model()


@pytest.mark.parametrize("kind,target,params", [
    ("drop-vrrp", "a", {"direction": "out"}),        # a's adverts never leave it
    ("one-way", "a", {"to": "b", "proto": "vrrp"}),   # b stops hearing a
    ("partition", "a", {}),                           # a against the rest, every protocol
], ids=["drop-vrrp", "one-way", "partition"])
def test_every_network_fault_on_vrrp_reaches_both_families(lab, kind, target, params):
    # b stops hearing a in both families, so it takes over VI_1 and VI_6 alike, each one master down interval
    # after the last advert of its family it heard (RFC 3768/5798 §6.4.2); with the fault only on IPv4, VI_6
    # would stay on a and the model (both masters) would call it a violation
    assert lab.wait_for_master("VI_1").name == "a" and lab.wait_for_master("VI_6").name == "a"
    f = lab.fault(kind, target, **params)
    f.apply()
    for inst in ("VI_1", "VI_6"):
        lab.wait_for_transition(inst, "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at,
                                timeout=3 + (256 - 100) / 256 + MARGIN)
    lab.check.assert_master_down_takeover("b", "VI_6", since=f.issued_at, until=f.applied_at,
                                          tolerance=TIMER_TOLERANCE, late=MARGIN)
    f.heal()
    for inst in ("VI_1", "VI_6"):       # b hears a's higher priority again and yields (RFC 5798 §6.4.3)
        lab.wait_for_transition(inst, "BACKUP", node="b", since=f.heal_issued_at, clock_from=f.healed_at,
                                timeout=1.0 + MARGIN)
    lab.check.assert_matches_model()
