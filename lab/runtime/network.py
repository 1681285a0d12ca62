"""Lab networks: one Docker bridge per topology network, subnet from a pool.

Pool: ``$KALAB_SUBNET_POOL`` (default ``10.213.0.0/16``), carved into subnets of
the network's prefix length. A subnet is free when no existing Docker network
overlaps it; the engine is the arbiter between parallel labs (a create that
loses the race with "overlaps" moves on to the next candidate).

Docker's IPAM hands out only the lower half of each subnet (``ip_range``);
the upper half is reserved for VIPs, so no container ever takes a VIP.
"""
from __future__ import annotations

import ipaddress
import os
import random
import time
from typing import Callable

import docker
from docker.errors import APIError
from docker.types import IPAMConfig, IPAMPool

from ..errors import SubnetError
from . import labels as L

DEFAULT_POOL = "10.213.0.0/16"
#: Docker bridge driver option: the bridge (host side) gets no IPv4 address (no gateway, no host)
INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"


def pool() -> ipaddress.IPv4Network:
    """The configured subnet pool. Raises SubnetError if ``KALAB_SUBNET_POOL`` is not a CIDR."""
    raw = os.environ.get("KALAB_SUBNET_POOL", DEFAULT_POOL)
    try:
        return ipaddress.IPv4Network(raw)
    except ValueError:
        raise SubnetError(f"KALAB_SUBNET_POOL={raw!r} is not an IPv4 CIDR such as {DEFAULT_POOL}.") from None


def _engine_subnets(client: docker.DockerClient, version: int = 4):
    """(network API record, subnet) for every subnet of IP ``version`` (4 or 6) of every Docker network on this
    engine."""
    for net in client.api.networks():
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            try:
                n = ipaddress.ip_network(cfg.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            if n.version == version:
                yield net, n


def used_subnets(client: docker.DockerClient) -> list[ipaddress.IPv4Network]:
    """Every IPv4 subnet any Docker network on this engine uses."""
    return [n for _, n in _engine_subnets(client)]


def host_routes(path: str = "/proc/net/route") -> list[tuple[ipaddress.IPv4Network, str]]:
    """The host's IPv4 routes as (destination network, device), read from ``/proc/net/route`` (proc(5):
    little-endian hex destination and mask). Routes of Docker bridges (``docker0``, ``br-*``) are left
    out: those networks are checked through the engine (:func:`used_subnets`)."""
    out = []
    try:
        lines = open(path).read().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        f = line.split()
        if len(f) < 8 or f[0] == "docker0" or f[0].startswith("br-"):
            continue
        try:
            dest = ipaddress.IPv4Address(int(f[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(f[7], 16).to_bytes(4, "little"))
            out.append((ipaddress.IPv4Network(f"{dest}/{mask}", strict=False), f[0]))
        except ValueError:
            continue
    return out


def host_routes6(path: str = "/proc/net/ipv6_route") -> list[tuple[ipaddress.IPv6Network, str]]:
    """The host's IPv6 routes: (destination, device), from ``/proc/net/ipv6_route`` (32 hex digits of
    destination, its prefix length in hex, ..., the device last). [] where IPv6 is off."""
    out = []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return out
    for line in lines:
        f = line.split()
        if len(f) < 10:
            continue
        try:
            net = ipaddress.IPv6Network((int(f[0], 16), int(f[1], 16)))
        except ValueError:
            continue
        out.append((net, f[-1]))
    return out


def engine_is_local(client: "docker.DockerClient | None" = None) -> bool:
    """Whether the engine runs on this host (a unix socket): only then are the host's routes the
    engine host's routes. Without ``client``: what ``DOCKER_HOST`` names (unset: the local socket)."""
    if client is None:
        host = os.environ.get("DOCKER_HOST", "")
        return not host or host.startswith("unix://")
    return str(getattr(client.api, "base_url", "")).startswith(("http+docker://", "http+unix://"))


def unavailable_subnets(client: "docker.DockerClient | None" = None) -> list[tuple[ipaddress.IPv4Network, str]]:
    """(subnet, what holds it) a lab network cannot have here: this host's routes (a local engine: the lab's
    bridges are this host's interfaces) and Docker networks that are not a lab's (a lab's subnet is only
    busy: a lab waits for it). ``client``: the engine (default: the local one if it answers; without an
    engine, the host's routes only)."""
    from .engine import client_if_up
    out: list[tuple[ipaddress.IPv4Network, str]] = []
    client = client or client_if_up(timeout=5)
    if engine_is_local(client):
        out += [(r, f"this host's route on {dev}") for r, dev in host_routes() if r.prefixlen > 0]
    if client is not None:
        out += [(n, f"Docker network {net.get('Name')}") for net, n in _engine_subnets(client)
                if not (net.get("Labels") or {}).get(L.LAB)]
    return out


def create_network(client: docker.DockerClient, name: str, lab_labels: dict[str, str], network: str,
                   subnet: ipaddress.IPv4Network | None, prefixlen: int = 24,
                   say: Callable[[str], None] = lambda m: None,
                   subnet6: ipaddress.IPv6Network | None = None,
                   gateway_host: int = 1) -> tuple[docker.models.networks.Network, ipaddress.IPv4Network]:
    """Create a labelled bridge network; return it and its subnet.

    Args:
        name: Docker network name.
        lab_labels: the lab's labels (see :mod:`lab.runtime.labels`).
        network: the topology's network name (stored as a label).
        subnet: a fixed subnet from the topology, or None to allocate from the pool.
        prefixlen: size of an allocated subnet.
        say: progress messages (waiting for another lab to release a fixed subnet).
        subnet6: also IPv6 on this subnet (the topology's ``subnet6``), or None for IPv4 only.
        gateway_host: the host number the engine reserves as the gateway (``Topology.gateway_host``: 1 unless a
            node needs .1); the bridge holds no IPv4 address, so nothing answers there.
    Raises:
        SubnetError: the fixed subnet overlaps an existing network that is not a lab's (names it), or another
            lab holds it longer than ``$KALAB_SUBNET_WAIT`` seconds (default 900), or the pool is full.
    """
    labels = {**lab_labels, L.NETWORK: network}
    if subnet6 is not None and engine_is_local(client):
        # a Docker network's bridge (br-<id>, docker0) holds its subnet6 gateway: whether that network may be
        # waited for (a lab's) or clashes (not a lab's) is decided from the engine's records below, not here
        for route, dev in host_routes6():
            if dev == "docker0" or dev.startswith("br-"):
                continue
            if route.overlaps(subnet6) and route.prefixlen > 0 and not route.is_link_local and not route.is_multicast:
                raise SubnetError(f"networks.{network}.subnet6 {subnet6} overlaps the host's IPv6 route {route} on "
                                  f"{dev}: a lab there would cut this host off from that network; choose another "
                                  f"subnet6 (a unique local one such as fd00:6b61:1::/64).")
    if subnet is not None:
        if engine_is_local(client):
            for route, dev in host_routes():
                if route.overlaps(subnet) and route.prefixlen > 0:
                    raise SubnetError(f"networks.{network}.subnet {subnet} overlaps the host's route {route} on "
                                      f"{dev}: a lab there would cut this host off from that network; choose "
                                      f"another subnet or drop `subnet:` to allocate one from the pool.")
        return _create_fixed(client, name, labels, network, subnet, say, subnet6, gateway_host), subnet
    p = pool()
    if prefixlen < p.prefixlen:
        raise SubnetError(f"networks.{network}.prefixlen {prefixlen} is larger than the pool {p}.")
    cands = list(p.subnets(new_prefix=prefixlen))
    deadline = time.time() + float(os.environ.get("KALAB_SUBNET_WAIT", "900"))
    while True:
        if subnet6 is not None:     # a fixed IPv6 subnet admits one lab at a time on an engine, as a fixed IPv4 one
            _wait_until_free(client, network, [subnet6], say, deadline)
        start = random.randrange(len(cands))           # spread parallel labs over the pool
        retry = False
        for cand in cands[start:] + cands[:start]:
            if any(cand.overlaps(n) for n in used_subnets(client)):
                continue
            try:
                return _create(client, name, labels, cand, subnet6, gateway_host), cand
            except APIError as e:
                if "overlap" not in str(e).lower():
                    raise
                if subnet6 is not None and _holders(client, subnet6):
                    retry = True                    # another lab took subnet6 first: wait for it
                    break
                continue                            # lost a race with a parallel lab for this candidate
        if not retry:
            break
    raise SubnetError(f"no free /{prefixlen} subnet left in pool {p} (other labs use the rest); use a smaller "
                      f"network (prefixlen closer to 28), remove your own finished labs (`kalab list`, "
                      f"`kalab down --lab ID`), or set KALAB_SUBNET_POOL to a larger pool.")


def _holders(client: docker.DockerClient, subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[dict]:
    """The Docker networks with a subnet (of ``subnet``'s family) that overlaps ``subnet`` (their API records)."""
    out: list[dict] = []
    for net, n in _engine_subnets(client, subnet.version):
        if n.overlaps(subnet) and not any(net is o for o in out):
            out.append(net)
    return out


def _wait_until_free(client, network: str, subnets: list, say: Callable[[str], None], deadline: float) -> None:
    """Return once no Docker network overlaps any of ``subnets``. While another *lab* holds one (two runs of
    the same configs: their production subnet admits one lab at a time on an engine), wait for its network to
    be destroyed (the engine's events) until ``deadline`` (time.time() s).

    Raises:
        SubnetError: a network that is not a lab's overlaps one (names it), or the deadline passed."""
    said = False
    while True:
        since = time.time()
        found = [(sub, h) for sub in subnets for h in _holders(client, sub)]
        if not found:
            return
        sub, h = found[0]
        field = "subnet6" if sub.version == 6 else "subnet"
        theirs = (h.get("Labels") or {}).get(L.LAB)
        held = ", ".join(c.get("Subnet", "?") for c in (h.get("IPAM") or {}).get("Config") or [])
        if not theirs:
            raise SubnetError(f"networks.{network}.{field} {sub} overlaps Docker network {h.get('Name')} ({held}), "
                              f"which is not a lab's; choose another {field}" +
                              (" or drop `subnet:` to allocate one from the pool." if field == "subnet" else "."))
        if time.time() >= deadline:
            raise SubnetError(f"networks.{network}.{field} {sub}: lab {theirs} has held it ({held}) for longer than "
                              f"KALAB_SUBNET_WAIT allows; `kalab list` shows it, `kalab down --lab {theirs}` "
                              f"removes it if it is yours.")
        if not said:
            say(f"waiting for lab {theirs} to release {sub} (its network {h.get('Name')}); up to "
                f"{max(0.0, deadline - time.time()):.0f} s")
            said = True
        for _ in client.events(since=since, until=min(deadline, time.time() + 5.0), decode=True,
                               filters={"type": "network", "event": "destroy"}):
            break                                        # a network went: look again


def _create_fixed(client, name: str, labels: dict[str, str], network: str, subnet: ipaddress.IPv4Network,
                  say: Callable[[str], None], subnet6: ipaddress.IPv6Network | None = None, gateway_host: int = 1):
    """Create the network on a fixed subnet (and ``subnet6``), once no other network holds either
    (:func:`_wait_until_free`; deadline ``$KALAB_SUBNET_WAIT`` s, default 900)."""
    deadline = time.time() + float(os.environ.get("KALAB_SUBNET_WAIT", "900"))
    while True:
        _wait_until_free(client, network, [subnet] + ([subnet6] if subnet6 is not None else []), say, deadline)
        try:
            return _create(client, name, labels, subnet, subnet6, gateway_host)
        except APIError as e:
            if "overlap" not in str(e).lower():
                raise
            continue                                     # another lab took it first: wait for that one


def _create(client, name, labels, subnet: ipaddress.IPv4Network, subnet6: ipaddress.IPv6Network | None = None,
            gateway_host: int = 1):
    size = subnet.num_addresses
    ip_range = ipaddress.IPv4Network((subnet.network_address, subnet.prefixlen + 1))
    pools = [IPAMPool(subnet=str(subnet), iprange=str(ip_range), gateway=str(subnet.network_address + gateway_host))]
    if subnet6 is not None:     # every node's IPv6 address is given (lab.Lab, the same host number): no range
        pools.append(IPAMPool(subnet=str(subnet6), gateway=str(subnet6.network_address + gateway_host)))
        labels = {**labels, L.SUBNET6: str(subnet6)}
    ipam = IPAMConfig(pool_configs=pools)
    assert size >= 16
    # not `internal`: Docker's isolation rules for internal networks drop VRRP multicast
    # (224.0.0.18 is outside the subnet). Instead the host's side of the bridge gets no IPv4
    # address (inhibit_ipv4): the gateway address answers nobody, so a node that adds a default
    # route back (it holds NET_ADMIN) still reaches nothing outside the lab; nodes also start
    # without a default route (entrypoint). Checked live: tests/integration/test_isolation.py.
    # IPv6: the host's side holds the gateway address, but nodes have no IPv6 default route either
    # (entrypoint), so nothing is routed off the lab's subnets
    return client.networks.create(name, driver="bridge", ipam=ipam, labels={**labels, L.SUBNET: str(subnet)},
                                  options={INHIBIT_IPV4: "true"}, check_duplicate=True,
                                  enable_ipv6=subnet6 is not None)


def bridge_name(net: docker.models.networks.Network) -> str:
    """Host-side bridge interface of a lab network (``br-<id[:12]>``); only meaningful on a local engine."""
    return f"br-{net.id[:12]}"
