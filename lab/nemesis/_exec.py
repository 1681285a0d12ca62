"""The network faults' exec step: run argv lists built by :mod:`lab.nemesis.rules` in a node and
read back the rules a fault left (not a fault module: the leading underscore).

Nothing here decides what a rule says; every command comes from a pure builder of
:mod:`lab.nemesis.rules`. Removal finds rules by their ``kalab:<fault name>`` comment in
``iptables -S`` output, so it needs no memory of what was added and is idempotent.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from .rules import TABLES, counters_argv, delete_argv, list_rules_argv, parse_counters, tagged_lines

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime.node import Node


def run_all(node: "Node", argvs: Iterable[list[str]]) -> None:
    """Run each argv in ``node``, in order, stopping at the first that fails.

    Raises:
        RuntimeError (from Node.exec): a command failed; the message has its output (for
        iptables, why the rule was refused).
    """
    for argv in argvs:
        node.exec(argv, check=True)


def tagged_rules(node: "Node", comment: Optional[str] = None) -> list[str]:
    """``-t TABLE -A CHAIN ...`` lines (filter and raw tables) of ``node`` tagged ``comment``
    (default: any ``kalab:`` tag). A table iptables cannot list is skipped."""
    out = []
    for table in TABLES:
        r = node.exec(list_rules_argv(table), idempotent=True)
        if r.ok:
            out += [f"-t {table} {line}" for line in tagged_lines(r.output, comment)]
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
    return parse_counters(node.exec(counters_argv(), check=True, idempotent=True).output, comment)


def node_addresses(node: "Node") -> list[str]:
    """The node's own (lab-assigned) IPv4 addresses as strings, in interface order (no exec)."""
    return [str(a) for a in node.addresses.values()]
