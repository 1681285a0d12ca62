"""Every kind of event a lab records, typed (pure: no Docker, no lab).

One :class:`Event` is ``(t, kind, data)``: ``t`` seconds on the host's monotonic clock, ``kind``
one of :data:`KINDS`, ``data`` the fields that kind declares. :func:`make` checks a new event
against its kind's fields (an unknown kind, a missing field or an unknown field raises
:class:`EventError`), so a writer cannot invent a shape a reader does not know.

Node lifecycle actions are one vocabulary (:data:`NODE_ACTIONS`), and what each means for the
election is decided here once (:func:`node_effect`); the history, the judge and the report all
ask this module instead of keeping their own sets.

A fault event carries its own meaning for the election model: the fault that wrote it declares
the model inputs of its apply and its heal (``model``: a list of :data:`MODEL_INPUTS` dicts), or
says why it has none (``unmodelled``: a sentence). The judge never parses fault names.

JSON lines: :func:`to_json` / :func:`from_json`; a history file starts with a ``meta`` record
whose ``version`` is :data:`SCHEMA_VERSION`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

#: version of the JSONL history format (the ``meta`` record carries it)
SCHEMA_VERSION = 2


class EventError(ValueError):
    """An event whose kind or fields this schema does not know."""


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``t`` is seconds on the host's monotonic clock."""

    t: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def describe(self, t0: float = 0.0) -> str:
        """One line: time since ``t0`` (s) and what happened."""
        return f"{self.t - t0:9.3f}s  {self.summary(t0)}"

    def summary(self, t0: float = 0.0) -> str:
        """What happened, in words (times inside it, such as when a fault was issued, count from ``t0``)."""
        d = self.data
        if self.kind == "state":
            txt = f"{d['node']}: {d['instance']} -> {d['state']} (priority {d.get('priority')})"
        elif self.kind == "priority":
            txt = f"{d['node']}: {d['instance']} effective priority {d.get('priority')} (in {d.get('state')})"
        elif self.kind == "fault":
            txt = f"fault {d['name']} {d['action']} on {d.get('target')}" + (f" ({d['detail']})" if d.get("detail") else "")
        elif self.kind == "node" and d.get("action") == "socket_error":
            txt = (f"{d['node']}: keepalived cannot open its VRRP raw socket (errno {d.get('errno')}: "
                   f"{SOCKET_ERRNOS.get(d.get('errno'), 'see errno(3)')}); it neither sends nor hears adverts")
        elif self.kind == "node":
            txt = f"{d['node']}: {d['action']}" + (f" {d['signal']}" if d.get("action") == "signal" else "")
        elif self.kind == "advert":
            txt = f"advert from {d['src']} vrid {d['vrid']} priority {d['priority']}"
        elif self.kind == "script":
            said = "is disabled (never run)" if d["ok"] is None else "succeeded" if d["ok"] else "failed"
            txt = f"{d['node']}: keepalived says vrrp_script {d['script']} {said}"
        elif self.kind == "vip":
            txt = f"{d['instance']} VIP held by {', '.join(d['holders']) or 'nobody'} ({d.get('view')})"
            if d.get("not_running"):
                txt += f"; not asked (not running): {', '.join(d['not_running'])}"
        else:
            txt = d.get("text", str(d))
        issued = d.get("t_issued") if self.kind in ("node", "fault") else None
        if isinstance(issued, (int, float)) and self.t - issued > 0.05:   # one clock: say when it was issued too
            txt += f" [issued at {issued - t0:.3f}s]"
        return txt


@dataclass(frozen=True)
class Kind:
    """The fields of one event kind: ``required`` must be present, ``optional`` may be."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    doc: str = ""


#: every event kind and its fields
KINDS: dict[str, Kind] = {
    "state": Kind(("node", "instance", "state"), ("priority", "type"),
                  "a transition keepalived reported on notify_fifo (MASTER/BACKUP/FAULT/STOP, ...)"),
    "priority": Kind(("node", "instance", "priority"), ("state", "type"),
                     "an effective priority change (notify_fifo *_PRIORITY line, vrrp_notify_priority_changes)"),
    "fault": Kind(("name", "action", "target"),
                  ("detail", "fault_kind", "params", "t_issued", "model", "unmodelled", "script", "ok"),
                  "a fault applied or healed by the nemesis; ``model`` is its meaning for the election model"),
    "node": Kind(("node", "action"), ("t_issued", "signal", "exit_code", "log_tail", "config_changed", "errno"),
                 "a node's lifecycle (see NODE_ACTIONS)"),
    "advert": Kind(("src", "vrid", "priority"),
                   ("advert_int", "version", "auth", "addresses", "network", "path", "dst", "ttl", "type",
                    "auth_type", "count", "checksum_ok", "mac", "via", "family"),
                   "a VRRP advert taken off the wire"),
    "script": Kind(("node", "script", "ok"), ("detail",),
                   "a vrrp_script result keepalived logged (VRRP_Script(NAME) succeeded / failed; ok None: "
                   "keepalived disabled the script): what the script saw, which drives the model where no fault "
                   "declared it"),
    "vip": Kind(("instance", "holders"), ("view", "not_running"),
                "who holds a VIP (inside: ip addr of every running node; ``not_running``: nodes not asked, "
                "stopped or paused; outside: HTTP; neighbour: the client's ARP / NDP entry for the VIP)"),
    "dump": Kind(("node",), ("t_issued", "instances", "ok", "error", "text"), "keepalived's own JSON dump"),
    "crosscheck": Kind(("node", "instance", "item", "ok"), ("lab", "keepalived", "why"),
                       "the record against keepalived's own dump at the end of a lab (lab.crosscheck): ok False "
                       "is a lab defect, None not compared (``why``)"),
    "capture": Kind(("network", "action", "reason"), ("since", "dropped"),
                    "what the advert capture could not record (lab.runtime.capture): ``lost`` adverts may be "
                    "missing between ``since`` and the event, ``stopped`` nothing is recorded from ``since`` on"),
    "note": Kind(("text",), (), "free text: what the lab did or could not do"),
}

#: node lifecycle actions and what each means
NODE_ACTIONS: dict[str, str] = {
    "start": "the container (keepalived, PID 1) started: keepalived begins in its initial state",
    "restart": "stopped (SIGTERM) and started again in one engine call",
    "kill": "SIGKILL to the container: keepalived dies without a word",
    "signal": "a signal (field ``signal``) sent to keepalived",
    "stop": "docker stop issued: SIGTERM to keepalived (graceful), SIGKILL after a timeout",
    "exited": "the container exited after a stop or signal the lab sent",
    "died": "the container exited on its own (keepalived refused its config or crashed)",
    "pause": "every process of the node frozen (cgroup freezer): it keeps its VIPs and sends nothing",
    "unpause": "the node thawed",
    "ready": "keepalived logged 'Startup complete' (the protocol's clocks of a new run start here)",
    "reloaded": "keepalived logged 'Reload complete' after a SIGHUP: every instance's timers restarted there "
                "(keepalived vrrp_scheduler.c vrrp_init_sands)",
    "socket_error": "keepalived logged that it cannot open a VRRP raw socket (field ``errno``; 1 = EPERM, the "
                    "container lacks CAP_NET_RAW): it neither sends nor hears adverts, which no rule covers",
}

#: errno values keepalived reports for a raw socket it cannot open, with what they mean in a container
SOCKET_ERRNOS = {1: "EPERM: the node lacks CAP_NET_RAW (its cap_drop / cap_add)",
                 13: "EACCES: the node lacks CAP_NET_RAW (its cap_drop / cap_add)",
                 97: "EAFNOSUPPORT: the address family is not available in the container"}

#: signals after which keepalived shuts down gracefully (priority-0 adverts, VIPs released)
GRACEFUL_SIGNALS = frozenset({"SIGTERM", "TERM", "15", "SIGINT", "INT", "2", "SIGQUIT", "QUIT", "3"})
#: signals that only make keepalived dump, reload or log (no change of its run)
INFO_SIGNALS = frozenset({"SIGHUP", "HUP", "1", "SIGUSR1", "USR1", "10", "SIGUSR2", "USR2", "12",
                          "SIGJSON", "SIGSTATS", "SIGDATA"})


def node_effect(action: str, signal: Optional[str] = None) -> Optional[str]:
    """What a node action means for the election: one of

    ``up`` (keepalived starts), ``down`` (it is gone, no adverts), ``down-graceful`` (it stops after
    sending a priority-0 advert: RFC 3768 §6.4.3 Shutdown), ``restart`` (down-graceful then up),
    ``pause``, ``unpause``, ``none`` (nothing changes for VRRP), or None: not known (an unknown action
    or signal; the judge then cannot judge what follows).
    """
    if action == "signal":
        s = str(signal or "").upper()
        if s in GRACEFUL_SIGNALS:
            return "down-graceful"
        if s in ("SIGKILL", "KILL", "9"):
            return "down"
        if s in INFO_SIGNALS or s.startswith("SIGRT") or s.isdigit() and int(s) >= 34:
            return "none"
        return None
    return {"start": "up", "restart": "restart", "kill": "down", "stop": "down-graceful", "exited": "down",
            "died": "down", "pause": "pause", "unpause": "unpause", "ready": "none", "reloaded": "none"}.get(action)


#: model inputs a fault may declare (``{"input": NAME, ...fields}``); lab.election.inputs builds them
MODEL_INPUTS: dict[str, tuple[str, ...]] = {
    "node_up": ("node",),
    "node_down": ("node", "graceful"),
    "node_paused": ("node",),
    "node_resumed": ("node",),
    "script_result": ("node", "script", "ok"),
    "track_file": ("node", "file", "value"),
    "interface": ("node", "interface", "up"),
    "hearing": ("receiver", "sender", "hears"),
    "reload": ("node", "instance", "changes"),
    "rogue": ("instance", "priority", "active"),
}


def check_model_inputs(items: Any) -> list[dict[str, Any]]:
    """Validate a fault's declared model inputs (a list of dicts). Raises EventError naming the bad item."""
    if not isinstance(items, list):
        raise EventError(f"model inputs must be a list, got {type(items).__name__}")
    for it in items:
        if not isinstance(it, Mapping) or it.get("input") not in MODEL_INPUTS:
            raise EventError(f"model input {it!r}: 'input' must be one of {', '.join(MODEL_INPUTS)}")
        missing = [f for f in MODEL_INPUTS[it["input"]] if f not in it]
        if missing:
            raise EventError(f"model input {it!r} lacks {', '.join(missing)}")
    return [dict(it) for it in items]


def make(kind: str, t: float, data: Mapping[str, Any]) -> Event:
    """A checked Event. Raises EventError for an unknown kind, a missing or an unknown field."""
    k = KINDS.get(kind)
    if k is None:
        raise EventError(f"unknown event kind {kind!r}; kinds: {', '.join(KINDS)}")
    missing = [f for f in k.required if f not in data]
    if missing:
        raise EventError(f"{kind} event lacks {', '.join(missing)} (fields: {', '.join(k.required + k.optional)})")
    extra = [f for f in data if f not in k.required and f not in k.optional]
    if extra:
        raise EventError(f"{kind} event has unknown field(s) {', '.join(extra)} "
                         f"(fields: {', '.join(k.required + k.optional)})")
    if kind == "node" and data["action"] not in NODE_ACTIONS:
        raise EventError(f"node action {data['action']!r} is not one of {', '.join(NODE_ACTIONS)}")
    if kind == "fault" and data.get("model") is not None:
        check_model_inputs(data["model"])
    return Event(float(t), kind, dict(data))


def to_json(ev: Event) -> str:
    """One JSON line for ``ev``."""
    return json.dumps({"t": ev.t, "kind": ev.kind, "data": ev.data}, default=str)


def from_json(line: str) -> Event:
    """The Event of one JSON line written by :func:`to_json`. Raises EventError (or ValueError)."""
    d = json.loads(line)
    if not isinstance(d, dict) or "t" not in d or "kind" not in d:
        raise EventError(f"not an event record: {line[:80]!r}")
    data = d.get("data") or {}
    if d["kind"] == "node" and str(data.get("action", "")).startswith("signal "):   # version 1 spelling
        data = {**data, "action": "signal", "signal": data.get("signal") or data["action"].split(" ", 1)[1]}
    return make(d["kind"], d["t"], data)


def advert_family(event: Any) -> int:
    """The address family (4 or 6) of a captured ``advert`` event: its ``family``, else read from its source
    address (records made before adverts carried one are IPv4)."""
    return int(event.get("family") or (6 if ":" in str(event.get("src", "")) else 4))
