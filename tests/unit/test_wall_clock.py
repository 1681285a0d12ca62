"""Kernel wall-clock stamps onto the host's monotonic clock across steps of the wall clock
(lab.runtime.clock.WallToMono; pure, with fake clocks).

Found reading CI-13: the host capture turned every frame's kernel stamp (CLOCK_REALTIME) into monotonic
time with one offset taken when the capture started. The wall clock of this VM was stepped during the run
(+11.7 s in two labs at once), and from then on every advert of those labs was recorded 11.7 s late: a
takeover was judged 2.1 s late, a crosscheck counted adverts short, and a priority check saw adverts of
priority 150 eleven seconds after keepalived had dropped to 110.
"""
import pytest

from lab.runtime.clock import STEP, WallToMono


class FakeClocks:
    def __init__(self, mono=100.0, offset=1_000_000.0):
        self.m, self.offset = mono, offset

    def mono(self):
        return self.m

    def wall(self):
        return self.m + self.offset


def test_stamps_follow_the_offset_of_the_latest_reading():
    c = FakeClocks()
    w = WallToMono(wall=c.wall, mono=c.mono)
    assert w.to_mono(c.wall()) == pytest.approx(100.0)
    c.m, c.offset = 110.0, c.offset + 11.7            # the wall clock is stepped forward 11.7 s
    step = w.resample()
    assert step == pytest.approx(11.7)
    # a frame the kernel stamped after the step (wall 110 + new offset) is at monotonic 110, not 121.7
    assert w.to_mono(c.wall()) == pytest.approx(110.0)


def test_no_step_below_the_threshold():
    c = FakeClocks()
    w = WallToMono(wall=c.wall, mono=c.mono)
    c.m += 5
    c.offset += STEP / 2                              # a slew, not a step
    assert w.resample() is None


def test_a_reading_split_by_preemption_is_taken_again_not_read_as_a_step():
    # monotonic, wall, monotonic: a thread preempted between the reads would see the wall clock "move"
    seq = iter([100.0, 100.5, 100.0, 100.0])          # mono readings: first bracket is 0.5 s wide
    walls = iter([1_000_100.0 + 0.25, 1_000_100.0])

    class C:
        def mono(self):
            return next(seq)

        def wall(self):
            return next(walls)

    w = WallToMono(wall=C().wall, mono=C().mono)
    assert w.offset == pytest.approx(1_000_000.0)
    assert w.uncertainty <= 0.001
