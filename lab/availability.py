"""A VIP's availability as a client saw it (PURE): outages from a series of HTTP probes.

A client asks the VIP every ``period`` seconds (lab.runtime.prober) and notes each probe's send time, who
answered and how long the answer took. A probe is *held* when it got no answer or its answer took longer than
:data:`SLOW_ANSWER`. An outage runs from the send of the first held probe after an answered one to the first
answer that arrived after it, whichever probe carried it: when no node answers for the VIP the client's
requests either wait in its ARP queue until a new MASTER's gratuitous ARP and are then answered all at once
(measured in a rolling upgrade: latencies 0.595, 0.543, ... s, falling by the period), or are lost and time
out; either way the first answer after the gap ends it.

The resolution: each end may be off by up to one period, and an outage shorter than SLOW_ANSWER is not told
from a slow answer. A machine under load answers slowly without any outage (CI-17: answers later than one
50 ms period were read as one), so slow is set well above what load does and well below what a takeover
takes (VRRP's skew time alone is 0.6 s at priority 100, advert_int 1: RFC 3768 §6.1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

SLOW_ANSWER = 0.25
"""s: a probe answered later than this is held (module docstring: the resolution it sets)."""


@dataclass(frozen=True)
class Probe:
    """One HTTP GET of a VIP: sent at ``t`` (host monotonic s), answered by node ``who`` ('' = no answer within
    the probe's timeout), after ``latency`` s (how long the answer or the failure took; None: not recorded)."""

    t: float
    vip: str
    who: str
    latency: float | None = None


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


def _arrival(p: Probe) -> float:
    """When ``p``'s answer arrived (its send time when the latency was not recorded)."""
    return p.t + (p.latency or 0.0)


@dataclass
class Availability:
    """What a client saw of one VIP over a window: probes, outages and who answered in turn."""

    vip: str
    period: float
    probes: list[Probe] = field(default_factory=list)

    def outages(self) -> list[Outage]:
        """Every outage, in time order (module docstring: where one starts and ends)."""
        out: list[Outage] = []
        held: list[Probe] = []
        last_who = ""

        def close(ending: Probe | None) -> None:
            answered = [p for p in held if p.who] + ([ending] if ending else [])
            if answered:
                first = min(answered, key=_arrival)
                out.append(Outage(self.vip, held[0].t, _arrival(first), last_who, first.who))
            else:
                out.append(Outage(self.vip, held[0].t, None, last_who, ""))

        for p in sorted(self.probes, key=lambda p: p.t):
            if not p.who or (p.latency or 0.0) > SLOW_ANSWER:
                held.append(p)
                continue
            if held:
                close(p)
                held = []
            last_who = p.who
        if held:
            close(None)
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
    """The prober's log (lines ``<t_sent> <vip> <node or -> <latency s>``; the first line
    ``# period <s> ...``) as one Availability per VIP; ``to_host`` maps the prober's monotonic clock to the
    host's.

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
        try:
            t, vip, who, latency = parts
            probe = Probe(to_host(float(t)), vip, "" if who == "-" else who, float(latency))
        except ValueError:
            raise ValueError(f"prober log line {n}: {line!r} is not '<t> <vip> <node or -> <latency>'") from None
        out.setdefault(vip, Availability(vip, period)).probes.append(probe)
    return out
