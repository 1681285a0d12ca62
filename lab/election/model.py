"""Election model: what keepalived's documented rules require (pure: no Docker).

Input: each node's VRRP instance settings (from a :class:`~lab.topology.Topology`
through :func:`specs_from_topology`, later from parsed configs) and a sequence of
events (:class:`NodeUp`, :class:`NodeDown`, :class:`NodePaused`, :class:`NodeResumed`,
:class:`ScriptResult`, :class:`TrackFileValue`, :class:`InterfaceChange`, :class:`AdvertsBlocked`, :class:`Reload`).
Output, per event and per VRRP instance, an :class:`Expectation`: each node's
effective priority and expected state, the expected MASTER set (several when
adverts are blocked, alternatives when the rules leave a tie open), and the time
window (seconds after the event) in which the change must happen.

Rules and their sources (``man 5 keepalived.conf`` of keepalived 2.2.7, RFC 3768
VRRPv2, RFC 5798 VRRPv3). Each constant ``R_*`` below is cited in expectations
and unit tests:
"""
from __future__ import annotations

from collections import Counter

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Optional, Union

from .inputs import (AdvertsBlocked, Hearing, InterfaceChange, ModelEvent, NodeDown, NodePaused, NodeResumed, NodeUp,
                     Reload, RogueAdverts, ScriptResult, TrackFileValue)
from .expectation import Expectation
from .protocol import ProtocolMixin
from .rules import *  # noqa: F401,F403  (every R_* constant, re-exported for citations)
from .rules import (RULES, R_BLOCKED, R_DOWN, R_EQUAL_BACKUP, R_EQUAL_MASTERS, R_FAULT_LEAVE, R_HEARING, R_HIGHEST,  # noqa: F401
                    R_IFACE, R_MASTERS_MEET, R_MDI, R_NOPREEMPT, R_PREEMPT, R_PREEMPT_DELAY, R_PRIO0, R_STARTUP,
                    R_WEIGHT0, R_WEIGHT_NEG, R_WEIGHT_POS, R_DISCARD, R_SCRIPT_DISABLED, R_SYNC_FAULT, R_SYNC_MASTER, R_TRACK_FILE)
from .specs import FILE_TRACK, IFACE_TRACK, InstanceSpec, TrackSpec, effective_priority, specs_from_topology  # noqa: F401

__doc__ += "\n".join(f"\n* {v}" for v in RULES.values())

# ----------------------------------------------------------------------------- the model
class ElectionModel(ProtocolMixin):
    """Replays events against keepalived's rules. Pure and deterministic.

    Args:
        specs: {instance: {node: InstanceSpec}} (see :func:`specs_from_topology`).
        startup: seconds to allow for a container and keepalived to start (added to the
            latest bound after :class:`NodeUp`; protocol time only when 0).
        up: nodes already running (default none: feed :class:`NodeUp` events).

    ``apply(event)`` returns one :class:`Expectation` per instance the event's node takes part in.
    """

    def __init__(self, specs: Mapping[str, Mapping[str, InstanceSpec]], *, startup: float = 0.0,
                 up: Iterable[str] = (), race: float = 0.0):
        self.specs = {i: dict(n) for i, n in specs.items()}
        #: instance -> acceptable master sets while a tie is open (resolved by observe_master)
        self._open_ties: dict[str, tuple[frozenset[str], ...]] = {}
        #: instance -> history time until which the current masters are only a start-up race's
        #: expected outcome (not yet established); see apply(t=...)
        self._racing_until: dict[str, float] = {}
        self.startup = startup
        #: seconds within which two start-up timers count as a race either may win (the lab's
        #: scheduling uncertainty between a container's start and keepalived's)
        self.race = race
        #: node -> time of its last NodeUp (when replaying with t=...)
        self.started_at: dict[str, float] = {}
        self._start_race = False
        self.up: set[str] = set(up)
        self.paused: set[str] = set()
        #: nodes that receive no adverts at all (AdvertsBlocked)
        self.blocked: set[str] = set()
        #: (receiver, sender) pairs cut in that direction (Hearing), each with how many inputs cut it: two
        #: faults that drop the same adverts each declare the cut, and the pair hears again once both healed
        self.cut: Counter[tuple[str, str]] = Counter()
        #: instance -> the priority of a forged sender's adverts everyone accepts (RogueAdverts)
        self.rogues: dict[str, int] = {}
        self.ifaces_down: dict[str, set[str]] = {}
        #: (node, tracker) -> its current result: a script's or interface's OK (bool), a track_file's value (int)
        self.script_ok: dict[tuple[str, str], Union[bool, int]] = {}
        #: (node, vrrp_sync_group) -> its member instances on that node (R_SYNC_FAULT)
        self.sync_members: dict[tuple[str, str], list[str]] = {}
        for i, nodes in self.specs.items():
            for n, sp in nodes.items():
                if sp.sync_group:
                    self.sync_members.setdefault((n, sp.sync_group), []).append(i)
        self.masters: dict[str, frozenset[str]] = {i: frozenset() for i in self.specs}
        self.paused_holders: dict[str, set[str]] = {i: set() for i in self.specs}
        for i in self.specs:
            if self.up:
                self.masters[i] = self._settle(i, frozenset())[0][0]

    @classmethod
    def from_topology(cls, topo: Any, addresses=None, **kw) -> "ElectionModel":
        return cls(specs_from_topology(topo, addresses), **kw)

    # ---------------------------------------------------------------- queries
    def nodes(self, instance: str) -> list[str]:
        return list(self.specs[instance])

    def _ok(self, node: str) -> dict[str, bool]:
        return {s: ok for (n, s), ok in self.script_ok.items() if n == node}

    def effective_priority(self, node: str, instance: str) -> int:
        """Current effective priority of ``node`` in ``instance`` (R_WEIGHT_*, R_CLAMP, R_OWNER)."""
        return self.specs[instance][node].effective_priority(self._ok(node))

    def faulted(self, node: str, instance: str) -> bool:
        """FAULT by the instance's own trackers or interface (R_WEIGHT0, R_IFACE, R_TRACK_FILE), or by any
        member of its vrrp_sync_group on the node being in FAULT (R_SYNC_FAULT)."""
        sp = self.specs[instance][node]
        ok, down = self._ok(node), self.ifaces_down.get(node, ())
        members = self.sync_members.get((node, sp.sync_group), [instance]) if sp.sync_group else [instance]
        return any(self.specs[m][node].faulted(ok, down) for m in members)

    def state(self, node: str, instance: str) -> str:
        if node in self.paused:
            return "PAUSED"
        if node not in self.up:
            return "DOWN"
        if self.faulted(node, instance):
            return "FAULT"
        return "MASTER" if node in self.masters[instance] else "BACKUP"

    def candidates(self, instance: str) -> list[str]:
        """Nodes that take part in the election: up, not paused, not in FAULT."""
        return [n for n in self.specs[instance]
                if n in self.up and n not in self.paused and not self.faulted(n, instance)]

    def agrees(self, event: ModelEvent) -> bool:
        """Whether an observed script result (ScriptResult with ``observed``) tells the model nothing new:
        no instance of its node tracks the script, or the model already holds that result."""
        if not isinstance(event, ScriptResult):
            return False
        tracks = [t for nodes in self.specs.values() for n, sp in nodes.items() if n == event.node
                  for t in sp.tracks if t.script == event.script]
        if not tracks:
            return True
        cur = self.script_ok.get((event.node, event.script), tracks[0].initial())
        return (cur is None) == (event.ok is None) and (event.ok is None or bool(cur) == event.ok)

    def sync_split(self) -> Optional[str]:
        """Why the model cannot follow a vrrp_sync_group now, or None: on some node the model elects its
        members differently (one MASTER, another BACKUP), which keepalived does not allow (it holds a group
        BACKUP until every member wants MASTER and pulls every member to BACKUP when one steps down;
        vrrp_sync.c); the model elects each instance apart."""
        for (node, g), members in sorted(self.sync_members.items()):
            views = {i: tuple(sorted({node in o for o in self._open_ties.get(i, (self.masters[i],))}))
                     for i in members}
            if len(set(views.values())) > 1:
                return (f"vrrp_sync_group {g} on {node}: the model would elect its members differently ("
                        + ", ".join(f"{i} {'MASTER' if v == (True,) else 'BACKUP' if v == (False,) else 'either'}"
                                    for i, v in views.items())
                        + "); keepalived moves a group's members together and the model has no rule for how")
        return None

    def end_race(self, instance: str) -> None:
        """The start-up race of ``instance`` is over (its winner was seen): later inputs meet an
        established master."""
        self._racing_until.pop(instance, None)

    def racing(self, instance: str, t: float) -> bool:
        """Whether at ``t`` no master of ``instance`` is established yet (a start-up race is open, R_STARTUP)."""
        return (not self.masters[instance] and instance not in self._open_ties) \
            or t < self._racing_until.get(instance, float("-inf"))

    def expect(self, instance: str, cause: str = "now", earliest: float = 0.0, latest: float = 0.0,
               changed: bool = False, rules: Iterable[str] = ()) -> Expectation:
        """The expectation for ``instance`` in the model's current state."""
        opts = self._open_ties.get(instance, (self.masters[instance],))
        first = opts[0]
        states = {}
        for n in self.specs[instance]:
            s = self.state(n, instance)
            if s in ("MASTER", "BACKUP"):
                s = "MASTER" if n in first else "BACKUP"
            states[n] = s
        prios = {n: self.effective_priority(n, instance) for n in self.specs[instance]
                 if n in self.up and n not in self.paused and not self.faulted(n, instance)}
        return Expectation(instance, cause, tuple(opts), states, prios, round(earliest, 6), round(latest, 6), changed,
                           frozenset(first) | frozenset(self.paused_holders[instance]), tuple(rules))

    def observe_master(self, instance: str, masters: Iterable[str]) -> None:
        """Resolve an open tie with what was observed (only if the rules allow it)."""
        m = frozenset(masters)
        ties = self._open_ties.get(instance)
        if ties and m in ties:
            self.masters[instance] = m
            del self._open_ties[instance]

    # ---------------------------------------------------------------- events
    def apply(self, event: ModelEvent, t: Optional[float] = None) -> list[Expectation]:
        """Apply one event; return an Expectation for every instance of the event's node.

        Args:
            t: the event's time (seconds, any clock) when replaying a history. Nodes that start
                while a start-up election has not yet had time to end (before its earliest bound)
                join that race: no master is established yet (R_STARTUP), so ties stay open.
                None: every earlier event has settled.
        Raises KeyError for an unknown node.
        """
        node = event.node
        insts = [i for i, nodes in self.specs.items() if node in nodes]
        if isinstance(event, RogueAdverts):
            insts = [event.instance] if event.instance in self.specs else []
            if not insts:
                raise KeyError(f"no VRRP instance {event.instance!r} in the model; instances: {', '.join(self.specs)}")
        if not insts:
            raise KeyError(f"no keepalived node {node!r} in the model; nodes: "
                           f"{', '.join(sorted({n for v in self.specs.values() for n in v}))}")
        self._start_race = False
        was_racing = {i: t is not None and not isinstance(event, NodeUp)
                      and t < self._racing_until.get(i, float("-inf")) for i in insts}
        if isinstance(event, NodeUp) and t is not None:
            self.started_at[node] = t
            self._start_race = any(self.racing(i, t) for i in insts)
            for i in insts:
                if t < self._racing_until.get(i, float("-inf")):
                    self.masters[i] = frozenset()     # nobody has won the start-up race yet
        before = {i: self._snapshot(i) for i in insts}
        was_master = {i: node in self.masters[i] for i in insts}
        detection = (0.0, 0.0)
        if isinstance(event, NodeUp):
            self.up.add(node)
            self.paused.discard(node)
            for i in insts:
                self.paused_holders[i].discard(node)
        elif isinstance(event, NodeDown):
            self.up.discard(node)
            self.paused.discard(node)
            self.blocked.discard(node)
            for i in insts:
                self.paused_holders[i].discard(node)
        elif isinstance(event, NodePaused):
            self.paused.add(node)
            for i in insts:
                if node in self.masters[i]:
                    self.paused_holders[i].add(node)
        elif isinstance(event, NodeResumed):
            self.paused.discard(node)
        elif isinstance(event, ScriptResult):
            self.script_ok[(node, event.script)] = event.ok
            tracks = [t for i in insts for t in self.specs[i][node].tracks if t.script == event.script]
            if tracks and not event.observed:
                detection = tracks[0].detection(event.ok)
        elif isinstance(event, TrackFileValue):
            self.script_ok[(node, FILE_TRACK + event.file)] = event.value
        elif isinstance(event, InterfaceChange):
            s = self.ifaces_down.setdefault(node, set())
            (s.discard if event.up else s.add)(event.interface)
            self.script_ok[(node, IFACE_TRACK + event.interface)] = event.up     # track_interface
        elif isinstance(event, AdvertsBlocked):
            (self.blocked.add if event.blocked else self.blocked.discard)(node)
        elif isinstance(event, RogueAdverts):
            if event.active and event.priority > 0:
                self.rogues[event.instance] = event.priority
            else:
                self.rogues.pop(event.instance, None)     # priority 0 moves nothing for long (R_ROGUE)
        elif isinstance(event, Hearing):
            pair = (event.receiver, event.sender)
            if not event.hears:
                self.cut[pair] += 1
            elif self.cut[pair] > 1:
                self.cut[pair] -= 1
            else:
                self.cut.pop(pair, None)
        elif isinstance(event, Reload):
            for i in insts:
                if i == event.instance:
                    self.specs[i][node] = replace(self.specs[i][node], **dict(event.changes))
        else:
            raise TypeError(f"unknown model event {event!r}")
        out = []
        for i in insts:
            e = self._transition(i, event, before[i], was_master[i], detection, was_racing.get(i, False))
            if t is not None and isinstance(event, NodeUp) and not before[i]["masters"] and e.changed:
                # the race lasts until the last racer's own start-up timer could run out
                self._racing_until[i] = max(self._racing_until.get(i, float("-inf")),
                                            t + max(e.earliest, max((self.specs[i][n].master_down_interval(
                                                self.effective_priority(n, i)) for n in self.candidates(i)),
                                                default=0.0)))
            out.append(e)
        return self._sync_windows(out, before)

    def _sync_windows(self, out: list[Expectation], before: Mapping[str, dict]) -> list[Expectation]:
        """Members of one vrrp_sync_group that a node takes over together share one window: keepalived
        moves the group to MASTER only when every member wants MASTER (R_SYNC_MASTER), so none may be
        seen before the latest member's earliest moment, and all by the latest deadline."""
        by: dict[tuple[str, str], list[int]] = {}
        for k, e in enumerate(out):
            if not e.changed or len(e.options) != 1:
                continue
            for n in e.options[0] - before[e.instance]["masters"]:
                g = self.specs[e.instance][n].sync_group
                if g:
                    by.setdefault((n, g), []).append(k)
        for ks in by.values():
            if len(ks) > 1:
                lo, hi = max(out[k].earliest for k in ks), max(out[k].latest for k in ks)
                for k in ks:
                    out[k] = replace(out[k], earliest=lo, latest=hi, rules=out[k].rules + (R_SYNC_MASTER,))
        return out

    def _snapshot(self, instance: str) -> dict:
        return {"masters": self.masters[instance],
                "prios": {n: self.effective_priority(n, instance) for n in self.specs[instance]},
                "states": {n: self.state(n, instance) for n in self.specs[instance]}}

    def _transition(self, i: str, ev: ModelEvent, before: dict, node_was_master: bool,
                    detection: tuple[float, float], racing: bool = False) -> Expectation:
        prev = before["masters"]
        if isinstance(ev, NodeResumed) and ev.node in self.paused_holders[i]:
            # a thawed former master resumes as MASTER and meets the current one (R_MASTERS_MEET)
            self.paused_holders[i].discard(ev.node)
            prev = prev | {ev.node}
        prev_live = frozenset(n for n in prev if n in self.candidates(i))
        options, rules = self._settle(i, prev_live)
        self._open_ties.pop(i, None)
        if len(options) > 1:
            self._open_ties[i] = options
        new = options[0]
        self.masters[i] = new if len(options) == 1 else frozenset()
        changed = not (len(options) == 1 and new == prev)
        spec = self.specs[i]
        rules = list(rules)
        lo, hi = 0.0, 0.0
        d_lo, d_hi = detection
        adv = max(s.advert_int for s in spec.values())
        takers = [n for n in set().union(*options) if n not in prev]

        def mdi(n: str) -> float:
            return spec[n].master_down_interval(self.effective_priority(n, i))

        def horizon() -> float:
            """How long a takeover could take after this event (for "it stays" windows)."""
            c = self.candidates(i)
            return max((mdi(n) + spec[n].effective_preempt_delay for n in c), default=0.0)

        lost_master = bool(prev - new) and any(
            n not in self.candidates(i) for n in prev)   # the old master left the election
        if racing and not isinstance(ev, NodeUp):
            # no master is established yet (a start-up race, R_STARTUP): whoever remains wins when
            # its own start-up timer runs out; nobody sent a priority-0 advert or was taken over from
            rules.append(R_STARTUP)
            lo = 0.0
            hi = self.startup + max((mdi(n) + spec[n].effective_preempt_delay for n in self.candidates(i)), default=0.0)
        elif isinstance(ev, NodeUp):
            rules.append(R_STARTUP)
            if takers:
                # a starting node waits its own master down interval (R_STARTUP); it ignores lower adverts
                # preempt_delay delays a preemption (a lower master is heard); with no master at all a
                # starting node takes over after its master down interval (man 5 keepalived.conf preempt_delay)
                lo = min(mdi(n) + (spec[n].effective_preempt_delay if prev else 0.0) for n in takers)
                hi = self.startup + max(mdi(n) + spec[n].effective_preempt_delay for n in takers)
                if not prev and any(spec[n].effective_preempt_delay for n in takers):
                    # no master yet: a lower node may win the start race first (its own MDI); a taker with
                    # preempt_delay then accepts its adverts for the delay after first hearing it, and takes
                    # over when its master down timer next runs out (R_PREEMPT_DELAY, R_STARTUP)
                    first_lower = max((mdi(c) for c in self.candidates(i) if c not in takers), default=0.0)
                    hi = max(hi, self.startup + first_lower
                             + max(spec[n].effective_preempt_delay + mdi(n) for n in takers))
                    rules.append(R_PREEMPT_DELAY)
                if any(n != ev.node for n in takers):   # another node preempts nobody; startup races
                    lo = 0.0
            elif ev.node in self.candidates(i):
                # it would have preempted after its own master down interval: watch that long
                hi = self.startup + mdi(ev.node) + spec[ev.node].effective_preempt_delay
            else:
                hi = self.startup
        elif lost_master and isinstance(ev, NodeDown) and ev.graceful and node_was_master:
            rules += [R_PRIO0]
            lo, hi = 0.0, max((spec[n].skew_time(self.effective_priority(n, i)) for n in takers), default=0.0)
        elif lost_master:
            # killed, paused, faulted or cut off: backups time out (R_MDI) after the master's last advert
            rules.append(R_MDI)
            own_link = isinstance(ev, InterfaceChange) and not ev.up and ev.interface == spec[ev.node].interface
            if isinstance(ev, (ScriptResult, InterfaceChange, TrackFileValue)) and not own_link:
                rules += [R_FAULT_LEAVE] + ([R_WEIGHT0] if isinstance(ev, ScriptResult) else
                                           [R_TRACK_FILE] if isinstance(ev, TrackFileValue) else [R_IFACE])
                if spec[ev.node].sync_group and not spec[ev.node].faulted(self._ok(ev.node), self.ifaces_down.get(ev.node, ())):
                    rules.append(R_SYNC_FAULT)
                lo = d_lo
            elif own_link:
                # the master's own link is down: it can send nothing, not even a priority-0 advert, so the
                # backups time out as after a kill (R_IFACE, R_MDI)
                rules += [R_FAULT_LEAVE, R_IFACE]
                lo = max(0.0, min((mdi(n) for n in takers), default=0.0) - adv)
            else:
                lo = max(0.0, min((mdi(n) for n in takers), default=0.0) - adv)
            hi = d_hi + max((mdi(n) for n in takers), default=0.0)
        elif takers and ((isinstance(ev, AdvertsBlocked) and ev.blocked) or (isinstance(ev, Hearing) and not ev.hears)):
            lo = max(0.0, min(mdi(n) for n in takers) - adv)
            hi = max(mdi(n) for n in takers)
        elif takers:
            # a preempting backup discards lower-priority adverts: MASTER when its timer fires (R_PREEMPT)
            if isinstance(ev, TrackFileValue):
                rules.append(R_TRACK_FILE)
            elif isinstance(ev, ScriptResult) and ev.ok is None:
                rules.append(R_SCRIPT_DISABLED)
            elif isinstance(ev, ScriptResult):
                rules.append(R_WEIGHT_POS if any(t.weight > 0 for s in spec.values() for t in s.tracks
                                                 if t.script == ev.script) else R_WEIGHT_NEG)
            lo = d_lo + max(0.0, min(mdi(n) + spec[n].effective_preempt_delay for n in takers) - adv)
            hi = d_hi + max(mdi(n) + spec[n].effective_preempt_delay for n in takers)
            if any(spec[n].effective_preempt_delay for n in takers):
                rules.append(R_PREEMPT_DELAY)
        elif prev - new:
            # only demotions: masters meet (unblocked / resumed) and the lower one steps down within an interval
            rules.append(R_MASTERS_MEET)
            lo, hi = 0.0, adv + d_hi
        else:
            lo, hi = d_lo, d_hi + horizon()
        self.masters[i] = new if len(options) == 1 else frozenset()
        cause = _describe_event(ev)
        return self.expect(i, cause, lo, hi, changed, rules)


def _describe_event(ev: ModelEvent) -> str:
    if isinstance(ev, RogueAdverts):
        return f"forged adverts for {ev.instance} at priority {ev.priority} {'start' if ev.active else 'stop'}"
    if isinstance(ev, NodeUp):
        return f"{ev.node} up"
    if isinstance(ev, NodeDown):
        return f"{ev.node} {'stopped (SIGTERM)' if ev.graceful else 'killed'}"
    if isinstance(ev, NodePaused):
        return f"{ev.node} paused"
    if isinstance(ev, NodeResumed):
        return f"{ev.node} resumed"
    if isinstance(ev, ScriptResult):
        return f"{ev.node} script {ev.script} {'OK' if ev.ok else 'KO'}"
    if isinstance(ev, TrackFileValue):
        return f"{ev.node} track_file {ev.file} = {ev.value}"
    if isinstance(ev, InterfaceChange):
        return f"{ev.node} {ev.interface} {'up' if ev.up else 'down'}"
    if isinstance(ev, AdvertsBlocked):
        return f"{ev.node} adverts {'blocked' if ev.blocked else 'unblocked'}"
    if isinstance(ev, Hearing):
        return f"{ev.receiver} {'hears' if ev.hears else 'no longer hears'} {ev.sender}"
    if isinstance(ev, Reload):
        return f"{ev.node} reload {ev.instance} " + ", ".join(f"{k}={v}" for k, v in ev.changes)
    return repr(ev)


def predict(specs: Mapping[str, Mapping[str, InstanceSpec]], events: Iterable[ModelEvent], *,
            startup: float = 0.0) -> list[Expectation]:
    """Replay ``events`` from an empty lab; all expectations in order (convenience for tests and the CLI)."""
    m = ElectionModel(specs, startup=startup)
    out: list[Expectation] = []
    for ev in events:
        out += m.apply(ev)
    return out
