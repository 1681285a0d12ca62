"""iptables helpers shared by the network faults (not a fault module: the leading underscore).

Every rule a fault adds carries ``-m comment --comment kalab:<fault name>`` and is inserted at
the top of its chain (``-I``), ahead of any rule keepalived itself adds (``vrrp_iptables``).
Removal finds rules by that comment in ``iptables -S`` output, so it needs no memory of what
was added and is idempotent.
"""
from __future__ import annotations

import ipaddress
import shlex
from typing import TYPE_CHECKING, Iterable, Optional

from ..errors import LabError

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime.node import Node

VRRP_PROTO = "112"          # IANA protocol number of VRRP (RFC 3768 §5.2.4, RFC 5798 §5.1.1.4)
PROTOS = {"vrrp": VRRP_PROTO, "icmp": "icmp", "tcp": "tcp", "udp": "udp", "all": None}
DIRECTIONS = ("in", "out", "both")


def proto_args(proto: str) -> list[str]:
    """``-p`` arguments for a protocol name: vrrp (112), icmp, tcp, udp or all. Raises LabError."""
    if proto not in PROTOS:
        raise LabError(f"protocol {proto!r} is not one of {', '.join(PROTOS)}")
    p = PROTOS[proto]
    return ["-p", p] if p else []


def chains(direction: str) -> list[str]:
    """INPUT and/or OUTPUT for in / out / both. Raises LabError."""
    if direction not in DIRECTIONS:
        raise LabError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    return {"in": ["INPUT"], "out": ["OUTPUT"], "both": ["INPUT", "OUTPUT"]}[direction]


TABLES = ("filter", "raw")


def add_rule(node: "Node", chain: str, match: list[str], comment: str, target: list[str],
             table: str = "filter") -> None:
    """``iptables -w -t TABLE -I CHAIN <match> -m comment --comment COMMENT -j <target>`` in ``node``.

    Raises RuntimeError (from Node.exec) with iptables' message if the rule is refused.
    """
    node.exec(["iptables", "-w", "-t", table, "-I", chain, *match, "-m", "comment", "--comment", comment,
               "-j", *target], check=True)


def tagged_rules(node: "Node", comment: Optional[str] = None) -> list[str]:
    """``-t TABLE -S`` lines (filter and raw tables) tagged with ``comment`` (default: any ``kalab:`` tag)."""
    out = []
    for table in TABLES:
        r = node.exec(["iptables", "-w", "-t", table, "-S"])
        if r.ok:
            out += [f"-t {table} {line}" for line in _tagged(r.output, comment)]
    return out


def _tagged(output: str, comment: Optional[str]) -> list[str]:
    out = []
    for line in output.splitlines():
        if not line.startswith("-A "):
            continue
        words = shlex.split(line)
        if "--comment" in words:
            c = words[words.index("--comment") + 1]
            if (comment is None and c.startswith("kalab:")) or c == comment:
                out.append(line)
    return out


def remove_tagged_rules(node: "Node", comment: Optional[str] = None) -> int:
    """Delete every rule tagged ``comment`` (default any ``kalab:``). Returns how many were removed."""
    n = 0
    for line in tagged_rules(node, comment):
        words = shlex.split(line)
        words[2] = "-D"                     # "-t TABLE -A CHAIN ..." -> "-t TABLE -D CHAIN ..."
        if node.exec(["iptables", "-w", *words]).ok:
            n += 1
    return n


def rule_counters(node: "Node", comment: str) -> list[tuple[int, str]]:
    """(packets, target) of each rule tagged ``comment``, in chain order (``iptables -L -v -x``)."""
    r = node.exec(["iptables", "-w", "-L", "-v", "-x", "-n"], check=True)
    out = []
    for line in r.output.splitlines():
        if f"/* {comment} */" in line:
            parts = line.split()
            out.append((int(parts[0]), parts[2]))
    return out


def node_addresses(node: "Node") -> list[str]:
    """The node's own (lab-assigned) IPv4 addresses."""
    return [str(a) for a in node.addresses.values()]


def source_args(addrs: Iterable[ipaddress.IPv4Address | str]) -> list[str]:
    return ["-s", ",".join(str(a) for a in addrs)]
