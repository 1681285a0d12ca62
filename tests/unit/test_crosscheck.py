"""The record against keepalived's own books (lab.crosscheck), on hand-made histories.

Expected values follow keepalived 2.2.7's source: ``advert_sent`` counts every advert of the VRRP
process (vrrp.c vrrp_send_adv), notify_fifo lines carry the effective priority (vrrp_notify.c), and
a JSON dump's state is 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (vrrp.h)."""
import pytest

from lab.crosscheck import OFF_WIRE_FAULTS, WIRE_FAULTS, compare_node, run_start, summary
from lab.events import make
from lab.nemesis.base import kinds
from lab.runtime.dump import InstanceDump

A = "10.9.0.11"


def ev(kind, t, **d):
    return make(kind, t, d)


def dump(state="MASTER", prio=150, sent=5, vrid=51):
    return {"VI_1": InstanceDump("VI_1", vrid, state, prio, prio, 0, {"adver_int": 1.0}, {"advert_sent": sent})}


def life(adverts=5, start=0.0):
    """Node a starts at ``start``, reports BACKUP 150 then MASTER 150, and sends ``adverts`` adverts."""
    evs = [ev("node", start, node="a", action="start"),
           ev("state", start + 0.5, node="a", instance="VI_1", state="BACKUP", priority=150),
           ev("state", start + 3.5, node="a", instance="VI_1", state="MASTER", priority=150)]
    evs += [ev("advert", start + 3.5 + i, src=A, vrid=51, priority=150) for i in range(adverts)]
    return evs


def check(events, d, t_issued=20.0, t_done=20.2, captured=float("-inf"), unicast=None):
    events = sorted(events, key=lambda e: e.t)
    return {f.item: f for f in compare_node(events, "a", [A], d, t_issued, t_done, captured_from=captured,
                                            unicast=unicast or {})}


def test_every_fault_kind_says_whether_it_touches_the_wire():
    assert not WIRE_FAULTS & OFF_WIRE_FAULTS
    assert set(kinds()) == WIRE_FAULTS | OFF_WIRE_FAULTS, "a new fault kind: put it in WIRE_FAULTS or OFF_WIRE_FAULTS"


def test_a_record_that_agrees():
    fs = check(life(5), dump("MASTER", 150, 5))
    assert [fs[i].ok for i in ("state", "effective_priority", "advert_sent")] == [True, True, True]
    assert summary(list(fs.values())) == {"compared": 3, "agree": 3, "mismatches": 0, "skipped": 0}


def test_a_lost_notify_line_is_a_mismatch_with_both_figures():
    evs = [e for e in life(5) if not (e.kind == "state" and e["state"] == "MASTER")]
    f = check(evs, dump("MASTER", 150, 5))["state"]
    assert f.ok is False and f.lab == "BACKUP" and f.keepalived == "MASTER"
    assert "lab BACKUP, keepalived MASTER" in f.text()


def test_a_lost_priority_change_is_a_mismatch():
    f = check(life(5), dump("MASTER", 110, 5))["effective_priority"]
    assert f.ok is False and (f.lab, f.keepalived) == ("150", 110)


def test_a_hole_in_the_capture_is_a_mismatch():
    evs = [e for e in life(5) if not (e.kind == "advert" and e.t == 5.5)]
    f = check(evs, dump(sent=5))["advert_sent"]
    assert f.ok is False and (f.lab, f.keepalived) == ("4", 5)


def test_more_adverts_recorded_than_sent_is_a_mismatch():
    f = check(life(6), dump(sent=5))["advert_sent"]
    assert f.ok is False


def test_an_advert_sent_while_the_dump_was_taken_may_be_counted_or_not():
    evs = life(5) + [ev("advert", 20.1, src=A, vrid=51, priority=150)]
    assert check(evs, dump(sent=5))["advert_sent"].ok is True
    assert check(evs, dump(sent=6))["advert_sent"].ok is True
    assert check(evs, dump(sent=6))["advert_sent"].lab == "5..6"
    assert check(evs, dump(sent=7))["advert_sent"].ok is False


def test_a_state_change_while_the_dump_was_taken_is_allowed():
    evs = life(5) + [ev("state", 20.1, node="a", instance="VI_1", state="BACKUP", priority=150)]
    assert check(evs, dump("BACKUP", 150, 5))["state"].ok is True
    assert check(evs, dump("MASTER", 150, 5))["state"].ok is True
    assert check(evs, dump("FAULT", 150, 5))["state"].ok is False


def test_only_the_current_process_counts():
    # a first run sent 4 adverts, then a restart: keepalived's new process counts from zero
    evs = life(4, start=0.0) + [ev("node", 9.0, node="a", action="kill"), *life(3, start=10.0)]
    assert run_start(sorted(evs, key=lambda e: e.t), "a", 20.0) == 10.0
    assert check(evs, dump(sent=3))["advert_sent"].ok is True
    assert check(evs, dump(sent=7))["advert_sent"].ok is False


def test_a_restarted_vrrp_child_counts_from_zero():
    evs = life(4) + [ev("fault", 9.0, name="f1", action="apply", target="a", fault_kind="kill-vrrp-child"),
                     ev("state", 9.5, node="a", instance="VI_1", state="BACKUP", priority=150),
                     ev("state", 12.5, node="a", instance="VI_1", state="MASTER", priority=150),
                     ev("advert", 12.6, src=A, vrid=51, priority=150)]
    assert check(evs, dump(sent=1))["advert_sent"].ok is True


def test_no_report_yet_is_init():
    evs = [ev("node", 19.9, node="a", action="start")]
    fs = check(evs, dump("INIT", 150, 0))
    assert fs["state"].ok is True
    assert fs["effective_priority"].ok is None and "no priority" in fs["effective_priority"].why


def test_other_sources_and_vrids_are_not_counted():
    evs = life(5) + [ev("advert", 6.0, src="10.9.0.12", vrid=51, priority=100),
                     ev("advert", 6.1, src=A, vrid=52, priority=150)]
    assert check(evs, dump(sent=5))["advert_sent"].ok is True


@pytest.mark.parametrize("kind", sorted(WIRE_FAULTS))
def test_a_wire_fault_in_the_run_skips_the_advert_count_and_says_so(kind):
    evs = life(3) + [ev("fault", 8.0, name="f", action="apply", target="a", fault_kind=kind)]
    f = check(evs, dump(sent=9))["advert_sent"]
    assert f.ok is None and kind in f.why


def test_a_wire_fault_before_the_run_does_not_skip_it():
    evs = [ev("fault", -5.0, name="f", action="apply", target="a", fault_kind="drop-vrrp")] + life(5)
    assert check(evs, dump(sent=5))["advert_sent"].ok is True


def test_unicast_and_no_capture_are_skipped_with_the_reason():
    assert "unicast" in check(life(5), dump(), unicast={"VI_1": True})["advert_sent"].why
    f = check(life(5), dump(), captured=None)["advert_sent"]
    assert f.ok is None and "no adverts" in f.why
    # state and priority are still compared
    assert check(life(5), dump(), captured=None)["state"].ok is True


def test_a_sync_group_line_is_not_an_instance_state():
    evs = life(5) + [ev("state", 6.0, node="a", instance="VI_1", state="FAULT", priority=150, type="GROUP")]
    assert check(evs, dump("MASTER", 150, 5))["state"].ok is True


def test_the_masters_first_advert_precedes_its_notify_line():
    # keepalived sends the advert on becoming MASTER, then writes the fifo line (seen 1 ms apart)
    evs = life(0) + [ev("advert", 3.499, src=A, vrid=51, priority=150)]
    assert check(evs, dump(sent=1))["advert_sent"].ok is True


def test_a_vrrp_child_kill_counts_from_when_it_was_issued():
    # the fault is recorded once the respawn is seen; the new child reported before that
    evs = life(2) + [ev("fault", 9.2, name="f1", action="apply", target="a", fault_kind="kill-vrrp-child",
                        t_issued=9.0),
                     ev("state", 9.1, node="a", instance="VI_1", state="BACKUP", priority=150),
                     ev("advert", 12.499, src=A, vrid=51, priority=150),
                     ev("state", 12.5, node="a", instance="VI_1", state="MASTER", priority=150)]
    fs = check(evs, dump(sent=1))
    assert fs["advert_sent"].ok is True and fs["state"].ok is True


def test_a_capture_that_began_after_the_run_started_is_not_compared():
    # CI under -n 4: the host capture began 0.6 s after the node's first advert; keepalived counted 7, the
    # capture saw 6, and the cross-check called the lab's record wrong
    late = check(life(5), dump(sent=6), captured=3.8)["advert_sent"]     # the first advert was at 3.5
    assert late.ok is None and "capture began 3.80 s after" in late.why
    # began after the start but while the node was still BACKUP (0.5 s: it sends nothing there): complete
    assert check(life(5), dump(sent=6), captured=0.4)["advert_sent"].ok is False
    assert check(life(5), dump(sent=5), captured=0.5)["advert_sent"].ok is True
    assert check(life(5), dump(sent=5), captured=0.6)["advert_sent"].ok is None
    # a node whose first report is MASTER (state MASTER, priority 255) may have sent before it: from its start
    master_first = [e for e in life(5) if e.get("state") != "BACKUP"]
    assert check(master_first, dump(sent=5), captured=0.3)["advert_sent"].ok is None
    assert check(life(5), dump(sent=5), captured=0.0)["advert_sent"].ok is True       # began with the run
    assert check(life(5), dump(sent=6), captured=0.0)["advert_sent"].ok is False      # and still judged
    # a later run of keepalived (restarted after the capture began) is compared again
    evs = life(2) + life(3, start=10.0)
    assert check(evs, dump(sent=3), captured=3.8)["advert_sent"].ok is True


def test_the_old_childs_last_advert_after_the_kill_was_issued_is_not_the_new_childs():
    # CI -n 4: kill-vrrp-child issued at 8.76 s; the old child (MASTER) still sent one advert (8.99 s) before
    # the exec killed it; the new child started in BACKUP (9.33 s), so it sent nothing before that report
    evs = life(6) + [ev("fault", 9.9, name="f1", action="apply", target="a", fault_kind="kill-vrrp-child",
                        t_issued=8.76),
                     ev("state", 9.33, node="a", instance="VI_1", state="BACKUP", priority=150),
                     ev("advert", 12.75, src=A, vrid=51, priority=150),
                     ev("state", 12.756, node="a", instance="VI_1", state="MASTER", priority=150),
                     ev("advert", 13.75, src=A, vrid=51, priority=150)]
    evs.append(ev("advert", 8.99, src=A, vrid=51, priority=150))      # life(6): adverts 3.5 .. 8.5
    assert check(evs, dump(sent=2))["advert_sent"].ok is True
    assert check(evs, dump(sent=3))["advert_sent"].ok is False
