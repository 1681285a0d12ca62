"""Each node's view of each VRRP instance, as the election model needs it (pure).

:func:`specs_from_topology` builds ``{instance: {node: InstanceSpec}}`` from a lab topology's
merged instances and scripts (duck-typed: any object with ``keepalived_nodes()``,
``instances(node)`` and ``scripts(node)``).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Optional

from ..kaconf.schema import LAB_REF, parse_vip
from ..priority import effective_priority, tracker_adjustment, tracker_faults  # noqa: F401 (effective_priority re-exported)
from ..timers import master_down_interval, skew_time
from .rules import R_CLAMP, R_IFACE, R_MDI, R_NOPREEMPT, R_OWNER, R_PREEMPT_DELAY, R_REVERSE, R_WEIGHT0, R_WEIGHT_NEG, R_WEIGHT_POS  # noqa: F401 (cited in docstrings)

@dataclass(frozen=True)
class TrackSpec:
    """One tracked vrrp_script of an instance.

    weight: -253..253 (0 = FAULT on failure); reverse: invert the adjustment;
    rise/fall: consecutive results needed; interval: seconds between runs; timeout: seconds after
    which a run that has not returned counts as failed (man 5 keepalived.conf, vrrp_script timeout).
    """

    script: str
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    interval: float = 1.0
    init_fail: bool = False
    timeout: float = 0.0
    #: the script's result before anything was done to it, when known (the lab's convention: a command
    #: that tests ``/run/kalab/ok-NAME`` fails until the file exists); None: OK unless ``init_fail``
    initially_ok: Optional[bool] = None

    def initial(self) -> bool:
        """The result the model assumes before any input changed it."""
        return (not self.init_fail) if self.initially_ok is None else self.initially_ok

    def adjustment(self, ok: bool) -> int:
        """Priority adjustment while the script is ``ok`` (True) or failing (False): lab.priority's
        tracker_adjustment (R_WEIGHT_POS, R_WEIGHT_NEG, R_REVERSE); weight 0 adjusts nothing."""
        return tracker_adjustment(self.weight, self.reverse, ok)

    def faults(self, ok: bool) -> bool:
        """Whether this tracker puts the instance in FAULT (weight 0; reversed when ``reverse``; R_WEIGHT0)."""
        return tracker_faults(self.weight, self.reverse, ok)

    def detection(self, ok: bool) -> tuple[float, float]:
        """Seconds from a persistent change of the script's result until keepalived acts on it.

        ``fall`` (to failing) or ``rise`` (to OK) consecutive runs, one every ``interval``:
        between (n - 1) x interval and n x interval (the first run comes within one interval); a
        failing run may take up to ``timeout`` more (a hung check is cut off then).
        """
        n = self.rise if ok else self.fall
        return ((n - 1) * self.interval, n * self.interval + (0.0 if ok else self.timeout))


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
    #: features of this instance the model has no rule for (each a sentence): the judge cannot judge it
    unmodelled: tuple[str, ...] = ()

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


def _initially_ok(name: str, command: Optional[str]) -> Optional[bool]:
    """The lab's script convention (lab.observe.ObserveMixin.set_script): ``/run/kalab/ok-NAME`` in the
    command fails until the lab creates the file; ``/run/kalab/fail-NAME`` succeeds until it does."""
    if command and f"/run/kalab/ok-{name}" in command:
        return False
    if command and f"/run/kalab/fail-{name}" in command:
        return True
    return None


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
        for name, inst in topo.instances(node).items():
            tracks = []
            for tr in inst.track_script:
                s = scripts.get(tr.name)
                if s is None:
                    continue
                tracks.append(TrackSpec(tr.name, s.weight if tr.weight is None else tr.weight,
                                        tr.reverse if tr.weight is not None else s.reverse,
                                        s.rise, s.fall, s.interval, s.init_fail, float(s.timeout or 0),
                                        _initially_ok(tr.name, s.script)))
            for tr in inst.track_interface:      # a tracked interface is a tracker whose result is "up"
                tracks.append(TrackSpec(f"{IFACE_TRACK}{tr.name}", tr.weight or 0, tr.reverse, 1, 1, 0.0))
            unmodelled = []
            if inst.track_file:
                unmodelled.append(f"track_file {', '.join(t.name for t in inst.track_file)}: the model has no rule "
                                  f"for a tracked file's value")
            groups = getattr(topo, "sync_groups", None)
            for g, grp in (groups(node) if callable(groups) else {}).items():
                if name in grp.group:
                    unmodelled.append(f"vrrp_sync_group {g}: the model has no rule for a group's shared state")
            ip = None
            if addresses and node in addresses and inst.interface in addresses[node]:
                ip = ipaddress.IPv4Address(str(addresses[node][inst.interface]))
            out.setdefault(name, {})[node] = InstanceSpec(
                node=node, instance=name, priority=inst.priority, state=inst.state, nopreempt=inst.nopreempt,
                preempt_delay=inst.preempt_delay or 0.0, advert_int=inst.advert_int, version=inst.version or 2,
                vrid=inst.virtual_router_id, primary_ip=ip, tracks=tuple(tracks), interface=inst.interface,
                auth=(inst.authentication.auth_type, inst.authentication.auth_pass[:8]) if inst.authentication else None,
                vips=frozenset(_vip_address(v, subnets) for v in inst.virtual_ipaddress), unmodelled=tuple(unmodelled))
    return _vrid_sharing(out, topo)


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


def _segment(topo: Any, node: str, interface: Optional[str]) -> str:
    """The lab network ``node``'s ``interface`` is on (the topology's interfaces), else the interface name."""
    t = getattr(topo, "topo", topo)            # a RunningView wraps the topology
    try:
        return t.nodes[node].interfaces[interface].network
    except (AttributeError, KeyError, TypeError):
        return str(interface)


def _vrid_sharing(specs: dict[str, dict[str, InstanceSpec]], topo: Any) -> dict[str, dict[str, InstanceSpec]]:
    """Mark what the model cannot judge about VRID reuse (keepalived matches adverts by interface and
    VRID, the model by instance name):

    * instances of different names sharing one VRID on one segment with the same VIPs form one virtual
      router in keepalived (the model would judge them apart); with different VIPs they discard each
      other's adverts (R_ADDR_LIST), which judging them apart gets right;
    * VIP sets written one as the lab's ``net+host`` and one as an address cannot be compared.
    """
    by_key: dict[tuple, list[tuple[str, str]]] = {}
    for inst, nodes in specs.items():
        for node, sp in nodes.items():
            if sp.vrid is not None:
                by_key.setdefault((_segment(topo, node, sp.interface), sp.vrid, sp.version), []).append((inst, node))
    notes: dict[tuple[str, str], list[str]] = {}
    for (seg, vrid, _), members in by_key.items():
        for inst, node in members:
            mine = specs[inst][node]
            for other, onode in members:
                theirs = specs[other][onode]
                refs = any(LAB_REF.match(a) for a in (mine.vips or ())) != any(LAB_REF.match(a) for a in (theirs.vips or ()))
                if other != inst and mine.vips == theirs.vips:
                    notes.setdefault((inst, node), []).append(
                        f"VRID {vrid} on {seg} is shared by instance {inst} ({node}) and {other} ({onode}) with the "
                        f"same VIPs: keepalived treats them as one virtual router, the model judges instances by name")
                elif refs and mine.vips != theirs.vips:
                    notes.setdefault((inst, node), []).append(
                        f"VRID {vrid} on {seg}: the VIPs of {inst} ({node}) and {other} ({onode}) are written one as "
                        f"<network>+<host> and one as an address, so the model cannot compare them (R_ADDR_LIST)")
    for (inst, node), extra in notes.items():
        sp = specs[inst][node]
        specs[inst][node] = replace(sp, unmodelled=sp.unmodelled + tuple(dict.fromkeys(extra)))
    return specs




#: the tracker name prefix of a tracked interface (``track_interface``): its result is "the link is up"
IFACE_TRACK = "iface:"


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

    def instances(self, node: str) -> Mapping[str, Any]:
        p = self.parsed.get(node)
        return p.instances if p is not None and p.instances else self.topo.instances(node)

    def scripts(self, node: str) -> Mapping[str, Any]:
        p = self.parsed.get(node)
        return p.scripts if p is not None and p.instances else self.topo.scripts(node)

    def sync_groups(self, node: str) -> Mapping[str, Any]:
        p = self.parsed.get(node)
        if p is not None and p.instances:
            return p.sync_groups
        groups = getattr(self.topo, "sync_groups", None)
        return groups(node) if callable(groups) else {}


def specs_from_running(topo: Any, configs: Optional[Mapping[str, str]] = None,
                       addresses: Optional[Mapping[str, Mapping[str, object]]] = None
                       ) -> dict[str, dict[str, "InstanceSpec"]]:
    """:func:`specs_from_topology` over what runs: nodes with their own config read from ``configs``."""
    return specs_from_topology(RunningView(topo, configs or {}) if configs else topo, addresses)
