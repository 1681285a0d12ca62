"""A scenario's fault steps checked before any container starts: parameter names and types from the fault's
``__init__`` (as ``kalab fault`` reads them), then the fault's own constructor run against a lab that runs
nothing (a peer that exists, a direction it knows, a value in range). What a constructor can only learn
from a running lab (a node's addresses, its running config) is left to the run."""
from __future__ import annotations

import inspect
import typing
from typing import Optional

from ..errors import LabError

__all__ = ["fault_params", "build_check"]


def fault_params(kind: str, given: dict) -> tuple[dict, Optional[str]]:
    """``given`` converted to ``kind``'s parameter types, or a problem (names the parameters)."""
    from ..nemesis import _convert, kinds
    cls = kinds()[kind]
    sig = inspect.signature(cls.__init__)
    hints = typing.get_type_hints(cls.__init__)
    allowed = {k: p for k, p in sig.parameters.items() if k not in ("self", "lab", "target") and p.kind == p.KEYWORD_ONLY}
    usage = ", ".join(allowed) or "none"
    out = {}
    for k, v in given.items():
        key = str(k).replace("-", "_")
        if key not in allowed:
            return {}, f"fault {kind} has no parameter {k!r} (its parameters: {usage}; `kalab faults` says what each means)"
        try:
            out[key] = _convert(kind, key, v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v),
                                hints.get(key, str))
        except LabError as e:
            return {}, str(e)
    missing = [k for k, p in allowed.items() if p.default is p.empty and k not in out]
    if missing:
        return {}, f"fault {kind} needs {' and '.join(missing)} (its parameters: {usage})"
    return out, None


class _NeedsLab(BaseException):
    """What a fault's constructor asked of a running lab (left to the run: not a problem of the file). A
    BaseException, so that a constructor's own ``except Exception`` (which turns a failed read into a
    LabError for its user) lets it through instead of reporting the dry lab as the file's problem."""


class _DryTarget:
    """A lab that runs nothing, for building a fault at load time: its constructor checks its parameters
    against the topology (a peer that exists, a direction it knows, a script the node has) with no Docker."""

    id = "dry"

    def __init__(self, topo):
        from ..history import History
        self.topology, self.faults, self.history = topo, [], History()

    def __getattr__(self, attr):                  # capabilities, addresses, ...: known once the lab runs
        raise _NeedsLab(attr)

    def node(self, name: str):
        if name not in self.topology.nodes:
            raise LabError(f"no node {name!r} (nodes: {', '.join(self.topology.nodes)})")
        return _DryNode(name)


class _DryNode:
    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr):
        raise _NeedsLab(attr)


def build_check(topo, kind: str, node: str, name: str, params: dict) -> Optional[str]:
    """None when fault ``kind`` accepts ``params`` on ``node`` of ``topo`` (its constructor's own checks), else why."""
    from ..nemesis import kinds
    try:
        kinds()[kind](_DryTarget(topo), node, _name=name, **params)
    except _NeedsLab:
        return None
    except (LabError, KeyError, ValueError) as e:
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        msg = msg.removeprefix(f"{kind}: ")
        return msg if msg.startswith("fault") else f"fault {kind}: {msg}"
    return None
