"""The lab's nemesis: faults with ``apply()`` / ``heal()``, each recorded in the history.

    f = make_fault(lab, "drop-vrrp", "b", ["direction=in"])     # or DropVrrp(lab, "b", direction="in")
    with f:                                                      # apply ... heal (heal is idempotent)
        ...
    lab.heal_all()                                               # the pytest fixture does this at teardown

Every fault is a :class:`Fault` subclass in one small module of this package, registered under
its ``kind`` by :func:`register`; modules are discovered automatically, so adding a fault
touches one file. A fault:

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
import io
import json
import pkgutil
import tarfile
import time
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from docker.errors import APIError, NotFound

from ..errors import LabError

if TYPE_CHECKING:  # pragma: no cover
    from ..lab import Lab
    from ..runtime.node import Node

MARKER_DIR = "/run/kalab/faults"
COMMENT_PREFIX = "kalab:"

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

    def __init__(self, lab: "Lab", target: str, **params: Any):
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
        taken |= {m.get("name") for m in _read_markers(self.node().container)}   # applied by another process
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
                                t_issued=self.issued_at)
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
                                detail=detail, fault_kind=self.kind)
        if self in self.lab.faults:
            self.lab.faults.remove(self)
        return t

    def __enter__(self) -> "Fault":
        self.apply()
        return self

    def __exit__(self, *exc) -> None:
        self.heal()

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
            except (APIError, NotFound):
                pass

    def _remove_markers(self) -> None:
        for n in self.touched_nodes():
            node = self.node(n)
            if node.status() == "running":
                node.exec(["rm", "-f", f"{MARKER_DIR}/{self.name}.json"])

    # ------------------------------------------------------------ construction from words / markers
    @classmethod
    def from_args(cls, lab: "Lab", target: str, args: list[str]) -> "Fault":
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
        return cls(lab, target, **params)


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
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_"):
            importlib.import_module(f"{__name__}.{m.name}")


def kinds() -> dict[str, type[Fault]]:
    """Every registered fault kind and its class."""
    _load_modules()
    return dict(sorted(REGISTRY.items()))


def make_fault(lab: "Lab", kind: str, node: str, args: list[str] | None = None, **params: Any) -> Fault:
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
    if args:
        f = cls.from_args(lab, node, args)
        f.params.update(params)
        return f
    return cls(lab, node, **params)


# ---------------------------------------------------------------- heal from the containers
def _read_markers(container) -> list[dict[str, Any]]:
    """Fault markers stored in one container (any state: works on stopped and paused containers)."""
    try:
        stream, _ = container.get_archive(MARKER_DIR)
    except (APIError, NotFound):
        return []
    buf = io.BytesIO(b"".join(stream))
    out = []
    with tarfile.open(fileobj=buf) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith(".json"):
                try:
                    out.append(json.loads(tar.extractfile(m).read()))  # type: ignore[union-attr]
                except (ValueError, AttributeError):
                    continue
    return out


def recorded_faults(lab: "Lab") -> dict[str, dict[str, Any]]:
    """Faults applied and not healed, found from the markers in the lab's containers: {name: spec}."""
    out: dict[str, dict[str, Any]] = {}
    for node in lab.nodes.values():
        for spec in _read_markers(node.container):
            out.setdefault(spec["name"], spec)
    return out


def heal_recorded(lab: "Lab", name: Optional[str] = None) -> list[str]:
    """Heal faults found in the containers themselves (for ``kalab heal`` in a new process).

    Args:
        lab: a Lab, typically from :meth:`Lab.attach`.
        name: one fault's name, or None for all of them plus a sweep: every iptables rule
            tagged ``kalab:``, every NFQUEUE delay / rogue sender process, paused nodes
            (unpaused) and exited keepalived nodes (started).
    Returns:
        The names healed (sweep actions appear as ``unpause-<node>``, ``start-<node>``, ...).
    Raises:
        LabError: ``name`` is not a recorded fault (lists those that are).
    """
    ks = kinds()
    recorded = recorded_faults(lab)
    if name is not None and name not in recorded:
        raise LabError(f"no applied fault {name!r} in lab {lab.id}; applied: {', '.join(recorded) or 'none'}")
    healed: list[str] = []
    # in-process faults first (they know more), then markers
    for f in list(reversed(lab.faults)):
        if name is None or f.name == name:
            f.heal()
            healed.append(f.name)
            recorded.pop(f.name, None)
    # unfreeze first: the other heals exec into the nodes
    for n, spec in sorted(recorded.items(), key=lambda kv: kv[1].get("kind") != "pause"):
        if name is not None and n != name:
            continue
        cls = ks.get(spec["kind"])
        if cls is None:
            continue
        try:
            f = cls(lab, spec["target"], _name=n, **spec.get("params", {}))
        except (KeyError, TypeError, LabError) as e:
            lab.history.append("note", text=f"cannot rebuild fault {n}: {e}")
            continue
        f._applied = True
        f.heal()
        healed.append(n)
    if name is None:
        healed += sweep(lab)
    return healed


def sweep(lab: "Lab") -> list[str]:
    """Remove whatever any fault may have left: tagged iptables rules, helpers, pauses, stops."""
    from ._net import remove_tagged_rules

    done = []
    for node in lab.nodes.values():
        st = node.status()
        if st == "paused":
            node.unpause()
            done.append(f"unpause-{node.name}")
            st = "running"
        if st in ("exited", "created") and node.kind == "keepalived":
            node.start()
            done.append(f"start-{node.name}")
            continue
        if st != "running":
            continue
        if remove_tagged_rules(node):
            done.append(f"iptables-{node.name}")
        r = node.exec("for p in /run/kalab/faults/*.pid; do [ -e \"$p\" ] && kill $(cat \"$p\") && rm -f \"$p\" "
                      "&& echo x; done; rm -f /run/kalab/faults/*.json /run/kalab/scripts/*.force")
        if r.output.strip():
            done.append(f"helpers-{node.name}")
    return done
