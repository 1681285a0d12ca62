"""Each node's view of each VRRP instance, as the election model needs it (pure).

:func:`specs_from_topology` builds ``{instance: {node: InstanceSpec}}`` from a lab topology's
merged instances and scripts (duck-typed: any object with ``keepalived_nodes()``,
``instances(node)`` and ``scripts(node)``).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Optional, Union

from ..kaconf.schema import LAB_REF, instance_family, parse_vip
from ..priority import effective_priority  # noqa: F401 (re-exported)
from ..releases import DEFAULT_VERSION
from .groups import sync_congruence, vrid_sharing
from .trackers import FILE_TRACK, IFACE_TRACK, TrackSpec, instance_tracks  # noqa: F401 (re-exported)
from ..timers import effective_advert_int, master_down_interval, skew_time
from .rules import R_CLAMP, R_IFACE, R_MDI, R_NOPREEMPT, R_OWNER, R_PREEMPT_DELAY, R_REVERSE, R_WEIGHT0, R_WEIGHT_NEG, R_WEIGHT_POS  # noqa: F401 (cited in docstrings)

@dataclass(frozen=True)
class InstanceSpec:
    """One node's view of one VRRP instance (units: seconds; priority 1..255)."""

    node: str
    instance: str
    priority: int = 100
    state: str = "BACKUP"
    nopreempt: bool = False
    preempt_delay: float = 0.0
    advert_int: float = 1.0
    version: int = 2
    vrid: Optional[int] = None
    primary_ip: Optional[ipaddress.IPv4Address] = None
    tracks: tuple[TrackSpec, ...] = ()
    interface: Optional[str] = None
    #: (auth_type, the first 8 characters of auth_pass) or None: adverts are compared on it (R_DISCARD)
    auth: Optional[tuple[str, str]] = None
    #: the virtual_ipaddress addresses (no prefix; the lab's ``net+host`` form as written) or None when
    #: unknown: adverts are compared on them (R_ADDR_LIST)
    vips: Optional[frozenset[str]] = None
    #: the vrrp_sync_group the instance is a member of on this node (R_SYNC_FAULT), or None
    sync_group: Optional[str] = None
    #: features of this instance the model has no rule for (each a sentence): the judge cannot judge it
    unmodelled: tuple[str, ...] = ()
    #: 6 for an instance whose (first) VIP is IPv6 (VRRPv3 over IPv6, RFC 5798), else 4: adverts of one VRID
    #: in the two families are two virtual routers (RFC 5798 §5.2.3)
    family: int = 4
    #: the keepalived version the node runs (lab.releases): the rules of rules.RELEASE_RANGES depend on it
    release: str = DEFAULT_VERSION

    @property
    def owner(self) -> bool:
        """Address owner: configured priority 255 (R_OWNER)."""
        return self.priority == 255

    @property
    def preempts(self) -> bool:
        """nopreempt only works with initial state BACKUP (R_NOPREEMPT)."""
        return not (self.nopreempt and self.state == "BACKUP")

    @property
    def effective_preempt_delay(self) -> float:
        """preempt_delay only works with initial state BACKUP (R_PREEMPT_DELAY)."""
        return self.preempt_delay if self.state == "BACKUP" else 0.0

    def effective_priority(self, script_ok: Mapping[str, bool]) -> int:
        """Configured priority plus tracker adjustments, clamped to 1..254; 255 stays 255 (R_CLAMP, R_OWNER).

        Args:
            script_ok: script name -> current result (missing: OK unless the script has init_fail).
        """
        return effective_priority(self.priority, [t.adjustment(script_ok.get(t.script, t.initial()))
                                                  for t in self.tracks])

    def faulted(self, script_ok: Mapping[str, bool], interfaces_down: Iterable[str] = ()) -> bool:
        """FAULT by a weight-0 tracker (R_WEIGHT0) or the instance's interface being down (R_IFACE)."""
        if self.interface and self.interface in set(interfaces_down):
            return True
        return any(t.faults(script_ok.get(t.script, t.initial())) for t in self.tracks)

    def master_down_interval(self, priority: Optional[int] = None) -> float:
        """Seconds (R_MDI); ``priority`` defaults to the configured one."""
        return master_down_interval(priority or self.priority, self.advert_int, self.version)

    def skew_time(self, priority: Optional[int] = None) -> float:
        """Seconds (R_MDI)."""
        return skew_time(priority or self.priority, self.advert_int, self.version)


def specs_from_topology(topo: Any, addresses: Optional[Mapping[str, Mapping[str, object]]] = None
                        ) -> dict[str, dict[str, InstanceSpec]]:
    """{instance: {node: InstanceSpec}} from a topology's merged instances and scripts.

    Args:
        addresses: {node: {interface: IPv4Address}} (a running lab's ``Node.addresses``); gives each
            instance's primary IP for the equal-priority rule (R_EQUAL_MASTERS). None: unknown.
    """
    out: dict[str, dict[str, InstanceSpec]] = {}
    subnets = _subnets(topo, addresses)
    for node in topo.keepalived_nodes():
        scripts = topo.scripts(node)
        files = topo.track_files(node) if callable(getattr(topo, "track_files", None)) else {}
        groups = topo.sync_groups(node) if callable(getattr(topo, "sync_groups", None)) else {}
        instances = topo.instances(node)
        member_of = {m: (g, grp) for g, grp in groups.items() for m in grp.group}
        for name, inst in instances.items():
            group = member_of.get(name)
            owner_in_group = bool(group) and any(instances[m].priority == 255 for m in group[1].group if m in instances)
            tracks, unmodelled = instance_tracks(name, inst, scripts, files, group, owner_in_group)
            state, nopreempt, delay = inst.state, inst.nopreempt, inst.preempt_delay or 0.0
            auth = (inst.authentication.auth_type, inst.authentication.auth_pass[:8]) if inst.authentication else None
            if _strict(topo, node):
                # man 5 keepalived.conf vrrp_strict: "Authentication is not supported", "State MASTER can be
                # configured if and only if priority is 255", "Preempt delay is not supported"; keepalived 2.2.7
                # ignores the authentication ("Strict mode does not support authentication. Ignoring.") and
                # starts such a MASTER as BACKUP (lint rule strict-conflict); what it does with a preempt_delay
                # is not measured: not modelled
                auth = None
                if state == "MASTER" and inst.priority != 255:
                    state = "BACKUP"
                if delay:
                    unmodelled = list(unmodelled) + [f"vrrp_strict with preempt_delay on {node} ({name}): strict "
                                                     f"mode does not support it (man 5 keepalived.conf)"]
            if group and state == "MASTER" and inst.priority != 255:
                # keepalived 2.2.7 clears nopreempt/preempt_delay for state MASTER (vrrp.c vrrp_complete_instance),
                # then starts a sync group's non-owner members as BACKUP (vrrp.c vrrp_complete_init)
                state, nopreempt, delay = "BACKUP", False, 0.0
            # an instance with IPv6 VIPs and no version runs VRRPv3 (keepalived vrrp.c vrrp_complete_instance:
            # family AF_INET6 and no version -> VRRP_VERSION_3); an explicit version 2 stays VRRPv2 over IPv6
            # unless strict mode, outside both RFCs (VRRPv2 is IPv4 only, RFC 3768 §1): not modelled
            family = instance_family(inst.virtual_ipaddress)
            six = family == 6
            ver = inst.version or (3 if six else 2)
            if six and ver == 2:
                unmodelled = list(unmodelled) + [f"{name} on {node}: version 2 with IPv6 VIPs (keepalived sends "
                                                 f"VRRPv2 over IPv6 unless vrrp_strict; RFC 3768 defines VRRPv2 for "
                                                 f"IPv4 only)"]
            startup_delay = _startup_delay(topo, node)
            if startup_delay:
                unmodelled = list(unmodelled) + [f"vrrp_startup_delay {startup_delay:g} s on {node} (global_defs): its "
                                                 f"instances start that long after keepalived, which the model "
                                                 f"starts them with (man 5 keepalived.conf)"]
            ip = None
            if addresses and node in addresses and inst.interface in addresses[node] \
                    and not six:      # IPv6: the link-local (unknown here)
                ip = ipaddress.IPv4Address(str(addresses[node][inst.interface]))
            out.setdefault(name, {})[node] = InstanceSpec(
                node=node, instance=name, priority=inst.priority, state=state, nopreempt=nopreempt,
                preempt_delay=delay, advert_int=effective_advert_int(inst.advert_int, ver), version=ver,
                vrid=inst.virtual_router_id, primary_ip=ip, tracks=tuple(tracks), interface=inst.interface,
                auth=auth,
                vips=frozenset(_vip_address(v, subnets) for v in inst.virtual_ipaddress),
                sync_group=group[0] if group else None, unmodelled=tuple(unmodelled),
                family=family, release=_release(topo, node))
    return sync_congruence(vrid_sharing(out, topo))


def _release(topo: Any, node: str) -> str:
    """The keepalived version ``node`` runs: the topology's ``release_of`` (a RunningView wraps the topology),
    else the default release."""
    t = getattr(topo, "topo", topo)
    of = getattr(t, "release_of", None)
    return of(node).version if callable(of) else DEFAULT_VERSION


def _vip_address(entry: str, subnets: Mapping[str, ipaddress.IPv4Network]) -> str:
    """The address of a virtual_ipaddress entry as keepalived compares it (no prefix, canonical form);
    the lab's ``net+host`` resolved when ``net``'s subnet is known, else kept as written."""
    addr = parse_vip(entry)["address"]
    m = LAB_REF.match(addr)
    if m:
        return str(subnets[m["net"]].network_address + int(m["host"])) if m["net"] in subnets else addr
    return str(ipaddress.ip_address(addr))


def _subnets(topo: Any, addresses: Optional[Mapping[str, Mapping[str, object]]]) -> dict[str, ipaddress.IPv4Network]:
    """{network: subnet} from the running nodes' addresses and the topology's prefix lengths."""
    t = getattr(topo, "topo", topo)
    out: dict[str, ipaddress.IPv4Network] = {}
    for node, ifaces in (addresses or {}).items():
        for iface, ip in ifaces.items():
            try:
                net = t.nodes[node].interfaces[iface].network
                out[net] = ipaddress.ip_network(f"{ip}/{t.networks[net].prefix()}", strict=False)
            except (AttributeError, KeyError, TypeError, ValueError):
                continue
    return out


class RunningView:
    """A topology whose nodes with their own keepalived.conf (``config_template``) are read from the
    config that runs: ``configs`` {node: rendered keepalived.conf text}. Other nodes, and a config
    that cannot be read, use the topology's own instances and scripts. Duck-types the topology for
    :func:`specs_from_topology` (``keepalived_nodes()``, ``instances(node)``, ``scripts(node)``).
    """

    def __init__(self, topo: Any, configs: Mapping[str, str]):
        from ..kaconf.from_config import from_text
        self.topo = topo
        self.parsed: dict[str, Any] = {}
        for node, text in (configs or {}).items():
            try:
                self.parsed[node] = from_text(text, f"<{node} keepalived.conf>")
            except Exception:          # unreadable: the topology's view is the best there is
                continue

    def keepalived_nodes(self) -> list[str]:
        return self.topo.keepalived_nodes()

    def _blocks(self, node: str, kind: str) -> Mapping[str, Any]:
        """The node's ``kind`` blocks (instances, scripts, track_files, sync_groups): from the config that
        runs when it was read and has instances, else the topology's (empty if it has no such view)."""
        p = self.parsed.get(node)
        if p is not None and p.instances:
            return getattr(p, kind)
        view = getattr(self.topo, kind, None)
        return view(node) if callable(view) else {}

    def instances(self, node: str) -> Mapping[str, Any]:
        return self._blocks(node, "instances")

    def scripts(self, node: str) -> Mapping[str, Any]:
        return self._blocks(node, "scripts")

    def track_files(self, node: str) -> Mapping[str, Any]:
        return self._blocks(node, "track_files")

    def sync_groups(self, node: str) -> Mapping[str, Any]:
        return self._blocks(node, "sync_groups")

    def global_defs_for(self, node: str) -> Any:
        p = self.parsed.get(node)
        if p is not None and p.instances:
            return p.global_defs
        view = getattr(self.topo, "global_defs_for", None)
        return view(node) if callable(view) else None

def _global_defs(topo: Any, node: str) -> Any:
    view = getattr(topo, "global_defs_for", None)
    try:
        return view(node) if callable(view) else None
    except Exception:
        return None


def _strict(topo: Any, node: str) -> bool:
    """``vrrp_strict`` in ``node``'s global_defs (an instance's own ``strict_mode`` is not read)."""
    return bool(getattr(_global_defs(topo, node), "vrrp_strict", False))


def _startup_delay(topo: Any, node: str) -> float:
    """``vrrp_startup_delay`` of ``node`` (seconds; 0 when unset), from the config that runs when it was read."""
    return float(getattr(_global_defs(topo, node), "vrrp_startup_delay", None) or 0.0)


def specs_from_running(topo: Any, configs: Optional[Mapping[str, str]] = None,
                       addresses: Optional[Mapping[str, Mapping[str, object]]] = None
                       ) -> dict[str, dict[str, "InstanceSpec"]]:
    """:func:`specs_from_topology` over what runs: nodes with their own config read from ``configs``."""
    return specs_from_topology(RunningView(topo, configs or {}) if configs else topo, addresses)
