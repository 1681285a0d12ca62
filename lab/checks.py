"""Checks: judge a History against the election model (:mod:`lab.model`) and the protocol.

Bound to a running lab as ``lab.check`` (waits are event driven, deadlines from the model),
or built over any history (offline, e.g. a ``history.jsonl`` from a report)::

    lab.check.assert_master("b", "VI_1")            # within the model's deadline
    lab.check.assert_matches_model()                # the whole history, every instance
    Checks(History.from_jsonl(p), topology).assert_single_master("VI_1", during=(t0, t1))

Every failure raises :class:`CheckFailed` (an AssertionError) whose text says what was
expected (and by which rule), what was observed, then the last events of the history and,
with a lab, each keepalived node's log tail.

History inputs the model understands (others end model checking, said so in the result):
``node`` start / kill / exited / died / stop / ``signal SIGTERM`` / pause / unpause, and
``fault`` events named in :data:`FAULT_EVENTS` (the lab's own ``script`` fault from
:meth:`lab.lab.Lab.set_script`; the nemesis's node and VRRP-blocking faults).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

from .history import Event, History
from .model import (AdvertsBlocked, ElectionModel, Expectation, InterfaceChange, NodeDown, NodePaused, NodeResumed,
                    NodeUp, ScriptResult, specs_from_topology)

#: Seconds added to every model deadline: docker exec/kill latency and notify_fifo stamping
#: on a loaded 2-core machine (same as lab.lab.MARGIN).
MARGIN = 1.0
#: notify_fifo/lifecycle states that are not an election state
_IDLE = {"DOWN", "PAUSED", "STOP", None}


class CheckFailed(AssertionError):
    """A check did not hold. ``str()`` has the finding, the timeline tail and node log tails."""


def _fault_to_model(e: Event) -> Optional[list]:
    """Model events for a ``fault`` event, [] for a fault with no effect on VRRP, None if unknown."""
    name, action, target = e.get("name"), e.get("action"), e.get("target")
    apply = action == "apply"
    if name == "script":
        ok = e.get("ok")
        ok = (not apply) if ok is None else (ok if apply else not ok)
        return [ScriptResult(target, e["script"], bool(ok))]
    if name in ("kill",):
        return [NodeDown(target)] if apply else [NodeUp(target)]
    if name in ("stop",):
        return [NodeDown(target, graceful=True)] if apply else [NodeUp(target)]
    if name in ("pause", "freeze"):
        return [NodePaused(target)] if apply else [NodeResumed(target)]
    if name in ("drop_vrrp", "block_vrrp", "block_adverts", "vrrp_drop_in"):
        return [AdvertsBlocked(target, blocked=apply)]
    if name in ("link_down", "iface_down", "interface_down"):
        return [InterfaceChange(target, e.get("interface") or e.get("detail") or "eth0", up=not apply)]
    return None


#: fault names the model understands (see _fault_to_model)
FAULT_EVENTS = ("script", "kill", "stop", "pause", "freeze", "drop_vrrp", "block_vrrp", "block_adverts",
                "vrrp_drop_in", "link_down", "iface_down", "interface_down")


def model_inputs(history: History, nodes: Iterable[str]) -> tuple[list[tuple[Event, list]], Optional[Event]]:
    """History events that drive the model, each with its model events; and the first unknown one.

    Node lifecycle: start -> NodeUp; kill/exited/died -> NodeDown; stop or SIGTERM -> NodeDown(graceful);
    pause/unpause -> NodePaused/NodeResumed. ``exited`` after a ``stop`` is the same stop.
    """
    nodes = set(nodes)
    out: list[tuple[Event, list]] = []
    down: set[str] = set()
    for e in history.events():
        evs: Optional[list] = None
        if e.kind == "node" and e["node"] in nodes:
            n, a = e["node"], e["action"]
            if a == "start":
                evs = [NodeUp(n)]
            elif a in ("kill", "exited", "died"):
                evs = [] if n in down else [NodeDown(n)]
            elif a == "stop" or a in ("signal SIGTERM", "signal TERM", "signal 15"):
                evs = [] if n in down else [NodeDown(n, graceful=True)]
            elif a == "pause":
                evs = [NodePaused(n)]
            elif a == "unpause":
                evs = [NodeResumed(n)]
            elif a in ("ready",):
                evs = []
            else:
                return out, e
            for m in evs:
                if isinstance(m, NodeUp):
                    down.discard(n)
                elif isinstance(m, NodeDown):
                    down.add(n)
        elif e.kind == "fault":
            evs = _fault_to_model(e)
            if evs is None:
                return out, e
            evs = [m for m in evs if m.node in nodes]
        if evs:
            out.append((e, evs))
    return out, None


def timeline_tail(history: History, n: int = 25) -> str:
    """The last ``n`` events as text, leaving out adverts that repeat their sender's previous one."""
    keep, last = [], {}
    for e in history.events():
        if e.kind == "advert":
            key = (e.get("src"), e.get("vrid"))
            sig = (e.get("priority"), e.get("advert_int"), tuple(e.get("addresses") or ()))
            if last.get(key) == sig:
                continue
            last[key] = sig
        keep.append(e)
    return "\n".join(e.describe(history.t0) for e in keep[-n:])


@dataclass
class Judgement:
    """One expectation judged against the history."""

    event: Event
    expectation: Expectation
    deadline: float
    observed: Optional[frozenset[str]] = None
    ok: Optional[bool] = None           # None: not judged (superseded or history too short)
    problem: str = ""


@dataclass
class ModelReport:
    """Result of :meth:`Checks.judge`: every judgement, and where model checking stopped."""

    judgements: list[Judgement] = field(default_factory=list)
    stopped_at: Optional[Event] = None

    @property
    def failures(self) -> list[Judgement]:
        return [j for j in self.judgements if j.ok is False]


class Checks:
    """Checks over a history (and, when given, a running lab).

    Args:
        history: the events to judge.
        topology: the lab's Topology (configured priorities, timers, trackers).
        addresses: {node: {interface: IPv4Address}} (primary IPs for equal-priority ties).
        lab: a running Lab (enables waiting, JSON dumps and log tails); None for offline checks.
        margin: seconds added to model deadlines (MARGIN).
        startup: seconds allowed for a node to start (lab.lab.STARTUP_ALLOWANCE).
    """

    def __init__(self, history: History, topology, addresses=None, lab=None, margin: float = MARGIN,
                 startup: float = 15.0):
        self.history, self.topology, self.lab = history, topology, lab
        self.addresses = addresses
        self.margin, self.startup = margin, startup

    @classmethod
    def for_lab(cls, lab) -> "Checks":
        from .lab import MARGIN as LAB_MARGIN, STARTUP_ALLOWANCE
        return cls(lab.history, lab.topology, {n: node.addresses for n, node in lab.nodes.items()}, lab,
                   LAB_MARGIN, STARTUP_ALLOWANCE)

    # ---------------------------------------------------------------- failure text
    def fail(self, message: str, n: int = 25) -> CheckFailed:
        """A CheckFailed with ``message``, the last ``n`` history events and node log tails."""
        parts = [message, "", f"timeline (last {n} events, seconds since lab start; repeated adverts omitted):",
                 timeline_tail(self.history, n)]
        if self.lab is not None:
            for node in self.lab.keepalived_nodes():
                parts += ["", f"--- {node.name} log tail ---", node.logs(tail=12).rstrip()]
        return CheckFailed("\n".join(parts))

    def _rel(self, t: float) -> str:
        return f"{t - self.history.t0:.3f} s"

    def _now(self) -> float:
        evs = self.history.events()
        return time.monotonic() if self.lab is not None else (evs[-1].t if evs else self.history.t0)

    # ---------------------------------------------------------------- the model over the history
    def model(self) -> ElectionModel:
        return ElectionModel(specs_from_topology(self.topology, self.addresses), startup=self.startup)

    def judge(self, instances: Optional[Sequence[str]] = None, until: Optional[float] = None) -> ModelReport:
        """Replay the history's inputs through the model and judge every expectation (pure).

        An expectation is judged at its deadline (event time + latest + margin) when the next
        input comes later and the history reaches it: the observed MASTER set must be one the
        model allows; while the model expects no change, no other node may become MASTER;
        a change may not come before event time + earliest - margin; nodes the model puts in
        FAULT must report FAULT. Open ties are resolved with what was observed.
        """
        until = self._now() if until is None else until
        model = self.model()
        names = instances or list(model.specs)
        inputs, stop = model_inputs(self.history, self.topology.keepalived_nodes())
        rep = ModelReport(stopped_at=stop)
        pending: dict[str, Judgement] = {}
        boundaries = [e.t for e, _ in inputs] + [stop.t if stop else float("inf")]
        for k, (ev, mevs) in enumerate(inputs):
            t_next = boundaries[k + 1]
            for m in mevs:
                for exp in model.apply(m, t=ev.t):
                    if exp.instance not in names:
                        continue
                    old = pending.get(exp.instance)
                    if old is not None and old.event is not ev:     # a new input for this instance first
                        old.ok, old.problem = None, f"superseded by {ev.describe(self.history.t0).strip()} before its deadline"
                        rep.judgements.append(old)
                    pending[exp.instance] = Judgement(ev, exp, self._deadline(ev, exp))
            for inst, j in list(pending.items()):
                if j.deadline <= min(t_next, until):
                    self._judge_one(j, model)
                    rep.judgements.append(j)
                    del pending[inst]
        for j in pending.values():
            j.ok, j.problem = None, f"history ends before its deadline {self._rel(j.deadline)}"
            rep.judgements.append(j)
        return rep

    def _judge_one(self, j: Judgement, model: ElectionModel) -> None:
        exp, inst = j.expectation, j.expectation.instance
        states = self.history.states(inst, at=j.deadline)
        observed = frozenset(n for n, s in states.items() if s == "MASTER")
        j.observed = observed
        problems = []
        if not exp.allows(observed):
            problems.append(f"MASTER {{{', '.join(sorted(observed))}}} at the deadline, expected {exp.describe_options()}")
        allowed = frozenset().union(*exp.options)
        for s in self.history.events("state", since=j.event.t, instance=inst):
            if s.t > j.deadline:
                break
            if s["state"] == "MASTER" and s["node"] not in allowed:
                problems.append(f"{s['node']} became MASTER at {self._rel(s.t)} (not allowed)")
            if exp.changed and exp.earliest > self.margin and s["state"] == "MASTER" and s["node"] in allowed \
                    and s.t < j.event.t + exp.earliest - self.margin:
                problems.append(f"{s['node']} became MASTER {s.t - j.event.t:.3f} s after the event, before the "
                                f"earliest {exp.earliest:.3f} s the timers allow")
        for n, want in exp.states.items():
            got = states.get(n)
            if want == "FAULT" and got not in _IDLE and got != "FAULT":
                problems.append(f"{n} reports {got}, expected FAULT")
            if got == "FAULT" and want in ("MASTER", "BACKUP"):
                problems.append(f"{n} reports FAULT, expected {want}")
        j.ok = not problems
        j.problem = "; ".join(dict.fromkeys(problems))
        if len(exp.options) > 1 and exp.allows(observed):
            model.observe_master(inst, observed)

    _LIFECYCLE = ("start", "restart", "kill", "exited", "died", "stop")

    def _ready(self, start: Event) -> Optional[Event]:
        """The ``ready`` event (keepalived's 'Startup complete') of the run ``start`` began, if recorded."""
        for e in self.history.events("node", since=start.t, node=start["node"]):
            if e is start:
                continue
            if e["action"] == "ready":
                return e
            if e["action"] in self._LIFECYCLE:
                return None
        return None

    @staticmethod
    def _is_start(ev: Event) -> bool:
        return ev.kind == "node" and ev.get("action") in ("start", "restart")

    def _see_start(self, ev: Event) -> None:
        """If ``ev`` starts a node: with a lab, record when its keepalived started (``ready``,
        Lab.keepalived_started) unless known."""
        if self._is_start(ev) and self.lab is not None and self._ready(ev) is None:
            self.lab.keepalived_started(ev["node"])

    def _deadline(self, ev: Event, exp: Expectation) -> float:
        """When ``exp`` must hold: event time + latest + margin. After a node start, ``latest``
        includes the start-up allowance; once keepalived's start was seen (a ``ready`` event), the
        protocol's time runs from there instead (the earlier of the two)."""
        d = ev.t + exp.latest + self.margin
        if self._is_start(ev):
            ready = self._ready(ev)
            if ready is not None:
                d = min(d, ready.t + max(0.0, exp.latest - self.startup) + self.margin)
        return d

    def expectation(self, instance: str) -> tuple[Optional[Event], Optional[Expectation]]:
        """The latest input event and the model's expectation for ``instance`` after it."""
        model = self.model()
        last: tuple[Optional[Event], Optional[Expectation]] = (None, None)
        inputs, _ = model_inputs(self.history, self.topology.keepalived_nodes())
        for ev, mevs in inputs:
            for m in mevs:
                for exp in model.apply(m, t=ev.t):
                    if exp.instance == instance:
                        last = (ev, exp)
        return last

    def assert_matches_model(self, instances: Optional[Sequence[str]] = None, *, settle: bool = True) -> ModelReport:
        """Every expectation the model makes over the history holds (see :meth:`judge`).

        Args:
            settle: with a lab, first wait until the last expectation's deadline (event driven:
                returns as soon as the deadline has passed).
        Raises CheckFailed listing each violated expectation with its rule, or when the history
        stops before the last expectation could be judged.
        """
        names = list(instances or self.topology.instance_names())
        if settle and self.lab is not None:
            deadlines = []
            protocol_ends = []
            for i in names:
                ev, exp = self.expectation(i)
                if ev is None:
                    continue
                self._see_start(ev)
                deadlines.append(self._deadline(ev, exp))
                unanchored = self._is_start(ev) and self._ready(ev) is None   # start-up allowance still in it
                protocol_ends.append(deadlines[-1] - self.margin - (self.startup if unanchored else 0.0))
            if deadlines:
                d = max(deadlines)
                self.history.wait_for(lambda h: None, max(0.0, d - time.monotonic()),     # runs to the deadline
                                      slack=d - max(protocol_ends))
                self.history.append("note", text="model deadline reached")
        rep = self.judge(names)
        bad = rep.failures
        last = {}
        for j in rep.judgements:
            last[j.expectation.instance] = j
        unjudged = [j for j in last.values() if j.ok is None and j.problem.startswith("history ends")]
        if bad or unjudged:
            lines = ["the history does not match the election model:"]
            for j in bad + unjudged:
                e = j.expectation
                lines.append(f"- after `{e.cause}` at {self._rel(j.event.t)}: {e.describe()}\n"
                             f"    judged at {self._rel(j.deadline)}: {j.problem or 'not judged'}\n"
                             f"    rules: " + " | ".join(e.rules))
            if rep.stopped_at is not None:
                lines.append(f"(model checking stopped at {self._rel(rep.stopped_at.t)}: "
                             f"{rep.stopped_at.describe(self.history.t0).strip()} is not modelled)")
            raise self.fail("\n".join(lines))
        return rep

    # ---------------------------------------------------------------- single checks
    def _window(self, instance: str, during) -> tuple[float, float]:
        now = self._now()
        if during is None:
            first = next(iter(self.history.events("state", instance=instance, state="MASTER")), None)
            return (first.t if first else now, now)
        if isinstance(during, (int, float)):
            return (float(during), now)
        a, b = during
        return (a, now if b is None else b)

    def masters_over(self, instance: str, t0: float, t1: float) -> list[tuple[float, frozenset[str]]]:
        """(time, MASTER set) at ``t0`` and at every state/node event in (t0, t1]."""
        points = [t0] + [e.t for e in self.history.events(since=t0) if e.kind in ("state", "node") and e.t <= t1]
        return [(t, frozenset(self.history.masters(instance, at=t))) for t in points]

    def assert_single_master(self, instance: str, during=None, handover: float = 0.5) -> None:
        """At no time in ``during`` were two or more nodes MASTER of ``instance`` for longer than ``handover``.

        Args:
            during: (t0, t1) history times, a start time (until now), or None (from the first MASTER until now).
            handover: seconds two masters may overlap while one hands over (RFC 3768 §6.4.3: the old master
                steps down when the new master's first advert arrives; notify_fifo lines of the two nodes
                are stamped independently). Default 0.5 s.
        """
        t0, t1 = self._window(instance, during)
        points = self.masters_over(instance, t0, t1) + [(t1, frozenset())]
        for (t, ms), (t_next, _) in zip(points, points[1:]):
            if len(ms) > 1 and t_next - t > handover:
                raise self.fail(f"split brain: {', '.join(sorted(ms))} were all MASTER of {instance} from "
                                f"{self._rel(t)} for {t_next - t:.3f} s (window {self._rel(t0)}..{self._rel(t1)}, "
                                f"handover allowance {handover:.2f} s)")

    def assert_master(self, node: str, instance: str, within: Optional[float] = None) -> Event:
        """``node`` becomes (or is) the only MASTER of ``instance``.

        Args:
            within: seconds from now; None: the model's deadline after the latest input event
                (its ``latest`` + margin), which also tells whether the model agrees.
        Returns the state event that made ``node`` MASTER. Raises CheckFailed.
        """
        ev, exp = self.expectation(instance)
        if within is None:
            if ev is not None:
                self._see_start(ev)
            deadline = self._deadline(ev, exp) if ev is not None else self._now()
            how = (f"the model's deadline {deadline - self.margin - ev.t:.3f} s + margin {self.margin:.1f} s after "
                   f"`{exp.cause}` at {self._rel(ev.t)}") if ev is not None else "now"
        else:
            deadline = time.monotonic() + within if self.lab is not None else self._now()
            how = f"{within:.3f} s"
        single = lambda h: h.masters(instance) == [node]
        if self.lab is not None:
            self.history.wait_for(single, max(0.0, deadline - time.monotonic()), slack=self.margin)
        if not single(self.history):
            model_view = ""
            if exp is not None:
                model_view = (f"\nthe model expects MASTER {exp.describe_options()} "
                              f"({exp.describe()}; rules: {' | '.join(exp.rules)})")
            raise self.fail(f"expected {node} to be the only MASTER of {instance} within {how}; "
                            f"observed MASTER {self.history.masters(instance) or 'none'}, states "
                            f"{self.history.states(instance)}{model_view}")
        return [e for e in self.history.events("state", instance=instance, node=node, state="MASTER")][-1]

    def assert_takeover_time(self, instance: str, at_most: Optional[float] = None) -> float:
        """Time from the latest disruptive input (kill, stop, pause, fault apply) to another node's MASTER.

        Args:
            at_most: seconds; None: the model's ``latest`` for that event + margin.
        Returns the measured takeover time (s). Raises CheckFailed.
        """
        inputs, _ = model_inputs(self.history, self.topology.keepalived_nodes())
        disruptive = [e for e, mevs in inputs
                      if any(isinstance(m, (NodeDown, NodePaused, AdvertsBlocked, InterfaceChange, ScriptResult))
                             for m in mevs)]
        if not disruptive:
            raise self.fail(f"no fault or node stop in the history to measure a takeover of {instance} from")
        f = disruptive[-1]
        victim = f.get("node") or f.get("target")
        if at_most is None:
            ev, exp = self.expectation(instance)
            at_most = (exp.latest if exp else 0.0) + self.margin
        first = lambda h: next((s for s in h.events("state", since=f.t, instance=instance, state="MASTER")
                                if s["node"] != victim), None)
        s = self.history.wait_for(first, max(0.0, f.t + at_most - time.monotonic()), clock_start=f.t) \
            if self.lab else first(self.history)
        if s is None:
            raise self.fail(f"no takeover of {instance} within {at_most:.3f} s after "
                            f"{f.describe(self.history.t0).strip()}")
        took = s.t - f.t
        if took > at_most:
            raise self.fail(f"takeover of {instance} by {s['node']} took {took:.3f} s after "
                            f"{f.describe(self.history.t0).strip()}; at most {at_most:.3f} s allowed")
        return took

    def assert_effective_priority(self, node: str, instance: str, value: int,
                                  sources: Sequence[str] = ("dump", "advert")) -> dict[str, Any]:
        """``node``'s effective priority in ``instance`` is ``value`` per keepalived's JSON dump and,
        if ``node`` is MASTER, its next advert (the advert carries the effective priority, RFC 3768 §5.3.4).

        Returns {source: observed}. Raises CheckFailed naming each disagreeing source.
        """
        seen: dict[str, Any] = {}
        if "dump" in sources and self.lab is not None:
            d = self.lab.dump_json(node).get(instance)
            seen["dump"] = d.effective_priority if d else None
        if "advert" in sources and self.history.masters(instance) == [node]:
            spec = self.topology.instances(node)[instance]
            src = {str(a) for a in (self.addresses or {}).get(node, {}).values()}
            since = self._now()
            match = lambda e: e["vrid"] == spec.virtual_router_id and e["src"] in src
            get = lambda h: next((e for e in h.events("advert", since=since) if match(e)), None)
            a = self.history.wait_for(get, 2 * spec.advert_int + self.margin) if self.lab else \
                next((e for e in reversed(self.history.events("advert")) if match(e)), None)
            seen["advert"] = a["priority"] if a else None
        bad = {k: v for k, v in seen.items() if v != value}
        if bad or not seen:
            raise self.fail(f"effective priority of {node} in {instance}: expected {value}, observed "
                            f"{seen or 'nothing (no dump, and the node is not MASTER so it sends no adverts)'}")
        return seen

    def assert_notify_sequence(self, node: str, states: Sequence[str], instance: Optional[str] = None,
                               since: Optional[float] = None, timeout: float = 0.0) -> list[Event]:
        """The states ``node`` reported on notify_fifo (in order, since ``since``) are exactly ``states``.

        Args:
            timeout: seconds to wait for the sequence to complete (0: judge now).
        """
        match = {"node": node, **({"instance": instance} if instance else {})}
        got = lambda h: [e for e in h.events("state", since=since if since is not None else float("-inf"), **match)
                         if e.get("type", "INSTANCE") == "INSTANCE"]
        if self.lab is not None and timeout > 0:
            self.history.wait_for(lambda h: [e["state"] for e in got(h)] == list(states), timeout)
        evs = got(self.history)
        if [e["state"] for e in evs] != list(states):
            raise self.fail(f"notify_fifo of {node}{' ' + instance if instance else ''}: expected "
                            f"{' -> '.join(states)}, got {' -> '.join(e['state'] for e in evs) or 'nothing'}")
        return evs

    def assert_no_vip_flap(self, instance: str, during=None) -> None:
        """The MASTER of ``instance`` did not change during ``during`` (inside view: notify_fifo states;
        outside/inside VIP samples in the window all name the same holder)."""
        t0, t1 = self._window(instance, during)
        sets = {ms for _, ms in self.masters_over(instance, t0, t1)}
        samples = {tuple(e["holders"]) for e in self.history.events("vip", since=t0, instance=instance) if e.t <= t1}
        if len(sets) > 1 or len(samples) > 1:
            raise self.fail(f"VIP of {instance} moved during {self._rel(t0)}..{self._rel(t1)}: MASTER sets "
                            f"{[sorted(s) for s in sets]}, VIP samples {sorted(samples)}")
