"""Model inputs: the events the election model replays (pure).

Each is a frozen dataclass naming the node it concerns. :func:`from_dict` / :func:`to_dict` convert
them to and from the ``{"input": NAME, ...}`` dicts that faults declare as their meaning and that
the history stores (:data:`lab.events.MODEL_INPUTS` lists the names and fields).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from ..events import check_model_inputs

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
    """The vrrp_script ``script`` on ``node`` starts returning ``ok`` (persistently).

    ``observed``: keepalived itself logged this result (it has already counted its fall/rise runs),
    so it acts at once; otherwise (a fault's declared meaning) it acts after fall/rise runs. ``ok`` None:
    keepalived disabled the script (it never runs), so it adjusts nothing and faults nothing.
    """
    node: str
    script: str
    ok: Optional[bool]
    observed: bool = False


@dataclass(frozen=True)
class TrackFileValue:
    """The track_file ``file`` (its name in the config) on ``node`` now holds the number ``value``
    (written and closed: keepalived reads it at once)."""
    node: str
    file: str
    value: int


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


@dataclass(frozen=True)
class Hearing:
    """Whether ``receiver`` receives ``sender``'s adverts (``hears``): a cut in one direction only.

    ``node`` (the node the event concerns, for the model's bookkeeping) is the receiver.
    """
    receiver: str
    sender: str
    hears: bool = False

    @property
    def node(self) -> str:
        return self.receiver


@dataclass(frozen=True)
class RogueAdverts:
    """Forged adverts for ``instance`` that every node accepts (they copy its VRID, version, authentication
    and interval) at ``priority`` start (``active``) or stop. Concerns no lab node (``node`` is None)."""
    instance: str
    priority: int
    active: bool = True

    @property
    def node(self) -> None:
        return None


ModelEvent = Union[NodeUp, NodeDown, NodePaused, NodeResumed, ScriptResult, TrackFileValue, InterfaceChange, AdvertsBlocked, Hearing,
                   Reload, RogueAdverts]

#: input name (lab.events.MODEL_INPUTS) -> class
_BY_NAME = {"node_up": NodeUp, "node_down": NodeDown, "node_paused": NodePaused, "node_resumed": NodeResumed,
            "script_result": ScriptResult, "track_file": TrackFileValue, "interface": InterfaceChange, "hearing": Hearing, "reload": Reload,
            "rogue": RogueAdverts}


def to_dict(ev: ModelEvent) -> dict[str, Any]:
    """The ``{"input": NAME, ...}`` form of a model input (AdvertsBlocked has no dict form: declare hearing cuts)."""
    if isinstance(ev, NodeUp):
        return {"input": "node_up", "node": ev.node}
    if isinstance(ev, NodeDown):
        return {"input": "node_down", "node": ev.node, "graceful": ev.graceful}
    if isinstance(ev, NodePaused):
        return {"input": "node_paused", "node": ev.node}
    if isinstance(ev, NodeResumed):
        return {"input": "node_resumed", "node": ev.node}
    if isinstance(ev, ScriptResult):
        return {"input": "script_result", "node": ev.node, "script": ev.script, "ok": ev.ok}
    if isinstance(ev, TrackFileValue):
        return {"input": "track_file", "node": ev.node, "file": ev.file, "value": ev.value}
    if isinstance(ev, InterfaceChange):
        return {"input": "interface", "node": ev.node, "interface": ev.interface, "up": ev.up}
    if isinstance(ev, Hearing):
        return {"input": "hearing", "receiver": ev.receiver, "sender": ev.sender, "hears": ev.hears}
    if isinstance(ev, Reload):
        return {"input": "reload", "node": ev.node, "instance": ev.instance, "changes": dict(ev.changes)}
    if isinstance(ev, RogueAdverts):
        return {"input": "rogue", "instance": ev.instance, "priority": ev.priority, "active": ev.active}
    raise TypeError(f"no dict form for {ev!r}")


def from_dict(d: Mapping[str, Any]) -> ModelEvent:
    """The model input of one declared dict. Raises lab.events.EventError for an unknown shape."""
    d = check_model_inputs([d])[0]
    name = d.pop("input")
    if name == "reload":
        return Reload.of(d["node"], d["instance"], **dict(d["changes"]))
    return _BY_NAME[name](**{k: v for k, v in d.items() if k in _BY_NAME[name].__dataclass_fields__})


