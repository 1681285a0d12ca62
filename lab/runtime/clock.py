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
