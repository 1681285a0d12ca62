"""Lint rule ``vip-subnet``: a VIP outside every subnet of the node, without ``dev``.

Source: man 5 keepalived.conf, vrrp_instance virtual_ipaddress.
"""
from __future__ import annotations

import ipaddress

from ...schema import parse_vip
from ..base import Diagnostic, Member, diag, register, where


@register("vip-subnet",
          summary="a VIP outside every subnet of the node, without `dev`",
          source="man 5 keepalived.conf, vrrp_instance virtual_ipaddress")
def rule_vip_subnet(members: list[Member]) -> list[Diagnostic]:
    """A VIP outside every subnet of the node, with no ``dev``.

    man 5 keepalived.conf, vrrp_instance, virtual_ipaddress: an address without
    ``dev`` goes on the instance's interface, and without ``/prefix`` it is a
    /32. An address in none of the node's subnets is unreachable for hosts on
    those networks (no ARP reply is looked for there) unless routed to it; say
    ``dev`` explicitly if that is intended. Quiet when the node's subnets are
    unknown (pass them with ``--subnet`` or lint a lab topology).
    """
    out = []
    for m in members:
        if not m.subnets:
            continue
        for name, inst in m.kc.instances.items():
            for v in inst.virtual_ipaddress:
                p = parse_vip(v)
                if p.get("dev"):
                    continue
                try:
                    ip = ipaddress.ip_address(p["address"])
                except ValueError:
                    continue
                if not any(ip.version == n.version and ip in n for n in m.subnets):
                    out.append(diag(where(m, name, "virtual_ipaddress"), m, "virtual_ipaddress", "warning",
                                    f"({name}) VIP {v} is outside every subnet of this node "
                                    f"({', '.join(map(str, m.subnets))}) and names no dev", "vip-subnet"))
    return out
