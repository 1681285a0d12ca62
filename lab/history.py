"""The lab's history: timestamped events from every node (pure data, thread-safe).

Timestamps are seconds on one clock, ``time.monotonic()`` of the host, which the
containers share (same kernel): a node's notify_fifo line is stamped inside the
node when keepalived writes it, so late reading does not skew it.

Event kinds, their fields and the node lifecycle vocabulary are defined once in
:mod:`lab.events`; :meth:`History.append` checks every event against it.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from .events import SCHEMA_VERSION, Event, EventError, from_json, make, node_effect, to_json


#: states keepalived reports on notify_fifo. keepalived 2.2.7 also writes MASTER_RX_LOWER_PRI
#: (a master heard a lower-priority advert) there: an event that leaves the node MASTER.
STATES = frozenset({"MASTER", "BACKUP", "FAULT", "STOP", "DELETED"})


#: event kinds stamped by keepalived (notify_fifo) or taken off the wire (adverts): what a wait
#: on the protocol ends with
PROTOCOL_KINDS = frozenset({"state", "priority", "advert"})


def capture_holes(events: Iterable[Event], since: float, until: float, network: Optional[str] = None) -> list[str]:
    """Why adverts taken off the wire between host times ``since`` and ``until`` (s) may be incomplete:
    one reason per ``capture`` event among ``events`` whose stretch overlaps them (``lost``: from its
    ``since`` to the event; ``stopped``: from its ``since`` on), on ``network`` or on any network. Empty:
    nothing the capture knows of is missing (lab.runtime.capture)."""
    out = []
    for e in events:
        if e.kind != "capture" or (network is not None and e.get("network") != network):
            continue
        start = e.get("since") if e.get("since") is not None else e.t
        end = e.t if e["action"] == "lost" else float("inf")
        if start <= until and end >= since:
            out.append(f"{e['network']}: {e['reason']} (at {start:.3f}"
                       + (f"-{end:.3f} s)" if end != float("inf") else " s and after)"))
    return out


@dataclass(frozen=True)
class Wait:
    """One :meth:`History.wait_for`, for the lab's time accounting (seconds, host monotonic clock).

    ``start``/``end``: when the caller blocked and returned. ``clock_start``/``protocol_end``:
    the stretch the protocol itself needed: from the event that started its clock (a kill, a
    fault, a node start; the wait's own start if unknown) to the keepalived-stamped event that
    satisfied the wait, or, for a wait that had to run out (proving that nothing happens takes
    the whole protocol deadline), to its end less the lab's slack (margin, start-up allowance).
    Empty when the wait was already satisfied and carried no event.
    """

    start: float
    end: float
    clock_start: float
    protocol_end: float
    met: bool

    @property
    def protocol(self) -> float:
        return max(0.0, self.protocol_end - self.clock_start)


def union_seconds(spans: Iterable[tuple[float, float]]) -> float:
    """Total length of the union of ``(start, end)`` spans, in seconds (overlaps counted once)."""
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted((s, e) for s, e in spans if e > s):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _event_times(value: Any) -> list[float]:
    """Times of the Event(s) a wait predicate returned (an Event, or a list/tuple of Events)."""
    if isinstance(value, Event):
        return [value.t]
    if isinstance(value, (list, tuple)):
        return [v.t for v in value if isinstance(v, Event)]
    return []


class History:
    """Append-only, ordered by time, with event-driven waiting.

    ``wait_for(predicate, timeout)`` blocks on a condition variable that every
    ``append`` notifies: no polling, no fixed sleeps.
    """

    def __init__(self, events: Iterable[Event] = ()):
        self._events: list[Event] = sorted(events, key=lambda e: e.t)
        self._cond = threading.Condition()
        self.t0 = self._events[0].t if self._events else time.monotonic()
        #: callables(Event) called after each append, outside the lock (e.g. a lab's journal writer)
        self.listeners: list[Callable[[Event], None]] = []
        #: every wait_for so far (see Wait, protocol_seconds)
        self.waits: list[Wait] = []
        self._arrivals: list[tuple[float, str]] = []     # (t, kind) in arrival order
        self._arrived: list[Event] = list(self._events)   # every event in the order it was appended
        #: what makes the history self-contained (topology, release, clock origin), written to its meta record
        self.meta: dict[str, Any] = {}

    # -- writing
    def append(self, kind: str, t: Optional[float] = None, **data: Any) -> Event:
        """Record an event (``t`` defaults to now) and wake every waiter.

        Raises EventError (lab.events) for a kind or field the schema does not know.
        """
        ev = make(kind, time.monotonic() if t is None else t, data)
        with self._cond:
            if self._events and ev.t < self._events[-1].t:   # stamped earlier than the tail: keep order
                i = len(self._events)
                while i and self._events[i - 1].t > ev.t:
                    i -= 1
                self._events.insert(i, ev)
            else:
                self._events.append(ev)
            self._arrivals.append((ev.t, kind))
            self._arrived.append(ev)
            self._cond.notify_all()
        for listener in list(self.listeners):
            listener(ev)
        return ev

    def notify(self) -> None:
        """Wake waiters without an event (e.g. a stream ended)."""
        with self._cond:
            self._cond.notify_all()

    # -- reading
    def events(self, kind: Optional[str] = None, since: float = float("-inf"), **match: Any) -> list[Event]:
        """Events of ``kind`` at or after ``since`` whose data contains ``match``."""
        with self._cond:
            evs = list(self._events)
        return [e for e in evs if (kind is None or e.kind == kind) and e.t >= since
                and all(e.data.get(k) == v for k, v in match.items())]

    def arrived(self, start: int = 0) -> list[Event]:
        """Events in the order they were appended, from the ``start``-th on (0-based). A follower that prints
        as events come uses this, not :meth:`events`: an event stamped earlier than one already there (a
        fault recorded when it took effect, after an advert) is inserted before it in time order, and an
        index into :meth:`events` would skip it."""
        with self._cond:
            return self._arrived[start:]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def __len__(self) -> int:
        return len(self._events)

    def states(self, instance: str, at: Optional[float] = None) -> dict[str, str]:
        """Each node's last known state of ``instance`` at time ``at`` (default: now).

        notify_fifo lines give MASTER/BACKUP/FAULT/STOP. Node lifecycle events
        refine it: after kill/exited a node is ``DOWN``; while paused it is
        ``PAUSED`` (it still holds its VIPs but sends nothing) and returns to its
        previous state on unpause; after start it is unknown until keepalived reports.
        """
        out: dict[str, str] = {}
        before_pause: dict[str, str] = {}
        for e in self.events():
            if at is not None and e.t > at:
                break
            if e.kind == "state" and e.data.get("instance") == instance:
                if e["state"] not in STATES:       # e.g. MASTER_RX_LOWER_PRI: an event, not a state
                    continue
                if out.get(e["node"]) == "PAUSED":
                    before_pause[e["node"]] = e["state"]
                else:
                    out[e["node"]] = e["state"]
            elif e.kind == "node":
                n, eff = e["node"], node_effect(e["action"], e.get("signal"))
                if eff == "down":          # graceful ends (stop, SIGTERM) are DOWN once ``exited``
                    out[n] = "DOWN"
                elif eff == "pause" and n in out:
                    before_pause[n], out[n] = out[n], "PAUSED"
                elif eff == "unpause" and n in before_pause:
                    out[n] = before_pause.pop(n)
                elif eff in ("up", "restart"):
                    out.pop(n, None)
        return out

    def priorities(self, instance: str) -> dict[str, int]:
        """Each node's effective priority of ``instance`` as last reported on notify_fifo.

        Both state changes and ``priority`` events (keepalived's ``*_PRIORITY`` lines) count.
        """
        out: dict[str, int] = {}
        for e in self.events(instance=instance):
            if e.kind in ("state", "priority") and e.get("priority") is not None:
                out[e["node"]] = e["priority"]
        return out

    def masters(self, instance: str, at: Optional[float] = None) -> list[str]:
        """Nodes whose last reported state of ``instance`` is MASTER."""
        return sorted(n for n, s in self.states(instance, at).items() if s == "MASTER")

    def capture_holes(self, since: float, until: float, network: Optional[str] = None) -> list[str]:
        """:func:`capture_holes` of this history."""
        return capture_holes(self.events("capture"), since, until, network)

    def wait_for(self, predicate: Callable[["History"], Any], timeout: float,
                 clock_start: Optional[float] = None, slack: float = 0.0, account: bool = True) -> Any:
        """Block until ``predicate(self)`` is truthy; return its value, or None at the deadline.

        Args:
            predicate: called with this history after every append (keep it cheap).
            timeout: seconds, usually derived from protocol timers.
            clock_start: host time (s) at which the protocol's clock for this wait started
                (e.g. the kill); only for the time accounting in :attr:`waits`.
            slack: seconds of ``timeout`` that are the lab's allowance (a margin, a start-up
                allowance), not the protocol's; a wait that runs out counts them as overhead.
            account: False for the lab's own bookkeeping waits (not in :attr:`waits`).
        """
        start = time.monotonic()
        deadline = start + timeout
        cs = start if clock_start is None else min(start, clock_start)
        with self._cond:
            n0, first = len(self._arrivals), True
            while True:
                value = predicate(self)
                if value:
                    if account:
                        self._account(start, cs, value, n0, first)
                    return value
                first = False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    end = time.monotonic()
                    if account:
                        self.waits.append(Wait(start, end, cs, max(cs, end - slack), False))
                    return None
                self._cond.wait(remaining)

    def _account(self, start: float, clock_start: float, value: Any, n0: int, first: bool) -> None:
        """Record a met wait: it ends with the event it returned, else the last protocol event that arrived."""
        end = time.monotonic()
        times = _event_times(value)
        if not times and not first:
            times = [t for t, k in self._arrivals[n0:] if k in PROTOCOL_KINDS]
        if not times:                  # already true and no event to date it: the wait cost nothing
            self.waits.append(Wait(start, end, start, start, True))
            return
        self.waits.append(Wait(start, end, clock_start, min(max(times), end), True))

    def protocol_seconds(self) -> float:
        """Seconds the protocol itself made this history's waits last (union of their protocol spans)."""
        return union_seconds((w.clock_start, w.protocol_end) for w in self.waits)

    # -- persistence
    def to_jsonl(self, path: str | Path) -> None:
        """Write one JSON object per line: ``{"t": ..., "kind": ..., "data": {...}}``."""
        with open(path, "w") as f:
            f.write(json.dumps({"t": self.t0, "kind": "meta", "data": {"t0": self.t0, "version": SCHEMA_VERSION,
                                                                       **self.meta}}, default=str) + "\n")
            for e in self.events():
                f.write(to_json(e) + "\n")

    @classmethod
    def from_jsonl(cls, path: str | Path) -> "History":
        """Load a history written by :meth:`to_jsonl` (format version 1 or 2).

        Raises EventError naming the file and line of a record the schema does not know.
        """
        evs, meta = [], {}
        for no, line in enumerate(Path(path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                if isinstance(d, dict) and d.get("kind") == "meta":
                    meta = dict(d.get("data") or {})
                    continue
                evs.append(from_json(line))
            except (ValueError, EventError) as e:
                raise EventError(f"{path}:{no}: {e}") from None
        if int(meta.get("version", 1)) > SCHEMA_VERSION:
            raise EventError(f"{path}: history format version {meta['version']} is newer than this "
                             f"keepalived-lab reads ({SCHEMA_VERSION}); upgrade keepalived-lab")
        h = cls(evs)
        if "t0" in meta:
            h.t0 = meta.pop("t0")
        meta.pop("version", None)
        h.meta = meta
        return h
