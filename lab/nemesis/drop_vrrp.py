"""Drop VRRP (IP protocol 112) on one node: inbound, outbound or both, multicast and unicast alike.

The rule matches the protocol, not the destination, so it catches adverts to 224.0.0.18 and
unicast adverts to ``unicast_peer`` addresses. With ``peer=NODE`` only VRRP from (inbound) or to
(outbound, unicast only) that node's addresses is dropped.
Documented effect: a backup that hears no adverts becomes MASTER after its master down interval
(RFC 3768 §6.4.2), giving two VIP holders; after heal the lower-priority one returns to BACKUP on
the first higher-priority advert (§6.4.3).
"""
from __future__ import annotations

from .base import Fault, hearing, register
from ._exec import node_addresses, remove_tagged_rules, run_all
from .rules import chains, drop_vrrp_rules


@register
class DropVrrp(Fault):
    kind = "drop-vrrp"
    summary = "drop VRRP (protocol 112) direction=in|out|both [peer=NODE] with iptables"
    needs = ("iptables",)

    def __init__(self, lab, target, *, direction: str = "both", peer: str = "", **kw):
        chains(direction)
        if peer:
            lab.node(peer)
        super().__init__(lab, target, direction=direction, peer=peer, **kw)

    def model_inputs(self, action: str):
        """Who stops hearing whom (R_HEARING): ``in`` cuts the target's reception of every peer (or of
        ``peer``), ``out`` every peer's (or ``peer``'s) reception of the target, ``both`` both."""
        d, peer = self.params["direction"], self.params["peer"]
        peers = [peer] if peer else self.keepalived_peers()
        pairs = []
        if d in ("in", "both"):
            pairs += [(self.target, p) for p in peers]
        if d in ("out", "both"):
            pairs += [(p, self.target) for p in peers]
        return hearing(pairs, hears=action != "apply")

    def _apply(self) -> str:
        peer = self.params["peer"]
        addrs = node_addresses(self.lab.node(peer)) if peer else []
        run_all(self.node(), drop_vrrp_rules(self.params["direction"], addrs, self.comment))
        return f"VRRP dropped {self.params['direction']}" + (f" from/to {peer}" if peer else "")

    def _heal(self) -> str:
        n = remove_tagged_rules(self.node(), self.comment) if self.node().status() == "running" else 0
        return f"{n} rule(s) removed"
