"""Interface down / up (``ip link set dev IF down``).

Documented effect (man 5 keepalived.conf, vrrp_instance ``interface`` and ``track_interface``):
an instance whose interface (or a tracked interface without a weight) goes down enters FAULT and
releases its VIPs; a backup then takes over after its master down interval. When the link comes
back the instance leaves FAULT and the election runs again.
"""
from __future__ import annotations

from ..errors import LabError
from ._exec import run_all
from .base import Fault, node_input, register
from .rules import link_argv


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

    def model_inputs(self, action: str):
        """The interface goes down / up (R_IFACE: FAULT when it is an instance's own or an unweighted
        tracked interface); a down link also carries no adverts either way."""
        itf = self.params["iface"]
        ka = self.lab.topology.keepalived_nodes()
        if self.target not in ka:
            return []
        return [node_input("interface", self.target, interface=itf, up=action != "apply")]

    def _apply(self) -> str:
        run_all(self.node(), [link_argv(self.params["iface"], up=False)])
        return f"{self.params['iface']} down"

    def _heal(self) -> str:
        if self.node().status() != "running":
            return "node not running"
        run_all(self.node(), [link_argv(self.params["iface"], up=True)])
        return f"{self.params['iface']} up"
