"""Lint rule ``auth-pass-length``: ``auth_pass`` longer than 8 characters (truncated).

Source: man 5 keepalived.conf, vrrp_instance authentication; RFC 2338 §5.3.10.
"""
from __future__ import annotations

from ..base import Diagnostic, Member, diag, register, where


@register("auth-pass-length",
          summary="`auth_pass` longer than 8 characters (truncated)",
          source="man 5 keepalived.conf, vrrp_instance authentication; RFC 2338 §5.3.10")
def rule_auth_pass_length(members: list[Member]) -> list[Diagnostic]:
    """auth_pass longer than 8 characters.

    man 5 keepalived.conf, vrrp_instance, authentication: "Only the first eight
    (8) characters are used." (RFC 2338 §5.3.10: the authentication data field
    of VRRPv2 is 8 octets.)
    """
    out = []
    for m in members:
        for name, inst in m.kc.instances.items():
            a = inst.authentication
            if a and a.auth_type == "PASS" and len(a.auth_pass) > 8:
                out.append(diag(where(m, name, "authentication"), m, "auth_pass", "warning",
                                f"({name}) auth_pass {a.auth_pass!r} has {len(a.auth_pass)} characters; keepalived uses "
                                f"only the first 8 ({a.auth_pass[:8]!r})", "auth-pass-length"))
    return out
