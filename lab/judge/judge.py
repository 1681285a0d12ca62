"""The judge: a history and the election model -> holds / violated / cannot judge (pure).

The model holds, after each input (a node start, kill, pause, a fault's declared meaning), the set
of MASTER outcomes the rules allow and the time window in which the election must settle
(:class:`lab.election.Expectation`). The judge walks the history once and checks, per VRRP instance:

* every transition to MASTER is allowed by an expectation in force at that moment (the latest one,
  and earlier ones whose window is still open: an input does not cancel what is already in flight);
  while a start-up race is open (nodes starting within one master down interval of each other,
  R_STARTUP) any started node may win first;
* no allowed transition comes earlier than the window's lower bound (minus the margin);
* at each window's deadline (event time + latest + margin), when the next input comes later, the
  MASTER set is one the rules allow, and nodes the model puts in FAULT report FAULT;
* from that deadline until the next input the MASTER set stays as it settled (a node that becomes
  MASTER later, a split brain after the deadline, is a violation).

An expectation whose deadline the history does not reach is *cannot judge*; so is everything after
an input the model has no rule for (:class:`lab.judge.inputs.Unjudgeable`), unless the caller allows
it by name. Times are seconds on the history's clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

from ..election.inputs import NodeUp, RogueAdverts
from ..election.model import ElectionModel, Expectation
from ..election.specs import InstanceSpec
from ..events import Event
from ..history import History
from .inputs import Unjudgeable, model_inputs, sync_split
from .scripts import judge_script_reports
from .verdict import Verdict, merge

#: notify_fifo/lifecycle states that are not an election state
_IDLE = {"DOWN", "PAUSED", "STOP", None}
#: what keepalived writes on notify_fifo for an instance (man 5 keepalived.conf, notify_fifo; 2.2.7 adds
#: MASTER_RX_LOWER_PRI, an event that leaves the node MASTER)
KNOWN_STATES = frozenset({"MASTER", "BACKUP", "FAULT", "STOP", "DELETED", "MASTER_RX_LOWER_PRI"})


@dataclass
class Judgement:
    """One expectation judged against the history.

    ``verdict`` None: superseded by the next input before its deadline (its window still allows
    what was in flight); otherwise the verdict with ``problem`` saying why.
    """

    event: Event
    expectation: Expectation
    deadline: float
    transient: frozenset[str] = frozenset()
    #: (receiver, sender) pairs that hear each other's adverts after this input (the model's view)
    hearing: frozenset = frozenset()
    observed: Optional[frozenset[str]] = None
    #: when the next input for the instance came before this window's deadline (host s), else None
    superseded_at: Optional[float] = None
    verdict: Optional[Verdict] = None
    problem: str = ""

    @property
    def ok(self) -> Optional[bool]:
        """True holds, False violated, None not judged (superseded or cannot judge)."""
        return None if self.verdict in (None, Verdict.CANNOT_JUDGE) else self.verdict is Verdict.HOLDS

    def add_problem(self, text: str) -> None:
        self.verdict = Verdict.VIOLATED
        self.problem = "; ".join(dict.fromkeys([p for p in self.problem.split("; ") if p] + [text]))


@dataclass
class ModelReport:
    """Every judgement, where judging stopped (an unjudgeable input) and whether that was allowed."""

    judgements: list[Judgement] = field(default_factory=list)
    stopped_at: Optional[Unjudgeable] = None
    stop_allowed: bool = False

    @property
    def failures(self) -> list[Judgement]:
        return [j for j in self.judgements if j.verdict is Verdict.VIOLATED]

    @property
    def unjudged(self) -> list[Judgement]:
        return [j for j in self.judgements if j.verdict is Verdict.CANNOT_JUDGE]

    @property
    def verdict(self) -> Verdict:
        vs = [j.verdict for j in self.judgements if j.verdict is not None]
        if self.stopped_at is not None and not self.stop_allowed:
            vs.append(Verdict.CANNOT_JUDGE)
        return merge(vs) if vs else Verdict.CANNOT_JUDGE


def ready_event(history: History, start: Event) -> Optional[Event]:
    """The ``ready`` event (keepalived's 'Startup complete') of the run ``start`` began, if recorded."""
    for e in history.events("node", since=start.t, node=start["node"]):
        if e is start:
            continue
        if e["action"] == "ready":
            return e
        if e["action"] in ("start", "restart", "kill", "exited", "died", "stop", "signal"):
            return None
    return None


def t_in(ev: Event) -> float:
    """When an input may first show an effect: when it was issued (``t_issued``: a fault's command or
    a signal sent), which can be before it is recorded as done (``t``). Windows' lower bounds and the
    order of inputs use this time; deadlines run from ``t``, when it surely took effect."""
    return min(ev.t, ev.get("t_issued", ev.t))


def is_start(ev: Event) -> bool:
    return ev.kind == "node" and ev.get("action") in ("start", "restart")


def deadline(history: History, ev: Event, exp: Expectation, margin: float, startup: float) -> float:
    """When ``exp`` must hold: event time + latest + margin. After a node start, ``latest`` includes
    the start-up allowance; once keepalived's start was seen (a ``ready`` event) the protocol's time
    runs from there instead (the earlier of the two). So for any other input that came while nodes of the
    instance were still starting (a script's first report before keepalived's ready): once every one of them
    is ready, the protocol's time runs from the last of them; and for one that came when every node of the
    instance had reported its start, from the input itself (no allowance is left)."""
    d = ev.t + exp.latest + margin
    if ev.kind == "fault" and exp.latest >= startup and any(m.get("input") == "node_up" for m in ev.get("model") or ()):
        # a fault that restarted keepalived inside a running container (the VRRP child's respawn) is
        # recorded once the new run is up: its timers run from the event, no container start to allow for
        d = min(d, ev.t + max(0.0, exp.latest - startup) + margin)
    if is_start(ev):
        # the election's timers run from this node's keepalived start and from the expected master's, if
        # that was still starting too (ready after this node's: its own MDI counts from its own ready)
        starting = _starting(history, ev, set(_allows(exp)) | {ev["node"]})
    elif exp.latest >= startup:
        starting = _starting(history, ev, set(exp.states))
        if not starting and all(_ready_at(history, ev, n) for n in exp.states):
            # every node of the instance had reported its keepalived start before this input: no start-up is
            # left to allow for, only the protocol's time from the input
            return min(d, ev.t + exp.latest - startup + margin)
    else:
        starting = []
    readies = [ready_event(history, s) for s in starting]
    if readies and all(r is not None for r in readies):
        d = min(d, max(r.t for r in readies) + max(0.0, exp.latest - startup) + margin)
    return d


def _lifecycle_at(history: History, ev: Event, node: str) -> Optional[Event]:
    """``node``'s last lifecycle event at or before ``ev``: a start, ``ready``, or its end (kill, exited, died,
    stop); None when it has none."""
    last = None
    for e in history.events("node", node=node):
        if e.t > ev.t:
            break
        if is_start(e) or e.get("action") in ("ready", "kill", "exited", "died", "stop"):
            last = e
    return last


def _ready_at(history: History, ev: Event, node: str) -> bool:
    """Whether ``node``'s current run at ``ev`` had reported keepalived's start."""
    last = _lifecycle_at(history, ev, node)
    return last is not None and last.get("action") == "ready"


def _starting(history: History, ev: Event, nodes: set[str]) -> list[Event]:
    """The start events of ``nodes`` whose keepalived was not yet ready at ``ev`` (``ev`` itself included): a
    node ready before ``ev``, or gone, has nothing of its start in progress."""
    lasts = (_lifecycle_at(history, ev, n) for n in sorted(nodes))
    return [e for e in lasts if e is not None and is_start(e)]


def _allows(exp: Expectation) -> frozenset[str]:
    return frozenset().union(*exp.options)


def judge(history: History, specs: Mapping[str, Mapping[str, InstanceSpec]], *, margin: float, startup: float,
          until: Optional[float] = None, instances: Optional[Sequence[str]] = None,
          allow: Iterable[str] = ()) -> ModelReport:
    """Judge ``history`` against the model built from ``specs`` (see the module docstring).

    Args:
        specs: {instance: {node: InstanceSpec}} (lab.election.specs_from_topology).
        margin: seconds added to every deadline and taken off every lower bound (scheduling latency).
        startup: seconds allowed for a container and keepalived to start (until a ``ready`` event).
        until: the history's end for judging (default: its last event).
        instances: the instances to judge (default all).
        allow: fault kinds, fault names or node actions whose lack of a rule is accepted: judging
            stops there without making the verdict "cannot judge".
    Returns a ModelReport; ``report.verdict`` is the merged verdict.
    """
    evs = history.events()
    until = (evs[-1].t if evs else history.t0) if until is None else until
    model = ElectionModel(specs, startup=startup, race=margin)
    names = list(instances or model.specs)
    nodes = {n for i in model.specs.values() for n in i}
    inputs, stop = model_inputs(history, nodes)
    allow = set(allow)
    rep = ModelReport(stopped_at=stop)
    if stop is not None:
        e = stop.event
        rep.stop_allowed = bool({e.get("fault_kind"), e.get("name"), e.get("action")} & allow)
    unmodelled = [(i, n, why) for i in names for n, sp in model.specs[i].items() for why in sp.unmodelled]
    if unmodelled and inputs and stop is None:
        i, n, why = unmodelled[0]
        first = inputs[0][0]
        stop = Unjudgeable(first, f"{n}'s instance {i} uses {why}")
        rep.stopped_at = stop
        rep.stop_allowed = any(why.split(" ")[0] in allow for _, _, why in unmodelled) and \
            all(why.split(" ")[0] in allow for _, _, why in unmodelled)
    split = sync_split(model.specs, inputs, startup=startup, race=margin)
    if split is not None and (stop is None or t_in(split.event) < t_in(stop.event)):
        stop, rep.stopped_at, rep.stop_allowed = split, split, "vrrp_sync_group" in allow
    strange = next((e for e in evs if e.kind == "state" and e.get("type", "INSTANCE") == "INSTANCE"
                    and (e.get("instance") not in model.specs or e["state"] not in KNOWN_STATES
                         or e.get("node") not in nodes)), None)
    if strange is not None and (stop is None or strange.t < t_in(stop.event)):
        why = (f"instance {strange.get('instance')!r} is not in the topology" if strange.get("instance") not in model.specs
               else f"node {strange.get('node')!r} runs no instance of the topology" if strange.get("node") not in nodes
               else f"state {strange['state']!r} is not one keepalived reports")
        stop = Unjudgeable(strange, f"a state report the model cannot place: {why}")
        rep.stopped_at, rep.stop_allowed = stop, False
    horizon = min(until, t_in(stop.event) - 1e-9) if stop else until
    per: dict[str, list[Judgement]] = {i: [] for i in names}
    pending: dict[str, Judgement] = {}
    times = [t_in(ev) for ev, _ in inputs] + [horizon]
    for k, (ev, mevs) in enumerate(inputs):
        if ev.t > horizon:
            break
        for i, j in pending.items():           # an open tie or a start-up race the history has settled
            seen = frozenset(history.masters(i, at=t_in(ev) - 1e-9))
            if seen and j.expectation.allows(seen):
                if len(j.expectation.options) > 1:
                    model.observe_master(i, seen)
                model.end_race(i)
        for m in mevs:
            if model.agrees(m):                  # an observed script result the model already holds
                continue
            racing = {i: model.racing(i, ev.t) for i in names}
            if isinstance(m, RogueAdverts) and m.active and m.priority == 0:
                # "the master stopped": a backup may become MASTER at its skew time before the real master's
                # answer arrives (R_ROGUE); any candidate may flap, the outcome must not change
                racing = {i: i == m.instance or racing[i] for i in names}
            for exp in model.apply(m, t=ev.t):
                i = exp.instance
                if i not in per:
                    continue
                j = Judgement(ev, exp, deadline(history, ev, exp, margin, startup),
                              frozenset(model.candidates(i)) if racing.get(i) else frozenset(),
                              frozenset((r, x) for r in model.specs[i] for x in model.specs[i]
                                        if r != x and model.hears(r, x, i)))
                lst = per[i]
                if lst and lst[-1].event is ev:          # one event, several inputs (a restart): the earlier
                    j.transient |= lst[-1].transient     # ones stay in force as in-flight windows
                old = pending.get(i)
                if old is not None and old is not j:
                    old.superseded_at = t_in(ev)
                    old.observed = frozenset(history.masters(i, at=t_in(ev) - 1e-9))
                lst.append(j)
                pending[i] = j
        t_next = times[k + 1]
        for i, j in list(pending.items()):
            if j.deadline <= t_next:
                _judge_at_deadline(history, j, model, margin)
                del pending[i]
    for j in pending.values():
        if stop is not None and rep.stop_allowed and j.deadline > t_in(stop.event):
            # cut short by an input the test accepts the model cannot follow: what remains of the
            # window is part of what it accepted not to judge (its transitions so far are still checked)
            seen = frozenset(history.masters(j.expectation.instance, at=t_in(stop.event) - 1e-9))
            j.observed = seen
            if j.expectation.allows(seen):    # it had settled as the rules say before the cut
                j.verdict, j.problem = Verdict.HOLDS, f"settled before {stop.event.describe(history.t0).strip()} (allowed)"
            else:
                j.verdict, j.problem = None, f"cut short by {stop.event.describe(history.t0).strip()} (allowed)"
            continue
        j.verdict = Verdict.CANNOT_JUDGE
        j.problem = (f"the history ends at {horizon - history.t0:.3f} s, before this window's deadline "
                     f"{j.deadline - history.t0:.3f} s" + (f" (judging stopped: {stop.reason})" if stop else ""))
    for i, lst in per.items():
        _judge_transitions(history, i, lst, horizon, margin)
        _judge_startup(history, i, lst, model.specs.get(i, {}), horizon, margin)
        _judge_masters_meet(history, i, lst, model.specs.get(i, {}), horizon, margin)
        _judge_stays(history, i, lst, [t_in(j.event) for j in lst[1:]] + [horizon])
        rep.judgements += lst

    def owner_at(inst: str, t: float) -> Optional[Judgement]:
        lst = [j for j in per.get(inst, []) if t_in(j.event) <= t] or per.get(inst, [])[:1]
        return lst[-1] if lst else None
    judge_script_reports(history, model.specs, horizon, margin, owner_at)
    rep.judgements.sort(key=lambda j: (j.event.t, j.expectation.instance))
    return rep


def _judge_at_deadline(history: History, j: Judgement, model: ElectionModel, margin: float) -> None:
    exp, inst = j.expectation, j.expectation.instance
    states = history.states(inst, at=j.deadline)
    observed = frozenset(n for n, s in states.items() if s == "MASTER")
    j.observed = observed
    j.verdict = Verdict.HOLDS
    if not exp.allows(observed):
        j.add_problem(f"MASTER {{{', '.join(sorted(observed))}}} at the deadline, expected {exp.describe_options()}")
    for n, want in exp.states.items():
        got = states.get(n)
        if want == "FAULT" and got not in _IDLE and got != "FAULT":
            j.add_problem(f"{n} reports {got}, expected FAULT")
        if got == "FAULT" and want in ("MASTER", "BACKUP"):
            j.add_problem(f"{n} reports FAULT, expected {want}")
    if len(exp.options) > 1 and exp.allows(observed):
        model.observe_master(inst, observed)


def _in_flight_until(history: History, inst: str, j: Judgement) -> float:
    """Until when an expectation still allows transitions after a later input: its deadline, or
    the first moment the observed MASTER set was one of its outcomes (then it had settled)."""
    exp = j.expectation
    for e in history.events(since=t_in(j.event)):
        if e.t > j.deadline:
            break
        if e.kind in ("state", "node") and exp.allows(history.masters(inst, at=e.t)):
            return e.t
    return j.deadline


def _judge_transitions(history: History, inst: str, lst: list[Judgement], horizon: float, margin: float) -> None:
    """Every MASTER transition is allowed by an expectation in force, and not too early."""
    if not lst:
        return
    rel = lambda t: f"{t - history.t0:.3f} s"
    settled = [_in_flight_until(history, inst, j) for j in lst]
    # an earlier window stays in force until it settled, its deadline, or a later window settled
    ends = {id(j): min([settled[k]] + [settled[m] for m in range(k + 1, len(lst))]) for k, j in enumerate(lst)}
    for s in history.events("state", since=t_in(lst[0].event), instance=inst, state="MASTER"):
        if s.t > horizon:
            break
        latest = [j for j in lst if t_in(j.event) <= s.t]
        if not latest:
            continue
        owner = latest[-1]
        force = [j for j in latest[:-1] if s.t <= ends[id(j)]] + [owner]
        allowed = frozenset().union(*(_allows(j.expectation) | j.transient for j in force))
        if s["node"] not in allowed:
            owner.add_problem(f"{s['node']} became MASTER at {rel(s.t)}, which no rule in force allows "
                              f"(expected MASTER {owner.expectation.describe_options()})")
            continue
        def too_early(j: Judgement) -> bool:
            e = j.expectation
            return (e.changed and e.earliest > margin and s["node"] not in j.transient
                    and s.t < t_in(j.event) + e.earliest - margin)

        allowing = [j for j in force if s["node"] in _allows(j.expectation) | j.transient]
        changes = [j for j in allowing if j.expectation.changed or j.transient]
        decisive = changes or allowing          # an input that changed nothing lifts no lower bound
        if decisive and all(too_early(j) for j in decisive):
            j = decisive[-1]
            j.add_problem(f"{s['node']} became MASTER {s.t - j.event.t:.3f} s after `{j.expectation.cause}`, "
                          f"before the earliest {j.expectation.earliest:.3f} s the timers allow")


def _judge_startup(history: History, inst: str, lst: list[Judgement], specs: Mapping[str, InstanceSpec],
                   horizon: float, margin: float) -> None:
    """R_STARTUP: a node that starts (initial state BACKUP, not the address owner) becomes MASTER no
    earlier than its master down interval after its start (after keepalived's ``ready`` when recorded),
    at the shortest interval its trackers could give it, minus the margin. Start-up races excuse who
    wins, never how soon."""
    from ..priority import effective_priority as eff_prio
    rel = lambda t: f"{t - history.t0:.3f} s"
    started: dict[str, float] = {}
    for e in history.events():
        if e.t > horizon:
            break
        if e.kind == "node" and e["node"] in specs:
            if is_start(e):
                started[e["node"]] = e.t
            elif e["action"] == "ready" and e["node"] in started:
                started[e["node"]] = max(started[e["node"]], e.t)
            elif e["action"] in ("kill", "stop", "exited", "died", "signal"):
                started.pop(e["node"], None)
        elif e.kind == "state" and e.get("instance") == inst and e["state"] == "MASTER" and e["node"] in started:
            spec = specs[e["node"]]
            if spec.owner or spec.state != "BACKUP":
                continue
            best = eff_prio(spec.priority, [max(t.adjustment(True), t.adjustment(False)) for t in spec.tracks])
            earliest = started[e["node"]] + spec.master_down_interval(best) - margin
            if e.t < earliest:
                owner = [j for j in lst if t_in(j.event) <= e.t]
                j = owner[-1] if owner else (lst[0] if lst else None)
                if j is not None:
                    j.add_problem(f"{e['node']} became MASTER at {rel(e.t)}, {e.t - started[e['node']]:.3f} s after it "
                                  f"started: before its master down interval "
                                  f"{spec.master_down_interval(best):.3f} s (R_STARTUP) less the margin")
            started.pop(e["node"], None)      # only the first election after a start


def _judge_masters_meet(history: History, inst: str, lst: list[Judgement], specs: Mapping[str, InstanceSpec],
                        horizon: float, margin: float) -> None:
    """R_MASTERS_MEET: two masters that hear each other's adverts do not stay masters together: the one
    with the lower priority steps down on the first advert of the other, so co-mastership lasts at most
    one advert interval (plus the margin) after the input that made them hear each other."""
    if not lst:
        return
    rel = lambda t: f"{t - history.t0:.3f} s"
    points = [e.t for e in history.events(since=t_in(lst[0].event)) if e.kind in ("state", "node") and e.t <= horizon]
    points.append(horizon)
    for t0, t1 in zip(points, points[1:]):
        ms = sorted(history.masters(inst, at=t0))
        if len(ms) < 2:
            continue
        owners = [j for j in lst if t_in(j.event) <= t0]
        if not owners:
            continue
        j = owners[-1]
        for a in ms:
            for b in ms:
                if a < b and (a, b) in j.hearing and (b, a) in j.hearing:
                    adv = max(specs[a].advert_int, specs[b].advert_int) if a in specs and b in specs else 1.0
                    since = max(_together_since(history, inst, a, b, t0), j.event.t)
                    if t1 - since > adv + margin:
                        j.add_problem(f"{a} and {b} were both MASTER from {rel(since)} to {rel(t1)} although they hear "
                                      f"each other (R_MASTERS_MEET: the lower steps down on the other's first advert, "
                                      f"within {adv:g} s)")
                        return


def _together_since(history: History, inst: str, a: str, b: str, t: float) -> float:
    """When ``a`` and ``b`` last became MASTER together, at or before ``t``."""
    last = t
    for e in reversed(history.events(instance=inst)):
        if e.t > t or e.kind != "state":
            continue
        ms = history.masters(inst, at=e.t)
        if a in ms and b in ms:
            last = e.t
        else:
            break
    return last


def _judge_stays(history: History, inst: str, lst: list[Judgement], next_inputs: list[float]) -> None:
    """After a judged deadline and until the next input, the MASTER set stays as it settled."""
    rel = lambda t: f"{t - history.t0:.3f} s"
    for j, t_next in zip(lst, next_inputs):
        if j.observed is None or j.verdict is Verdict.CANNOT_JUDGE:
            continue
        for e in history.events(since=j.deadline):
            if e.t >= t_next:
                break
            if e.kind not in ("state", "node"):
                continue
            now = frozenset(history.masters(inst, at=e.t))
            if now != j.observed:
                j.add_problem(f"MASTER changed to {{{', '.join(sorted(now))}}} at {rel(e.t)}, after the election had "
                              f"settled on {{{', '.join(sorted(j.observed))}}} and with no input since "
                              f"`{j.expectation.cause}`")
                break
