"""Partition the lab's nodes into groups that cannot reach each other.

``groups`` lists the groups (default: the target alone against every other node); a node not
named joins the last group. Every node drops all packets from the addresses of nodes in other
groups (INPUT chain, so multicast adverts are cut too). Documented effect of cutting the master
off from the backups: each side elects its own MASTER after the master down interval, two VIP
holders; after heal the lower-priority master yields on the first higher-priority advert
(RFC 3768 §6.4.3).
"""
from __future__ import annotations

from typing import Union

from ..errors import LabError
from .base import Fault, hearing, register
from ._exec import node_addresses, remove_tagged_rules, run_all
from .rules import partition_rules


def parse_groups(groups: Union[str, list]) -> list[list[str]]:
    """``"a/b,client"`` or ``[["a"], ["b", "client"]]`` -> ``[["a"], ["b", "client"]]``."""
    if isinstance(groups, str):
        return [[n for n in g.split(",") if n] for g in groups.split("/") if g]
    return [list(g) if not isinstance(g, str) else [g] for g in groups]


@register
class Partition(Fault):
    kind = "partition"
    summary = "partition nodes into groups, e.g. groups=a/b,client (default: the node against the rest)"
    needs = ("iptables",)

    def __init__(self, lab, target, *, groups: str = "", **kw):
        gs = parse_groups(groups) if groups else [[target]]
        named = [n for g in gs for n in g]
        for n in named:
            lab.node(n)
        if len(set(named)) != len(named):
            raise LabError(f"partition: a node appears in two groups: {groups}")
        rest = [n for n in lab.nodes if n not in named]
        if rest:
            gs = gs + [rest] if len(gs) == 1 else gs[:-1] + [gs[-1] + rest]
        if len(gs) < 2:
            raise LabError("partition: needs at least two groups")
        super().__init__(lab, target, groups="/".join(",".join(g) for g in gs), **kw)

    @property
    def groups(self) -> list[list[str]]:
        return parse_groups(self.params["groups"])

    def model_inputs(self, action: str):
        """Keepalived nodes in different groups stop hearing each other, both ways (R_HEARING)."""
        ka = set(self.lab.topology.keepalived_nodes())
        gs = [[n for n in g if n in ka] for g in self.groups]
        pairs = [(r, s) for g in gs for h in gs if h is not g for r in g for s in h]
        return hearing(pairs, hears=action != "apply")

    def touched_nodes(self) -> list[str]:
        return [n for g in self.groups for n in g]

    def _apply(self) -> str:
        gs = self.groups
        addrs = {n: node_addresses(self.lab.node(n)) for g in gs for n in g}
        for n, argvs in partition_rules(gs, addrs, self.comment).items():
            run_all(self.lab.node(n), argvs)
        return " | ".join(", ".join(g) for g in gs)

    def _heal(self) -> str:
        n = 0
        for name in self.touched_nodes():
            node = self.lab.node(name)
            if node.status() == "running":
                n += remove_tagged_rules(node, self.comment)
        return f"{n} rule(s) removed"
