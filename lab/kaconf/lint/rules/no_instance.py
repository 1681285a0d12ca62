"""Lint rule ``no-instance``: a node's config has no ``vrrp_instance``.

Source: man 5 keepalived.conf, VRRP instance(s): VRRP runs only for the instances a config declares.
"""
from __future__ import annotations

from ..base import Diagnostic, Member, diag, register


@register("no-instance",
          summary="a node's config declares no `vrrp_instance` (for its config id)",
          source="man 5 keepalived.conf, VRRP instance(s): VRRP runs only for the instances a config declares")
def rule_no_instance(members: list[Member]) -> list[Diagnostic]:
    """A file with no vrrp_instance (after ``@ID`` lines and includes) runs no VRRP: that node never holds a
    VIP and nothing fails over to it. Usually a wrong config id (``FILE@ID``), an include pattern that
    matched nothing, or the wrong file. Source: man 5 keepalived.conf, VRRP instance(s)."""
    return [diag(None, m, None, "warning",
                 "no vrrp_instance in this config (after its includes and @ID lines): keepalived runs no VRRP "
                 "here, so this node never holds a VIP; check the config id (FILE@ID) and the include patterns",
                 "no-instance")
            for m in members if not m.kc.instances]
