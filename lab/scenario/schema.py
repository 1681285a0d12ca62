"""Scenario files (``*.scenario.yaml``): a topology, steps and expectations, read with line numbers.

A scenario file::

    name: a backup never preempts an equal-priority master
    source: acassen/keepalived issues 1148, 1440; RFC 3768 §6.4.3
    documented: the master keeps its role; the backup stays BACKUP.
    topology: two_node            # a name, a path (from this file's folder), or the topology inline
    # configs: [lb1.conf, lb2.conf@lb2]    instead of topology: users' own keepalived.conf files
    keepalived: 2.2.7             # optional: a release, a list, or all (--lab-keepalived overrides)
    allow: [rogue]                # optional: what the judge may not follow (its verdict stops there)
    # unjudged: "why"             # optional: the model cannot judge this at all; the expectations decide
    xfail: "docs say X; keepalived does Y"   # optional strict xfail, or {RELEASE: reason}
    steps:
      - expect: {master: a}                     # after the election settles (the model's deadline)
      - kill: a                                 # any fault kind: NODE, or {node: NODE, PARAM: VALUE, name: NAME}
      - expect: {master: b, within: master_down_interval(b)}
      - start: a                                # heals the fault that stopped a (kill, sigkill, sigterm, stop)
      - wait: 3 x advert_int                    # a duration, or {for: MASTER, node: a, within: 5s}
      - expect: {master: a, state: {b: BACKUP}, vip_holders: a, vip_answered_by: a,
                 effective_priority: {a: 150}, judge: holds}

Steps: ``fault: {kind: K, node: N, ...}`` or ``K: N`` / ``K: {node: N, ...}`` for any fault kind
(``kalab faults``); ``heal: NAME`` (a fault's ``name:``, else ``KIND-NODE``) or ``heal: all``;
``start: NODE`` / ``unpause: NODE`` (heal what stopped / paused it); ``signal: {node: N, signal: SIGHUP}``;
``wait``; ``expect``. Durations: :mod:`lab.scenario.durations`.

Expectation keys: ``master`` ({INSTANCE: NODE | [NODES] | none}, or NODE with one instance), ``state``
({NODE: STATE} or {NODE: {INSTANCE: STATE}}), ``vip_holders`` (inside: who has the VIPs on an
interface), ``vip_answered_by`` (outside: who answers the client's HTTP request to the VIP, or none; and
whose MAC the client's neighbour entry for the VIP holds, since a node that forwards would pass a stale
entry's traffic on),
``effective_priority`` ({NODE: N} or {NODE: {INSTANCE: N}}), ``advert`` ({from: NODE, priority: P[,
instance: I]} or a list: captured on the wire since the previous step), ``logged`` ({NODE: REGEX}: a line
of the node's keepalived log, its current run), ``judge: holds`` (the judge holds on the
history so far), ``within`` (the MASTER transitions named in ``master`` came at most this long after the
previous step was issued, or, for a node that step started, after its keepalived's own start; plus the
lab's allowance lab.timers.MARGIN; the step waits up to that bound for them and for ``state``), ``settle: false`` (check the lab
as it is at that moment, without first waiting for the model's deadline: what holds *during* a delay).

Errors: :class:`lab.errors.ScenarioError`, naming the file, line and the fix; pure apart from reading
the fault registry (lab.nemesis) for kinds and their parameters.
"""
from __future__ import annotations

import signal as _signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from ..errors import LabError, ScenarioError, TopologyError, yaml_problem
from ..topology.loader import MAX_BYTES, _check_shape, _line_for, _line_map, find, load as load_topology, validate
from .durations import Duration, parse_duration
from .expect import STATES, Expect, ExpectReader
from .faults import build_check, fault_params

__all__ = ["Scenario", "Step", "Expect", "load", "parse", "SUFFIX", "STATES"]

#: the file name ending pytest and ``kalab run`` collect
SUFFIX = ".scenario.yaml"
#: step keys that are not fault kinds
ACTIONS = ("fault", "heal", "start", "unpause", "signal", "wait", "expect")
#: fault kinds that stop a node (``start: NODE`` heals them) / pause it (``unpause: NODE``)
STOPPING = ("kill", "sigkill", "sigterm", "stop")
PAUSING = ("pause",)
TOP_KEYS = ("name", "description", "source", "documented", "topology", "configs", "keepalived", "allow",
            "unjudged", "xfail", "steps")


@dataclass(frozen=True)
class Step:
    """One step. ``action``: fault, heal, signal, wait, wait-for or expect (``start``/``unpause`` are read as
    heals of the fault that stopped or paused the node); ``line``: 1-based line in the file; ``text``: the
    step as the output shows it. Fault: ``kind``, ``node``, ``params``, ``name``. Heal: ``name`` (``all``).
    Signal: ``node``, ``params["signal"]``. Wait: ``duration``; wait-for: ``node``, ``params["state"]``,
    ``params["instance"]``, ``duration`` (deadline or None). Expect: ``expect``."""

    action: str
    line: int
    text: str
    kind: str = ""
    node: str = ""
    name: str = ""
    params: dict = field(default_factory=dict)
    duration: Optional[Duration] = None
    expect: Optional[Expect] = None


@dataclass
class Scenario:
    """A parsed scenario file. ``topology`` is a validated :class:`lab.topology.Topology`;
    ``keepalived``: the releases it names ([] = the run's or topology's); ``xfail``: {release or "*": reason}."""

    name: str
    path: str
    topology: Any
    topology_ref: str
    steps: list[Step]
    description: str = ""
    source: str = ""
    documented: str = ""
    keepalived: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    #: why the election model cannot judge this scenario at all (its own expectations still decide), or ""
    unjudged: str = ""
    xfail: dict[str, str] = field(default_factory=dict)

    def release(self, version: Optional[str]) -> str:
        """The keepalived version a run asked for ``version`` (None: the run names none) runs: that, else the
        topology's, else the lab's default (lab.releases.DEFAULT_VERSION)."""
        from ..releases import DEFAULT_VERSION
        return version or getattr(self.topology, "keepalived", None) or DEFAULT_VERSION

    def xfail_reason(self, version: Optional[str]) -> Optional[str]:
        """The strict-xfail reason for a run asked for keepalived ``version`` (None: the default or the
        topology's, :meth:`release`); None: it must pass."""
        return self.xfail.get(self.release(version), self.xfail.get("*"))


class _Problems:
    def __init__(self, source: str, lines: dict):
        self.source, self.lines, self.items = source, lines, []

    def add(self, path: tuple, message: str) -> None:
        self.items.append((".".join(map(str, path)), _line_for(self.lines, path), message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ScenarioError(self.source, self.items)


class _Reader(ExpectReader):
    """Reads one scenario document (a mapping) into a :class:`Scenario`, collecting every problem."""

    def __init__(self, data: dict, source: str, lines: dict, base: Path, search_dirs: list[Path],
                 build_configs: Optional[Callable]):
        self.data, self.source, self.lines, self.base = data, source, lines, base
        self.search_dirs, self.build_configs = search_dirs, build_configs
        self.p = _Problems(source, lines)
        self.topo = None

    # ------------------------------------------------------------ topology
    def topology(self) -> tuple[Any, str]:
        d = self.data
        if ("topology" in d) == ("configs" in d):
            self.p.add(("topology",) if "topology" in d else (), "give either topology: (a name, a path or the "
                       "topology itself) or configs: (your keepalived.conf files), one of the two")
            return None, ""
        try:
            if "configs" in d:
                files = d["configs"]
                if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
                    self.p.add(("configs",), "give a list of keepalived.conf paths, e.g. [lb1.conf, lb2.conf@lb2]")
                    return None, ""
                from ..topology.from_configs import parse_config_arg, split_config_arg
                args = []
                for f in files:
                    path, cid = split_config_arg(f)
                    full = path if path.is_absolute() else self.base / path
                    args.append(parse_config_arg(f"{full}@{cid}" if cid else str(full)))
                build = self.build_configs
                if build is None:
                    from ..topology.from_configs import topology_from_configs as build
                return build(args), ", ".join(files)
            ref = d["topology"]
            if isinstance(ref, dict):
                return self._inline(ref), "(inline)"
            if not isinstance(ref, str):
                self.p.add(("topology",), "give a topology name (two_node), a path (topologies/x.yaml) or the "
                                          "topology mapping itself")
                return None, ""
            local = self.base / ref
            if ref.endswith((SUFFIX, SUFFIX.removesuffix(".yaml"))):
                self.p.add(("topology",), f"{ref!r} is a scenario file, not a topology; give a topology's name or "
                                          f"its YAML file")
                return None, ""
            # a path from this file's folder, else a name in the topology folders (not this folder: it holds
            # scenario files, which are no topologies)
            path = local if local.is_file() else find(ref, [self.base / "topologies", *self.search_dirs])
            return load_topology(path), ref
        except TopologyError as e:
            for path, line, msg in e.problems:
                where = f"{e.source}:{line}" if line else e.source
                self.p.add(("topology",), f"{where}: {path + ': ' if path else ''}{msg}")
        except LabError as e:
            self.p.add(("configs",) if "configs" in d else ("topology",), str(e))
        return None, ""

    def _inline(self, ref: dict):
        try:
            return validate(ref, self.source)
        except TopologyError as e:
            for path, _line, msg in e.problems:
                loc = ("topology",) + tuple(int(x) if x.isdigit() else x for x in path.split(".") if x)
                self.p.add(loc, msg)
        return None

    # ------------------------------------------------------------ helpers
    def node(self, loc: tuple, name, keepalived: bool = True) -> Optional[str]:
        nodes = self.topo.keepalived_nodes() if keepalived else list(self.topo.nodes)
        if not isinstance(name, str) or name not in nodes:
            self.p.add(loc, f"no {'keepalived ' if keepalived else ''}node {name!r} in the topology "
                            f"(nodes: {', '.join(nodes)})")
            return None
        return name

    def instance(self, loc: tuple, name) -> Optional[str]:
        names = self.topo.instance_names()
        if name is None:
            if len(names) == 1:
                return names[0]
            self.p.add(loc, f"name the instance ({', '.join(names)}): the topology has {len(names)}")
            return None
        if name not in names:
            self.p.add(loc, f"no VRRP instance {name!r} (instances: {', '.join(names)})")
            return None
        return name

    def duration(self, loc: tuple, value) -> Optional[Duration]:
        try:
            return parse_duration(value, self.topo)
        except ValueError as e:
            self.p.add(loc, str(e))
            return None

    def per_instance(self, loc: tuple, value, convert) -> dict:
        """{INSTANCE: v} or v alone (one instance) -> {instance: convert(loc, v)}."""
        if isinstance(value, dict):
            if not value:
                self.p.add(loc, "give {INSTANCE: VALUE}, or the value alone when there is one instance")
            return {i: convert(loc + (i,), v) for i, v in value.items() if self.instance(loc + (i,), i)}
        inst = self.instance(loc, None)
        return {inst: convert(loc, value)} if inst else {}

    def per_node(self, loc: tuple, value, convert) -> dict:
        """{NODE: v} or {NODE: {INSTANCE: v}} -> {(node, instance): convert(loc, v)}."""
        out = {}
        if not isinstance(value, dict) or not value:
            self.p.add(loc, "give {NODE: VALUE} or {NODE: {INSTANCE: VALUE}}")
            return out
        for n, v in value.items():
            if self.node(loc + (n,), n) is None:
                continue
            if isinstance(v, dict):
                for i, x in v.items():
                    if self.instance(loc + (n, i), i) and i in self.topo.instances(n):
                        out[(n, i)] = convert(loc + (n, i), x)
                    elif i in self.topo.instance_names():
                        self.p.add(loc + (n, i), f"node {n} has no instance {i}")
            else:
                inst = self.instance(loc + (n,), None)
                if inst:
                    out[(n, inst)] = convert(loc + (n,), v)
        return out

    # ------------------------------------------------------------ steps
    def steps(self) -> list[Step]:
        raw = self.data.get("steps")
        if not isinstance(raw, list) or not raw:
            self.p.add(("steps",), "give a list of steps, e.g. - kill: a  then  - expect: {master: b}")
            return []
        out: list[Step] = []
        applied: dict[str, tuple[str, str]] = {}            # fault name -> (kind, node), in file order
        for i, item in enumerate(raw):
            loc = ("steps", i)
            step = self.step(loc, item, applied)
            if step is not None:
                out.append(step)
        return out

    def step(self, loc: tuple, item, applied: dict) -> Optional[Step]:
        from ..nemesis import kinds
        line = _line_for(self.lines, loc) or 0
        if not isinstance(item, dict) or len(item) != 1:
            self.p.add(loc, "a step is one KEY: VALUE, e.g. `- kill: a`, `- heal: all`, `- wait: 5s` or "
                            "`- expect: {master: b}`")
            return None
        key, value = next(iter(item.items()))
        loc = loc + (key,)
        known = kinds()
        if key not in ACTIONS and key not in known:
            import difflib
            near = difflib.get_close_matches(str(key), list(ACTIONS) + list(known), n=1)
            self.p.add(loc, f"no step {key!r}{'; did you mean ' + repr(near[0]) + '?' if near else ''} (steps: "
                            f"{', '.join(ACTIONS)}, or a fault kind: {', '.join(known)})")
            return None
        if key == "expect":
            exp = self.expect(loc, value)
            return Step("expect", line, f"expect {_short(value)}", expect=exp) if exp else None
        if key == "wait":
            return self.wait(loc, value, line)
        if key == "heal":
            return self.heal(loc, value, line, applied)
        if key in ("start", "unpause"):
            node = self.node(loc, value)
            if node is None:
                return None
            kinds_ = STOPPING if key == "start" else PAUSING
            hit = [n for n, (k, t) in applied.items() if t == node and k in kinds_]
            if not hit:
                self.p.add(loc, f"{node} is not {'stopped' if key == 'start' else 'paused'} by an earlier step "
                                f"(`{key}: {node}` heals the {' / '.join(kinds_)} fault applied to it)")
                return None
            del applied[hit[-1]]
            return Step("heal", line, f"{key} {node}", node=node, name=hit[-1])
        if key == "signal":
            if not isinstance(value, dict) or set(value) != {"node", "signal"}:
                self.p.add(loc, "give {node: NODE, signal: SIGHUP} (the signal's name)")
                return None
            node = self.node(loc + ("node",), value["node"])
            sig = str(value["signal"]).upper()
            sig = sig if sig.startswith("SIG") else f"SIG{sig}"
            if sig not in _signal.Signals.__members__:
                self.p.add(loc + ("signal",), f"no signal {value['signal']!r}; e.g. SIGHUP, SIGUSR1, SIGTERM")
                return None
            return Step("signal", line, f"{sig} {node}", node=node, params={"signal": sig}) if node else None
        # a fault
        if key == "fault":
            if not isinstance(value, dict) or "kind" not in value:
                self.p.add(loc, "give {kind: KIND, node: NODE, PARAM: VALUE}, or write the kind as the step's key")
                return None
            value = dict(value)
            kind = value.pop("kind")
            if kind not in known:
                self.p.add(loc + ("kind",), f"no fault kind {kind!r} (kinds: {', '.join(known)})")
                return None
        else:
            kind = key
            value = {"node": value} if isinstance(value, str) else value
        if not isinstance(value, dict) or "node" not in value:
            self.p.add(loc, f"give the node: `- {kind}: NODE` or `- {kind}: {{node: NODE, PARAM: VALUE}}`")
            return None
        value = dict(value)
        node = self.node(loc + ("node",), value.pop("node"), keepalived=False)
        name = value.pop("name", None)
        params, problem = fault_params(kind, value)
        if problem:
            self.p.add(loc, problem)
            return None
        if node is None:
            return None
        problem = build_check(self.topo, kind, node, name or f"{kind}-{node}", params)
        if problem:
            self.p.add(loc, problem)
            return None
        if name is None:
            name, n = f"{kind}-{node}", 1
            while name in applied:
                n += 1
                name = f"{kind}-{node}-{n}"
        elif not isinstance(name, str) or name in applied:
            self.p.add(loc + ("name",), f"the fault name {name!r} is taken by a fault still applied; choose another")
            return None
        applied[name] = (kind, node)
        words = " ".join(f"{k}={v}" for k, v in params.items())
        return Step("fault", line, f"{kind} {node}{' ' + words if words else ''}", kind=kind, node=node, name=name,
                    params=params)

    def heal(self, loc: tuple, value, line: int, applied: dict) -> Optional[Step]:
        if value == "all":
            applied.clear()
            return Step("heal", line, "heal all", name="all")
        if not isinstance(value, str) or value not in applied:
            self.p.add(loc, f"heal {value!r}: no fault of that name is applied at this step (applied: "
                            f"{', '.join(applied) or 'none'}; a fault is named by its name: or KIND-NODE; or heal: all)")
            return None
        kind, node = applied.pop(value)
        return Step("heal", line, f"heal {value}", kind=kind, node=node, name=value)

    def wait(self, loc: tuple, value, line: int) -> Optional[Step]:
        if not isinstance(value, dict):
            d = self.duration(loc, value)
            return Step("wait", line, f"wait {d}", duration=d) if d else None
        extra = set(value) - {"for", "node", "instance", "within"}
        if extra or "for" not in value or "node" not in value:
            self.p.add(loc, "give a duration (5s, 3 x advert_int) or {for: STATE, node: NODE[, instance: I, "
                            "within: DURATION]}")
            return None
        state = str(value["for"]).upper()
        if state not in STATES:
            self.p.add(loc + ("for",), f"no state {value['for']!r}; states: {', '.join(STATES)}")
            return None
        node = self.node(loc + ("node",), value["node"])
        inst = self.instance(loc + ("instance",), value.get("instance"))
        d = self.duration(loc + ("within",), value["within"]) if "within" in value else None
        if node is None or inst is None or ("within" in value and d is None):
            return None
        return Step("wait-for", line, f"wait for {node} {state} in {inst}" + (f" within {d}" if d else ""), node=node,
                    params={"state": state, "instance": inst}, duration=d)

    # ------------------------------------------------------------ the whole document
    def read(self) -> Scenario:
        d = self.data
        for k in d:
            if k not in TOP_KEYS:
                self.p.add((k,), f"no field {k!r} in a scenario (fields: {', '.join(TOP_KEYS)})")
        self.topo, ref = self.topology()
        if self.topo is None:                       # the steps name its nodes: nothing more can be checked
            self.p.raise_if_any()
        releases: list[str] = []
        if "keepalived" in d:
            from ..releases import UnknownRelease, releases as parse_releases
            spec = d["keepalived"]
            spec = ",".join(map(str, spec)) if isinstance(spec, list) else str(spec)
            try:
                releases = [r.version for r in parse_releases(spec)]
            except UnknownRelease as e:
                self.p.add(("keepalived",), str(e))
        xfail: dict[str, str] = {}
        if "xfail" in d:
            x = d["xfail"]
            if isinstance(x, str) and x.strip():
                xfail = {"*": x}
            elif isinstance(x, dict) and x and all(isinstance(v, str) and v.strip() for v in x.values()):
                from ..releases import UnknownRelease, release
                for k, v in x.items():
                    try:
                        xfail[release(str(k)).version] = v
                    except UnknownRelease as e:
                        self.p.add(("xfail", k), str(e))
            else:
                self.p.add(("xfail",), "give the reason (both what the docs say and what keepalived does), or "
                                       "{RELEASE: reason}")
        allow = d.get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            self.p.add(("allow",), "give a list of fault kinds or names the judge may not follow, e.g. [rogue]")
            allow = []
        unjudged = d.get("unjudged", "")
        if "unjudged" in d and (not isinstance(unjudged, str) or not unjudged.strip()):
            self.p.add(("unjudged",), "say why the election model cannot judge this scenario (a feature it does not "
                                      "follow); the scenario's own expectations then decide its verdict")
            unjudged = ""
        for k in ("name", "description", "source", "documented"):
            if k in d and not isinstance(d[k], str):
                self.p.add((k,), f"{k} is text")
        steps = self.steps()
        if unjudged:
            for i, st in enumerate(steps):
                if st.expect is not None and st.expect.judge:
                    self.p.add(("steps", i, "expect", "judge"), "the file says unjudged: (the model cannot judge it); "
                                                               "leave judge: out")
            if not any(st.expect is not None for st in steps):
                self.p.add(("steps",), "an unjudged scenario needs an expect: step: nothing else would judge it")
        self.p.raise_if_any()
        name = d.get("name") or Path(self.source).name.removesuffix(SUFFIX)
        return Scenario(name=str(name), path=self.source, topology=self.topo, topology_ref=ref, steps=steps,
                        description=str(d.get("description", "")), source=str(d.get("source", "")),
                        documented=str(d.get("documented", "")), keepalived=releases, allow=list(allow), xfail=xfail,
                        unjudged=str(unjudged).strip())


def _short(v) -> str:
    import json
    return json.dumps(v, default=str).replace('"', "")


def parse(text: str, source: str = "<scenario>", base: Optional[Path] = None, search_dirs: Optional[list[Path]] = None,
          build_configs: Optional[Callable] = None) -> Scenario:
    """A scenario from its YAML ``text``. ``base``: the folder its relative paths start from (default the
    file's); ``search_dirs``: folders of named topologies; ``build_configs``: makes the topology of
    ``configs:`` ([(path, config id)] -> Topology; default lab.topology.from_configs without a host's view).

    Raises ScenarioError listing every problem with file:line and the fix."""
    try:
        root = yaml.compose(text)
        _check_shape(root, source)
        data = yaml.safe_load(text)
    except RecursionError:
        raise ScenarioError(source, [("", None, "nested too deeply to be a scenario")]) from None
    except yaml.YAMLError as e:
        line, msg = yaml_problem(e)
        raise ScenarioError(source, [("", line, msg)]) from None
    except TopologyError as e:
        raise ScenarioError(source, e.problems) from None
    if not isinstance(data, dict):
        raise ScenarioError(source, [("", 1, "a scenario is a mapping: name, topology, steps (see "
                                              "`kalab run --help`)")])
    base = base if base is not None else Path(source).parent
    return _Reader(data, source, _line_map(text), base, list(search_dirs or []), build_configs).read()


def load(path: str | Path, search_dirs: Optional[list[Path]] = None, build_configs: Optional[Callable] = None) -> Scenario:
    """Read a scenario file (:func:`parse`). Raises ScenarioError naming the file (unreadable, too large,
    not UTF-8) or each problem's line."""
    p = Path(path)
    try:
        if not p.is_file():
            raise ScenarioError(str(p), [("", None, "no such file" if not p.exists() else "not a regular file")])
        with open(p, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ScenarioError(str(p), [("", None, f"larger than {MAX_BYTES // 2**20} MiB: is this a scenario?")])
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(str(p), [("", None, f"not a text file (byte {e.start} is not UTF-8)")]) from None
    except OSError as e:
        raise ScenarioError(str(p), [("", None, f"cannot read: {e.strerror}")]) from None
    return parse(text, str(p), p.parent, search_dirs, build_configs)
