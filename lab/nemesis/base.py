"""The nemesis's base: the Fault class, what a fault may touch (FaultTarget), its declared
meaning for the election model, and the registry of fault kinds.

    f = make_fault(lab, "drop-vrrp", "b", ["direction=in"])     # or DropVrrp(lab, "b", direction="in")
    with f:                                                      # apply ... heal (heal is idempotent)
        ...
    lab.heal_all()                                               # the pytest fixture does this at teardown

Every fault is a :class:`Fault` subclass in one small module of :mod:`lab.nemesis`, registered
under its ``kind`` by :func:`register`; modules are discovered automatically, so adding a fault is
one new file (and its test: ``tests/unit/test_fault_meanings.py`` fails for a kind without a
declared meaning or without a test of it). A fault:

* talks to a :class:`FaultTarget` (node exec, history, capabilities, topology), never to Docker;
* declares its meaning for the election model: :meth:`Fault.model_inputs` returns the model
  inputs of its apply and of its heal (``lab.events.MODEL_INPUTS`` dicts), or None with
  :meth:`Fault.unmodelled` saying why there is no rule; both are recorded in its fault event, so
  the judge asks the fault (through the history), never its name;
* records ``fault`` events (``name``, ``action`` apply/heal, ``target``, ``detail``) with the
  history time at which it took effect;
* leaves a marker ``/run/kalab/faults/<name>.json`` in every node it touches (its kind, target
  and parameters), and tags its iptables rules with the comment ``kalab:<name>``, so a later
  process (``kalab heal``) finds and heals it from the containers alone: :func:`heal_recorded`;
* states the capabilities it needs (``needs``, names from :mod:`lab.runtime.probe`); ``apply``
  raises :class:`~lab.runtime.probe.Unsupported` (a LabError) with a one-sentence reason when
  one is missing.
"""
from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import time
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Protocol

from ..errors import LabError, NodeNotRunning
from ..events import check_model_inputs
from .rules import COMMENT_PREFIX

if TYPE_CHECKING:  # pragma: no cover
    from ..history import History
    from ..runtime.node import Node


class FaultTarget(Protocol):
    """What a fault may use of a lab (a :class:`lab.lab.Lab` is one).

    Attributes:
        id: the lab's id; history: where the fault records its events; faults: faults applied
            and not healed (a fault adds and removes itself); topology: the lab's topology (pure:
            node names, instances, scripts); capabilities: what the kernel allows
            (:class:`lab.runtime.probe.Capabilities`), probed lazily.
    """

    id: str
    history: "History"
    faults: list
    topology: Any

    @property
    def capabilities(self) -> Any: ...

    def node(self, name: str) -> "Node": ...

MARKER_DIR = "/run/kalab/faults"

#: kind -> Fault subclass
REGISTRY: dict[str, type["Fault"]] = {}


def register(cls: type["Fault"]) -> type["Fault"]:
    """Class decorator: make ``cls`` available to :func:`make_fault` under ``cls.kind``."""
    if cls.kind in REGISTRY and REGISTRY[cls.kind] is not cls:
        raise ValueError(f"fault kind {cls.kind!r} registered twice ({REGISTRY[cls.kind].__name__}, {cls.__name__})")
    REGISTRY[cls.kind] = cls
    return cls


class Fault:
    """One reversible fault on a lab.

    Subclasses set ``kind`` (registry key), ``summary`` (one line for ``kalab faults``), ``needs``
    (capability names), and implement ``_apply() -> str`` (a detail string for the history) and
    ``_heal() -> str``. Keyword parameters of ``__init__`` are the fault's parameters; they are
    stored in ``self.params`` and in the node markers, and parsed from ``key=value`` CLI words
    by :meth:`from_args` using the annotations of ``__init__``.

    Attributes:
        lab: the Lab; target: a node name; name: unique per lab (``<kind>-<target>[-n]``);
        issued_at: history time (monotonic seconds) just before the fault's action began;
        applied_at / healed_at: history times at which apply / heal had finished (or None).
        An effect of the fault happens after ``issued_at`` and, for a signal, before ``applied_at``.
    """

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, lab: FaultTarget, target: str, **params: Any):
        self.lab, self.target, self.params = lab, target, params
        lab.node(target)                      # KeyError naming the nodes if unknown
        self.name: str = params.pop("_name", None) or self._unique_name()
        self.applied_at: Optional[float] = None
        self.issued_at: Optional[float] = None
        self.healed_at: Optional[float] = None
        self.heal_issued_at: Optional[float] = None
        self._applied = False

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.target!r}{', ' if ps else ''}{ps})"

    # ------------------------------------------------------------ naming / nodes
    def _unique_name(self) -> str:
        base = f"{self.kind}-{self.target}"
        taken = {getattr(f, "name", None) for f in self.lab.faults}
        taken |= {m.get("name") for m in self.node().json_files(MARKER_DIR)}   # applied by another process
        n, name = 1, base
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        return name

    @property
    def comment(self) -> str:
        """The iptables comment that tags this fault's rules."""
        return f"{COMMENT_PREFIX}{self.name}"

    def node(self, name: Optional[str] = None) -> "Node":
        return self.lab.node(name or self.target)

    def touched_nodes(self) -> list[str]:
        """Nodes where this fault changes something (its marker goes to each)."""
        return [self.target]

    # ------------------------------------------------------------ lifecycle
    @property
    def applied(self) -> bool:
        return self._applied

    def apply(self) -> float:
        """Inject the fault. Returns the history time it took effect.

        Raises:
            LabError: already applied; Unsupported: a needed capability is missing.
        """
        if self._applied:
            raise LabError(f"fault {self.name} is already applied; heal it first")
        if self.needs:
            caps = self.lab.capabilities
            for need in self.needs:
                caps.require(need)
        self._write_markers()
        self.issued_at = time.monotonic()
        try:
            detail = self._apply() or ""
        except BaseException:
            self._remove_markers()
            raise
        self._applied = True
        t = self.applied_at = time.monotonic()
        self.lab.history.append("fault", t=t, name=self.name, action="apply", target=self.target,
                                detail=detail, fault_kind=self.kind, params=_jsonable(self.params),
                                t_issued=self.issued_at, **self._meaning("apply"))
        if self not in self.lab.faults:
            self.lab.faults.append(self)
        return t

    def heal(self) -> Optional[float]:
        """Undo the fault (``heal_issued_at`` is set just before the undo begins). Idempotent: healing a healed (or never applied) fault does nothing.

        Returns the history time the fault ended, or None if there was nothing to heal.
        """
        if not self._applied:
            return None
        self.heal_issued_at = time.monotonic()
        detail = self._heal() or ""
        self._applied = False
        self._remove_markers()
        t = self.healed_at = time.monotonic()
        self.lab.history.append("fault", t=t, name=self.name, action="heal", target=self.target,
                                detail=detail, fault_kind=self.kind, t_issued=self.heal_issued_at,
                                **self._meaning("heal"))
        if self in self.lab.faults:
            self.lab.faults.remove(self)
        return t

    def __enter__(self) -> "Fault":
        self.apply()
        return self

    def __exit__(self, *exc) -> None:
        self.heal()

    # ------------------------------------------------------------ meaning for the election model
    def model_inputs(self, action: str) -> Optional[list[dict[str, Any]]]:
        """The model inputs of this fault's ``action`` ("apply" or "heal"): a list of
        ``lab.events.MODEL_INPUTS`` dicts ([] = no effect on VRRP), or None when the model has no
        rule for it (then :meth:`unmodelled` says why). Subclasses must override this."""
        return None

    def unmodelled(self, action: str) -> str:
        """Why :meth:`model_inputs` is None for ``action`` (one sentence)."""
        return f"fault {self.kind} declares no model meaning"

    def keepalived_peers(self) -> list[str]:
        """The other keepalived nodes of the lab (for faults whose meaning is about who hears whom)."""
        return [n for n in self.lab.topology.keepalived_nodes() if n != self.target]

    def _meaning(self, action: str) -> dict[str, Any]:
        """The fault event's fields for its meaning: ``model`` (checked) or ``unmodelled``."""
        m = self.model_inputs(action)
        if m is None:
            return {"unmodelled": self.unmodelled(action)}
        return {"model": check_model_inputs(list(m))}

    # ------------------------------------------------------------ subclass hooks
    def _apply(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _heal(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------ markers (found by heal_recorded)
    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "target": self.target, "params": _jsonable(self.params)}

    def _write_markers(self) -> None:
        data = json.dumps(self.spec()).encode()
        for n in self.touched_nodes():
            try:
                self.node(n).put_file(f"{MARKER_DIR}/{self.name}.json", data)
            except Exception:        # a node that is not running keeps no marker (the engine's error)
                pass

    def _remove_markers(self) -> None:
        for n in self.touched_nodes():
            node = self.node(n)
            try:
                if node.status() == "running":
                    node.exec(["rm", "-f", f"{MARKER_DIR}/{self.name}.json"])
            except NodeNotRunning:      # stopped since asked: its marker stays, as for a node found stopped
                pass

    # ------------------------------------------------------------ construction from words / markers
    @classmethod
    def from_args(cls, lab: FaultTarget, target: str, args: list[str]) -> "Fault":
        """Build from CLI words ``key=value`` (types from ``__init__``'s annotations).

        Raises:
            LabError: a word is not ``key=value``, names no parameter (lists the parameters), or
                its value is not of the parameter's type (says which type).
        """
        sig = inspect.signature(cls.__init__)
        hints = typing.get_type_hints(cls.__init__)
        allowed = {k: p for k, p in sig.parameters.items() if k not in ("self", "lab", "target")
                   and p.kind == p.KEYWORD_ONLY}
        usage = ", ".join(f"{k}=..." for k in allowed) or "none"
        params: dict[str, Any] = {}
        for word in args:
            key, eq, value = word.partition("=")
            key = key.replace("-", "_")
            if not eq:
                raise LabError(f"fault {cls.kind}: {word!r} is not KEY=VALUE; parameters are {usage}")
            if key not in allowed:
                raise LabError(f"fault {cls.kind}: no parameter {key!r}; parameters are {usage}")
            params[key] = _convert(cls.kind, key, value, hints.get(key, str))
        missing = [k for k, p in allowed.items() if p.default is p.empty and k not in params]
        if missing:
            raise LabError(f"fault {cls.kind}: give {' and '.join(f'{k}=...' for k in missing)} "
                           f"(parameters: {usage}; `kalab faults` says what each means)")
        return cls(lab, target, **params)


def hearing(pairs, hears: bool) -> list[dict[str, Any]]:
    """Model inputs for (receiver, sender) pairs that stop (``hears`` False) or start hearing each other."""
    return [{"input": "hearing", "receiver": r, "sender": s, "hears": hears} for r, s in pairs]


def node_input(name: str, node: str, **fields: Any) -> dict[str, Any]:
    """One model input dict ``{"input": name, "node": node, **fields}``."""
    return {"input": name, "node": node, **fields}


def _convert(kind: str, key: str, value: str, annotation: Any) -> Any:
    """``value`` as ``annotation`` (pydantic's lax conversion: "3" -> 3, "yes" -> True)."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as e:
        name = getattr(annotation, "__name__", str(annotation))
        raise LabError(f"fault {kind}: {key}={value!r}: {e.errors()[0]['msg'].lower()} "
                       f"(write {key}=<{name}>)") from None


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=str))


def _load_modules() -> None:
    """Import every fault module of lab.nemesis (modules named ``_*``, ``base``, ``recorded`` and ``rules`` are not faults)."""
    import lab.nemesis as pkg
    for m in pkgutil.iter_modules(pkg.__path__):
        if not m.name.startswith("_") and m.name not in ("base", "recorded", "rules"):
            importlib.import_module(f"{pkg.__name__}.{m.name}")


def kinds() -> dict[str, type[Fault]]:
    """Every registered fault kind and its class."""
    _load_modules()
    return dict(sorted(REGISTRY.items()))


def make_fault(lab: FaultTarget, kind: str, node: str, args: list[str] | None = None, **params: Any) -> Fault:
    """Build (not apply) a fault of ``kind`` on ``node``.

    Args:
        kind: a registered kind (``kinds()``), e.g. ``drop-vrrp``.
        node: the target node's name.
        args: CLI words ``key=value``; ``params`` are keyword parameters for Python callers.
    Raises:
        LabError: unknown kind (lists them) or bad parameters.
    """
    ks = kinds()
    if kind not in ks:
        raise LabError(f"no fault kind {kind!r}; kinds: {', '.join(ks)}")
    cls = ks[kind]
    if args or not params:
        f = cls.from_args(lab, node, args or [])
        f.params.update(params)
        return f
    return cls(lab, node, **params)


