"""Random loss of a given percentage (iptables ``statistic`` match, random mode).

Two rules carry the fault's tag: a counting rule that matches every selected packet and the
``-m statistic --mode random --probability p -j DROP`` rule after it, so
:meth:`RandomLoss.counters` gives (packets seen, packets dropped) and a test can check the
measured fraction against ``percent``.
"""
from __future__ import annotations

from .base import Fault, hearing, register
from ._exec import remove_tagged_rules, rule_counters, run_all
from .rules import chains, loss_rules, probability, proto_args


@register
class RandomLoss(Fault):
    kind = "loss"
    summary = "drop percent=P of packets at random [direction=in|out|both] [proto=vrrp|icmp|all|...]"
    needs = ("iptables", "statistic")

    def __init__(self, lab, target, *, percent: float, direction: str = "in", proto: str = "vrrp", **kw):
        probability(percent)
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
        p = self.params
        # -I inserts at the top: the DROP first, then the counter above it (rules.loss_rules).
        run_all(self.node(), loss_rules(p["percent"], p["direction"], p["proto"], self.comment))
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
