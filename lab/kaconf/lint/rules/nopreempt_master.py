"""Lint rule ``nopreempt-master``: ``nopreempt`` / ``preempt_delay`` with initial state MASTER.

Source: man 5 keepalived.conf, vrrp_instance nopreempt and preempt_delay.
"""
from __future__ import annotations

from ..base import Diagnostic, Member, diag, register, where


@register("nopreempt-master",
          summary="`nopreempt` / `preempt_delay` with initial state MASTER",
          source="man 5 keepalived.conf, vrrp_instance nopreempt and preempt_delay")
def rule_nopreempt_master(members: list[Member]) -> list[Diagnostic]:
    """nopreempt (or preempt_delay) with initial state MASTER.

    man 5 keepalived.conf, vrrp_instance, ``nopreempt`` and ``preempt_delay``:
    "NOTE: For this to work, the initial state must not be MASTER." A MASTER
    start preempts anyway, so the setting silently does nothing at start-up.
    """
    out = []
    for m in members:
        for name, inst in m.kc.instances.items():
            if inst.state != "MASTER":
                continue
            for kw, on in (("nopreempt", inst.nopreempt), ("preempt_delay", bool(inst.preempt_delay))):
                if on:
                    out.append(diag(where(m, name, kw), m, kw, "error",
                                    f"({name}) {kw} has no effect with 'state MASTER' (man 5 keepalived.conf: "
                                    f"\"For this to work, the initial state must not be MASTER\"); use state BACKUP "
                                    f"on every node", "nopreempt-master"))
    return out
