"""The network faults' exec step: run argv lists built by :mod:`lab.nemesis.rules` in a node and
read back the rules a fault left (not a fault module: the leading underscore).

Nothing here decides what a rule says; every command comes from a pure builder of
:mod:`lab.nemesis.rules`. Removal finds rules by their ``kalab:<fault name>`` comment in
``iptables -S`` output, so it needs no memory of what was added and is idempotent.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from .rules import (BINARIES, TABLES, counters_argv, delete_argv, for_families, list_rules_argv, parse_counters,
                    tagged_lines)

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime.node import Node


def _binaries(node: "Node") -> tuple[str, ...]:
    """iptables, and ip6tables where the node has IPv6 (a network with ``subnet6``)."""
    return BINARIES if getattr(node, "addresses6", None) else BINARIES[:1]


def run_all(node: "Node", argvs: Iterable[list[str]]) -> None:
    """Run each argv in ``node``, in order, stopping at the first that fails. Each iptables rule is run for
    every address family the node has (:func:`lab.nemesis.rules.for_families`: its ip6tables twin too).

    Raises:
        RuntimeError (from Node.exec): a command failed; the message has its output (for
        iptables, why the rule was refused).
    """
    for argv in for_families(list(argvs), ipv6=len(_binaries(node)) > 1):
        node.exec(argv, check=True)


def tagged_rules(node: "Node", comment: Optional[str] = None) -> list[str]:
    """``-t TABLE -A CHAIN ...`` lines (filter and raw tables) of ``node`` tagged ``comment``
    (default: any ``kalab:`` tag). A table iptables cannot list is skipped."""
    out = []
    for binary in _binaries(node):
        for table in TABLES:
            r = node.exec(list_rules_argv(table, binary), idempotent=True)
            if r.ok:
                out += [f"{binary} -t {table} {line}" for line in tagged_lines(r.output, comment)]
    return out


def remove_tagged_rules(node: "Node", comment: Optional[str] = None) -> int:
    """Delete every rule of ``node`` tagged ``comment`` (default any ``kalab:``). Returns how many
    were removed (a delete iptables refuses is not counted and raises nothing)."""
    n = 0
    for line in tagged_rules(node, comment):
        if node.exec(delete_argv(line)).ok:
            n += 1
    return n


def rule_counters(node: "Node", comment: str) -> list[tuple[int, str]]:
    """(packets, target) of each filter rule of ``node`` tagged ``comment``, in chain order.

    Raises:
        RuntimeError (from Node.exec): iptables cannot list the rules.
    """
    return [c for binary in _binaries(node)
            for c in parse_counters(node.exec(counters_argv(binary), check=True, idempotent=True).output, comment)]


def node_addresses(node: "Node") -> list[str]:
    """The node's own addresses as strings (no exec): its lab-assigned IPv4 addresses in interface order, then,
    where it has IPv6, its IPv6 ones and its link-local ones (what its VRRPv3 adverts over IPv6 come from)."""
    out = [str(a) for a in node.addresses.values()]
    if getattr(node, "addresses6", None):
        out += [str(a) for a in node.addresses6.values()] + [str(a) for a in node.link_local()]
    return out
