"""The lab's own schema: networks, interfaces, nodes and the whole :class:`Topology` (pure: no Docker).

A topology declares networks, nodes (keepalived nodes and clients), VRRP
instances and vrrp_scripts, using keepalived's own keyword names; the keyword
models themselves (:class:`~lab.kaconf.schema.VrrpInstance` ...) live in
:mod:`lab.kaconf.schema`. Shared ``vrrp_instances`` / ``vrrp_scripts`` /
``global_defs`` at the top level apply to every keepalived node; a node's own
entries are merged over them field by field (:meth:`Topology.instances` ...).

Addresses inside a lab subnet are written ``<network>+<host>``: ``lan+200`` is
host 200 of network ``lan`` (:func:`resolve_address` turns it into an address
once the lab has allocated the subnet). Docker hands out only the lower half of
each subnet, so VIPs must use the upper half.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Optional

from pydantic import Field, PrivateAttr, field_validator, model_validator

from ..kaconf.schema import (LAB_REF, GlobalDefs, StrictModel, VrrpInstance, VrrpScript, VrrpSyncGroup,
                             VrrpTrackFile)
from ..releases import Release, UnknownRelease, release

__all__ = ["NAME", "NetworkSpec", "InterfaceSpec", "NodeSpec", "Topology", "resolve_address"]

NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"


def _release_name(v: Any) -> Optional[str]:
    """A ``keepalived:`` value as the version it names (``sid`` -> ``2.3.4``); a YAML float (``keepalived: 2.3``
    unquoted) or an unknown name is an error listing the releases."""
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"keepalived: {v!r} must be a release written as a string, e.g. \"2.3.4\" (quoted) or sid")
    if not v.strip():
        raise ValueError("keepalived: is empty: name a release (e.g. \"2.3.4\" or sid), or leave the key out to use "
                         "the topology's, the run's or the default release")
    try:
        return release(v).version
    except UnknownRelease as e:
        raise ValueError(str(e)) from None


class NetworkSpec(StrictModel):
    """A lab network (one Docker bridge). ``subnet`` None means: allocate from the lab's pool.

    ``subnet6``: the network also carries IPv6 on this subnet (a /48../120, e.g. a ULA ``fd00:6b61:1::/64``);
    each node's interface then has ``<subnet6> + host`` besides its IPv4 address (same host number) and its
    link-local address, which VRRPv3 over IPv6 sends from (RFC 5798 §5.1.2.1). IPv6 VIPs are written as
    literal addresses inside it. None: IPv4 only.
    """

    subnet: Optional[ipaddress.IPv4Network] = None
    prefixlen: int = Field(24, ge=16, le=28, description="size of an allocated subnet")
    subnet6: Optional[ipaddress.IPv6Network] = None

    @field_validator("subnet6")
    @classmethod
    def _subnet6(cls, v: Optional[ipaddress.IPv6Network]) -> Optional[ipaddress.IPv6Network]:
        if v is not None and not 48 <= v.prefixlen <= 120:
            raise ValueError(f"subnet6 {v}: use a /48 to /120 (e.g. fd00:6b61:1::/64)")
        if v is not None and (v.is_link_local or v.is_multicast or v.is_loopback):
            raise ValueError(f"subnet6 {v} is link-local, multicast or loopback; use a unique local (fd00::/8) "
                             f"or global subnet")
        return v

    def prefix(self) -> int:
        return self.subnet.prefixlen if self.subnet else self.prefixlen


class InterfaceSpec(StrictModel):
    """A node's interface on one lab network. ``host`` is the host number in the subnet (auto if None)."""

    network: str
    host: Optional[int] = Field(None, ge=1)


#: capabilities every node gets by default: NET_ADMIN (addresses, routes, iptables), NET_RAW (keepalived's
#: VRRP socket), NET_BROADCAST
LAB_CAPS = ("NET_ADMIN", "NET_RAW", "NET_BROADCAST")
#: capabilities(7), Linux 6.x
LINUX_CAPS = frozenset("""CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE
SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL
SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE ALL""".split())


class Limits(StrictModel):
    """What one node's container may use (Docker's cgroup limits, docker run(1)). A runaway track script
    (a fork loop spawned 1,608 processes and 1.5 GiB per node) then stays inside its node. The
    defaults leave keepalived, nginx and ordinary check scripts far below every limit."""

    memory_mib: int = Field(256, ge=32, le=65536, description="memory limit, MiB (swap included)")
    pids: int = Field(512, ge=64, le=65536, description="most processes and threads at once")
    cpus: float = Field(1.0, gt=0, le=64, description="CPU share, in cores")
    log_mib: int = Field(10, ge=1, le=1024, description="container log file size, MiB; two files rotate")


class NodeSpec(StrictModel):
    """One container. ``kind`` keepalived runs keepalived (+nginx); client runs only tools.

    ``config_template``: path (relative to the topology file) of a user's own
    keepalived.conf, rendered with Jinja2 and the lab's facts, used instead of a generated one.

    ``config_file``: path (relative to the topology file, or absolute) of a user's own keepalived.conf
    run unchanged, with every file it includes (:mod:`lab.topology.user_config`); the node's
    instances, scripts, track files and sync groups are read from it (not written in the topology).
    ``config_id``: keepalived's config id for its ``@ID`` lines (``-i``); default the node's name.
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
    config_file: Optional[str] = None
    config_id: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    #: Debian packages the node's scripts need (e.g. haproxy): the node runs a derived image with them installed
    #: (lab.runtime.images.ensure_extra_image, tagged by the hash of the node image and the package set)
    packages: list[str] = Field(default_factory=list)
    #: the keepalived release the node runs (a version such as ``2.3.4``, or its Debian suite ``sid``;
    #: lab.releases); unset: the topology's ``keepalived``, else the run's (``--lab-keepalived``), else 2.2.7
    keepalived: Optional[str] = None
    limits: Limits = Field(default_factory=Limits)
    #: Linux capabilities added to / dropped from Docker's default set (capabilities(7) names, without
    #: CAP_). The lab needs NET_ADMIN (its own network set-up and faults); keepalived needs NET_RAW for
    #: its VRRP socket, which ``cap_drop: [NET_RAW]`` takes away to reproduce "NET_ADMIN alone".
    cap_add: list[str] = Field(default_factory=lambda: list(LAB_CAPS))
    cap_drop: list[str] = Field(default_factory=list)

    @field_validator("packages")
    @classmethod
    def _packages(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.match(r"^[a-z0-9][a-z0-9+.-]+$", str(p)):
                raise ValueError(f"{p!r} is not a Debian package name (Debian Policy §5.6.1: lower case letters, "
                                 f"digits, + - .), e.g. haproxy")
        return list(dict.fromkeys(v))

    @field_validator("keepalived", mode="before")
    @classmethod
    def _release(cls, v: Any) -> Optional[str]:
        return _release_name(v)

    @field_validator("cap_add", "cap_drop")
    @classmethod
    def _capabilities(cls, v: list[str], info) -> list[str]:
        out = []
        for c in v:
            name = str(c).upper().removeprefix("CAP_")
            if name not in LINUX_CAPS:
                raise ValueError(f"{c!r} is not a Linux capability (capabilities(7)); e.g. NET_ADMIN, NET_RAW")
            out.append(name)
        if info.field_name == "cap_drop" and "NET_ADMIN" in out:
            raise ValueError("NET_ADMIN cannot be dropped: the lab needs it (interface set-up, network faults)")
        if info.field_name == "cap_add" and "NET_ADMIN" not in out:
            raise ValueError("cap_add must keep NET_ADMIN: the lab needs it (interface set-up, network faults)")
        return out

    @model_validator(mode="after")
    def _one_config_source(self) -> "NodeSpec":
        if self.config_file and self.config_template:
            raise ValueError("config_file and config_template both given: use config_file for a keepalived.conf "
                             "run as it is, config_template for one the lab fills in (Jinja2)")
        if self.config_file and self.kind != "keepalived":
            raise ValueError("config_file is for keepalived nodes")
        if self.config_id and not self.config_file:
            raise ValueError("config_id selects the @ID lines of a config_file; this node has none")
        return self

    @model_validator(mode="after")
    def _drop_wins(self) -> "NodeSpec":
        """A capability dropped is taken out of the default cap_add (Docker would add it back: an added
        capability wins over a dropped one); named in both by the user, it is an error."""
        both = sorted(set(self.cap_add) & set(self.cap_drop))
        if both and "cap_add" in self.model_fields_set:
            raise ValueError(f"{', '.join(both)} is in both cap_add and cap_drop; keep it in one")
        if both:
            self.cap_add = [c for c in self.cap_add if c not in both]
        return self

    def runs_nginx(self) -> bool:
        return self.nginx if self.nginx is not None else self.kind == "keepalived"


class Topology(StrictModel):
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
    #: the keepalived release of every node that names none (lab.releases; unset: the run's, else 2.2.7)
    keepalived: Optional[str] = None
    source: Optional[str] = Field(None, exclude=True)
    _node_configs: dict[str, Any] = PrivateAttr(default_factory=dict)
    _subnet_moves: list[Any] = PrivateAttr(default_factory=list)

    @property
    def node_configs(self) -> dict[str, Any]:
        """{node: lab.topology.user_config.NodeConfig} for nodes with a config_file (set by the loader)."""
        return self._node_configs

    @property
    def subnet_moves(self) -> list[Any]:
        """The production subnets this topology runs on lab subnets instead (lab.topology.subnet_map.SubnetMove;
        set by lab.topology.from_configs), with the configs' addresses in them rewritten."""
        return self._subnet_moves

    @field_validator("keepalived", mode="before")
    @classmethod
    def _release(cls, v: Any) -> Optional[str]:
        return _release_name(v)

    def release_of(self, node: str, default: Optional[str] = None) -> Release:
        """The keepalived release ``node`` runs: its own ``keepalived``, else the topology's, else ``default``
        (the run's, ``--lab-keepalived``), else lab.releases.DEFAULT_VERSION. Raises UnknownRelease on a bad
        ``default``."""
        return release(self.nodes[node].keepalived or self.keepalived or default)

    def releases(self, default: Optional[str] = None) -> dict[str, Release]:
        """{node: Release} for every node (clients too: their tools come from the same image)."""
        return {n: self.release_of(n, default) for n in self.nodes}

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
        shared = [] if spec.config_file else list(self.vrrp_instances)     # a config_file node has only its own
        names = shared + [n for n in spec.vrrp_instances if n not in shared]
        out = {}
        for name in names:
            if name in spec.vrrp_instances and spec.vrrp_instances[name] is None:
                continue  # node opts out of a shared instance
            merged = {**self.vrrp_instances.get(name, {}), **(spec.vrrp_instances.get(name) or {})}
            out[name] = VrrpInstance.model_validate(merged)
        return out

    def scripts(self, node: str) -> dict[str, VrrpScript]:
        spec = self.nodes[node]
        shared = {} if spec.config_file else self.vrrp_scripts
        names = list(shared) + [n for n in spec.vrrp_scripts if n not in shared]
        return {n: VrrpScript.model_validate({**shared.get(n, {}), **spec.vrrp_scripts.get(n, {})})
                for n in names}

    def track_files(self, node: str) -> dict[str, VrrpTrackFile]:
        """The node's ``track_file`` definitions (shared merged with the node's own)."""
        spec = self.nodes[node]
        shared = {} if spec.config_file else self.vrrp_track_files
        names = list(shared) + [n for n in spec.vrrp_track_files if n not in shared]
        return {n: VrrpTrackFile.model_validate({**shared.get(n, {}), **spec.vrrp_track_files.get(n, {})})
                for n in names}

    def sync_groups(self, node: str) -> dict[str, VrrpSyncGroup]:
        """The node's sync groups: shared ones whose members all exist on the node, then the node's own."""
        spec = self.nodes[node]
        if spec.kind != "keepalived":
            return {}
        mine = self.instances(node)
        out = {k: g for k, g in self.vrrp_sync_groups.items()
               if all(m in mine for m in g.group) and not spec.config_file}
        out.update(spec.vrrp_sync_groups)
        return out

    def global_defs_for(self, node: str) -> GlobalDefs:
        if self.nodes[node].config_file:          # read from the node's own file (router_id as keepalived does)
            return GlobalDefs.model_validate({"router_id": node, **self.nodes[node].global_defs})
        merged = {"router_id": node, **self.global_defs, **self.nodes[node].global_defs}
        return GlobalDefs.model_validate(merged)

    def instance_names(self) -> list[str]:
        seen: list[str] = []
        for n in self.keepalived_nodes():
            for name in self.instances(n):
                if name not in seen:
                    seen.append(name)
        return seen

    def addresses6(self, node: str) -> dict[str, ipaddress.IPv6Address]:
        """``node``'s IPv6 address per interface on a network with ``subnet6``: ``subnet6 + host`` (the same
        host number as its IPv4 address). {} when none of its networks has IPv6."""
        return _addresses6(self, node)

    def gateway_host(self, network: str) -> int:
        """The host number the lab gives the engine as ``network``'s gateway (Docker's IPAM reserves it; the
        bridge holds no IPv4 address, so nothing answers there): 1, unless a node has host 1 there (a config's
        ``unicast_src_ip`` on ``.1``); then the highest host number of the subnet that no node and no VIP uses."""
        hosts = self.host_numbers()
        used = {h for (n, itf), h in hosts.items() if self.nodes[n].interfaces[itf].network == network}
        if 1 not in used:
            return 1
        net = self.networks[network]
        size = 2 ** (32 - net.prefix())
        for n in self.keepalived_nodes():
            for inst in self.instances(n).values():
                for v in inst.virtual_ipaddress:
                    a = v.split()[0].split("/")[0]
                    m = LAB_REF.match(a)
                    if m and m["net"] == network:
                        used.add(int(m["host"]))
                    elif not m and net.subnet is not None and ":" not in a:
                        try:
                            ip = ipaddress.IPv4Address(a)
                        except ValueError:
                            continue
                        if ip in net.subnet:
                            used.add(int(ip) - int(net.subnet.network_address))
        return next(h for h in range(size - 2, 1, -1) if h not in used)

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



def _addresses6(topo: "Topology", node: str) -> dict[str, ipaddress.IPv6Address]:
    hosts = topo.host_numbers()
    out = {}
    for itf, i in topo.nodes[node].interfaces.items():
        net = topo.networks.get(i.network)
        if net is not None and net.subnet6 is not None:
            out[itf] = net.subnet6.network_address + hosts[(node, itf)]
    return out


def resolve_address(addr: str, subnets: dict[str, ipaddress.IPv4Network]) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Turn ``lan+200`` (or a literal IPv4 or IPv6 address) into an address, given the lab's subnets."""
    m = LAB_REF.match(addr)
    if not m:
        return ipaddress.ip_address(addr)
    net = subnets[m["net"]]
    return net.network_address + int(m["host"])

