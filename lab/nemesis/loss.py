"""Random loss of a given percentage (iptables ``statistic`` match, random mode).

Two rules carry the fault's tag: a counting rule that matches every selected packet and the
``-m statistic --mode random --probability p -j DROP`` rule after it, so
:meth:`RandomLoss.counters` gives (packets seen, packets dropped) and a test can check the
measured fraction against ``percent``.
"""
from __future__ import annotations

from ..errors import LabError
from .base import Fault, hearing, register
from ._net import add_rule, chains, proto_args, remove_tagged_rules, rule_counters


@register
class RandomLoss(Fault):
    kind = "loss"
    summary = "drop percent=P of packets at random [direction=in|out|both] [proto=vrrp|icmp|all|...]"
    needs = ("iptables", "statistic")

    def __init__(self, lab, target, *, percent: float, direction: str = "in", proto: str = "vrrp", **kw):
        if not 0 < float(percent) <= 100:
            raise LabError(f"loss: percent must be in (0, 100], got {percent}")
        chains(direction)
        proto_args(proto)
        super().__init__(lab, target, percent=float(percent), direction=direction, proto=proto, **kw)

    def model_inputs(self, action: str):
        """100 % loss of VRRP is a cut (like drop-vrrp); other protocols do not touch VRRP; a partial
        loss of VRRP has no rule: whether three adverts in a row are lost is chance."""
        p, d = self.params, self.params["direction"]
        if p["proto"] not in ("all", "vrrp"):
            return []
        if p["percent"] < 100:
            return None
        peers = self.keepalived_peers()
        pairs = ([(self.target, q) for q in peers] if d in ("in", "both") else []) + \
                ([(q, self.target) for q in peers] if d in ("out", "both") else [])
        return hearing(pairs, hears=action != "apply")

    def unmodelled(self, action: str) -> str:
        return (f"loss of {self.params['percent']:g}% of VRRP at random: a backup takes over only if it "
                f"misses every advert for its master down interval, which is chance; the model has no rule")

    def _apply(self) -> str:
        node, p = self.node(), self.params["percent"] / 100
        for chain in chains(self.params["direction"]):
            # -I inserts at the top: add the DROP first, then the counter above it.
            add_rule(node, chain, [*proto_args(self.params["proto"]), "-m", "statistic", "--mode", "random",
                                   "--probability", f"{p:.6f}"], self.comment, ["DROP"])
            node.exec(["iptables", "-w", "-I", chain, *proto_args(self.params["proto"]),   # counter: no target
                       "-m", "comment", "--comment", self.comment], check=True)
        return f"{self.params['percent']:g}% of {self.params['proto']} {self.params['direction']} dropped at random"

    def counters(self) -> tuple[int, int]:
        """(packets that reached the fault's rules, packets it dropped), summed over its chains."""
        seen = dropped = 0
        for pk, target in rule_counters(self.node(), self.comment):
            if target == "DROP":
                dropped += pk
            else:
                seen += pk
        return seen, dropped

    def _heal(self) -> str:
        n = remove_tagged_rules(self.node(), self.comment) if self.node().status() == "running" else 0
        return f"{n} rule(s) removed"
