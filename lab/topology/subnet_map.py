"""Production subnets that cannot be lab networks here, moved to lab subnets consistently (pure, no Docker).

A user's configs carry their production addresses (VIPs, ``unicast_src_ip``, peers). A lab network on a
subnet that overlaps one of this host's routes would cut the host off from that network, and one that
overlaps a Docker network that is not a lab's cannot be created. :func:`plan_mapping` moves each such
subnet to a free subnet of the same size in the lab pool; :func:`map_text` rewrites every IPv4 address
inside a moved subnet, keeping its host part (``192.168.100.10`` -> ``10.213.7.10`` for
``192.168.100.0/24`` -> ``10.213.7.0/24``), and nothing else: priorities, names, timers, scripts and
every address outside the moved subnets stay byte for byte. ``kalab check`` shows the mapping and the
diff; ``--exact`` refuses instead (:class:`~lab.errors.ConfigError` naming the clash).
"""
from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from ..errors import ConfigError

__all__ = ["SubnetMove", "plan_mapping", "map_address", "map_text", "text_diff"]

_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


@dataclass(frozen=True)
class SubnetMove:
    """``production`` (the configs' subnet of lab network ``network``) moved to ``lab``; ``why`` names the clash."""

    network: str
    production: ipaddress.IPv4Network
    lab: ipaddress.IPv4Network
    why: str

    def text(self) -> str:
        return f"{self.network}: {self.production} -> {self.lab} ({self.why})"


def plan_mapping(subnets: dict[str, ipaddress.IPv4Network], taken: Sequence[tuple[ipaddress.IPv4Network, str]],
                 pool: ipaddress.IPv4Network, *, exact: bool = False, source: str = "<configs>") -> list[SubnetMove]:
    """The moves that make every lab network creatable here.

    Args:
        subnets: {lab network name: the configs' subnet}.
        taken: (subnet, what holds it) this host cannot give a lab: its routes, Docker networks that are not
            a lab's (a subnet another *lab* holds is not taken: the lab waits for it).
        pool: where lab subnets come from (``KALAB_SUBNET_POOL``).
        exact: refuse instead of moving.
    Returns: one :class:`SubnetMove` per clashing subnet, in network name order (empty: nothing clashes).
    Raises: ConfigError naming ``source``, the subnet and what holds it (``exact``), or when the pool has no
        free subnet of that size.
    """
    moves: list[SubnetMove] = []
    used = [n for n, _ in taken] + [s for s in subnets.values()]
    for name in sorted(subnets):
        prod = subnets[name]
        clash = next(((n, what) for n, what in taken if n.overlaps(prod)), None)
        if clash is None:
            continue
        why = f"overlaps {clash[1]} {clash[0]}"
        if exact:
            raise ConfigError(source, None, f"network {name}: the configs' subnet {prod} {why}; --exact runs the "
                                            f"configs' own addresses only, so nothing started (without --exact the "
                                            f"lab moves it to a lab subnet and shows the diff)")
        if prod.prefixlen < pool.prefixlen:
            raise ConfigError(source, None, f"network {name}: the configs' subnet {prod} {why}, and the lab pool "
                                            f"{pool} is smaller than it: set KALAB_SUBNET_POOL to a larger pool")
        free = next((c for c in pool.subnets(new_prefix=prod.prefixlen) if not any(c.overlaps(u) for u in used)), None)
        if free is None:
            raise ConfigError(source, None, f"network {name}: the configs' subnet {prod} {why}, and the lab pool {pool} "
                                            f"has no free /{prod.prefixlen}")
        used.append(free)
        moves.append(SubnetMove(name, prod, free, why))
    return moves


def map_address(a: ipaddress.IPv4Address, moves: Iterable[SubnetMove]) -> ipaddress.IPv4Address:
    """``a`` moved with its subnet (same host part), or ``a`` itself outside every moved subnet."""
    for m in moves:
        if a in m.production:
            return m.lab.network_address + (int(a) - int(m.production.network_address))
    return a


def map_text(text: str, moves: Sequence[SubnetMove]) -> str:
    """``text`` with every IPv4 address literal inside a moved subnet replaced; nothing else changes."""
    if not moves:
        return text

    def one(m: re.Match) -> str:
        try:
            a = ipaddress.IPv4Address(m.group(1))
        except ValueError:
            return m.group(0)
        return str(map_address(a, moves))
    return _IPV4.sub(one, text)


def text_diff(path: str, before: str, after: str) -> Optional[str]:
    """A unified diff of one file (None when unchanged)."""
    if before == after:
        return None
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), path, path + " (in the lab)"))
