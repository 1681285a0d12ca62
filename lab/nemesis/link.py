"""Interface down / up (``ip link set dev IF down``).

Documented effect (man 5 keepalived.conf, vrrp_instance ``interface`` and ``track_interface``):
an instance whose interface (or a tracked interface without a weight) goes down enters FAULT and
releases its VIPs; a backup then takes over after its master down interval. When the link comes
back the instance leaves FAULT and the election runs again.
"""
from __future__ import annotations

from ..errors import LabError
from . import Fault, register


@register
class LinkDown(Fault):
    kind = "link-down"
    summary = "take interface iface=NAME (default the node's first) down; heal brings it up"

    def __init__(self, lab, target, *, iface: str = "", **kw):
        itfs = list(lab.node(target).addresses)
        iface = iface or itfs[0]
        if iface not in itfs:
            raise LabError(f"link-down: node {target} has no interface {iface!r}; it has {', '.join(itfs)}")
        super().__init__(lab, target, iface=iface, **kw)

    def _apply(self) -> str:
        self.node().exec(["ip", "link", "set", "dev", self.params["iface"], "down"], check=True)
        return f"{self.params['iface']} down"

    def _heal(self) -> str:
        if self.node().status() != "running":
            return "node not running"
        self.node().exec(["ip", "link", "set", "dev", self.params["iface"], "up"], check=True)
        return f"{self.params['iface']} up"
