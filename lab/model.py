"""Election model: what keepalived's documented rules require (pure: no Docker).

Input: each node's VRRP instance settings (from a :class:`~lab.topology.Topology`
through :func:`specs_from_topology`, later from parsed configs) and a sequence of
events (:class:`NodeUp`, :class:`NodeDown`, :class:`NodePaused`, :class:`NodeResumed`,
:class:`ScriptResult`, :class:`InterfaceChange`, :class:`AdvertsBlocked`, :class:`Reload`).
Output, per event and per VRRP instance, an :class:`Expectation`: each node's
effective priority and expected state, the expected MASTER set (several when
adverts are blocked, alternatives when the rules leave a tie open), and the time
window (seconds after the event) in which the change must happen.

Rules and their sources (``man 5 keepalived.conf`` of keepalived 2.2.7, RFC 3768
VRRPv2, RFC 5798 VRRPv3). Each constant ``R_*`` below is cited in expectations
and unit tests:
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Mapping, Optional, Union

from .timers import master_down_interval, skew_time

if TYPE_CHECKING:  # pragma: no cover
    from .topology import Topology

# ----------------------------------------------------------------------------- rules (citations)
R_WEIGHT_POS = ("man 5 keepalived.conf, VRRP script(s): a positive weight means that <rise> successes "
                "will add <weight> to the priority")
R_WEIGHT_NEG = ("man 5 keepalived.conf, VRRP script(s): a negative weight will be subtracted from the "
                "initial priority in case of <fall> failures")
R_REVERSE = ("man 5 keepalived.conf, vrrp_instance track_script/track_interface: reverse causes the "
             "direction of the adjustment of the priority to be reversed")
R_CLAMP = ("man 5 keepalived.conf, vrrp_instance priority: track_scripts etc cannot increase the priority "
           "to 255 if the configured priority is not 255 (valid range 1..255); effective priority is kept in 1..254")
R_OWNER = ("man 5 keepalived.conf, vrrp_instance priority: if an instance has priority 255 configured, the "
           "priority cannot be reduced by track_scripts")
R_WEIGHT0 = ("man 5 keepalived.conf, VRRP script(s): the default weight 0 means the instance transitions to "
             "FAULT after <fall> consecutive failures; <rise> consecutive successes leave FAULT")
R_WEIGHT0_REVERSE = "man 5 keepalived.conf, vrrp_script weight: 'weight 0 reverse' puts the instance down when the script is up"
R_HIGHEST = "RFC 3768/5798 §6.4.3 and man 5 keepalived.conf priority: for electing MASTER, highest priority wins"
R_PREEMPT = ("man 5 keepalived.conf nopreempt: a higher priority instance normally preempts a lower priority "
             "one; RFC 3768 §6.4.2: a preempting backup discards lower-priority adverts, so it becomes MASTER "
             "when its Master_Down_Timer fires")
R_NOPREEMPT = ("man 5 keepalived.conf nopreempt: stops the higher priority machine taking over the master role "
               "(NOTE: the initial state must not be MASTER)")
R_PREEMPT_DELAY = ("man 5 keepalived.conf preempt_delay: seconds of delay until preemption after the advert "
                   "timeout at startup or when seeing a lower priority master (initial state must not be MASTER)")
R_EQUAL_BACKUP = ("RFC 3768 §6.4.2: a backup resets its Master_Down_Timer on an advert whose priority is greater "
                  "than or equal to its own, so it does not preempt an equal-priority master")
R_EQUAL_MASTERS = ("RFC 3768 §6.4.3: between masters of equal priority, the one with the greater primary IP "
                   "address stays MASTER, the other transitions to BACKUP")
R_MDI = ("RFC 3768 §6.1 / RFC 5798 §6.1: Master_Down_Interval = 3 x Advertisement_Interval + Skew_Time, "
         "Skew_Time = (256 - Priority)/256 s (v2) or (256 - Priority) x Advert_Interval/256 (v3, centiseconds)")
R_PRIO0 = ("RFC 3768 §6.4.3 (Shutdown: send an advert with priority 0) and §6.4.2 (a priority-0 advert sets "
           "the Master_Down_Timer to Skew_Time)")
R_BLOCKED = ("RFC 3768 §6.4.2: a backup that hears no advert for Master_Down_Interval becomes MASTER, so a node "
             "whose adverts are blocked becomes a second MASTER")
R_MASTERS_MEET = ("RFC 3768 §6.4.3: a master that hears a higher-priority advert (or equal priority from a greater "
                  "primary IP) transitions to BACKUP at once")
R_IFACE = ("man 5 keepalived.conf track_interface / dont_track_primary: an unweighted tracked interface (the "
           "instance's own interface is tracked by default) going down puts the instance in FAULT")
R_FAULT_LEAVE = ("keepalived leaves MASTER when entering FAULT; RFC 3768 defines no FAULT state, so the backup "
                 "takes over no later than its Master_Down_Interval after the master's last advert")
R_STARTUP = ("man 5 keepalived.conf state: an instance not at priority 255 waits between 3 and 4 advert intervals "
             "(its Master_Down_Interval) before it can become MASTER")
R_DOWN = "a node that is down or paused sends no adverts and takes part in no election"

__doc__ += "\n".join(f"\n* {v}" for k, v in sorted(globals().items()) if k.startswith("R_"))

STATES = ("MASTER", "BACKUP", "FAULT", "DOWN", "PAUSED")


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class TrackSpec:
    """One tracked vrrp_script of an instance.

    weight: -253..253 (0 = FAULT on failure); reverse: invert the adjustment;
    rise/fall: consecutive results needed; interval: seconds between runs.
    """

    script: str
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    interval: float = 1.0
    init_fail: bool = False

    def adjustment(self, ok: bool) -> int:
        """Priority adjustment while the script is ``ok`` (True) or failing (False).

        Positive weight: +weight while OK, 0 while failing; negative weight: 0 while OK,
        -|weight| while failing (R_WEIGHT_POS, R_WEIGHT_NEG); ``reverse`` flips the sign
        (R_REVERSE). Weight 0 adjusts nothing (it faults instead, see :meth:`faults`).
        """
        if self.weight == 0:
            return 0
        sign = -1 if self.reverse else 1
        if self.weight > 0:
            return sign * self.weight if ok else 0
        return 0 if ok else sign * self.weight

    def faults(self, ok: bool) -> bool:
        """Whether this tracker puts the instance in FAULT (weight 0; reversed when ``reverse``; R_WEIGHT0)."""
        return self.weight == 0 and (ok if self.reverse else not ok)

    def detection(self, ok: bool) -> tuple[float, float]:
        """Seconds from a persistent change of the script's result until keepalived acts on it.

        ``fall`` (to failing) or ``rise`` (to OK) consecutive runs, one every ``interval``:
        between (n - 1) x interval and n x interval (the first run comes within one interval).
        """
        n = self.rise if ok else self.fall
        return ((n - 1) * self.interval, n * self.interval)


@dataclass(frozen=True)
class InstanceSpec:
    """One node's view of one VRRP instance (units: seconds; priority 1..255)."""

    node: str
    instance: str
    priority: int = 100
    state: str = "BACKUP"
    nopreempt: bool = False
    preempt_delay: float = 0.0
    advert_int: float = 1.0
    version: int = 2
    vrid: Optional[int] = None
    primary_ip: Optional[ipaddress.IPv4Address] = None
    tracks: tuple[TrackSpec, ...] = ()
    interface: Optional[str] = None

    @property
    def owner(self) -> bool:
        """Address owner: configured priority 255 (R_OWNER)."""
        return self.priority == 255

    @property
    def preempts(self) -> bool:
        """nopreempt only works with initial state BACKUP (R_NOPREEMPT)."""
        return not (self.nopreempt and self.state == "BACKUP")

    @property
    def effective_preempt_delay(self) -> float:
        """preempt_delay only works with initial state BACKUP (R_PREEMPT_DELAY)."""
        return self.preempt_delay if self.state == "BACKUP" else 0.0

    def effective_priority(self, script_ok: Mapping[str, bool]) -> int:
        """Configured priority plus tracker adjustments, clamped to 1..254; 255 stays 255 (R_CLAMP, R_OWNER).

        Args:
            script_ok: script name -> current result (missing: OK unless the script has init_fail).
        """
        return effective_priority(self.priority, [t.adjustment(script_ok.get(t.script, not t.init_fail))
                                                  for t in self.tracks])

    def faulted(self, script_ok: Mapping[str, bool], interfaces_down: Iterable[str] = ()) -> bool:
        """FAULT by a weight-0 tracker (R_WEIGHT0) or the instance's interface being down (R_IFACE)."""
        if self.interface and self.interface in set(interfaces_down):
            return True
        return any(t.faults(script_ok.get(t.script, not t.init_fail)) for t in self.tracks)

    def master_down_interval(self, priority: Optional[int] = None) -> float:
        """Seconds (R_MDI); ``priority`` defaults to the configured one."""
        return master_down_interval(priority or self.priority, self.advert_int, self.version)

    def skew_time(self, priority: Optional[int] = None) -> float:
        """Seconds (R_MDI)."""
        return skew_time(priority or self.priority, self.advert_int, self.version)


def effective_priority(priority: int, adjustments: Iterable[int] = ()) -> int:
    """``priority`` + sum(``adjustments``), clamped to 1..254; an address owner (255) is never adjusted.

    Sources: R_CLAMP, R_OWNER. Raises ValueError for a priority outside 1..255.
    """
    if not 1 <= priority <= 255:
        raise ValueError(f"priority must be 1..255, got {priority}")
    if priority == 255:
        return 255
    return max(1, min(254, priority + sum(adjustments)))


def specs_from_topology(topo: "Topology", addresses: Optional[Mapping[str, Mapping[str, object]]] = None
                        ) -> dict[str, dict[str, InstanceSpec]]:
    """{instance: {node: InstanceSpec}} from a topology's merged instances and scripts.

    Args:
        addresses: {node: {interface: IPv4Address}} (a running lab's ``Node.addresses``); gives each
            instance's primary IP for the equal-priority rule (R_EQUAL_MASTERS). None: unknown.
    """
    out: dict[str, dict[str, InstanceSpec]] = {}
    for node in topo.keepalived_nodes():
        scripts = topo.scripts(node)
        for name, inst in topo.instances(node).items():
            tracks = []
            for tr in inst.track_script:
                s = scripts.get(tr.name)
                if s is None:
                    continue
                tracks.append(TrackSpec(tr.name, s.weight if tr.weight is None else tr.weight,
                                        tr.reverse if tr.weight is not None else s.reverse,
                                        s.rise, s.fall, s.interval, s.init_fail))
            ip = None
            if addresses and node in addresses and inst.interface in addresses[node]:
                ip = ipaddress.IPv4Address(str(addresses[node][inst.interface]))
            out.setdefault(name, {})[node] = InstanceSpec(
                node=node, instance=name, priority=inst.priority, state=inst.state, nopreempt=inst.nopreempt,
                preempt_delay=inst.preempt_delay or 0.0, advert_int=inst.advert_int, version=inst.version or 2,
                vrid=inst.virtual_router_id, primary_ip=ip, tracks=tuple(tracks), interface=inst.interface)
    return out


# ----------------------------------------------------------------------------- events (model input)
@dataclass(frozen=True)
class NodeUp:
    """keepalived starts on ``node`` (container start)."""
    node: str


@dataclass(frozen=True)
class NodeDown:
    """keepalived stops on ``node``: ``graceful`` (SIGTERM: a master sends priority 0, R_PRIO0) or killed."""
    node: str
    graceful: bool = False


@dataclass(frozen=True)
class NodePaused:
    """``node`` is frozen: it sends nothing but keeps its VIPs."""
    node: str


@dataclass(frozen=True)
class NodeResumed:
    node: str


@dataclass(frozen=True)
class ScriptResult:
    """The vrrp_script ``script`` on ``node`` starts returning ``ok`` (persistently)."""
    node: str
    script: str
    ok: bool


@dataclass(frozen=True)
class InterfaceChange:
    node: str
    interface: str
    up: bool


@dataclass(frozen=True)
class AdvertsBlocked:
    """``node`` receives no adverts (``blocked``) or receives them again."""
    node: str
    blocked: bool = True


@dataclass(frozen=True)
class Reload:
    """``node`` reloads its config with new values for ``instance`` (InstanceSpec field names)."""
    node: str
    instance: str
    changes: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, node: str, instance: str, **changes) -> "Reload":
        return cls(node, instance, tuple(sorted(changes.items())))


ModelEvent = Union[NodeUp, NodeDown, NodePaused, NodeResumed, ScriptResult, InterfaceChange, AdvertsBlocked, Reload]


# ----------------------------------------------------------------------------- output
@dataclass(frozen=True)
class Expectation:
    """What the rules require of one instance after one event.

    Attributes:
        options: acceptable MASTER sets once settled (usually one; several when a tie is open).
        states: node -> expected state (MASTER/BACKUP/FAULT/DOWN/PAUSED) for the first option.
        effective_priorities: node -> effective priority (live, non-faulted nodes).
        earliest, latest: seconds after the event: the change may not be seen before ``earliest``
            and must be complete by ``latest`` (when nothing changes: latest is how long a change
            would have taken, i.e. how long "it stays" must be watched).
        changed: whether the expected MASTER set differs from before the event.
        vip_holders: nodes expected to hold the VIP (masters plus paused former masters).
        rules: the R_* texts that decided this.
    """

    instance: str
    cause: str
    options: tuple[frozenset[str], ...]
    states: dict[str, str]
    effective_priorities: dict[str, int]
    earliest: float
    latest: float
    changed: bool
    vip_holders: frozenset[str]
    rules: tuple[str, ...] = ()

    @property
    def masters(self) -> frozenset[str]:
        """The expected MASTER set (raises ValueError while a tie is open)."""
        if len(self.options) != 1:
            raise ValueError(f"{self.instance}: master is one of {self.describe_options()} (tie)")
        return self.options[0]

    @property
    def master(self) -> Optional[str]:
        """The single expected MASTER, or None (no master, several, or an open tie)."""
        if len(self.options) == 1 and len(self.options[0]) == 1:
            return next(iter(self.options[0]))
        return None

    def allows(self, masters: Iterable[str]) -> bool:
        return frozenset(masters) in self.options

    def describe_options(self) -> str:
        return " or ".join("{" + ", ".join(sorted(o)) + "}" for o in self.options)

    def describe(self) -> str:
        prios = ", ".join(f"{n}={p}" for n, p in sorted(self.effective_priorities.items()))
        return (f"{self.instance}: MASTER {self.describe_options()} within {self.earliest:.3f}..{self.latest:.3f} s "
                f"after {self.cause} (effective priorities {prios})")


# ----------------------------------------------------------------------------- the model
class ElectionModel:
    """Replays events against keepalived's rules. Pure and deterministic.

    Args:
        specs: {instance: {node: InstanceSpec}} (see :func:`specs_from_topology`).
        startup: seconds to allow for a container and keepalived to start (added to the
            latest bound after :class:`NodeUp`; protocol time only when 0).
        up: nodes already running (default none: feed :class:`NodeUp` events).

    ``apply(event)`` returns one :class:`Expectation` per instance the event's node takes part in.
    """

    def __init__(self, specs: Mapping[str, Mapping[str, InstanceSpec]], *, startup: float = 0.0,
                 up: Iterable[str] = ()):
        self.specs = {i: dict(n) for i, n in specs.items()}
        #: instance -> acceptable master sets while a tie is open (resolved by observe_master)
        self._open_ties: dict[str, tuple[frozenset[str], ...]] = {}
        #: instance -> history time until which the current masters are only a start-up race's
        #: expected outcome (not yet established); see apply(t=...)
        self._racing_until: dict[str, float] = {}
        self.startup = startup
        self.up: set[str] = set(up)
        self.paused: set[str] = set()
        self.blocked: set[str] = set()
        self.ifaces_down: dict[str, set[str]] = {}
        self.script_ok: dict[tuple[str, str], bool] = {}
        self.masters: dict[str, frozenset[str]] = {i: frozenset() for i in self.specs}
        self.paused_holders: dict[str, set[str]] = {i: set() for i in self.specs}
        for i in self.specs:
            if self.up:
                self.masters[i] = self._settle(i, frozenset())[0][0]

    @classmethod
    def from_topology(cls, topo: "Topology", addresses=None, **kw) -> "ElectionModel":
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
        return self.specs[instance][node].faulted(self._ok(node), self.ifaces_down.get(node, ()))

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

    def _key(self, instance: str, node: str) -> tuple:
        spec = self.specs[instance][node]
        return (self.effective_priority(node, instance), int(spec.primary_ip) if spec.primary_ip else -1)

    def _best(self, instance: str, nodes: Iterable[str], by_ip: bool = True) -> list[str]:
        """The winners by (priority, primary IP); several if tied and IPs unknown or not deciding.

        ``by_ip`` False: a race of backups (whichever times out first wins; R_EQUAL_BACKUP).
        """
        nodes = list(nodes)
        if not nodes:
            return []
        top = max(self._key(instance, n) for n in nodes)
        if top[1] == -1 or not by_ip:   # ties stay open
            return [n for n in nodes if self._key(instance, n)[0] == top[0]]
        return [n for n in nodes if self._key(instance, n) == top]

    def _settle(self, instance: str, prev: frozenset[str]) -> tuple[tuple[frozenset[str], ...], tuple[str, ...]]:
        """Acceptable MASTER sets once the election settles, given the previous masters."""
        cand = self.candidates(instance)
        blocked = [n for n in cand if n in self.blocked]
        open_ = [n for n in cand if n not in self.blocked]
        rules: list[str] = []
        if blocked:
            rules.append(R_BLOCKED)
        cur = [n for n in open_ if n in prev]
        options: list[frozenset[str]] = []
        if cur:
            if len(cur) > 1:
                rules.append(R_MASTERS_MEET if len({self._key(instance, n)[0] for n in cur}) > 1 else R_EQUAL_MASTERS)
            winners = self._best(instance, cur)
            top = self._key(instance, winners[0])[0]
            pre = [c for c in open_ if self.specs[instance][c].preempts and self._key(instance, c)[0] > top]
            nopre = [c for c in open_ if not self.specs[instance][c].preempts and self._key(instance, c)[0] > top]
            if pre:
                rules.append(R_PREEMPT)
                winners = self._best(instance, pre, by_ip=False)
            elif nopre:
                rules.append(R_NOPREEMPT)
            elif any(self._key(instance, c)[0] == top for c in open_ if c not in cur):
                rules.append(R_EQUAL_BACKUP)
            open_options = [[x] for x in winners]
        else:
            winners = self._best(instance, open_, by_ip=False)
            rules.append(R_HIGHEST)
            if len(winners) > 1:
                rules.append(R_EQUAL_BACKUP)
            open_options = [[x] for x in winners] or [[]]
        for opt in open_options:
            keep = list(opt)
            if opt and blocked:
                w = opt[0]
                hw = self._key(instance, w)
                if any(self._key(instance, b) > hw for b in blocked):
                    keep = []            # w hears a better blocked master and stays/goes BACKUP
                elif w not in prev and not self.specs[instance][w].preempts:
                    keep = []            # a nopreempt backup accepts the blocked master's adverts
            options.append(frozenset(keep) | frozenset(blocked))
        uniq = tuple(dict.fromkeys(options))
        return uniq or (frozenset(),), tuple(dict.fromkeys(rules))

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
        if not insts:
            raise KeyError(f"no keepalived node {node!r} in the model; nodes: "
                           f"{', '.join(sorted({n for v in self.specs.values() for n in v}))}")
        if isinstance(event, NodeUp) and t is not None:
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
            if tracks:
                detection = tracks[0].detection(event.ok)
        elif isinstance(event, InterfaceChange):
            s = self.ifaces_down.setdefault(node, set())
            (s.discard if event.up else s.add)(event.interface)
        elif isinstance(event, AdvertsBlocked):
            (self.blocked.add if event.blocked else self.blocked.discard)(node)
        elif isinstance(event, Reload):
            for i in insts:
                if i == event.instance:
                    self.specs[i][node] = replace(self.specs[i][node], **dict(event.changes))
        else:
            raise TypeError(f"unknown model event {event!r}")
        out = []
        for i in insts:
            e = self._transition(i, event, before[i], was_master[i], detection)
            if t is not None and isinstance(event, NodeUp) and not before[i]["masters"] and e.changed:
                self._racing_until[i] = t + e.earliest
            out.append(e)
        return out

    def _snapshot(self, instance: str) -> dict:
        return {"masters": self.masters[instance],
                "prios": {n: self.effective_priority(n, instance) for n in self.specs[instance]},
                "states": {n: self.state(n, instance) for n in self.specs[instance]}}

    def _transition(self, i: str, ev: ModelEvent, before: dict, node_was_master: bool,
                    detection: tuple[float, float]) -> Expectation:
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
        if isinstance(ev, NodeUp):
            rules.append(R_STARTUP)
            if takers:
                # a starting node waits its own master down interval (R_STARTUP); it ignores lower adverts
                lo = min(mdi(n) + spec[n].effective_preempt_delay for n in takers)
                hi = self.startup + max(mdi(n) + spec[n].effective_preempt_delay for n in takers)
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
            if isinstance(ev, (ScriptResult, InterfaceChange)):
                rules += [R_FAULT_LEAVE] + ([R_WEIGHT0] if isinstance(ev, ScriptResult) else [R_IFACE])
                lo = d_lo
            else:
                lo = max(0.0, min((mdi(n) for n in takers), default=0.0) - adv)
            hi = d_hi + max((mdi(n) for n in takers), default=0.0)
        elif takers and isinstance(ev, AdvertsBlocked) and ev.blocked:
            lo = max(0.0, min(mdi(n) for n in takers) - adv)
            hi = max(mdi(n) for n in takers)
        elif takers:
            # a preempting backup discards lower-priority adverts: MASTER when its timer fires (R_PREEMPT)
            if isinstance(ev, ScriptResult):
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
    if isinstance(ev, InterfaceChange):
        return f"{ev.node} {ev.interface} {'up' if ev.up else 'down'}"
    if isinstance(ev, AdvertsBlocked):
        return f"{ev.node} adverts {'blocked' if ev.blocked else 'unblocked'}"
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
