"""A VIP's availability as a client saw it (PURE): outages from a series of HTTP probes.

A client asks the VIP every ``period`` seconds (lab.runtime.prober). An outage runs from the first probe that
got no answer after one that did to the next probe that got one; its length is measured to the probe period
(the resolution: a shorter outage between two probes is not seen, and each end may be off by up to one period).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probe:
    """One HTTP GET of a VIP: sent at ``t`` (host monotonic s), answered by node ``who`` ('' = no answer within
    the probe's timeout)."""

    t: float
    vip: str
    who: str


@dataclass(frozen=True)
class Outage:
    """No answer from ``start`` (the first unanswered probe) to ``end`` (the next answered one; None: still out
    when probing stopped). ``before``/``after``: the nodes that answered around it."""

    vip: str
    start: float
    end: float | None
    before: str
    after: str

    @property
    def length(self) -> float | None:
        return None if self.end is None else self.end - self.start


@dataclass
class Availability:
    """What a client saw of one VIP over a window: probes, outages and who answered in turn."""

    vip: str
    period: float
    probes: list[Probe] = field(default_factory=list)

    def outages(self) -> list[Outage]:
        """Every outage, in time order (module docstring: where one starts and ends)."""
        out: list[Outage] = []
        start: float | None = None
        last_who = ""
        for p in sorted(self.probes, key=lambda p: p.t):
            if not p.who and start is None:
                start = p.t
            elif p.who and start is not None:
                out.append(Outage(self.vip, start, p.t, last_who, p.who))
                start = None
            if p.who:
                last_who = p.who
        if start is not None:
            out.append(Outage(self.vip, start, None, last_who, ""))
        return out

    @property
    def downtime(self) -> float:
        """Seconds without an answer (the sum of the finished outages; an unfinished one counts to the last
        probe)."""
        last = max((p.t for p in self.probes), default=0.0)
        return sum((o.end if o.end is not None else last) - o.start for o in self.outages())

    def answered_by(self) -> list[tuple[float, str]]:
        """(time, node) each time the answering node changed (no answer is '')."""
        seq: list[tuple[float, str]] = []
        for p in sorted(self.probes, key=lambda p: p.t):
            if not seq or seq[-1][1] != p.who:
                seq.append((p.t, p.who))
        return seq


def parse_probe_log(text: str, to_host=lambda t: t) -> dict[str, Availability]:
    """The prober's log (lines ``<t_sent> <vip> <node or ->``; the first line ``# period <s>``) as one
    Availability per VIP; ``to_host`` maps the prober's monotonic clock to the host's.

    Raises ValueError naming the first line that is not in that form.
    """
    period = 0.0
    out: dict[str, Availability] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("# period "):
            period = float(line.split()[2])
            continue
        parts = line.split()
        if len(parts) != 3:
            raise ValueError(f"prober log line {n}: {line!r} is not '<t> <vip> <node or ->'")
        t, vip, who = parts
        out.setdefault(vip, Availability(vip, period)).probes.append(Probe(to_host(float(t)), vip,
                                                                           "" if who == "-" else who))
    return out
