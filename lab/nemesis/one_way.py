"""One-way loss between two nodes: packets from the target node to ``to`` are dropped (at ``to``).

The rule sits in the receiver's INPUT chain and matches the sender's source addresses, so it
catches multicast adverts too. Documented effect when the master's adverts stop reaching the
backup: the backup becomes MASTER after its master down interval while the master, hearing only
lower-priority adverts, stays MASTER (RFC 3768 §6.4.3): two VIP holders until heal.
"""
from __future__ import annotations

from .base import Fault, hearing, register
from ._exec import node_addresses, remove_tagged_rules, run_all
from .rules import one_way_rules, proto_args


@register
class OneWayLoss(Fault):
    kind = "one-way"
    summary = "drop packets from the node to=NODE (one direction only) [proto=all|vrrp|icmp|tcp|udp]"
    needs = ("iptables",)

    def __init__(self, lab, target, *, to: str, proto: str = "all", **kw):
        lab.node(to)
        proto_args(proto)
        super().__init__(lab, target, to=to, proto=proto, **kw)

    def model_inputs(self, action: str):
        """``to`` stops hearing the target's adverts when VRRP is among the dropped protocols; other
        protocols do not touch VRRP (a track script that uses them is the script's own input)."""
        if self.params["proto"] not in ("all", "vrrp"):
            return []
        if self.params["to"] not in self.lab.topology.keepalived_nodes():
            return []
        return hearing([(self.params["to"], self.target)], hears=action != "apply")

    def touched_nodes(self) -> list[str]:
        return [self.target, self.params["to"]]

    def _apply(self) -> str:
        rx = self.lab.node(self.params["to"])
        run_all(rx, one_way_rules(self.params["proto"], node_addresses(self.node()), self.comment))
        return f"{self.params['proto']} from {self.target} to {self.params['to']} dropped"

    def _heal(self) -> str:
        rx = self.lab.node(self.params["to"])
        n = remove_tagged_rules(rx, self.comment) if rx.status() == "running" else 0
        return f"{n} rule(s) removed"
