"""Lint rule ``vrid-reuse``: one VRID on one network with different VIP sets.

Source: RFC 3768 §5.3.3, RFC 5798 §5.2.3; man 5 keepalived.conf, vrrp_instance virtual_router_id.
"""
from __future__ import annotations

from pathlib import Path

from ..base import Diagnostic, Member, diag, peer_groups, register, vip_set, where


@register("vrid-reuse",
          summary="one VRID on one network with different VIP sets",
          source="RFC 3768 §5.3.3, RFC 5798 §5.2.3; man 5 keepalived.conf, vrrp_instance virtual_router_id")
def rule_vrid_reuse(members: list[Member]) -> list[Diagnostic]:
    """One VRID on one network with different VIP sets.

    RFC 3768 §5.3.3 / RFC 5798 §5.2.3: the VRID identifies the virtual router on
    a LAN; man 5 keepalived.conf, virtual_router_id: do not duplicate it on a
    network (except unicast with disjoint peers or another mcast_dst_ip). Two
    routers with one VRID and different addresses fight over one virtual MAC
    (00-00-5E-00-01-{VRID}) and log "received an invalid ip number count"
    instead of electing.
    """
    out = []
    for (_itf, vrid, _family), peers in peer_groups(members).items():
        mc = [(m, n, i) for m, n, i in peers if not i.unicast_peer]
        sets = {vip_set(i) for _m, _n, i in mc}
        if len(sets) < 2:
            continue
        desc = "; ".join(f"{Path(m.file).name}:{n}: {', '.join(sorted(vip_set(i))) or 'none'}" for m, n, i in mc)
        for m, n, i in mc:
            out.append(diag(where(m, n, "virtual_router_id"), m, "virtual_router_id", "error",
                            f"VRID {vrid} on {_itf or 'the same interface'} is used with different VIP sets ({desc}); "
                            f"give each virtual router its own VRID", "vrid-reuse"))
    return out
