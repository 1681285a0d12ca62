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
    """``vrrp_script`` block (man 5 keepalived.conf, VRRP script section).

    interval/timeout in seconds; weight in -253..253 (0 = failure puts the
    instance in FAULT); ``reverse`` inverts the weight's sense (added on failure).
    """

    script: str
    interval: float = Field(1, gt=0)
    timeout: Optional[float] = Field(None, gt=0)
    weight: int = Field(0, ge=-253, le=253)
    reverse: bool = False
    rise: int = Field(1, ge=1)
    fall: int = Field(1, ge=1)
    init_fail: bool = False
    user: Optional[str] = None


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
    virtual_ipaddress entries use keepalived's syntax
    ``<addr>[/prefix] [dev IF] [label L] [scope S] [brd B]`` where ``<addr>`` may be ``net+host``.
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
    """``vrrp_sync_group``: instances that change state together."""

    group: list[str]
    notify_master: Optional[str] = None
    notify_backup: Optional[str] = None
    notify_fault: Optional[str] = None
    smtp_alert: bool = False


class GlobalDefs(_Strict):
    """``global_defs`` block keywords the lab supports (man 5 keepalived.conf, GLOBAL DEFINITIONS)."""

    router_id: Optional[str] = None
    notification_email: list[str] = Field(default_factory=list)
    notification_email_from: Optional[str] = None
    smtp_server: Optional[str] = None
    smtp_connect_timeout: Optional[int] = None
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    vrrp_iptables: Optional[Union[bool, str]] = None
    vrrp_garp_interval: Optional[float] = None
    vrrp_gna_interval: Optional[float] = None
    enable_script_security: bool = False
    script_user: Optional[str] = None


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
VIP_OPTS = {"dev", "label", "scope", "brd", "broadcast"}


def parse_vip(entry: str) -> dict[str, Any]:
    """Split a virtual_ipaddress entry into ``{"address", "prefix", "dev", "label", ...}``.

    ``prefix`` is None when the entry has none (keepalived then uses /32, man 5
    keepalived.conf, virtual_ipaddress). Raises ValueError with the allowed form.
    """
    parts = entry.split()
    if not parts:
        raise ValueError("empty virtual_ipaddress entry")
    addr, _, prefix = parts[0].partition("/")
    out: dict[str, Any] = {"address": addr, "prefix": int(prefix) if prefix.isdigit() else None}
    if prefix and not prefix.isdigit():
        raise ValueError(f"bad prefix in {entry!r}: use <address>/<0-32>")
    if not LAB_REF.match(addr):
        try:
            ipaddress.IPv4Address(addr)
        except ValueError:
            raise ValueError(f"{addr!r} is neither an IPv4 address nor <network>+<host> (e.g. lan+200)") from None
    rest = parts[1:]
    if len(rest) % 2:
        raise ValueError(f"{entry!r}: options come in pairs (dev IF, label L, scope S, brd B)")
    for k, v in zip(rest[::2], rest[1::2]):
        if k not in VIP_OPTS:
            raise ValueError(f"{entry!r}: unknown option {k!r}; allowed: {', '.join(sorted(VIP_OPTS))}")
        out[k] = v
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


def _fmt_pydantic(err: ValidationError, prefix: tuple = ()) -> list[tuple[tuple, str]]:
    out = []
    for e in err.errors():
        loc = prefix + tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check spelling; see lab/topology.py for the allowed keywords)"
        elif "input" in e and not isinstance(e["input"], (dict, list)):
            msg = f"{msg} (got {e['input']!r})"
        out.append((loc, msg))
    return out


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
        problems = _fmt_pydantic(e)
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
    for node, spec in t.nodes.items():
        base = ("nodes", node)
        for itf_name, itf in spec.interfaces.items():
            if itf.network not in t.networks:
                P.append((base + ("interfaces", itf_name, "network"),
                          f"unknown network {itf.network!r}; declared: {', '.join(t.networks)}"))
        if not spec.interfaces:
            P.append((base + ("interfaces",), "a node needs at least one interface, e.g. eth0: {network: lan}"))
        try:
            t.global_defs_for(node)
        except ValidationError as e:
            P += _fmt_pydantic(e, base + ("global_defs",))
        if spec.kind != "keepalived":
            continue
        try:
            scripts = t.scripts(node)
        except ValidationError as e:
            P += _fmt_pydantic(e, base + ("vrrp_scripts",))
            scripts = {}
        names = list(t.vrrp_instances) + [n for n in spec.vrrp_instances if n not in t.vrrp_instances]
        for iname in names:
            where = base + ("vrrp_instances", iname) if iname in spec.vrrp_instances else ("vrrp_instances", iname)
            if iname in spec.vrrp_instances and spec.vrrp_instances[iname] is None:
                continue
            merged = {**t.vrrp_instances.get(iname, {}), **(spec.vrrp_instances.get(iname) or {})}
            try:
                inst = VrrpInstance.model_validate(merged)
            except ValidationError as e:
                P += _fmt_pydantic(e, where)
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
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise TopologyError(str(p), [("", line, f"not valid YAML: {getattr(e, 'problem', e)}")]) from None
    topo = validate(data, str(p), text)
    return topo


def find(name_or_path: str, search_dirs: list[Path]) -> Path:
    """Resolve a topology name (``two_node``) or path to a file.

    Looks for ``NAME``, ``NAME.yaml``, ``NAME.yml`` in each of ``search_dirs``.
    Raises TopologyError listing what was tried and what exists.
    """
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    tried = []
    for d in search_dirs:
        for cand in (d / name_or_path, d / f"{name_or_path}.yaml", d / f"{name_or_path}.yml"):
            tried.append(str(cand))
            if cand.is_file():
                return cand
    known = sorted({f.stem for d in search_dirs if d.is_dir() for f in d.glob("*.y*ml")})
    raise TopologyError(name_or_path, [("", None, f"no such topology; known: {', '.join(known) or 'none'} "
                                                  f"(searched {', '.join(str(d) for d in search_dirs)})")])
