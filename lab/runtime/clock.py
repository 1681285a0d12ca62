"""The clock of a node's container, against this host's clocks.

Every history event is on this host's monotonic clock (``time.monotonic``). Lines a node stamps itself
(the notify_fifo events log: CLOCK_MONOTONIC inside the container) and the engine's log stamps (the engine
host's wall clock) are on the clocks of the machine the engine runs on. With a local engine those are this
host's clocks (containers share the kernel's clocks). With a remote engine (``DOCKER_HOST=tcp://...``,
Docker Desktop's VM) they are not: the lab measures the offset when a node starts and moves the node's
stamps onto this host's clocks, and records the offset with its uncertainty.

Measurement (:func:`measure`): this host reads its clocks, an exec in the container prints the container's
clocks, this host reads its clocks again. The container's reading was taken somewhere inside that round
trip, so offset = container - midpoint, uncertain by half the round trip; the best of ``samples`` tries
(the shortest round trip) is kept.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional


#: answers each line on stdin with CLOCK_MONOTONIC and the wall clock, seconds
_READ = ["python3", "-u", "-c",
         "import sys, time\nfor _ in sys.stdin:\n    print(repr(time.monotonic()), repr(time.time()), flush=True)"]


@dataclass(frozen=True)
class ClockOffset:
    """Container clock minus host clock, in seconds: ``mono`` (monotonic), ``wall`` (wall clock);
    ``uncertainty``: half the best round trip (s); ``samples``: tries."""
    mono: float
    wall: float
    uncertainty: float
    samples: int

    def to_host_mono(self, t_container_mono: float) -> float:
        """A container CLOCK_MONOTONIC stamp on this host's monotonic clock."""
        return t_container_mono - self.mono

    def as_dict(self) -> dict:
        return asdict(self)


#: s: a change of the wall clock against the monotonic clock larger than this (beyond the readings'
#: uncertainty) is a step. Smaller changes (a slew) misdate a frame by less than the checks' timer tolerance.
STEP = 0.05


class WallToMono:
    """This host's wall clock (CLOCK_REALTIME: the kernel's stamps on captured frames, tcpdump's pcap stamps)
    onto its monotonic clock (the history's), with an offset read again whenever the caller asks.

    The wall clock can be stepped while a lab runs (measured on this project's CI VMs: +11.7 s in the middle
    of a run); an offset read once would then misdate every later stamp by the step. A reading brackets the
    wall clock between two monotonic readings and keeps the narrowest of ``tries`` (a thread preempted
    between the reads widens the bracket; it is not a step).

    Args: ``wall``, ``mono``: the clocks (s; default ``time.time`` / ``time.monotonic``; tests pass fakes).
    Attributes: ``offset`` wall minus monotonic (s) at the latest reading, ``uncertainty`` half its bracket.
    """

    def __init__(self, wall: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic,
                 tries: int = 5):
        self._wall, self._mono, self._tries = wall, mono, tries
        self.offset, self.uncertainty = self._read()

    def _read(self) -> tuple[float, float]:
        best: Optional[tuple[float, float]] = None
        for _ in range(self._tries):
            m0 = self._mono()
            w = self._wall()
            m1 = self._mono()
            cand = (w - (m0 + m1) / 2, (m1 - m0) / 2)
            if best is None or cand[1] < best[1]:
                best = cand
            if cand[1] <= 0.001:
                break
        assert best is not None
        return best

    def resample(self) -> Optional[float]:
        """Read the offset again. Returns the step (s, + when the wall clock jumped forward) when it moved by
        more than :data:`STEP` beyond both readings' uncertainty since the last reading, else None."""
        was, was_unc = self.offset, self.uncertainty
        self.offset, self.uncertainty = self._read()
        step = self.offset - was
        return step if abs(step) > STEP + was_unc + self.uncertainty else None

    def to_mono(self, wall: float) -> float:
        """A wall-clock stamp (s) on the monotonic clock, by the latest reading."""
        return wall - self.offset


#: the offset of a local engine: the same kernel, the same clocks
LOCAL = ClockOffset(0.0, 0.0, 0.0, 0)


def measure(container, samples: int = 20) -> ClockOffset:
    """Measure ``container``'s clocks against this host's (docker-py container, running).

    One exec answers ``samples`` requests over its attached stdin/stdout: a round trip is the transport's
    (about a millisecond), not an exec's start-up (tens of milliseconds under load, and the uncertainty of
    the measurement is half the best round trip).

    Raises:
        RuntimeError: the container could not print its clocks (its output is in the message).
    """
    from .exec_io import STDOUT, start
    from .node_events import stream_lines

    _, stream = start(container.client.api, container.id, _READ, stdin=True)
    best = None
    try:
        lines = stream_lines(stream.chunks((STDOUT,)))
        for _ in range(samples):
            h0m, h0w = time.monotonic(), time.time()
            stream.send(b"?\n")
            line = next(lines, "")
            h1m, h1w = time.monotonic(), time.time()
            try:
                cm, cw = (float(x) for x in line.split())
            except ValueError:
                raise RuntimeError(f"cannot read the clocks of {container.name}: {line[:200]!r}") from None
            half = (h1m - h0m) / 2
            cand = ClockOffset(cm - (h0m + half), cw - (h0w + h1w) / 2, half, samples)
            if best is None or cand.uncertainty < best.uncertainty:
                best = cand
    finally:
        stream.close()
    return best
