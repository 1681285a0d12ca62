"""Lint rule ``auth-mismatch``: peers disagree on authentication.

Source: man 5 keepalived.conf, vrrp_instance authentication; RFC 2338 §7.1.
"""
from __future__ import annotations

from pathlib import Path

from ..base import Diagnostic, Member, diag, peer_groups, register, where


@register("auth-mismatch",
          summary="peers disagree on authentication",
          source="man 5 keepalived.conf, vrrp_instance authentication; RFC 2338 §7.1")
def rule_auth_mismatch(members: list[Member]) -> list[Diagnostic]:
    """Peers of one instance disagree on authentication.

    man 5 keepalived.conf, authentication: the password "should be the same on
    all machines"; RFC 2338 §7.1 (receiving): a packet whose authentication does
    not match is discarded, so each side stops hearing the other and both become
    MASTER (split brain). Only the first 8 characters count.
    """
    out = []
    for (_itf, vrid, _family), peers in peer_groups(members).items():
        def key(inst):
            a = inst.authentication
            return None if a is None else (a.auth_type, a.auth_pass[:8] if a.auth_type == "PASS" else a.auth_pass)
        keys = {key(i) for _m, _n, i in peers}
        if len(keys) < 2:
            continue
        desc = ", ".join(f"{Path(m.file).name}:{n}=" + ("none" if key(i) is None else f"{key(i)[0]}/{key(i)[1]!r}")
                         for m, n, i in peers)
        for m, n, i in peers:
            out.append(diag(where(m, n, "authentication"), m, "authentication", "error",
                            f"({n}, VRID {vrid}) authentication differs between peers ({desc}): adverts are dropped "
                            f"and each node becomes MASTER", "auth-mismatch"))
    return out
