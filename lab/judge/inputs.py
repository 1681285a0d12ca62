"""What in a history drives the election model (pure).

Node lifecycle events mean what :func:`lab.events.node_effect` says; a fault event means what the
fault that wrote it declared (its ``model`` field, :data:`lab.events.MODEL_INPUTS` dicts). Nothing
here knows a fault's name. An event that drives nothing known (a fault with no declared meaning,
an unknown node action or signal) is returned as *unjudgeable*, with the reason: the model cannot
know what follows it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from ..election.inputs import (ModelEvent, NodeDown, NodePaused, NodeResumed, NodeUp, ScriptResult, from_dict)

#: model inputs that node events record themselves
LIFECYCLE = (NodeUp, NodeDown, NodePaused, NodeResumed)
from ..events import Event, EventError, node_effect
from ..history import History


@dataclass(frozen=True)
class Unjudgeable:
    """An event the model has no rule for: ``reason`` names what is missing."""

    event: Event
    reason: str


def _node_inputs(e: Event) -> Optional[list[ModelEvent]]:
    n = e["node"]
    eff = node_effect(e["action"], e.get("signal"))
    return {"up": [NodeUp(n)], "down": [NodeDown(n)], "down-graceful": [NodeDown(n, graceful=True)],
            "restart": [NodeDown(n, graceful=True), NodeUp(n)], "pause": [NodePaused(n)],
            "unpause": [NodeResumed(n)], "none": []}.get(eff or "")


def _reload(e: Event) -> bool:
    """A SIGHUP (keepalived rereads its config) whose config changed, or could not be compared (an event
    recorded before the lab compared configs says nothing: unknown)."""
    return e["action"] == "signal" and str(e.get("signal", "")).upper().removeprefix("SIG") in ("HUP", "1") \
        and e.get("config_changed", None) is not False


def _sighup(e: Event) -> bool:
    """Any SIGHUP to keepalived (a reload, changed config or not)."""
    return e["action"] == "signal" and str(e.get("signal", "")).upper().removeprefix("SIG") in ("HUP", "1")


def _reload_windows(history: History, nodes: set) -> list[tuple[str, Event, float, float]]:
    """(node, its SIGHUP event, from, to): while each SIGHUP's reload was in flight, from its issue to the node's
    'Reload complete' (a ``reloaded`` event, which may carry an earlier stamp than the SIGHUP's own record: that
    one is stamped when the signal call returned) or the node's next run. Empty for a record that notes no
    reload completion at all (made before the lab noted them: nothing to go by)."""
    evs = history.events("node")
    if not any(x["action"] == "reloaded" for x in evs):
        return []
    out = []
    for e in evs:
        if e["node"] in nodes and _sighup(e):
            t0 = e.get("t_issued", e.t)
            ends = [x.t for x in evs if x["node"] == e["node"] and x.t >= t0 and x is not e
                    and x["action"] in ("reloaded", "exited", "died", "kill", "stop", "start", "restart")]
            out.append((e["node"], e, t0, min(ends) if ends else float("inf")))
    return out


def _declared_reload(history: History, e: Event) -> bool:
    """Whether a fault that declares a reload of ``e``'s node was in progress when ``e`` happened (the
    reload fault sends the SIGHUP between its issue and its record)."""
    return any(f.get("t_issued", f.t) <= e.t <= f.t and any(
        isinstance(d, dict) and d.get("input") == "reload" and d.get("node") == e["node"] for d in (f.get("model") or []))
        for f in history.events("fault", since=e.t - 60.0) if f.t >= e.t)


def fault_inputs(e: Event) -> tuple[Optional[list[ModelEvent]], str]:
    """The model inputs a fault event declares, or (None, why not)."""
    if e.get("model") is None:
        why = e.get("unmodelled") or (f"fault {e.get('fault_kind') or e['name']} recorded no model meaning "
                                      f"(a fault declares the model inputs of its apply and heal)")
        return None, why
    try:
        return [from_dict(d) for d in e["model"]], ""
    except (EventError, TypeError, KeyError) as err:
        return None, f"fault {e['name']}: its declared model meaning is malformed ({err})"


def model_inputs(history: History, nodes: Iterable[str]) -> tuple[list[tuple[Event, list[ModelEvent]]],
                                                                     Optional[Unjudgeable]]:
    """History events that drive the model, each with its model inputs; and the first unjudgeable one.

    Inputs that repeat what is already true are dropped (a node already down is not downed again by
    the ``exited`` after its ``stop``, nor by the kill fault's own declaration after the engine's kill).
    Inputs about nodes outside ``nodes`` (clients) are dropped.
    """
    nodes = set(nodes)
    out: list[tuple[Event, list[ModelEvent]]] = []
    up: set[str] = set()
    paused: set[str] = set()
    windows = _reload_windows(history, nodes)
    for e in history.events():
        if windows and e.kind in ("node", "fault"):
            who = e["node"] if e.kind == "node" else e.get("target")
            hit = next(((n, r) for n, r, t0, t1 in windows if n != who and t0 <= e.t <= t1), None)
            if hit is not None and not (e.kind == "node" and e["action"] in ("reloaded", "ready")):
                n, r = hit
                return out, Unjudgeable(e, f"{e.summary()} came while {n} was reloading (SIGHUP issued at "
                                        f"{r.get('t_issued', r.t) - history.t0:.3f} s, 'Reload complete' not yet logged): "
                                        f"a reload restarts every instance's timers when it completes (keepalived "
                                        f"vrrp_scheduler.c vrrp_init_sands) and the node may miss adverts meanwhile; "
                                        f"the model has no rule for a reload in flight")
        if e.kind == "node":
            if e["node"] not in nodes:
                continue
            if e["action"] == "socket_error":
                return out, Unjudgeable(e, e.summary() + ": keepalived without its VRRP socket is outside the "
                                        "model (no rule covers an instance that cannot send or hear)")
            evs = _node_inputs(e)
            if evs == [] and _reload(e) and not _declared_reload(history, e):
                return out, Unjudgeable(e, f"SIGHUP reload of {e['node']} with "
                                        + ("a changed keepalived.conf" if e.get("config_changed") else
                                           "a keepalived.conf the lab could not compare with what ran")
                                        + ": the model does not know the new config (the reload fault declares what "
                                          "changes: `reload priority=N`)")
            if evs is None:
                return out, Unjudgeable(e, f"node action {e['action']} {e.get('signal') or ''}".strip()
                                        + " has no rule in the model")
        elif e.kind == "fault":
            evs, why = fault_inputs(e)
            if evs is None:
                return out, Unjudgeable(e, why)
            # a lifecycle the engine already recorded (node events between the fault's issue and its
            # effect) is the same happening, not a second one: the node events are authoritative
            t0 = e.get("t_issued", e.t)
            seen = {x["node"] for x in history.events("node", since=t0) if x.t <= e.t}
            evs = [m for m in evs if not (isinstance(m, LIFECYCLE) and m.node in seen)]
        elif e.kind == "script":
            # what the script saw, as keepalived logged it: the model follows it where no fault declared it
            # (the judge drops one the model already holds: ElectionModel.agrees)
            evs = [ScriptResult(e["node"], e["script"], None if e["ok"] is None else bool(e["ok"]), observed=True)]
        else:
            continue
        kept = []
        for m in evs:
            n = m.node
            if n is None:                  # concerns no lab node (forged adverts)
                kept.append(m)
                continue
            if n not in nodes:
                continue
            if isinstance(m, NodeUp):
                if n in up:
                    continue
                up.add(n)
                paused.discard(n)
            elif isinstance(m, NodeDown):
                if n not in up:
                    continue
                up.discard(n)
                paused.discard(n)
            elif isinstance(m, NodePaused):
                if n in paused or n not in up:
                    continue
                paused.add(n)
            elif isinstance(m, NodeResumed):
                if n not in paused:
                    continue
                paused.discard(n)
            kept.append(m)
        if kept:
            out.append((e, kept))
    return out, None


def sync_split(specs, inputs: list[tuple[Event, list[ModelEvent]]], *, startup: float, race: float
               ) -> Optional[Unjudgeable]:
    """The first input after which the model would elect the members of a vrrp_sync_group differently on
    a node (:meth:`lab.election.ElectionModel.sync_split`), as an Unjudgeable; None when it never does."""
    from ..election.model import ElectionModel
    if not any(sp.sync_group for nodes in specs.values() for sp in nodes.values()):
        return None
    model = ElectionModel(specs, startup=startup, race=race)
    for ev, mevs in inputs:
        for m in mevs:
            if not model.agrees(m):
                model.apply(m, t=ev.t)
        why = model.sync_split()
        if why:
            return Unjudgeable(ev, why)
    return None
