"""Checks: judge a History against the election model (:mod:`lab.election`) and the protocol.

Bound to a running lab as ``lab.check`` (waits are event driven, deadlines from the model),
or built over any history (offline, e.g. a ``history.jsonl`` from a report)::

    lab.check.assert_master("b", "VI_1")            # within the model's deadline
    lab.check.assert_matches_model()                # the whole history, every instance
    Checks(History.from_jsonl(p), topology).assert_single_master("VI_1", during=(t0, t1))

Every failure raises :class:`CheckFailed` (an AssertionError) whose text says what was
expected (and by which rule), what was observed, then the last events of the history and,
with a lab, each keepalived node's log tail.

What drives the model is decided in :mod:`lab.judge` (node actions by :func:`lab.events.node_effect`,
faults by the meaning they declared); the judging itself is the pure :func:`lab.judge.judge`. This
module adds what needs a running lab: waiting until a deadline, keepalived's dumps, log tails.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

from .election import (AdvertsBlocked, ElectionModel, Expectation, Hearing, InterfaceChange, NodeDown, NodePaused,
                       ScriptResult)
from .election.specs import specs_from_running
from .kaconf.schema import instance_family
from .events import Event, advert_family
from .history import History
from .judge import (Judgement, ModelReport, Verdict, deadline as model_deadline, failure_text, is_start, judge,
                    model_inputs, ready_event, timeline_tail)
from .timers import MARGIN, STARTUP_ALLOWANCE, TIMER_TOLERANCE

__all__ = ["CheckFailed", "Checks", "Judgement", "ModelReport", "Verdict", "model_inputs", "timeline_tail"]


class CheckFailed(AssertionError):
    """A check did not hold. ``str()`` has the finding, the timeline tail and node log tails; ``finding`` the
    finding alone (for a report that shows the timeline once, elsewhere)."""

    def __init__(self, text: str, finding: Optional[str] = None):
        super().__init__(text)
        self.finding = finding if finding is not None else text


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
                 startup: float = STARTUP_ALLOWANCE):
        self.history, self.topology, self.lab = history, topology, lab
        #: {node: keepalived.conf} of nodes running their own config (the model reads what runs)
        self.configs = dict(getattr(lab, "configs", None) or history.meta.get("configs") or {})
        self.addresses = addresses
        self.margin, self.startup = margin, startup

    def advert_sources(self, node: str) -> set[str]:
        """The source addresses ``node``'s adverts carry (IPv4 and IPv6 link-local, lab.runtime.node.Node.
        advert_sources); offline: the addresses and link-local addresses the history's meta recorded."""
        if self.lab is not None and node in getattr(self.lab, "nodes", {}):
            return self.lab.nodes[node].advert_sources()
        recorded = (self.history.meta.get("advert_sources") or {}).get(node)
        if recorded:
            return set(recorded)
        return {str(a) for a in ((self.addresses or {}).get(node) or {}).values()}

    @classmethod
    def for_lab(cls, lab) -> "Checks":
        return cls(lab.history, lab.topology, {n: node.addresses for n, node in lab.nodes.items()}, lab,
                   MARGIN, STARTUP_ALLOWANCE)

    # ---------------------------------------------------------------- failure text
    def fail(self, message: str, n: int = 25) -> CheckFailed:
        """A CheckFailed with ``message``, the last ``n`` history events and node log tails."""
        tails = [(node.name, node.logs(tail=12)) for node in self.lab.keepalived_nodes()] if self.lab is not None else []
        return CheckFailed(failure_text(message, self.history, tails, n), message)

    def _rel(self, t: float) -> str:
        return f"{t - self.history.t0:.3f} s"

    def _now(self) -> float:
        evs = self.history.events()
        return time.monotonic() if self.lab is not None else (evs[-1].t if evs else self.history.t0)

    # ---------------------------------------------------------------- the model over the history
    def model(self) -> ElectionModel:
        return ElectionModel(specs_from_running(self.topology, self.configs, self.addresses), startup=self.startup, race=self.margin)

    def judge(self, instances: Optional[Sequence[str]] = None, until: Optional[float] = None,
              allow: Sequence[str] = ()) -> ModelReport:
        """Judge the history against the model (pure: :func:`lab.judge.judge`)."""
        return judge(self.history, specs_from_running(self.topology, self.configs, self.addresses), margin=self.margin,
                     startup=self.startup, until=self._now() if until is None else until, instances=instances,
                     allow=allow)

    def _ready(self, start: Event) -> Optional[Event]:
        return ready_event(self.history, start)

    @staticmethod
    def _is_start(ev: Event) -> bool:
        return is_start(ev)

    def _see_start(self, ev: Event) -> None:
        """If ``ev`` starts a node: with a lab, record when its keepalived started (``ready``,
        Lab.keepalived_started) unless known."""
        if self._is_start(ev) and self.lab is not None and self._ready(ev) is None:
            self.lab.keepalived_started(ev["node"])

    def _deadline(self, ev: Event, exp: Expectation) -> float:
        return model_deadline(self.history, ev, exp, self.margin, self.startup)

    def expectation(self, instance: str) -> tuple[Optional[Event], Optional[Expectation]]:
        """The latest input event and the model's expectation for ``instance`` after it."""
        model = self.model()
        last: tuple[Optional[Event], Optional[Expectation]] = (None, None)
        inputs, _ = model_inputs(self.history, self.topology.keepalived_nodes())
        for ev, mevs in inputs:
            for m in mevs:
                if model.agrees(m):            # an observed script result the model already holds (as the judge)
                    continue
                for exp in model.apply(m, t=ev.t):
                    if exp.instance == instance:
                        last = (ev, exp)
        return last

    def settle(self, instances: Optional[Sequence[str]] = None) -> None:
        """With a lab: wait until the model's deadline for the last input of ``instances`` (default all)
        has passed (event driven; its margin and start-up allowance are accounted as the lab's time)."""
        if self.lab is None:
            return
        names = list(instances or self.topology.instance_names())
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
            # the judge's own windows decide: one still open (its model state differs from the replay above,
            # e.g. after a start-up race it ended, or an input that came meanwhile) is waited for as well
            for _ in range(3):
                now = time.monotonic()
                open_ = [j.deadline for j in self.judge(names, until=now).judgements
                         if j.verdict is Verdict.CANNOT_JUDGE and j.deadline > now]
                if not open_:
                    break
                d = max(open_)
                self.history.wait_for(lambda h: None, d - now, slack=self.margin)
            self.history.append("note", text="model deadline reached")

    def assert_matches_model(self, instances: Optional[Sequence[str]] = None, *, settle: bool = True,
                             allow: Sequence[str] = ()) -> ModelReport:
        """The history holds against the election model (see :func:`lab.judge.judge`).

        Args:
            settle: with a lab, first wait until the last expectation's deadline (event driven:
                returns as soon as the deadline has passed).
            allow: fault kinds, fault names or node actions the model has no rule for that this
                test accepts: judging stops there and the verdict is that of what came before.
        Raises CheckFailed unless the verdict is "holds": listing each violated expectation with its
        rule, and for "cannot judge" what could not be judged and which rule is missing.
        """
        names = list(instances or self.topology.instance_names())
        if settle:
            self.settle(names)
        rep = self.judge(names, allow=allow)
        if rep.verdict is Verdict.HOLDS:
            return rep
        lines = [f"the history does not match the election model (verdict: {rep.verdict.value}):"]
        for j in rep.failures + rep.unjudged:
            e = j.expectation
            lines.append(f"- [{j.verdict.value}] after `{e.cause}` at {self._rel(j.event.t)}: {e.describe()}\n"
                         f"    judged at {self._rel(j.deadline)}: {j.problem}\n"
                         f"    rules: " + " | ".join(dict.fromkeys(e.rules)))
        if rep.stopped_at is not None and not rep.stop_allowed:
            st = rep.stopped_at
            lines.append(f"- [cannot judge] from {self._rel(st.event.t)} on: "
                         f"{st.event.describe(self.history.t0).strip()}: {st.reason} "
                         f"(allow it with assert_matches_model(allow=[...]) if this test accepts that)")
        if not rep.judgements and rep.stopped_at is None:
            lines.append("- [cannot judge] the history has no input the model could judge (no node start?)")
        raise self.fail("\n".join(lines))

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
        Returns the measured takeover time (s) from when the input was in effect (its event); negative
        when the takeover came before the input's call returned (a loaded engine). Raises CheckFailed.
        """
        inputs, _ = model_inputs(self.history, self.topology.keepalived_nodes())
        disruptive = [e for e, mevs in inputs      # keepalived's own script reports are no input of the test
                      if any((isinstance(m, (NodeDown, NodePaused, AdvertsBlocked, InterfaceChange, ScriptResult))
                              and not getattr(m, "observed", False))
                             or (isinstance(m, Hearing) and not m.hears) for m in mevs)]
        if not disruptive:
            raise self.fail(f"no fault or node stop in the history to measure a takeover of {instance} from")
        f = disruptive[-1]
        victim = f.get("node") or f.get("target")
        if at_most is None:
            ev, exp = self.expectation(instance)
            at_most = (exp.latest if exp else 0.0) + self.margin
        issued = min(f.t, f.get("t_issued", f.t))     # its effect may come before the call returned (f.t)
        first = lambda h: next((s for s in h.events("state", since=issued, instance=instance, state="MASTER")
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

    def assert_master_down_takeover(self, node: str, instance: str, *, since: float, until: Optional[float] = None,
                                    tolerance: float = TIMER_TOLERANCE, late: Optional[float] = None) -> float:
        """``node`` became MASTER of ``instance`` one master_down_interval after the last advert it heard,
        or one skew time after it when that advert had priority 0 (RFC 3768 §6.4.2: a Backup's
        Master_Down_Timer restarts on every advert of priority >= its own, or any when it does not preempt;
        a priority-0 advert sets it to Skew_Time; when it fires the Backup becomes Master; R_MDI).

        The clock is the captured adverts, not the fault's call: a ``docker kill`` may land anywhere
        between its issue and its return (0.56 s apart on a loaded engine), so a bound from either end
        of the call is wrong by that much; the last advert the node heard is exact.

        Args:
            since: host monotonic s when the fault that silenced the master was issued (``f.issued_at``).
            until: None when the old master went silent (killed, paused, its link cut): the last advert on
                the wire before the takeover is the last one heard. Otherwise the time (s) the fault was
                surely in effect (``f.applied_at``) when adverts went on but stopped reaching ``node``
                (e.g. drop-vrrp on it): the last one heard is one of those sent from the last advert
                before ``since`` up to ``until``.
            tolerance: seconds a takeover may come early (keepalived's timer resolution; TIMER_TOLERANCE).
            late: seconds it may come late (notify_fifo stamping; default the checks' margin).
        Returns: the takeover time after that advert (s).
        Raises: CheckFailed when no takeover is recorded, when the adverts before it were not captured
            (cannot judge), or when no advert that could have been the last heard is one
            master_down_interval before the takeover (violated).
        """
        late = self.margin if late is None else late
        spec = self.model().specs[instance][node]
        up = next((e for e in self.history.events("state", since=since, instance=instance, node=node)
                   if e["state"] == "MASTER"), None)
        if up is None:
            raise self.fail(f"{node} did not become MASTER of {instance} after {self._rel(since)}: "
                            "no takeover to measure")
        prio = int(up.get("priority") or spec.priority)
        mdi = spec.master_down_interval(prio)
        own = self.advert_sources(node)
        heard = lambda e: (e["vrid"] == spec.vrid and advert_family(e) == spec.family and e.get("src") not in own and e.t < up.t
                           and (e["priority"] == 0 or e["priority"] >= prio or not spec.preempts))
        #: a priority-0 advert (the master leaving) sets the timer to Skew_Time instead (RFC 3768 §6.4.2)
        timer = lambda e: spec.skew_time(prio) if e["priority"] == 0 else mdi
        if self.lab is not None:
            # a capture inside a container delivers its adverts late: wait until it has reached the takeover
            # (the new master advertises at once, RFC 3768 §6.4.2), at most one advert_int and the margin
            self.history.wait_for(lambda h: any(e.t >= up.t - tolerance and advert_family(e) == spec.family
                                                for e in h.events("advert", since=up.t - tolerance, vrid=spec.vrid)),
                                  spec.advert_int + self.margin, account=False)
        captured = self.history.events("advert")
        adverts = [e for e in captured if heard(e)]
        covered = self.lab.captured_from() if self.lab is not None else (captured[0].t if captured else None)
        before = [e for e in adverts if e.t <= since]
        if covered is None or not before or covered > before[-1].t:
            raise self.fail(f"cannot judge {node}'s takeover of {instance} at {self._rel(up.t)} by the master down "
                            f"interval: " + ("no adverts were captured" if covered is None else
                                             f"no captured advert (vrid {spec.vrid}) before the fault at {self._rel(since)}"))
        holes = self.history.capture_holes(before[-1].t, up.t)
        if holes:
            raise self.fail(f"cannot judge {node}'s takeover of {instance} at {self._rel(up.t)} by the master down "
                            f"interval: the capture may have missed adverts before it: {'; '.join(holes)}")
        if until is None:
            candidates = [adverts[-1]]
        else:
            candidates = [e for e in adverts if before[-1].t <= e.t <= until]
        fits = [e for e in candidates if timer(e) - tolerance <= up.t - e.t <= timer(e) + late]
        if not fits:
            seen = ", ".join(f"{up.t - e.t:.3f} s after the {'priority-0 ' if e['priority'] == 0 else ''}advert at "
                             f"{self._rel(e.t)}" for e in candidates[-4:])
            raise self.fail(f"{node} became MASTER of {instance} at {self._rel(up.t)}: {seen}; the master down "
                            f"interval at priority {prio} is {mdi:.3f} s, the skew time after a priority-0 advert "
                            f"{spec.skew_time(prio):.3f} s (-{tolerance} / +{late} s allowed; RFC 3768 §6.4.2)")
        return up.t - min(fits, key=lambda e: abs(up.t - e.t - timer(e))).t

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
            src = self.advert_sources(node)
            since = self._now()
            fam = instance_family(spec.virtual_ipaddress)
            match = lambda e: e["vrid"] == spec.virtual_router_id and e["src"] in src and advert_family(e) == fam
            get = lambda h: next((e for e in h.events("advert", since=since) if match(e)), None)
            a = self.history.wait_for(get, 2 * spec.advert_int + self.margin) if self.lab else \
                next((e for e in reversed(self.history.events("advert")) if match(e)), None)
            seen["advert"] = a["priority"] if a else None
        bad = {k: v for k, v in seen.items() if v != value}
        if bad or not seen:
            shown = ", ".join(f"{k} {v}" for k, v in seen.items())
            raise self.fail(f"effective priority of {node} in {instance}: expected {value}, observed "
                            f"{shown or 'nothing (no dump, and the node is not MASTER so it sends no adverts)'}")
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
