"""A recorded history as a scenario file (``kalab record``; pure): the faults, heals and node actions done on a
lab, in order, with the expectations the election model says the rules require, ready to commit as a
regression test that ``kalab run`` and pytest replay.

What becomes a step: a fault applied (its kind, node, parameters and name) or healed; a node action the lab
did outside a fault (``kalab fault NODE kill|stop|pause|unpause|start|restart``, a signal): SIGKILL ->
``kill``, docker stop -> ``stop``, SIGTERM/SIGINT/SIGQUIT -> ``sigterm`` (keepalived's graceful end), another
signal -> ``signal``, so that a later ``start:`` heals what stopped the node. Node events a fault caused
(inside its apply or heal) and the lab's own first start of each node are not steps.

What the file expects: after each step, when the record shows the election settled before the next step
(the model's deadline, lab.judge.deadline, passed first, or the record shows the one outcome the rules give),
``expect: {master: ...}`` with the MASTER set the
rules give (lab.election.model; skipped for an instance whose outcome is an open tie) and a ``wait`` for the
rest of the recorded pause; otherwise a ``wait`` of the recorded gap, so the replay keeps the timing that
mattered. The last step expects ``judge: holds``. A replay therefore gives the verdict the rules give, as
the recorded run did.
"""
from __future__ import annotations

from typing import Any, Optional

import yaml

from ..judge.inputs import model_inputs
from ..events import GRACEFUL_SIGNALS, Event
from ..history import History
from ..judge import deadline
from ..timers import MARGIN, STARTUP_ALLOWANCE
from .schema import STOPPING

__all__ = ["record_scenario", "recorded_steps"]

#: node actions that are the lab's inputs, as scenario steps
_NODE_STEP = {"kill": "kill", "stop": "stop", "pause": "pause", "restart": "restart"}
#: the least pause (s) written as a ``wait`` after an ``expect`` (shorter ones are the lab's own latency)
MIN_WAIT = 1.0


def _in_fault(history: History, ev: Event) -> bool:
    """Whether node event ``ev`` happened inside a fault's apply or heal (the fault is the step)."""
    for f in history.events("fault"):
        t0 = f.get("t_issued", f.t)
        if t0 - 0.001 <= ev.t <= f.t + 0.001 and (f.get("target") == ev["node"] or f.get("fault_kind") in ("partition",)):
            return True
    return False


def _non_default(kind: str, params: dict) -> dict:
    """``params`` as the user gives them: only the fault's own parameters (its ``__init__``'s; a value the fault
    worked out itself, such as the rogue sender's interface, is worked out again), without those equal to
    their defaults."""
    import inspect

    from ..nemesis import kinds
    cls = kinds().get(kind)
    if cls is None:
        return dict(params)
    sig = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in params.items() if k in sig and sig[k].kind == sig[k].KEYWORD_ONLY
            and not (sig[k].default is not inspect.Parameter.empty and sig[k].default == v)}


def recorded_steps(history: History, topo) -> list[tuple[Event, Any, str]]:
    """The steps of ``history`` in order: (event, the step as YAML data, a comment or "")."""
    out: list[tuple[Event, Any, str]] = []
    down: set[str] = set()            # keepalived nodes stopped or killed (a later start is a step)
    started: set[str] = set()
    names: dict[str, tuple[str, str]] = {}
    from ..errors import LabError
    from ..nemesis import kinds
    known = kinds()
    for ev in history.events():
        if ev.kind == "fault":
            kind, node, name = ev["fault_kind"], ev["target"], ev["name"]
            if kind not in known:
                raise LabError(f"the record has a {kind!r} input (at {ev.t - history.t0:.3f} s, on {node}), which is no "
                               f"fault kind a scenario file can replay (kinds: {', '.join(known)}); lab.set_script's "
                               f"is the `script` fault's work done by hand: record a run that used `kalab fault`")
            if ev["action"] == "apply":
                spec: dict = {"node": node, **_non_default(kind, ev.get("params") or {})}
                if name != f"{kind}-{node}":
                    spec["name"] = name
                names[name] = (kind, node)
                out.append((ev, {kind: node if list(spec) == ["node"] else spec}, ""))
                if kind in STOPPING:
                    down.add(node)
            elif name in names:
                names.pop(name)
                out.append((ev, {"heal": name}, ""))
                down.discard(node)
            continue
        if ev.kind != "node" or ev["node"] not in topo.keepalived_nodes() or _in_fault(history, ev):
            continue
        node, action = ev["node"], ev["action"]
        if action == "start":
            if node in started and node in down:
                out.append((ev, {"start": node}, ""))
                down.discard(node)
            started.add(node)
        elif action in _NODE_STEP:
            out.append((ev, {_NODE_STEP[action]: node}, ""))
            if action in ("kill", "stop"):
                down.add(node)
        elif action == "unpause":
            out.append((ev, {"unpause": node}, ""))
        elif action == "signal":
            sig = str(ev.get("signal", ""))
            if sig in GRACEFUL_SIGNALS:
                out.append((ev, {"sigterm": node}, ""))
                down.add(node)
            else:
                out.append((ev, {"signal": {"node": node, "signal": sig}}, ""))
    return out


def _snapshots(history: History, topo, checks) -> list[tuple[float, dict]]:
    """After each model input: (its time, {instance: (input event, Expectation)}) of the latest expectations."""
    model = checks.model()
    latest: dict = {}
    snaps: list[tuple[float, dict]] = []
    inputs, _ = model_inputs(history, topo.keepalived_nodes())
    for ev, mevs in inputs:
        for m in mevs:
            if model.agrees(m):
                continue
            for exp in model.apply(m, t=ev.t):
                latest[exp.instance] = (ev, exp)
        snaps.append((ev.t, dict(latest)))
    return snaps


def record_scenario(history: History, topo, topology_ref: Any, name: str = "recorded incident",
                    source: str = "", checks=None) -> str:
    """The scenario file text for ``history`` of a lab of ``topo``.

    Args:
        topology_ref: what the file's ``topology:`` says (a name or path, or the topology mapping itself).
        checks: a :class:`lab.checks.Checks` on the history (its model and allowances); default one built
            from the history's meta record.
    Raises LabError when the history has no step (nothing was done to the lab)."""
    from ..checks import Checks
    from ..errors import LabError
    checks = checks or Checks(history, topo, margin=float(history.meta.get("margin", MARGIN)),
                              startup=float(history.meta.get("startup_allowance", STARTUP_ALLOWANCE)))
    steps = recorded_steps(history, topo)
    if not steps:
        raise LabError("the lab's record has no fault, heal or node action to replay: nothing was done to it "
                       "(`kalab fault NODE KIND`, `kalab heal`)")
    snaps = _snapshots(history, topo, checks)
    end = history.events()[-1].t
    body: list[Any] = []

    def after(t_from: float, t_next: float, last: bool) -> None:
        """What follows a step done at ``t_from`` (or the lab's start) when the next one came at ``t_next``."""
        snap = next((s for t, s in reversed(snaps) if t < t_next), {})
        deadlines = [deadline(history, e, x, checks.margin, checks.startup) for e, x in snap.values()]
        # settled: the model's deadline passed, or the record already shows the one outcome the rules give
        reached = bool(snap) and all(len(x.options) == 1 and frozenset(history.masters(i, at=t_next)) == x.options[0]
                                     and e.t + x.earliest <= t_next for i, (e, x) in snap.items())
        if (snap and (max(deadlines) <= t_next or reached)) or last:
            exp: dict = {}
            masters = {inst: sorted(x.options[0]) for inst, (_, x) in sorted(snap.items()) if len(x.options) == 1}
            if masters:
                exp["master"] = {k: (v[0] if len(v) == 1 else (v or "none")) for k, v in masters.items()}
            if last:
                exp["judge"] = "holds"
            if exp:
                body.append({"expect": exp})
            rest = t_next - max(deadlines) if deadlines else 0.0      # negative when reached before the deadline
            if not last and rest >= MIN_WAIT:
                body.append({"wait": f"{rest:.1f}s"})
        elif t_from is not None:
            body.append({"wait": f"{max(0.1, t_next - t_from):.1f}s"})

    issued = lambda ev: ev.get("t_issued", ev.t)
    # the start-up election, if it settled before the first step; else the recorded time from the lab's start
    starts = [e.t for e in history.events("node", action="start") if e.t < issued(steps[0][0])]
    after(max(starts) if starts else None, issued(steps[0][0]), False)
    for i, (ev, step, _) in enumerate(steps):
        body.append(step)
        last = i + 1 == len(steps)
        after(ev.t, end if last else issued(steps[i + 1][0]), last)
    doc = {"name": name, "source": source or "recorded with kalab record",
           "documented": "the MASTER sets below are what keepalived's documented rules give after each step "
                         "(the lab's election model); the last step expects the judge to hold",
           "topology": topology_ref, "steps": body}
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)
    return ("# Recorded by `kalab record`: the faults, heals and node actions done on the lab, in order, with\n"
            "# what the rules require after each. Replay: kalab run FILE, or pytest collects it as a test.\n" + text)
