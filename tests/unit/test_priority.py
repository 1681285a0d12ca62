"""lab.priority: keepalived's priority arithmetic, expected values from man 5 keepalived.conf."""
import pytest

from lab.priority import effective_priority, tracker_adjustment, tracker_faults


@pytest.mark.parametrize("prio, adj, expected", [
    (100, [], 100),
    (100, [50], 150),            # positive weight added while OK
    (100, [-30], 70),            # negative weight subtracted while failing
    (200, [100], 254),           # trackers cannot raise a priority to 255: clamped to 254
    (10, [-50], 1),              # never below 1
    (255, [-100], 255),          # address owner: never changed by trackers
    (255, [10], 255),
    (254, [], 254),
    (1, [], 1),
    (100, [20, -30, 5], 95),     # adjustments add up before the clamp
    (250, [10, -10], 250),       # ... so one past 254 and back is not clamped on the way
])
def test_effective_priority(prio, adj, expected):
    assert effective_priority(prio, adj) == expected


@pytest.mark.parametrize("prio", [0, 256, -1])
def test_effective_priority_rejects_a_priority_outside_1_255(prio):
    with pytest.raises(ValueError, match="1..255"):
        effective_priority(prio)


@pytest.mark.parametrize("weight, reverse, ok, expected", [
    (20, False, True, 20), (20, False, False, 0),       # "<rise> successes will add <weight>"
    (-20, False, True, 0), (-20, False, False, -20),    # "subtracted ... in case of <fall> failures"
    (20, True, True, -20), (20, True, False, 0),        # reverse: direction reversed
    (-20, True, True, 0), (-20, True, False, 20),
    (0, False, False, 0), (0, True, True, 0),           # weight 0 faults, adjusts nothing
])
def test_tracker_adjustment(weight, reverse, ok, expected):
    assert tracker_adjustment(weight, reverse, ok) == expected


@pytest.mark.parametrize("weight, reverse, ok, expected", [
    (0, False, False, True), (0, False, True, False),   # weight 0: FAULT on failure
    (0, True, True, True), (0, True, False, False),     # weight 0 reverse: down when the tracker is up
    (10, False, False, False), (-10, False, False, False),
])
def test_tracker_faults(weight, reverse, ok, expected):
    assert tracker_faults(weight, reverse, ok) == expected


def test_same_answers_as_the_models_trackspec():
    """The election model's trackers use lab.priority: both give the same answer on every input."""
    from lab.election import TrackSpec
    from lab.election import effective_priority as model_effective

    for w in (-253, -20, -1, 0, 1, 20, 253):
        for rev in (False, True):
            for ok in (False, True):
                t = TrackSpec("s", weight=w, reverse=rev)
                assert tracker_adjustment(w, rev, ok) == t.adjustment(ok)
                assert tracker_faults(w, rev, ok) == t.faults(ok)
    for p in (1, 50, 200, 254, 255):
        for adj in ([], [100], [-300], [60, -10]):
            assert effective_priority(p, adj) == model_effective(p, adj)
