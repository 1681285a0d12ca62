"""``kalab predict``: the election model's expectations for a topology and a list of events (pure).

Event syntax (one argument each; node and instance names from the topology):

    up:NODE  kill:NODE  stop:NODE (graceful SIGTERM)  pause:NODE  resume:NODE
    script:NODE:SCRIPT:ok|fail  file:NODE:TRACK_FILE:VALUE  link:NODE:IFACE:up|down  block:NODE  unblock:NODE
    cut:NODE  heal:NODE
    reload:NODE:INSTANCE:FIELD=VALUE[,FIELD=VALUE]     (e.g. reload:a:VI_1:priority=90)

Every keepalived node starts with ``up`` unless the events begin with ``up`` entries. ``block`` stops
the node receiving adverts (``drop-vrrp direction=in``); ``cut`` drops VRRP both ways on the node
(``drop-vrrp direction=both``: it hears nobody and nobody hears it), ``heal`` undoes it; nginx stopped is
``script:NODE:SCRIPT:fail`` of the vrrp_script that checks it.
"""
from __future__ import annotations

from ..errors import LabError
from .model import (AdvertsBlocked, ElectionModel, Expectation, Hearing, InterfaceChange, ModelEvent, NodeDown, NodePaused,
                    NodeResumed, NodeUp, Reload, ScriptResult, TrackFileValue)
from typing import Any as Topology  # any object with keepalived_nodes(), instances(), scripts()

SYNTAX = ("up:NODE, kill:NODE, stop:NODE, pause:NODE, resume:NODE, script:NODE:SCRIPT:ok|fail, "
          "file:NODE:TRACK_FILE:VALUE, link:NODE:IFACE:up|down, block:NODE, unblock:NODE, cut:NODE, heal:NODE, "
          "reload:NODE:INSTANCE:FIELD=VALUE[,...]")


def _value(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v.lower(), v)


def _tracked(topo: Topology, node: str, kind: str) -> list[str]:
    """Names ``node`` tracks with ``kind`` in its instances or its sync groups (a group's trackers join
    every member: R_SYNC_WEIGHTS)."""
    groups = topo.sync_groups(node).values() if hasattr(topo, "sync_groups") else ()
    return sorted({t.name for i in topo.instances(node).values() for t in getattr(i, kind)}
                  | {t.name for g in groups for t in getattr(g, kind)})


def parse_event(text: str, topo: Topology) -> ModelEvent:
    """Parse one event string (see the module docstring). Raises LabError naming the bad part."""
    kind, _, rest = text.partition(":")
    parts = rest.split(":") if rest else []
    nodes = topo.keepalived_nodes()
    if not parts or parts[0] not in nodes:
        raise LabError(f"event {text!r}: unknown node {parts[0] if parts else ''!r}; keepalived nodes: {', '.join(nodes)}")
    node = parts[0]
    simple = {"up": NodeUp, "pause": NodePaused, "resume": NodeResumed}
    if kind in simple and len(parts) == 1:
        return simple[kind](node)
    if kind in ("kill", "stop") and len(parts) == 1:
        return NodeDown(node, graceful=kind == "stop")
    if kind in ("block", "unblock") and len(parts) == 1:
        return AdvertsBlocked(node, blocked=kind == "block")
    if kind in ("cut", "heal") and len(parts) == 1:      # VRRP dropped both ways: nobody hears NODE, NODE hears nobody
        peers = [p for p in nodes if p != node]
        return [Hearing(a, b, hears=kind == "heal") for p in peers for a, b in ((node, p), (p, node))]
    if kind == "script" and len(parts) == 3 and parts[2] in ("ok", "fail"):
        tracked = _tracked(topo, node, "track_script")
        if parts[1] not in tracked:
            raise LabError(f"event {text!r}: {node} tracks no vrrp_script {parts[1]!r}; it tracks: "
                           f"{', '.join(tracked) or 'none'}")
        return ScriptResult(node, parts[1], parts[2] == "ok")
    if kind == "file" and len(parts) == 3 and parts[2].lstrip("-").isdigit():
        tracked = _tracked(topo, node, "track_file")
        if parts[1] not in tracked:
            raise LabError(f"event {text!r}: {node} tracks no track_file {parts[1]!r}; it tracks: "
                           f"{', '.join(tracked) or 'none'}")
        return TrackFileValue(node, parts[1], int(parts[2]))
    if kind == "link" and len(parts) == 3 and parts[2] in ("up", "down"):
        itfs = list(topo.nodes[node].interfaces)
        if parts[1] not in itfs:
            raise LabError(f"event {text!r}: {node} has no interface {parts[1]!r}; it has: {', '.join(itfs)}")
        return InterfaceChange(node, parts[1], parts[2] == "up")
    if kind == "reload" and len(parts) == 3 and "=" in parts[2]:
        insts = list(topo.instances(node))
        if parts[1] not in insts:
            raise LabError(f"event {text!r}: {node} has no VRRP instance {parts[1]!r}; it has: {', '.join(insts)}")
        changes = {k: _value(v) for k, v in (kv.split("=", 1) for kv in parts[2].split(",") if "=" in kv)}
        allowed = {"priority": int, "advert_int": (int, float), "nopreempt": bool, "preempt_delay": (int, float),
                   "state": str}
        for k, v in changes.items():
            if k not in allowed:
                raise LabError(f"event {text!r}: {k} cannot be reloaded here; fields: {', '.join(allowed)}")
            if not isinstance(v, allowed[k]) or isinstance(v, bool) and allowed[k] is not bool:
                raise LabError(f"event {text!r}: {k}={v!r} is not a {getattr(allowed[k], '__name__', 'number')}")
        if "priority" in changes and not 1 <= changes["priority"] <= 255:
            raise LabError(f"event {text!r}: priority must be 1..255 (man 5 keepalived.conf), got {changes['priority']}")
        if "state" in changes and changes["state"] not in ("MASTER", "BACKUP"):
            raise LabError(f"event {text!r}: state must be MASTER or BACKUP")
        return Reload.of(node, parts[1], **changes)
    raise LabError(f"event {text!r} is not one of: {SYNTAX}")


def predict_topology(topo: Topology, events: list[str]) -> list[tuple[str, Expectation]]:
    """(event text, expectation) for every instance after every event, all nodes started first."""
    model = ElectionModel.from_topology(topo)
    parsed = [(e, parse_event(e, topo)) for e in events]
    if not parsed or not isinstance(parsed[0][1], NodeUp):
        parsed = [(f"up:{n}", NodeUp(n)) for n in topo.keepalived_nodes()] + parsed
    out = []
    for text, ev in parsed:
        evs = ev if isinstance(ev, list) else [ev]
        for i, one in enumerate(evs):        # one event of several inputs: the expectations after the last
            exps = model.apply(one)
            if i == len(evs) - 1:
                out += [(text, exp) for exp in exps]
    return out
