"""VRID and VIP-set rules of the election model (pure; issue 12: "VRID reuse by instances with
different VIP sets on one segment").

Expected values from the rules, written before running:
* R_VRID (RFC 3768 §7.1, RFC 5798 §7.1): a receiver MUST discard an advert for a VRID not configured on
  its interface: same instance name, different virtual_router_id -> separate routers, each MASTER.
* R_ADDR_LIST (RFC 3768 §7.1 MAY verify the addresses; keepalived 2.2.7 vrrp.c vrrp_check_packet does,
  addr_list_err): an advert whose VIP set differs from the receiver's is discarded -> each MASTER; the
  order of the VIPs and their prefixes do not matter (keepalived compares the addresses).
* keepalived matches adverts by interface and VRID, not by instance name: two instance names sharing one
  VRID on one segment with the same VIPs are one router there, which the model (by name) cannot judge.
Priorities a 150, b 100, advert_int 1 s, VRRPv2.
"""
from __future__ import annotations

import ipaddress

import pytest

from lab.election import ElectionModel, NodeUp, specs_from_topology
from lab.election.rules import R_ADDR_LIST, R_VRID
from lab.judge import Verdict, judge
from lab.topology import validate

from two_node_history import END, START, hist, st


def topo(a: dict, b: dict, *, b_net: str = "lan", names=("VI_1", "VI_1")):
    base = {"state": "BACKUP", "interface": "eth0", "virtual_router_id": 51, "advert_int": 1,
            "virtual_ipaddress": ["lan+200/24"]}
    return validate({"name": "vrid", "networks": {"lan": {}, "wan": {}}, "nodes": {
        "a": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {names[0]: {**base, "priority": 150, **a}}},
        "b": {"interfaces": {"eth0": {"network": b_net}}, "vrrp_instances": {names[1]: {**base, "priority": 100, **b}}},
    }})


def settle(t):
    m = ElectionModel(specs_from_topology(t))
    m.apply(NodeUp("a"))
    return m.apply(NodeUp("b"))


@pytest.mark.parametrize("a,b,options,rule", [
    ({}, {}, (frozenset("a"),), None),                                                     # one router: a wins
    ({}, {"virtual_router_id": 52}, (frozenset("ab"),), R_VRID),                             # another VRID
    ({}, {"virtual_ipaddress": ["lan+201/24"]}, (frozenset("ab"),), R_ADDR_LIST),            # another VIP
    ({}, {"virtual_ipaddress": ["lan+200/24", "lan+201/24"]}, (frozenset("ab"),), R_ADDR_LIST),   # one VIP more
    ({"virtual_ipaddress": ["lan+201/24", "lan+200/24"]}, {"virtual_ipaddress": ["lan+200/32", "lan+201"]},
     (frozenset("a"),), None),                                                             # order, prefix: same set
], ids=["same", "other-vrid", "other-vip", "extra-vip", "same-set-reordered"])
def test_adverts_of_another_vrid_or_vip_set_are_discarded(a, b, options, rule):
    e = settle(topo(a, b))[0]
    assert e.options == options
    if rule:
        assert rule in e.rules
    else:
        assert R_VRID not in e.rules and R_ADDR_LIST not in e.rules


def test_two_instance_names_sharing_a_vrid_and_vips_on_one_segment_cannot_be_judged():
    specs = specs_from_topology(topo({}, {}, names=("VI_1", "VI_X")))
    for inst, node in (("VI_1", "a"), ("VI_X", "b")):
        assert any("VRID 51 on lan" in u and "one virtual router" in u for u in specs[inst][node].unmodelled)


@pytest.mark.parametrize("b,b_net", [({"virtual_ipaddress": ["lan+201/24"]}, "lan"), ({}, "wan")],
                         ids=["other-vips", "other-segment"])
def test_two_instance_names_sharing_a_vrid_are_judged_apart_when_they_cannot_hear_each_other(b, b_net):
    specs = specs_from_topology(topo({}, b, b_net=b_net, names=("VI_1", "VI_X")))
    assert specs["VI_1"]["a"].unmodelled == () and specs["VI_X"]["b"].unmodelled == ()


def test_a_lab_address_reference_is_compared_once_the_subnet_is_known():
    t = topo({"virtual_ipaddress": ["10.9.0.200/24"]}, {})          # a written as an address, b as lan+200
    unknown = specs_from_topology(t)
    assert any("cannot compare" in u for u in unknown["VI_1"]["a"].unmodelled)
    addrs = {"a": {"eth0": ipaddress.IPv4Address("10.9.0.11")}, "b": {"eth0": ipaddress.IPv4Address("10.9.0.12")}}
    known = specs_from_topology(t, addrs)
    assert known["VI_1"]["a"].unmodelled == () and known["VI_1"]["b"].vips == frozenset({"10.9.0.200"})
    m = ElectionModel(known)
    m.apply(NodeUp("a"))
    assert m.apply(NodeUp("b"))[0].options == (frozenset("a"),)
    other = specs_from_topology(topo({"virtual_ipaddress": ["10.9.0.201/24"]}, {}), addrs)
    m = ElectionModel(other)
    m.apply(NodeUp("a"))
    assert m.apply(NodeUp("b"))[0].options == (frozenset("ab"),)


def test_judged_history_of_reused_vrid_with_other_vips():
    """Both MASTER is what the rules require when the VIP sets differ; b staying BACKUP is violated."""
    specs = specs_from_topology(topo({}, {"virtual_ipaddress": ["lan+201/24"]}))
    split = hist(*START, st(4.1, "b", "MASTER", 100), END)
    rep = judge(split, specs, margin=1.0, startup=15.0)
    assert rep.verdict is Verdict.HOLDS, [j.problem for j in rep.judgements]
    one = hist(*START, END)                                              # b never becomes MASTER
    assert judge(one, specs, margin=1.0, startup=15.0).verdict is Verdict.VIOLATED


def test_a_history_with_an_unjudgeable_vrid_share_says_so():
    rep = judge(hist(*START, END), specs_from_topology(topo({}, {}, names=("VI_1", "VI_X"))), margin=1.0, startup=15.0)
    assert rep.verdict is Verdict.CANNOT_JUDGE and "VRID 51" in rep.stopped_at.reason


@pytest.mark.parametrize("conf_value,runs", [("0.4", 1.0), ("1.5", 2.0), ("2", 2.0)])
def test_a_users_fractional_vrrpv2_advert_int_is_modelled_as_keepalived_rounds_it(conf_value, runs):
    # RFC 3768 §5.3.7: VRRPv2 carries whole seconds; keepalived 2.2.7 rounds a fraction to the nearest
    # second, at least 1 (vrrp.c vrrp_complete_instance: "must be an integer. rounding")
    from lab.kaconf.from_config import from_text
    from lab.election.specs import specs_from_running
    conf = (f"vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n"
            f"  advert_int {conf_value}\n  virtual_ipaddress {{\n    10.9.0.200/24\n  }}\n}}\n")
    assert from_text(conf).instances["VI_1"].advert_int == float(conf_value)
    specs = specs_from_running(topo({}, {}), {"a": conf})
    assert specs["VI_1"]["a"].advert_int == runs
