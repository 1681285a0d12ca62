"""Lint rule ``script-security``: ``enable_script_security``, no ``script_user`` and no keepalived_script user.

Source: man 5 keepalived.conf, SCRIPTS and global_defs script_user; measured on keepalived 2.2.7 (exit code 5).
"""
from __future__ import annotations

from ..base import Diagnostic, Member, diag, register


def _scripts_used(m: Member) -> bool:
    if any(i.track_script or i.notify_master or i.notify_backup or i.notify_fault or i.notify_stop or i.notify
           for i in m.kc.instances.values()):
        return True
    return any(g.notify_master or g.notify_backup or g.notify_fault or g.notify_stop or g.notify
               for g in m.kc.sync_groups.values())


@register("script-security",
          summary="`enable_script_security`, no `script_user` and no keepalived_script user",
          source="man 5 keepalived.conf, SCRIPTS and global_defs script_user; measured on keepalived 2.2.7 (exit code 5)")
def rule_script_security(members: list[Member]) -> list[Diagnostic]:
    """enable_script_security with neither script_user nor a keepalived_script user.

    man 5 keepalived.conf, SCRIPTS and global_defs ``script_user``: scripts run
    as ``keepalived_script`` if that user exists, else as root. With
    ``enable_script_security`` keepalived 2.2.7 refuses the fallback (measured
    in the node image: "Unable to set default user keepalived_script for
    script", exit code 5). Quiet when script_user is set, when every script
    has its own ``user``, or when the caller says the user exists.
    """
    out = []
    for m in members:
        g = m.kc.global_defs
        if not g.enable_script_security or g.script_user or m.user_exists:
            continue
        if not _scripts_used(m):
            continue
        used = {t.name for i in m.kc.instances.values() for t in i.track_script}
        if used and all(m.kc.scripts[n].user for n in used if n in m.kc.scripts) and not any(
                i.notify_master or i.notify_backup or i.notify_fault or i.notify_stop or i.notify
                for i in m.kc.instances.values()):
            continue
        stmt = m.kc.stmt("global_defs", "", "enable_script_security")
        out.append(diag(stmt, m, "enable_script_security", "error",
                        "enable_script_security is set but there is no script_user and (unless the host has one) no "
                        "keepalived_script user: keepalived refuses to run the scripts; add 'script_user USER' or "
                        "create the keepalived_script user", "script-security"))
    return out
