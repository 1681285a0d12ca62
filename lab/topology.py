"""Topology schema, YAML loading and validation (pure: no Docker).

A topology declares networks, nodes (keepalived nodes and clients), VRRP
instances and vrrp_scripts, using keepalived's own keyword names
(``man 5 keepalived.conf``, keepalived 2.2.7). Shared ``vrrp_instances`` /
``vrrp_scripts`` / ``global_defs`` at the top level apply to every keepalived
node; a node's own entries are merged over them field by field.

Addresses inside a lab subnet are written ``<network>+<host>``: ``lan+200`` is
host 200 of network ``lan`` (the lab allocates the subnet at run time). Docker
hands out only the lower half of each subnet, so VIPs must use the upper half.

Errors: :class:`lab.errors.TopologyError` naming the file, line, field path,
bad value and what is allowed. Unknown fields are errors.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import TopologyError

LAB_REF = re.compile(r"^(?P<net>[A-Za-z_][\w-]*)\+(?P<host>\d+)$")
NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NetworkSpec(_Strict):
    """A lab network (one Docker bridge). ``subnet`` None means: allocate from the lab's pool."""

    subnet: Optional[ipaddress.IPv4Network] = None
    prefixlen: int = Field(24, ge=16, le=28, description="size of an allocated subnet")

    def prefix(self) -> int:
        return self.subnet.prefixlen if self.subnet else self.prefixlen


class InterfaceSpec(_Strict):
    """A node's interface on one lab network. ``host`` is the host number in the subnet (auto if None)."""

    network: str
    host: Optional[int] = Field(None, ge=2)


class VrrpScript(_Strict):
    """``vrrp_script`` block (man 5 keepalived.conf, VRRP script(s)).

    interval/timeout are whole seconds (keepalived 2.2.7 rejects ``interval 0.5``:
    "must be between 1 and 4294"); weight in -253..253 (0 = failure puts the
    instance in FAULT); ``reverse`` inverts the weight's sense; fall/rise are
    consecutive failures/successes; ``user`` is ``USER [GROUP]``.
    """

    script: str
    interval: int = Field(1, ge=1, le=4294)
    timeout: Optional[int] = Field(None, ge=1, le=4294)
    weight: int = Field(0, ge=-253, le=253)
    reverse: bool = False
    rise: int = Field(1, ge=1)
    fall: int = Field(1, ge=1)
    init_fail: bool = False
    user: Optional[str] = None


class VrrpTrackFile(_Strict):
    """``track_file NAME`` (alias ``vrrp_track_file``) block (man 5 keepalived.conf, Track files).

    The number in ``file`` times ``weight`` is added to the priority of every
    instance tracking it (weight 0: non-zero means FAULT). ``init_file``
    writes ``init_value`` (default 0) at start-up if the file is missing, or
    always with ``overwrite``.
    """

    file: str
    weight: int = Field(1, ge=-2147483647, le=2147483647)
    reverse: bool = False
    init_file: bool = False
    init_value: Optional[int] = None
    overwrite: bool = False


class Track(_Strict):
    """One entry of track_script / track_interface / track_file, optional weight override."""

    name: str
    weight: Optional[int] = Field(None, ge=-254, le=254)
    reverse: bool = False


def _tracks(v: Any) -> Any:
    out = []
    for item in v or []:
        if isinstance(item, str):
            out.append({"name": item})
        elif isinstance(item, dict) and "name" not in item and len(item) == 1:
            (k, val), = item.items()
            out.append({"name": k, **(val or {})})
        else:
            out.append(item)
    return out


class Authentication(_Strict):
    """``authentication`` block: auth_type PASS|AH, auth_pass (keepalived uses 8 characters at most)."""

    auth_type: Literal["PASS", "AH"] = "PASS"
    auth_pass: str


class VrrpInstance(_Strict):
    """``vrrp_instance`` block; field names are keepalived's keywords.

    advert_int is in seconds (keepalived accepts fractions with VRRPv3);
    preempt_delay in seconds (0..1000); priority 1..255 (255 = address owner).
    virtual_ipaddress entries use keepalived's syntax (man 5 keepalived.conf,
    vrrp_instance, virtual_ipaddress): ``<addr>[/prefix] [brd B] [dev IF]
    [scope S] [label L] [peer P] [home] [-nodad] ...`` where ``<addr>`` may be
    ``net+host``; a bare address means /32. track_* entries are names with an
    optional ``weight W [reverse]``. notify_* are commands (quoted when they
    have arguments). The lab's own ``vrrp_notify_fifo`` is global
    (see :class:`GlobalDefs` ``notify_fifo`` for a user's own FIFO).
    """

    state: Literal["MASTER", "BACKUP"] = "BACKUP"
    interface: Optional[str] = None
    virtual_router_id: Optional[int] = Field(None, ge=1, le=255)
    priority: int = Field(100, ge=1, le=255)
    advert_int: float = Field(1, gt=0, le=255)
    version: Optional[Literal[2, 3]] = None
    authentication: Optional[Authentication] = None
    virtual_ipaddress: list[str] = Field(default_factory=list)
    nopreempt: bool = False
    preempt_delay: Optional[float] = Field(None, ge=0, le=1000)
    unicast_src_ip: Optional[str] = None
    unicast_peer: list[str] = Field(default_factory=list)
    track_script: list[Track] = Field(default_factory=list)
    track_interface: list[Track] = Field(default_factory=list)
    track_file: list[Track] = Field(default_factory=list)
    garp_master_delay: Optional[float] = None
    notify_master: Optional[str] = None
    notify_backup: Optional[str] = None
    notify_fault: Optional[str] = None
    notify_stop: Optional[str] = None
    notify: Optional[str] = None
    smtp_alert: bool = False

    _t = field_validator("track_script", "track_interface", "track_file", mode="before")(
        classmethod(lambda cls, v: _tracks(v)))

    @field_validator("virtual_ipaddress")
    @classmethod
    def _vips(cls, v: list[str]) -> list[str]:
        for entry in v:
            parse_vip(entry)
        return v


class VrrpSyncGroup(_Strict):
    """``vrrp_sync_group``: instances that change state together (man 5 keepalived.conf,
    VRRP synchronization group(s)). Tracking weights of members are forced to 0 by keepalived."""

    group: list[str] = Field(min_length=1)
    track_script: list[Track] = Field(default_factory=list)
    track_interface: list[Track] = Field(default_factory=list)
    track_file: list[Track] = Field(default_factory=list)
    notify_master: Optional[str] = None
    notify_backup: Optional[str] = None
    notify_fault: Optional[str] = None
    notify_stop: Optional[str] = None
    notify: Optional[str] = None
    smtp_alert: bool = False

    _t = field_validator("track_script", "track_interface", "track_file", mode="before")(
        classmethod(lambda cls, v: _tracks(v)))


class GlobalDefs(_Strict):
    """``global_defs`` block keywords the lab supports (man 5 keepalived.conf, Global definitions).

    smtp_connect_timeout in seconds; vrrp_garp_interval / vrrp_gna_interval in
    seconds with microsecond resolution: keepalived 2.2.7 accepts
    0.000001..4294.967295 and rejects 0 (the man page says "default: 0"; leave
    the keyword out for no delay). ``vrrp_iptables`` is True (the keyword alone)
    or the chain name(s). ``script_user`` is ``USER [GROUP]``. ``notify_fifo``
    is the user's own FIFO (``notify_fifo FIFO``); the lab adds its own
    ``vrrp_notify_fifo`` beside it.
    """

    router_id: Optional[str] = None
    notification_email: list[str] = Field(default_factory=list)
    notification_email_from: Optional[str] = None
    smtp_server: Optional[str] = None
    smtp_connect_timeout: Optional[int] = Field(None, ge=1)
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    vrrp_iptables: Optional[Union[bool, str]] = None
    vrrp_garp_interval: Optional[float] = Field(None, ge=0.000001, le=4294.967295)
    vrrp_gna_interval: Optional[float] = Field(None, ge=0.000001, le=4294.967295)
    enable_script_security: bool = False
    script_user: Optional[str] = None
    notify_fifo: Optional[str] = None


class NodeSpec(_Strict):
    """One container. ``kind`` keepalived runs keepalived (+nginx); client runs only tools.

    ``config_template``: path (relative to the topology file) of a user's own
    keepalived.conf, rendered with Jinja2 and the lab's facts, used instead of a generated one.
    """

    kind: Literal["keepalived", "client"] = "keepalived"
    nginx: Optional[bool] = None
    interfaces: dict[str, InterfaceSpec] = Field(default_factory=dict)
    global_defs: dict[str, Any] = Field(default_factory=dict)
    vrrp_scripts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    vrrp_instances: dict[str, Optional[dict[str, Any]]] = Field(default_factory=dict)
    vrrp_track_files: dict[str, dict[str, Any]] = Field(default_factory=dict)
    vrrp_sync_groups: dict[str, VrrpSyncGroup] = Field(default_factory=dict)
    config_template: Optional[str] = None

    def runs_nginx(self) -> bool:
        return self.nginx if self.nginx is not None else self.kind == "keepalived"


class Topology(_Strict):
    """A whole lab. See the module docstring for merge rules and address syntax."""

    name: str = Field(pattern=NAME)
    description: str = ""
    networks: dict[str, NetworkSpec]
    global_defs: dict[str, Any] = Field(default_factory=dict)
    vrrp_scripts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    vrrp_instances: dict[str, dict[str, Any]] = Field(default_factory=dict)
    vrrp_track_files: dict[str, dict[str, Any]] = Field(default_factory=dict)
    vrrp_sync_groups: dict[str, VrrpSyncGroup] = Field(default_factory=dict)
    nodes: dict[str, NodeSpec]
    source: Optional[str] = Field(None, exclude=True)

    # ---- resolved views (merge shared over node) ----
    def keepalived_nodes(self) -> list[str]:
        """Names of nodes that run keepalived, in declaration order."""
        return [n for n, s in self.nodes.items() if s.kind == "keepalived"]

    def client_nodes(self) -> list[str]:
        return [n for n, s in self.nodes.items() if s.kind == "client"]

    def instances(self, node: str) -> dict[str, VrrpInstance]:
        """The node's VRRP instances with shared values merged in (validated)."""
        spec = self.nodes[node]
        if spec.kind != "keepalived":
            return {}
        names = list(self.vrrp_instances) + [n for n in spec.vrrp_instances if n not in self.vrrp_instances]
        out = {}
        for name in names:
            if name in spec.vrrp_instances and spec.vrrp_instances[name] is None:
                continue  # node opts out of a shared instance
            merged = {**self.vrrp_instances.get(name, {}), **(spec.vrrp_instances.get(name) or {})}
            out[name] = VrrpInstance.model_validate(merged)
        return out

    def scripts(self, node: str) -> dict[str, VrrpScript]:
        spec = self.nodes[node]
        names = list(self.vrrp_scripts) + [n for n in spec.vrrp_scripts if n not in self.vrrp_scripts]
        return {n: VrrpScript.model_validate({**self.vrrp_scripts.get(n, {}), **spec.vrrp_scripts.get(n, {})})
                for n in names}

    def track_files(self, node: str) -> dict[str, VrrpTrackFile]:
        """The node's ``track_file`` definitions (shared merged with the node's own)."""
        spec = self.nodes[node]
        names = list(self.vrrp_track_files) + [n for n in spec.vrrp_track_files if n not in self.vrrp_track_files]
        return {n: VrrpTrackFile.model_validate({**self.vrrp_track_files.get(n, {}), **spec.vrrp_track_files.get(n, {})})
                for n in names}

    def sync_groups(self, node: str) -> dict[str, VrrpSyncGroup]:
        """The node's sync groups: shared ones whose members all exist on the node, then the node's own."""
        spec = self.nodes[node]
        if spec.kind != "keepalived":
            return {}
        mine = self.instances(node)
        out = {k: g for k, g in self.vrrp_sync_groups.items() if all(m in mine for m in g.group)}
        out.update(spec.vrrp_sync_groups)
        return out

    def global_defs_for(self, node: str) -> GlobalDefs:
        merged = {"router_id": node, **self.global_defs, **self.nodes[node].global_defs}
        return GlobalDefs.model_validate(merged)

    def instance_names(self) -> list[str]:
        seen: list[str] = []
        for n in self.keepalived_nodes():
            for name in self.instances(n):
                if name not in seen:
                    seen.append(name)
        return seen

    def host_numbers(self) -> dict[tuple[str, str], int]:
        """(node, interface) -> host number, auto-assigned from 11 upward per network."""
        used: dict[str, set[int]] = {}
        for spec in self.nodes.values():
            for itf in spec.interfaces.values():
                if itf.host is not None:
                    used.setdefault(itf.network, set()).add(itf.host)
        out = {}
        for node, spec in self.nodes.items():
            for name, itf in spec.interfaces.items():
                if itf.host is not None:
                    out[(node, name)] = itf.host
                    continue
                h = 11
                while h in used.setdefault(itf.network, set()):
                    h += 1
                used[itf.network].add(h)
                out[(node, name)] = h
        return out


# ---------------------------------------------------------------- VIP syntax
VIP_OPTS = {"dev", "label", "scope", "brd", "broadcast", "peer", "preferred_lft", "track_group"}
VIP_FLAGS = {"home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "use_vmac"}
VIP_SCOPES = {"site", "link", "host", "nowhere", "global"}


def parse_vip(entry: str) -> dict[str, Any]:
    """Split a virtual_ipaddress entry into ``{"address", "prefix", "dev", "label", ...}``.

    Form (man 5 keepalived.conf, vrrp_instance, virtual_ipaddress):
    ``<IPADDR>[/<MASK>] [brd <IPADDR>] [dev <STRING>] [use_vmac] [scope <SCOPE>]
    [label <LABEL>] [peer <IPADDR>] [home] [-nodad] [mngtmpaddr] [noprefixroute]
    [autojoin] [no_track] [preferred_lft nn|forever]``. ``<IPADDR>`` may be IPv4,
    IPv6 or the lab's ``net+host``. ``prefix`` is None when the entry has none
    (keepalived then uses /32, or /128 for IPv6). Flags appear as ``{flag: True}``.
    Raises ValueError naming the bad part and the allowed form.
    """
    parts = entry.split()
    if not parts:
        raise ValueError("empty virtual_ipaddress entry")
    addr, slash, prefix = parts[0].partition("/")
    if slash and not prefix.isdigit():
        raise ValueError(f"bad prefix in {entry!r}: use <address>/<0-32> (or /<0-128> for IPv6)")
    out: dict[str, Any] = {"address": addr, "prefix": int(prefix) if prefix else None}
    if not LAB_REF.match(addr):
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError(f"{addr!r} is neither an IPv4 (or IPv6) address nor <network>+<host> (e.g. lan+200)") from None
        if out["prefix"] is not None and out["prefix"] > ip.max_prefixlen:
            raise ValueError(f"prefix /{out['prefix']} in {entry!r} is longer than /{ip.max_prefixlen}")
    elif out["prefix"] is not None and out["prefix"] > 32:
        raise ValueError(f"prefix /{out['prefix']} in {entry!r} is longer than /32")
    rest = parts[1:]
    i = 0
    while i < len(rest):
        k = rest[i]
        if k in VIP_FLAGS:
            out[k] = True
            i += 1
            continue
        if k not in VIP_OPTS:
            raise ValueError(f"{entry!r}: unknown option {k!r}; allowed: {', '.join(sorted(VIP_OPTS))} (each with a "
                             f"value) and {', '.join(sorted(VIP_FLAGS))}")
        if i + 1 >= len(rest):
            raise ValueError(f"{entry!r}: option {k!r} needs a value")
        v = rest[i + 1]
        if k == "scope" and v not in VIP_SCOPES and not v.isdigit():
            raise ValueError(f"{entry!r}: scope {v!r} is not one of {', '.join(sorted(VIP_SCOPES))}")
        out["brd" if k == "broadcast" else k] = v
        i += 2
    return out


def resolve_address(addr: str, subnets: dict[str, ipaddress.IPv4Network]) -> ipaddress.IPv4Address:
    """Turn ``lan+200`` (or a literal address) into an address, given the lab's subnets."""
    m = LAB_REF.match(addr)
    if not m:
        return ipaddress.IPv4Address(addr)
    net = subnets[m["net"]]
    return net.network_address + int(m["host"])


# ---------------------------------------------------------------- loading
def _line_map(text: str) -> dict[tuple, int]:
    """Map YAML key paths to 1-based line numbers, for error messages."""
    out: dict[tuple, int] = {}

    def walk(node, path):
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                p = path + (str(k.value),)
                out[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out
    if root is not None:
        walk(root, ())
    return out


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def _unwrap(ann: Any) -> Any:
    """Optional[X] / Union[X, None] -> X (the first pydantic model among the union members, if any)."""
    import typing

    if typing.get_origin(ann) is Union:
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[0] if args else ann)
    return ann


def _model_at(model: Any, loc: tuple) -> Any:
    """The pydantic model class that owns the fields at ``loc`` below ``model`` (None if not a model)."""
    import typing

    cur: Any = _unwrap(model)
    for part in loc:
        if isinstance(cur, type) and issubclass(cur, BaseModel):
            f = cur.model_fields.get(str(part))
            if f is None:
                return None
            cur = _unwrap(f.annotation)
        elif typing.get_origin(cur) in (dict, list):
            cur = _unwrap(typing.get_args(cur)[-1])
        else:
            return None
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


# which model validates the free-form dicts of a topology (shared and per-node)
_DICT_MODELS = {"vrrp_instances": "VrrpInstance", "vrrp_scripts": "VrrpScript",
                "vrrp_track_files": "VrrpTrackFile", "global_defs": "GlobalDefs"}


def _fmt_pydantic(err: ValidationError, prefix: tuple = (), model: Any = None) -> list[tuple[tuple, str]]:
    """Turn pydantic errors into (field path, message) with the bad value and what is allowed."""
    import difflib

    out = []
    for e in err.errors():
        rel = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        loc = prefix + rel
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            owner = _model_at(model, rel[:-1]) if model is not None else None
            if owner is None:
                owner = _owner_by_path(loc[:-1])
            if owner is not None:
                allowed = sorted(owner.model_fields)
                close = difflib.get_close_matches(str(rel[-1]), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                msg = f"unknown field; {hint}allowed: {', '.join(allowed)}"
            else:
                msg = "unknown field (check spelling; see lab/topology.py for the allowed keywords)"
        elif "input" in e and not isinstance(e["input"], (dict, list)):
            msg = f"{msg} (got {e['input']!r})"
        out.append((loc, msg))
    return out


def _owner_by_path(path: tuple) -> Any:
    """Model for a path such as ('nodes', 'a', 'vrrp_instances', 'VI_1') by the dict it sits in."""
    names = {"VrrpInstance": VrrpInstance, "VrrpScript": VrrpScript, "VrrpTrackFile": VrrpTrackFile,
             "GlobalDefs": GlobalDefs}
    for i in range(len(path) - 1, -1, -1):
        key = path[i]
        if key in _DICT_MODELS:
            rest = path[i + 1:]
            cls = names[_DICT_MODELS[key]]
            if key == "global_defs":
                return _model_at(cls, rest) if rest else cls
            return _model_at(cls, rest[1:]) if len(rest) > 1 else cls
    return None


def validate(data: Any, source: str = "<builder>", text: str | None = None) -> Topology:
    """Validate a topology mapping; raise TopologyError listing every problem with file:line.

    Args:
        data: the parsed YAML (dict) or builder output.
        source: file name for messages.
        text: the YAML text, used to find line numbers.
    """
    lines = _line_map(text) if text else {}
    problems: list[tuple[tuple, str]] = []
    if not isinstance(data, dict):
        raise TopologyError(source, [("", 1, "the top level must be a mapping with name, networks and nodes")])
    try:
        topo = Topology.model_validate(data)
    except ValidationError as e:
        problems = _fmt_pydantic(e, (), Topology)
        raise TopologyError(source, [(".".join(map(str, p)), _line_for(lines, p), m) for p, m in problems]) from None
    topo.source = source
    problems += _semantic_problems(topo)
    if problems:
        raise TopologyError(source, [(".".join(map(str, p)), _line_for(lines, p), m) for p, m in problems])
    return topo


def _semantic_problems(t: Topology) -> list[tuple[tuple, str]]:
    P: list[tuple[tuple, str]] = []
    if not t.keepalived_nodes():
        P.append((("nodes",), "no node of kind keepalived"))
    for name in t.vrrp_scripts:
        try:
            VrrpScript.model_validate(t.vrrp_scripts[name])
        except ValidationError as e:
            P += _fmt_pydantic(e, ("vrrp_scripts", name))
    for name in t.vrrp_track_files:
        try:
            VrrpTrackFile.model_validate(t.vrrp_track_files[name])
        except ValidationError as e:
            P += _fmt_pydantic(e, ("vrrp_track_files", name))
    try:
        GlobalDefs.model_validate(t.global_defs)
    except ValidationError as e:
        P += _fmt_pydantic(e, ("global_defs",))
    for gname, g in t.vrrp_sync_groups.items():
        declared = set(t.vrrp_instances) | {i for s in t.nodes.values() for i in s.vrrp_instances}
        for j, member in enumerate(g.group):
            if member not in declared:
                P.append((("vrrp_sync_groups", gname, "group", j),
                          f"no vrrp_instance named {member!r}; declared: {', '.join(sorted(declared)) or 'none'}"))
    for node, spec in t.nodes.items():
        base = ("nodes", node)
        for itf_name, itf in spec.interfaces.items():
            if itf.network not in t.networks:
                P.append((base + ("interfaces", itf_name, "network"),
                          f"unknown network {itf.network!r}; declared: {', '.join(t.networks)}"))
        if not spec.interfaces:
            P.append((base + ("interfaces",), "a node needs at least one interface, e.g. eth0: {network: lan}"))
        if spec.global_defs:
            try:
                t.global_defs_for(node)
            except ValidationError as e:
                P += [(loc, m) for loc, m in _fmt_pydantic(e, base + ("global_defs",))
                      if loc[len(base) + 1] in spec.global_defs]
        if spec.kind != "keepalived":
            continue
        try:
            scripts = t.scripts(node)
        except ValidationError as e:
            P += _fmt_pydantic(e, base + ("vrrp_scripts",))
            scripts = {}
        try:
            tfiles = t.track_files(node)
        except ValidationError as e:
            P += _fmt_pydantic(e, base + ("vrrp_track_files",))
            tfiles = {}
        names = list(t.vrrp_instances) + [n for n in spec.vrrp_instances if n not in t.vrrp_instances]
        for iname in names:
            where = base + ("vrrp_instances", iname) if iname in spec.vrrp_instances else ("vrrp_instances", iname)
            if iname in spec.vrrp_instances and spec.vrrp_instances[iname] is None:
                continue
            merged = {**t.vrrp_instances.get(iname, {}), **(spec.vrrp_instances.get(iname) or {})}
            try:
                inst = VrrpInstance.model_validate(merged)
            except ValidationError as e:
                own = spec.vrrp_instances.get(iname) or {}
                node_msgs = _fmt_pydantic(e, base + ("vrrp_instances", iname))
                shared_msgs = _fmt_pydantic(e, ("vrrp_instances", iname))
                for (nloc, nmsg), (sloc, smsg) in zip(node_msgs, shared_msgs):
                    # blame the block the bad value came from: the node's override or the shared one
                    field = nloc[len(base) + 2] if len(nloc) > len(base) + 2 else None
                    item = (nloc, nmsg) if field in own else (sloc, smsg)
                    if item not in P:
                        P.append(item)
                continue
            if spec.config_template:
                continue
            for req in ("interface", "virtual_router_id"):
                if getattr(inst, req) is None:
                    P.append((where + (req,), f"required (node {node}, instance {iname})"))
            if inst.interface and inst.interface not in spec.interfaces:
                P.append((where + ("interface",), f"node {node} has no interface {inst.interface!r}; "
                                                  f"it has: {', '.join(spec.interfaces) or 'none'}"))
            if not inst.virtual_ipaddress:
                P.append((where + ("virtual_ipaddress",), "at least one VIP is required"))
            for i, vip in enumerate(inst.virtual_ipaddress):
                m = LAB_REF.match(parse_vip(vip)["address"])
                if m:
                    net = t.networks.get(m["net"])
                    if net is None:
                        P.append((where + ("virtual_ipaddress", i), f"unknown network {m['net']!r} in {vip!r}"))
                        continue
                    size = 2 ** (32 - net.prefix())
                    if not size // 2 <= int(m["host"]) < size - 1:
                        P.append((where + ("virtual_ipaddress", i),
                                  f"{vip!r}: VIP host must be in {size // 2}..{size - 2} (the upper half of the "
                                  f"/{net.prefix()} subnet, outside the range Docker hands out)"))
            for j, tr in enumerate(inst.track_script):
                if tr.name not in scripts:
                    P.append((where + ("track_script", j), f"no vrrp_script named {tr.name!r}; "
                                                           f"declared: {', '.join(scripts) or 'none'}"))
            for j, tr in enumerate(inst.track_file):
                if tr.name not in tfiles:
                    P.append((where + ("track_file", j), f"no track_file named {tr.name!r}; "
                                                         f"declared (vrrp_track_files): {', '.join(tfiles) or 'none'}"))
            for j, tr in enumerate(inst.track_interface):
                if tr.name not in spec.interfaces:
                    P.append((where + ("track_interface", j), f"node {node} has no interface {tr.name!r}; "
                                                              f"it has: {', '.join(spec.interfaces)}"))
            for key, addrs in (("unicast_src_ip", [inst.unicast_src_ip] if inst.unicast_src_ip else []),
                               ("unicast_peer", inst.unicast_peer)):
                for j, a in enumerate(addrs):
                    m = LAB_REF.match(a)
                    loc = where + ((key,) if key == "unicast_src_ip" else (key, j))
                    if m and m["net"] not in t.networks:
                        P.append((loc, f"unknown network {m['net']!r} in {a!r}; declared: {', '.join(t.networks)}"))
                    elif not m:
                        try:
                            ipaddress.ip_address(a)
                        except ValueError:
                            P.append((loc, f"{a!r} is neither an IP address nor <network>+<host> (e.g. lan+11)"))
        mine = set(names) - {n for n, v in spec.vrrp_instances.items() if v is None}
        for gname, g in spec.vrrp_sync_groups.items():
            for j, member in enumerate(g.group):
                if member not in mine:
                    P.append((base + ("vrrp_sync_groups", gname, "group", j),
                              f"node {node} has no vrrp_instance {member!r}; it has: {', '.join(sorted(mine)) or 'none'}"))
    hosts = t.host_numbers()
    for (node, itf), h in hosts.items():
        net = t.networks[t.nodes[node].interfaces[itf].network] if t.nodes[node].interfaces[itf].network in t.networks else None
        if net is not None and not 2 <= h < 2 ** (32 - net.prefix()) // 2:
            P.append((("nodes", node, "interfaces", itf, "host"),
                      f"host {h} is outside the lower half of the /{net.prefix()} subnet reserved for nodes"))
    return P


def load(path: str | Path) -> Topology:
    """Load and validate a topology YAML file.

    Raises:
        TopologyError: unreadable file, bad YAML (with line), or invalid fields (with line and path).
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise TopologyError(str(p), [("", None, f"cannot read: {e.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark, ctx = getattr(e, "problem_mark", None), getattr(e, "context_mark", None)
        line = mark.line + 1 if mark else None
        where = (f" ({e.context} at line {ctx.line + 1})"
                 if ctx is not None and getattr(e, "context", None) and ctx.line + 1 != line else "")
        raise TopologyError(str(p), [("", line, f"not valid YAML: {getattr(e, 'problem', e)}{where}")]) from None
    topo = validate(data, str(p), text)
    return topo


def find(name_or_path: str, search_dirs: list[Path]) -> Path:
    """Resolve a topology name (``two_node``) or path to a file.

    Looks for ``NAME``, ``NAME.yaml``, ``NAME.yml`` in each of ``search_dirs``.
    Raises TopologyError listing what was tried and what exists.
    """
    import difflib

    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or len(p.parts) > 1:
        if p.is_file():
            return p
        raise TopologyError(name_or_path, [("", None, "no such file (a topology path must name an existing "
                                                      "YAML file; a bare name is looked up in the topology folders)")])
    dirs = list(dict.fromkeys(d.resolve() for d in search_dirs))
    for d in dirs:
        for cand in (d / name_or_path, d / f"{name_or_path}.yaml", d / f"{name_or_path}.yml"):
            if cand.is_file():
                return cand
    known = sorted({f.stem for d in dirs if d.is_dir() for f in d.glob("*.y*ml")})
    near = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    raise TopologyError(name_or_path, [("", None, f"no such topology; {hint}known: {', '.join(known) or 'none'} "
                                                  f"(searched {', '.join(str(d) for d in dirs)})")])


# ---------------------------------------------------------------- Python builder
class TopologyBuilder:
    """Build a topology in Python; the same keywords and merge rules as the YAML files.

    Example (equivalent to ``topologies/two_node.yaml``)::

        t = (TopologyBuilder("two_node")
             .network("lan")
             .instance("VI_1", state="BACKUP", interface="eth0", virtual_router_id=51,
                       advert_int=1, virtual_ipaddress=["lan+200/24"])
             .node("a", eth0="lan", instances={"VI_1": {"priority": 150}})
             .node("b", eth0="lan", instances={"VI_1": {"priority": 100}})
             .client("client", eth0="lan")
             .build())

    Every method returns the builder; :meth:`build` validates and raises
    :class:`lab.errors.TopologyError` exactly like :func:`load` (source ``"<builder>"``).
    """

    def __init__(self, name: str, description: str = ""):
        self.data: dict[str, Any] = {"name": name, "description": description, "networks": {}, "nodes": {}}

    def network(self, name: str, subnet: Optional[str] = None, prefixlen: Optional[int] = None) -> "TopologyBuilder":
        spec: dict[str, Any] = {}
        if subnet:
            spec["subnet"] = subnet
        if prefixlen:
            spec["prefixlen"] = prefixlen
        self.data["networks"][name] = spec
        return self

    def global_defs(self, **kw: Any) -> "TopologyBuilder":
        self.data.setdefault("global_defs", {}).update(kw)
        return self

    def script(self, name: str, **kw: Any) -> "TopologyBuilder":
        """A shared ``vrrp_script`` (fields of :class:`VrrpScript`)."""
        self.data.setdefault("vrrp_scripts", {})[name] = kw
        return self

    def track_file(self, name: str, **kw: Any) -> "TopologyBuilder":
        """A shared ``track_file`` (fields of :class:`VrrpTrackFile`)."""
        self.data.setdefault("vrrp_track_files", {})[name] = kw
        return self

    def instance(self, name: str, **kw: Any) -> "TopologyBuilder":
        """A shared ``vrrp_instance`` (fields of :class:`VrrpInstance`)."""
        self.data.setdefault("vrrp_instances", {})[name] = kw
        return self

    def sync_group(self, name: str, group: list[str], **kw: Any) -> "TopologyBuilder":
        self.data.setdefault("vrrp_sync_groups", {})[name] = {"group": group, **kw}
        return self

    def node(self, name: str, kind: str = "keepalived", *, instances: Optional[dict[str, Any]] = None,
             scripts: Optional[dict[str, Any]] = None, hosts: Optional[dict[str, int]] = None,
             **fields_or_interfaces: Any) -> "TopologyBuilder":
        """A node. Keyword arguments naming an interface map it to a network (``eth0="lan"``);
        other keywords are :class:`NodeSpec` fields (``config_template=...``, ``global_defs={...}``)."""
        spec: dict[str, Any] = {"kind": kind, "interfaces": {}}
        for k, v in fields_or_interfaces.items():
            if k in NodeSpec.model_fields:
                spec[k] = v
            else:
                spec["interfaces"][k] = {"network": v, **({"host": hosts[k]} if hosts and k in hosts else {})}
        if instances:
            spec["vrrp_instances"] = instances
        if scripts:
            spec["vrrp_scripts"] = scripts
        self.data["nodes"][name] = spec
        return self

    def client(self, name: str, **interfaces: str) -> "TopologyBuilder":
        return self.node(name, "client", **interfaces)

    def build(self) -> Topology:
        """Validate (raises TopologyError naming the field path, value and what is allowed)."""
        return validate(self.data, "<builder>")
