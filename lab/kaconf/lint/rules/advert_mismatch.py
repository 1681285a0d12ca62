"""Lint rule ``advert-mismatch``: VRRPv2 peers with different ``advert_int``.

Source: RFC 3768 §7.1 (VRRPv3 learns the interval: RFC 5798 §6.4.2).
"""
from __future__ import annotations

from pathlib import Path

from ..base import Diagnostic, Member, diag, peer_groups, register, vrrp_version, where
from ....timers import effective_advert_int


@register("advert-mismatch",
          summary="VRRPv2 peers with different `advert_int`",
          source="RFC 3768 §7.1 (VRRPv3 learns the interval: RFC 5798 §6.4.2)")
def rule_advert_mismatch(members: list[Member]) -> list[Diagnostic]:
    """VRRPv2 peers with different advert_int.

    RFC 3768 §7.1: the receiver "MUST verify that the Adver Interval in the
    packet is the same as the locally configured for this virtual router"
    and discards the packet otherwise, so both become MASTER. VRRPv3 (RFC 5798
    §6.4.2) lets a backup learn the master's interval: no diagnostic there. keepalived 2.2.7 rounds a
    VRRPv2 fraction to whole seconds first (0.5 and 1 agree).
    """
    out = []
    for (_itf, vrid, _family), peers in peer_groups(members).items():
        v2 = [(m, n, i) for m, n, i in peers if vrrp_version(m, i) == 2]
        ints = {effective_advert_int(i.advert_int, 2) for _m, _n, i in v2}     # keepalived rounds v2 fractions
        if len(v2) < 2 or len(ints) < 2:
            continue
        desc = ", ".join(f"{Path(m.file).name}:{n}={i.advert_int:g}s" for m, n, i in v2)
        for m, n, i in v2:
            out.append(diag(where(m, n, "advert_int"), m, "advert_int", "error",
                            f"({n}, VRID {vrid}) VRRPv2 peers disagree on advert_int ({desc}): RFC 3768 §7.1 discards "
                            f"adverts with another interval, so each node becomes MASTER", "advert-mismatch"))
    return out
