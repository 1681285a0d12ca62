"""track_file in the election model (pure; issue 12: "track_file").

Expected values from man 5 keepalived.conf 2.2.7, Track files (written before running): weight 0: a
non-zero value is a failure (FAULT), 0 is OK; otherwise value x weight is added to the priority, the
effective priority kept in 1..254, and a result below -253 is FAULT ("the weight can be 254 to allow for a
negative value being read"); reverse inverts. keepalived's own where the man page is silent (R_TRACK_FILE):
the product is kept in -254..253, a missing file reads 0, init_file writes VALUE (default 0).
Nodes: a 150 tracks the file, b 100; advert_int 1 s, MDI(b) = 3 + 156/256 s (RFC 3768 §6.1).
"""
from __future__ import annotations

import pytest

from lab.election import ElectionModel, NodeUp, specs_from_topology
from lab.election.inputs import TrackFileValue, from_dict, to_dict
from lab.election.rules import R_FAULT_LEAVE, R_TRACK_FILE
from lab.priority import track_file_status
from lab.topology import validate

MDI_B = 3 + 156 / 256


@pytest.mark.parametrize("weight,reverse,value,status", [
    (0, False, 0, 0), (0, False, 3, None), (0, False, -1, None),     # weight 0: non-zero is a failure
    (0, True, 0, None), (0, True, 3, 0),                             # reverse: 0 is the failure
    (1, False, 5, 5), (10, False, -3, -30), (-10, False, 3, -30), (10, True, 3, -30),
    (254, False, -1, None),                                          # -254 < -253: FAULT
    (254, False, 1, 253),                                            # kept in -254..253
    (2, False, -126, -252), (2, False, -127, None),
])
def test_track_file_status(weight, reverse, value, status):
    assert track_file_status(weight, reverse, value) == status


def topo(files: dict, a_extra: dict | None = None, groups: dict | None = None):
    base = {"state": "BACKUP", "interface": "eth0", "virtual_router_id": 51, "virtual_ipaddress": ["lan+200/24"]}
    return validate({"name": "tf", "networks": {"lan": {}}, "vrrp_instances": {"VI_1": base},
                     "vrrp_track_files": files, **({"vrrp_sync_groups": groups} if groups else {}), "nodes": {
        "a": {"interfaces": {"eth0": {"network": "lan"}},
              "vrrp_instances": {"VI_1": {"priority": 150, "track_file": ["flag"], **(a_extra or {})}}},
        "b": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {"priority": 100}}}}})


def started(t):
    m = ElectionModel(specs_from_topology(t))
    m.apply(NodeUp("a"))
    return m, m.apply(NodeUp("b"))[0]


@pytest.mark.parametrize("weight,value,master,prio", [
    (-10, 6, "b", 90),       # 150 - 60 = 90 < 100: b preempts
    (-10, 4, "a", 110),      # 150 - 40 = 110 > 100: a keeps it
    (-10, 5, "a", 100),      # 100 == 100: an equal-priority backup does not preempt (RFC 3768 §6.4.2)
    (10, -6, "b", 90),       # a negative value with a positive weight lowers it too
    (1, -100, "b", 50),
])
def test_a_weighted_track_file_moves_the_priority_by_value_times_weight(weight, value, master, prio):
    m, e = started(topo({"flag": {"file": "/run/kalab/flag", "weight": weight}}))
    assert e.master == "a" and e.effective_priorities["a"] == 150          # a missing file reads 0
    e = m.apply(TrackFileValue("a", "flag", value))[0]
    assert e.master == master and e.effective_priorities["a"] == prio
    if master == "b":
        assert R_TRACK_FILE in e.rules
        assert e.earliest == pytest.approx(MDI_B - 1.0) and e.latest == pytest.approx(MDI_B)   # read at once


def test_weight_zero_non_zero_value_is_fault_and_zero_recovers():
    m, _ = started(topo({"flag": {"file": "/run/kalab/flag", "weight": 0}}))
    e = m.apply(TrackFileValue("a", "flag", 1))[0]
    assert e.states["a"] == "FAULT" and e.master == "b" and {R_FAULT_LEAVE, R_TRACK_FILE} <= set(e.rules)
    assert e.earliest == 0.0                       # a leaves MASTER at once (priority 0 advert)
    e = m.apply(TrackFileValue("a", "flag", 0))[0]
    assert e.master == "a" and e.states["a"] == "MASTER"


def test_the_instance_entry_weight_overrides_the_blocks():
    m, _ = started(topo({"flag": {"file": "/run/kalab/flag", "weight": -1}},
                        {"track_file": [{"flag": {"weight": -20}}]}))
    e = m.apply(TrackFileValue("a", "flag", 3))[0]
    assert e.effective_priorities["a"] == 90 and e.master == "b"


def test_a_result_below_minus_253_is_fault():
    m, _ = started(topo({"flag": {"file": "/run/kalab/flag", "weight": 254}}))
    e = m.apply(TrackFileValue("a", "flag", -1))[0]
    assert e.states["a"] == "FAULT" and e.master == "b"


def test_init_file_sets_the_value_at_start():
    # init_file 7: 150 - 70 = 80 < 100 from the start: b wins the first election
    _, e = started(topo({"flag": {"file": "/run/kalab/flag", "weight": -10, "init_file": True, "init_value": 7}}))
    assert e.master == "b" and e.effective_priorities["a"] == 80


def test_an_address_owners_default_weight_becomes_zero_and_another_is_dropped():
    # R_SYNC_WEIGHTS (keepalived 2.2.7 vrrp.c vrrp_complete_instance): owner + weight 1 -> weight 0 (FAULT on
    # a non-zero value); owner + weight -10 -> the tracker is ignored; the owner's priority stays 255 (R_OWNER)
    m, _ = started(topo({"flag": {"file": "/run/kalab/flag"}}, {"priority": 255}))
    assert m.apply(TrackFileValue("a", "flag", 2))[0].states["a"] == "FAULT"
    m, _ = started(topo({"flag": {"file": "/run/kalab/flag", "weight": -10}}, {"priority": 255}))
    e = m.apply(TrackFileValue("a", "flag", 9))[0]
    assert e.master == "a" and e.effective_priorities["a"] == 255


def test_the_input_round_trips_through_its_dict_form():
    ev = TrackFileValue("a", "flag", -3)
    assert to_dict(ev) == {"input": "track_file", "node": "a", "file": "flag", "value": -3}
    assert from_dict(to_dict(ev)) == ev
