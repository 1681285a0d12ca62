"""Lint rule ``strict-conflict``: ``vrrp_strict`` with unicast peers / authentication / ``preempt_delay`` / MASTER below 255.

Source: man 5 keepalived.conf, global_defs vrrp_strict; measured on keepalived 2.2.7.
"""
from __future__ import annotations

from ..base import Diagnostic, Member, diag, register, strict_mode, where


@register("strict-conflict",
          summary="`vrrp_strict` with unicast peers / authentication / `preempt_delay` / MASTER below 255",
          source="man 5 keepalived.conf, global_defs vrrp_strict; measured on keepalived 2.2.7")
def rule_strict_conflicts(members: list[Member]) -> list[Diagnostic]:
    """vrrp_strict conflicts.

    man 5 keepalived.conf, global_defs ``vrrp_strict``: strict mode does not
    allow unicast peers, does not support authentication or preempt delay, and
    "State MASTER can be configured if and only if priority is 255".
    keepalived 2.2.7 ignores authentication ("Strict mode does not support
    authentication. Ignoring.") and starts a MASTER below 255 as BACKUP ("State
    MASTER must match being address owner").
    """
    out = []
    for m in members:
        for name, inst in m.kc.instances.items():
            if not strict_mode(m, name):
                continue
            checks = [
                ("unicast_peer", bool(inst.unicast_peer), "unicast peers are not allowed in strict mode"),
                ("authentication", inst.authentication is not None,
                 "authentication is not supported in strict mode (keepalived ignores it)"),
                ("preempt_delay", bool(inst.preempt_delay), "preempt_delay is not supported in strict mode"),
                ("state", inst.state == "MASTER" and inst.priority != 255,
                 f"state MASTER needs priority 255 in strict mode (priority is {inst.priority}); keepalived "
                 f"starts it as BACKUP"),
            ]
            for kw, bad, msg in checks:
                if bad:
                    out.append(diag(where(m, name, kw), m, kw, "error", f"({name}) vrrp_strict: {msg}",
                                    "strict-conflict"))
    return out
