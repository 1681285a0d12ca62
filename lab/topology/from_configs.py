"""A topology from users' own keepalived.conf files, one node per file, each run unchanged (reads files).

``kalab check lb1.conf lb2.conf`` and ``pytest --lab-configs ...`` start here. Each file becomes a
keepalived node (``config_file``) named by its config id (``lb1.conf`` -> ``lb1``, or ``FILE@ID``),
which is also its host name, keepalived's default config id. What the lab must give the nodes so the
configs run as written is read from the configs themselves:

* **interfaces by the names the configs use** (``bond0.100``, ``ens192``): the node image renames
  Docker's interface to that name before keepalived starts;
* **one lab network per segment**: interfaces that carry the same VRRP instance name or VRID on
  different nodes are one segment (RFC 3768 §1: one virtual router lives on one LAN);
* **the segment's subnet** from the addresses the configs write: a VIP's prefix (``/24``), else the
  /24 around the VIPs and unicast addresses;
* **each node's address**: its ``unicast_src_ip`` there, else the address a peer lists in its
  ``unicast_peer`` that no other node claims, else a free host number (from .11, never a VIP).

A ``track_interface`` that carries no instance (an uplink, ``ens224``) gets a network of its own,
``link-<name>``, shared by the nodes that track an interface of that name, so the lab can take it down.
A client node joins every VIP segment (to see the VIPs from outside). Nothing of the configs is changed;
where they cannot be given what they need (addresses from two subnets on one segment, a node address
that is a VIP), :class:`~lab.errors.ConfigError` names the file and the reason.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ..errors import ConfigError
from ..kaconf.schema import parse_vip
from .loader import validate
from .schema import Topology
from .subnet_map import SubnetMove, plan_mapping
from .user_config import NodeConfig, read_node_config

__all__ = ["topology_from_configs", "parse_config_arg", "split_config_arg", "NODE_NAME"]

NODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def split_config_arg(arg: str) -> tuple[Path, Optional[str]]:
    """``FILE`` -> (FILE, None); ``FILE@ID`` -> (FILE, ID). An ``@`` in a folder name is no config id."""
    path, _, cid = arg.rpartition("@") if "@" in Path(arg).name else (arg, "", "")
    return Path(path), cid or None


def parse_config_arg(arg: str) -> tuple[Path, str]:
    """``lb1.conf`` -> (lb1.conf, "lb1"); ``keepalived.conf@lb2`` -> (keepalived.conf, "lb2").

    Raises: ConfigError when no node name can be made (say ``FILE@NAME``)."""
    path, cid = split_config_arg(arg)
    cid = cid or path.name.split(".")[0]
    if not NODE_NAME.match(cid):
        raise ConfigError(arg, None, f"{cid!r} cannot name a node (letters, digits, _ . -, not first a digit); "
                                             f"give the config id as FILE@NAME, e.g. {path}@lb1")
    return path, cid


def _segment_subnet(vips: list, addresses: list, default_len: int, of_what: str, culprit) -> Optional[object]:
    """One segment's subnet in one address family: the shortest prefix among its VIPs that have one, else the
    /``default_len`` around the first of ``addresses`` (None without any).

    Raises:
        ConfigError: one of ``addresses`` is outside it, naming the file that wrote it (``culprit(address)``, a
            NodeConfig) and ``of_what`` the subnet is.
    """
    prefixed = [v.network for v in vips if v.network.prefixlen < v.max_prefixlen]
    subnet = min(prefixed, key=lambda n: n.prefixlen) if prefixed else (
        ipaddress.ip_network(f"{addresses[0]}/{default_len}", strict=False) if addresses else None)
    outside = [a for a in addresses if subnet is not None and a not in subnet]
    if outside:
        raise ConfigError(str(culprit(outside[0]).path), None, f"{outside[0]} is outside {subnet}, {of_what}")
    return subnet


def _free_hosts(subnet: Optional[ipaddress.IPv4Network], taken: set) -> Iterator[int]:
    """Host numbers from 11 up that are none of ``taken`` (addresses) in ``subnet``."""
    if subnet is None:
        return iter(())
    used = {int(a) - int(subnet.network_address) for a in taken if a in subnet}
    return (h for h in range(11, subnet.num_addresses - 1) if h not in used)


class _Segments:
    """Union-find over (node, interface)."""

    def __init__(self):
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def _addr(s: Optional[str]) -> Optional[ipaddress.IPv4Address]:
    try:
        return ipaddress.IPv4Address(s) if s else None
    except ValueError:
        return None


def topology_from_configs(configs: Sequence[tuple[str | Path, str]], name: str = "configs",
                          client: bool = True, *, unavailable: Optional[Sequence[tuple[ipaddress.IPv4Network, str]]] = None,
                          exact: bool = False, pool: Optional[ipaddress.IPv4Network] = None,
                          packages: Sequence[str] = (), _moves: Sequence[SubnetMove] = ()) -> Topology:
    """Build and validate the topology that runs ``configs`` [(path, config id = node name), ...].

    ``unavailable``: (subnet, what holds it) this host cannot give a lab network (its routes, Docker networks that
    are not a lab's): a segment whose subnet overlaps one is moved to a free subnet of ``pool`` and the
    configs' addresses in it are rewritten (lab.topology.subnet_map; ``topo.subnet_moves`` lists the moves,
    each node's ``NodeConfig.original`` keeps the user's bytes); with ``exact`` that is refused instead.
    ``packages``: Debian packages every keepalived node gets (what the configs' scripts need, e.g. haproxy).

    Raises:
        ConfigError: a file cannot be read or parsed (file and line), has no vrrp_instance for its config
            id, two files give the same node name, or the configs' addresses cannot be given to a lab
            (names the file, what and why); with ``exact``, a subnet that clashes (names it and the clash).
    """
    read: dict[str, NodeConfig] = {}
    for path, cid in configs:
        if cid in read:
            raise ConfigError(str(path), None, f"two files would both be node {cid!r}; name one FILE@OTHER")
        read[cid] = read_node_config(path, cid, moves=_moves)          # ConfigError: names the file and line
        if not read[cid].parsed.instances:
            raise ConfigError(str(read[cid].path), None, f"no vrrp_instance for config id {cid!r}: nothing to run"
                                                         + (f" ({read[cid].warnings[-1].split(': ', 1)[1]})"
                                                            if read[cid].warnings else ""))
    if not read:
        raise ConfigError("<configs>", None, "no keepalived.conf given")
    seg = _Segments()
    by_key: dict[tuple, tuple[str, str]] = {}
    addrs: dict[tuple[str, str], list[ipaddress.IPv4Address]] = {}       # per (node, itf): addresses seen
    vips: dict[tuple[str, str], list[ipaddress.IPv4Interface]] = {}
    vips6: dict[tuple[str, str], list[ipaddress.IPv6Interface]] = {}
    own: dict[tuple[str, str], ipaddress.IPv4Address] = {}
    whose: dict[ipaddress.IPv4Address, str] = {}          # address -> the node whose file writes it
    peers: dict[tuple[str, str], list[ipaddress.IPv4Address]] = {}
    for node, nc in read.items():
        for iname, inst in nc.parsed.instances.items():
            if not inst.interface:
                raise ConfigError(str(nc.path), None, f"vrrp_instance {iname} has no interface")
            key = (node, inst.interface)
            seg.find(key)
            for k in (("name", iname), ("vrid", inst.virtual_router_id, inst.version or 2)):
                if k in by_key:
                    seg.union(key, by_key[k])
                else:
                    by_key[k] = key
            for v in inst.virtual_ipaddress:
                a = parse_vip(v)["address"]
                try:
                    if ":" in a:            # an IPv6 VIP: the segment's network carries IPv6 too (subnet6)
                        vips6.setdefault(key, []).append(ipaddress.IPv6Interface(a if "/" in a else a + "/128"))
                        whose.setdefault(vips6[key][-1].ip, node)
                        continue
                    vips.setdefault(key, []).append(ipaddress.IPv4Interface(a if "/" in a else a + "/32"))
                    whose.setdefault(vips[key][-1].ip, node)
                except ValueError:
                    continue
            src = _addr(inst.unicast_src_ip)
            if src:
                own[key] = src
                whose.setdefault(src, node)
            peers.setdefault(key, []).extend(p for p in map(_addr, inst.unicast_peer) if p)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in seg.parent:
        groups.setdefault(seg.find(key), []).append(key)
    networks, nodes = {}, {n: {"interfaces": {}, "config_file": str(nc.path), **({"packages": list(packages)}
                                                                                     if packages else {})}
                           for n, nc in read.items()}
    free: dict[str, Iterator[int]] = {}
    for i, (root, members) in enumerate(sorted(groups.items(), key=lambda kv: sorted(kv[1]))):
        net = f"seg{i + 1}" if len(groups) > 1 else "lan"
        known = [v for m in members for v in vips.get(m, [])]
        everything = [v.ip for v in known] + [own[m] for m in members if m in own] + \
            [p for m in members for p in peers.get(m, [])]
        where = ", ".join(f"{n}:{i}" for n, i in sorted(members))
        subnet = _segment_subnet(known, everything, 24, f"the subnet of the other addresses on the segment of {where}: "
                                 f"a lab network is one subnet", lambda a: read[whose.get(a, members[0][0])])
        networks[net] = {"subnet": str(subnet)} if subnet else {}
        known6 = [v for m in members for v in vips6.get(m, [])]
        subnet6 = _segment_subnet(known6, [v.ip for v in known6], 64, f"the IPv6 subnet of the other VIPs on the "
                                  f"segment of {where}: a lab network is one IPv6 subnet",
                                  lambda a: read[whose.get(a, members[0][0])])
        if subnet6 is not None:
            networks[net]["subnet6"] = str(subnet6)
        taken = {a for a in everything}
        claimed = {m: own[m] for m in members if m in own}
        listed = [p for m in members for p in peers.get(m, []) if p not in claimed.values()]
        for m in sorted(members):
            node, itf = m
            a = claimed.get(m)
            if a is None and len([n for n in members if n not in claimed]) == 1 and len(set(listed)) == 1:
                a = listed[0]               # the one peer address nobody claims is this node's
            spec = {"network": net}
            if a is not None and subnet is not None:
                if any(a == v.ip for v in known):
                    raise ConfigError(str(read[node].path), None, f"{node}'s address {a} on {itf} is also a VIP")
                spec["host"] = int(a) - int(subnet.network_address)
            nodes[node]["interfaces"][itf] = spec
        free[net] = _free_hosts(subnet, taken | {a for m in members for a in
                                                  ([subnet.network_address + nodes[m[0]]["interfaces"][m[1]]["host"]]
                                                   if subnet is not None and "host" in nodes[m[0]]["interfaces"][m[1]]
                                                   else [])})
        for m in sorted(members):        # auto host numbers never land on a VIP or a peer's address
            spec = nodes[m[0]]["interfaces"][m[1]]
            if "host" not in spec and subnet is not None:
                spec["host"] = next(free[net])
    vip_networks = list(networks)
    for node, nc in read.items():           # tracked interfaces that carry no instance: a link of their own
        groups_tracked = [t for g in nc.parsed.sync_groups.values() for t in g.track_interface]
        for t in [t for inst in nc.parsed.instances.values() for t in inst.track_interface] + groups_tracked:
            if t.name in nodes[node]["interfaces"]:
                continue
            net = "link-" + re.sub(r"[^A-Za-z0-9_.-]", "-", t.name)
            networks.setdefault(net, {})
            nodes[node]["interfaces"][t.name] = {"network": net}
    if client:
        nodes["client"] = {"kind": "client", "interfaces": {
            f"eth{i}": {"network": n, **({"host": next(free[n])} if networks[n] else {})}
            for i, n in enumerate(vip_networks)}}
    if unavailable and not _moves:
        moves = plan_mapping({n: ipaddress.IPv4Network(v["subnet"]) for n, v in networks.items() if v.get("subnet")},
                             unavailable, pool or ipaddress.IPv4Network("10.213.0.0/16"), exact=exact,
                             source=", ".join(str(nc.path) for nc in read.values()))
        if moves:
            return topology_from_configs(configs, name, client, packages=packages, _moves=moves)
    topo = validate({"name": name, "networks": networks, "nodes": nodes}, "<configs>", node_configs=read)
    topo.subnet_moves.extend(_moves)
    return topo
