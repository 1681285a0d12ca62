"""Mutants of a recorded history that break a rule on purpose: the judge's own test (pure).

A judge that passes wrong behaviour is the worst defect a lab can have, so the judge is judged: each
mutation below takes a real history (one the judge holds) and changes what keepalived did in a way
the rules forbid. The judge must call every mutant *violated*. Each mutation returns None where the
history has nothing it could break that way (no takeover to move, no step-down to drop, ...).

Mutations (name: what changes -> the rule it breaks):

* ``early-takeover``: a takeover after a fault moved to 0.1 s after the fault
  -> R_MDI / R_PRIO0 (no backup can time out that soon);
* ``missing-takeover``: a takeover the rules require removed (the node never reports MASTER)
  -> the settled outcome at the deadline;
* ``never-yields``: a master that stepped down after a heal (split brain resolved) never does
  -> R_MASTERS_MEET (two masters that hear each other);
* ``wrong-winner``: a takeover made by another node than the one that won -> R_HIGHEST / R_PREEMPT;
* ``spurious-master``: a node that stayed BACKUP while nothing happened reports MASTER
  -> the settled state stays until the next input;
* ``fault-never-recovers``: a node that left FAULT after a heal stays in FAULT -> R_WEIGHT0 / R_IFACE;
* ``instant-start``: a node's first MASTER after its start moved to 0.1 s after the start -> R_STARTUP;
* ``edge-takeover``: a takeover moved to 0.05 s before the earliest moment the judge accepts (the
  rule's lower bound less the margin) -> the window's lower edge;
* ``late-takeover``: a takeover moved to just after its window's deadline -> the window's upper edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ..events import Event
from ..history import History
from .inputs import model_inputs
from .judge import t_in
from .verdict import Verdict


@dataclass(frozen=True)
class Mutant:
    """A changed history: ``name`` of the mutation, ``what`` changed (one sentence)."""

    name: str
    what: str
    history: History


def _copy(h: History, events: list[Event]) -> History:
    """A mutant of ``h`` with ``events``; judged to its own end (a recorded ``judged_until`` is moved to
    the mutant's last event, so what the mutation added after it is judged too)."""
    out = History(events)
    out.t0, out.meta = h.t0, dict(h.meta)
    if out.meta.get("judged_until") is not None and events:
        out.meta["judged_until"] = max(float(out.meta["judged_until"]), events[-1].t)
    return out


def _instances(h: History) -> list[str]:
    """The VRRP instances a history's state events report (a sync group's GROUP lines are no instance)."""
    return sorted({s["instance"] for s in h.events("state") if s.get("type", "INSTANCE") == "INSTANCE"})


def _replace(h: History, old: Event, new: Optional[Event]) -> list[Event]:
    evs = [e for e in h.events() if e is not old]
    if new is not None:
        evs.append(new)
    return sorted(evs, key=lambda e: e.t)


def _state(e: Event, **changes) -> Event:
    return Event(changes.pop("t", e.t), e.kind, {**e.data, **changes})


def _inputs(h: History) -> list[Event]:
    """The test's inputs (node actions, faults); keepalived's own script reports are observations."""
    nodes = {e["node"] for e in h.events("state")}
    return [e for e, _ in model_inputs(h, nodes)[0] if e.kind != "script"]


def _first_master_after(h: History, t: float, inst: str, exclude: str = "", until: float = float("inf")):
    return next((s for s in h.events("state", since=t, instance=inst, state="MASTER")
                 if s["node"] != exclude and s.t < until), None)


def _disruptions(h: History) -> list[tuple[Event, float]]:
    """(input event, time of the next input) for kills, stops, pauses and fault applies."""
    ins = _inputs(h)
    out = []
    for k, e in enumerate(ins):
        nxt = ins[k + 1].t if k + 1 < len(ins) else float("inf")
        if (e.kind == "node" and e["action"] in ("kill", "stop", "pause", "signal")) or \
                (e.kind == "fault" and e["action"] == "apply"):
            out.append((e, nxt))
    return out


def early_takeover(h: History, rep=None) -> Optional[Mutant]:
    for e, nxt in _disruptions(h):
        victim = e.get("node") or e.get("target")
        for inst in _instances(h):
            s = _first_master_after(h, e.t, inst, exclude=victim, until=nxt)
            if s is not None and s.t - e.t > 1.5:
                return Mutant("early-takeover", f"{s['node']}'s takeover of {inst} moved from "
                              f"{s.t - e.t:.3f} s to 0.1 s after {e.describe(h.t0).strip()}",
                              _copy(h, _replace(h, s, _state(s, t=e.t + 0.1))))
    return None


def _deadline_of(rep, ev: Event, inst: str) -> Optional[float]:
    js = [j for j in (rep.judgements if rep is not None else []) if j.event is ev and j.expectation.instance == inst]
    return js[-1].deadline if js else None


def _until_deadline(h: History, cut: float, deadline: float, extra: Optional[Event] = None) -> list[Event]:
    """The history before ``cut`` (a test that never saw what it waited for runs on until the deadline:
    nothing else happens), ``extra`` if given, and a note just after ``deadline``."""
    evs = [x for x in h.events() if x.t < cut or (x.kind in ("fault", "node") and t_in(x) < cut)]
    if extra is not None:
        evs.append(extra)
    return sorted(evs + [Event(max(deadline, cut) + 0.1, "note", {"text": "end of the mutant"})], key=lambda e: e.t)


def missing_takeover(h: History, rep=None) -> Optional[Mutant]:
    """The first takeover after a disruption never happens; the history runs on to that window's deadline."""
    for e, nxt in _disruptions(h):
        victim = e.get("node") or e.get("target")
        for inst in _instances(h):
            s = _first_master_after(h, e.t, inst, exclude=victim, until=nxt)
            d = _deadline_of(rep, e, inst)
            if s is not None and d is not None:
                return Mutant("missing-takeover", f"{s['node']} never takes {inst} over after "
                              f"{e.describe(h.t0).strip()}", _copy(h, _until_deadline(h, s.t, d)))
    return None


def never_yields(h: History, rep=None) -> Optional[Mutant]:
    """A master that stepped down when another master appeared (a split brain that ended) never does;
    the history runs on to the deadline of the window in which it stepped down."""
    for s in h.events("state", state="BACKUP"):
        if s.get("type", "INSTANCE") != "INSTANCE":
            continue
        inst = s["instance"]
        before = h.masters(inst, at=s.t - 1e-6)
        if s["node"] in before and len(before) > 1:
            owners = [j for j in (rep.judgements if rep is not None else [])
                      if j.expectation.instance == inst and j.event.t <= s.t]
            if not owners:
                continue
            d = max(owners[-1].deadline, s.t + 3.0)
            evs = [x for x in _until_deadline(h, s.t, d)
                   if not (x.kind == "state" and x["node"] == s["node"] and x.get("instance") == inst and x.t >= s.t)]
            return Mutant("never-yields", f"{s['node']} stays MASTER of {inst} beside "
                          f"{', '.join(n for n in before if n != s['node'])} after {s.t - h.t0:.3f} s", _copy(h, evs))
    return None


def wrong_winner(h: History, rep=None) -> Optional[Mutant]:
    """Another node than the one that won takes over after a disruption (a node the rules do not let
    win); the history runs on to that window's deadline."""
    nodes = sorted({e["node"] for e in h.events("state")})
    for e, nxt in _disruptions(h):
        victim = e.get("node") or e.get("target")
        for inst in _instances(h):
            s = _first_master_after(h, e.t, inst, exclude=victim, until=nxt)
            d = _deadline_of(rep, e, inst)
            if s is None or d is None:
                continue
            j = [j for j in rep.judgements if j.event is e and j.expectation.instance == inst][-1]
            allowed = frozenset().union(*j.expectation.options)
            others = [n for n in nodes if n not in allowed and n != victim]
            if others:
                return Mutant("wrong-winner", f"{others[0]} instead of {s['node']} takes {inst} over after "
                              f"{e.describe(h.t0).strip()}",
                              _copy(h, _until_deadline(h, s.t, d, _state(s, node=others[0]))))
    return None


def spurious_master(h: History, rep=None) -> Optional[Mutant]:
    """A node that is BACKUP at the end reports MASTER after the last window's deadline (default: 20 s
    after the last input), with no input since; the history then ends."""
    ins = _inputs(h)
    if not ins:
        return None
    deadline = max((j.deadline for j in rep.judgements if j.verdict is not None), default=None) if rep else None
    end = h.events()[-1].t
    t = max(end, deadline if deadline is not None else ins[-1].t + 20.0) + 0.5
    for inst in _instances(h):
        states = h.states(inst, at=end)
        backups = [n for n, st in sorted(states.items()) if st == "BACKUP"]
        if backups:
            ev = Event(t, "state", {"node": backups[0], "instance": inst, "state": "MASTER", "priority": None})
            note = Event(t + 1.0, "note", {"text": "end of the mutant"})
            return Mutant("spurious-master", f"{backups[0]} becomes MASTER of {inst} at {t - h.t0:.3f} s "
                          f"with no input since {ins[-1].t - h.t0:.3f} s", _copy(h, h.events() + [ev, note]))
    return None


def fault_never_recovers(h: History, rep=None) -> Optional[Mutant]:
    for f in h.events("state", state="FAULT"):
        if f.get("type", "INSTANCE") != "INSTANCE":
            continue
        later = [x for x in h.events("state", since=f.t, node=f["node"], instance=f["instance"])
                 if x.t > f.t and x["state"] in ("BACKUP", "MASTER")]
        heals = [x for x in h.events("fault", since=f.t) if x["action"] == "heal"]
        if later and heals:
            evs = [x for x in h.events() if not any(x is y for y in later)]
            return Mutant("fault-never-recovers", f"{f['node']} stays FAULT in {f['instance']} after "
                          f"{f.t - h.t0:.3f} s", _copy(h, evs))
    return None


def _waits_at_start(h: History):
    """(instance, node) -> whether R_STARTUP's wait applies (initial state BACKUP, not the address owner:
    keepalived starts a ``state MASTER`` instance after one advert interval, within the judge's margin);
    None when the history's topology cannot be read."""
    from ipaddress import IPv4Address

    from ..election.specs import specs_from_running
    from .offline import history_topology
    try:
        addrs = {n: {i: IPv4Address(a) for i, a in itfs.items()} for n, itfs in (h.meta.get("addresses") or {}).items()}
        specs = specs_from_running(history_topology(h), h.meta.get("configs"), addrs or None)
    except Exception:
        return None
    return {(i, n): sp.state == "BACKUP" and not sp.owner for i, nodes in specs.items() for n, sp in nodes.items()}


def instant_start(h: History, rep=None) -> Optional[Mutant]:
    waits = _waits_at_start(h)
    for st in h.events("node", action="start"):
        s = next((x for x in h.events("state", since=st.t, node=st["node"], state="MASTER")
                  if x.get("type", "INSTANCE") == "INSTANCE"), None)
        if s is not None and waits is not None and not waits.get((s["instance"], s["node"]), True):
            continue                     # R_STARTUP's wait does not apply: no rule to break
        if s is not None and s.t - st.t > 2.5 and not any(
                x.t <= s.t for x in h.events("node", since=st.t, node=st["node"]) if x is not st
                and x["action"] not in ("ready",)):
            return Mutant("instant-start", f"{st['node']}'s first MASTER after its start moved to 0.1 s after it",
                          _copy(h, _replace(h, s, _state(s, t=st.t + 0.1))))
    return None


def edge_takeover(h: History, rep=None) -> Optional[Mutant]:
    """A takeover moved to just before the earliest moment the judge accepts (the rule's lower bound
    less the margin): the window's edge, not 0.1 s after the fault."""
    if rep is None:
        return None
    margin = float(h.meta.get("margin", 1.0))
    for j in rep.judgements:
        e = j.expectation
        if j.verdict is not Verdict.HOLDS or not e.changed or e.earliest <= margin + 0.2 or j.transient:
            continue
        takers = frozenset().union(*e.options)
        s = next((x for x in h.events("state", since=t_in(j.event), instance=e.instance, state="MASTER")
                  if x["node"] in takers and x.t <= j.deadline), None)
        edge = t_in(j.event) + e.earliest - margin - 0.05
        if s is not None and s.t > edge + 0.1:
            return Mutant("edge-takeover", f"{s['node']}'s takeover of {e.instance} moved to 0.05 s before the earliest "
                          f"the judge accepts after `{e.cause}`", _copy(h, _replace(h, s, _state(s, t=edge))))
    return None


def late_takeover(h: History, rep=None) -> Optional[Mutant]:
    """A takeover moved to just after its window's deadline; the history runs on to it."""
    if rep is None:
        return None
    for j in rep.judgements:
        e = j.expectation
        if j.verdict is not Verdict.HOLDS or not e.changed:
            continue
        s = next((x for x in h.events("state", since=t_in(j.event), instance=e.instance, state="MASTER")
                  if x["node"] in frozenset().union(*e.options) and x.t <= j.deadline), None)
        if s is not None and not any(x.t > s.t and x.t <= j.deadline for x in h.events() if x.kind in ("node", "fault")):
            late = _state(s, t=j.deadline + 0.1)
            return Mutant("late-takeover", f"{s['node']}'s takeover of {e.instance} after `{e.cause}` moved past "
                          f"the deadline", _copy(h, _until_deadline(h, s.t, j.deadline + 0.2, late)))
    return None


#: every mutation, by name: f(history, the judge's report on it) -> Mutant or None
MUTATIONS: dict[str, Callable[..., Optional[Mutant]]] = {
    "early-takeover": early_takeover,
    "missing-takeover": missing_takeover,
    "never-yields": never_yields,
    "wrong-winner": wrong_winner,
    "spurious-master": spurious_master,
    "fault-never-recovers": fault_never_recovers,
    "instant-start": instant_start,
    "edge-takeover": edge_takeover,
    "late-takeover": late_takeover,
}


def mutants(h: History, rep) -> list[Mutant]:
    """Every mutant of ``h`` the mutations can make, given the judge's report ``rep`` on ``h``.

    Where judging stopped at an input the test allowed the model not to follow, only the judged part
    (before that input) is mutated: what follows is not claimed to obey any rule."""
    if rep is not None and rep.stopped_at is not None:
        from .offline import judge_history
        cut = t_in(rep.stopped_at.event)
        h = _copy(h, [e for e in h.events() if e.t < cut])
        h.meta.pop("allow", None)
        rep = judge_history(h)
    return [m for f in MUTATIONS.values() if (m := f(h, rep)) is not None]
