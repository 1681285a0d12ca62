"""Lint rule ``shell-script``: a script written in shell syntax, exec'd without a shell.

Source: man 5 keepalived.conf, SCRIPTS and Quoted strings.
"""
from __future__ import annotations

from typing import Optional

from ..base import Diagnostic, Member, diag, register, statements


_SHELL_TOKENS = ("|", "||", "&&", ";", ">", ">>", "<", "2>&1", "&")
_SHELL_CHARS = ("$(", "`", "<", ">", "|", "&&", ";", "*", "~")
_BUILTINS = {"[[", "source", ".", "cd", "export", "exit", "eval", "if", "for", "while", "case", "function",
             "set", "alias", "ulimit", "read", "let", "declare", "local"}


def _shell_reason(argv: list[str]) -> Optional[str]:
    if not argv:
        return None
    if argv[0] in ("sh", "bash", "dash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/sh", "/bin/dash"):
        return None
    if argv[0].startswith("<") and argv[0][1:].lstrip(" \t").startswith("/"):
        # keepalived 2.2.7 runs a '</path' check through /bin/sh -c (lib/notify.c, SC_SYSTEM): it tests that the
        # file opens; fine for a file, but Debian's /bin/sh (dash) has no /dev/tcp
        if "/dev/tcp/" in argv[0] or "/dev/udp/" in argv[0]:
            return SH_DEV_TCP
        return None
    if argv[0] in _BUILTINS:
        return f"{argv[0]!r} is a shell builtin/keyword, not a program"
    for a in argv:
        if a in _SHELL_TOKENS:
            return f"{a!r} is shell syntax"
        for c in _SHELL_CHARS:
            if c in a:
                return f"{a!r} uses the shell's {c!r}"
    return None


#: the reason for a '</dev/tcp/...' check (run by dash, which lacks /dev/tcp)
SH_DEV_TCP = "dev-tcp"


@register("shell-script",
          summary="a script written in shell syntax, exec'd without a shell",
          source="man 5 keepalived.conf, SCRIPTS and Quoted strings")
def rule_shell_script(members: list[Member]) -> list[Diagnostic]:
    """A script written in shell syntax that keepalived will not run through a shell.

    man 5 keepalived.conf, SCRIPTS / Quoted strings: the script string is split
    into a program and its parameters ("unquoted spaces will separate the
    parameters") and executed directly, with no shell; pipes, ``&&``, ``$(...)``,
    globs and builtins are not interpreted. One exception (keepalived 2.2.7
    lib/notify.c, where the man page is silent): a ``</path`` check runs through
    ``/bin/sh -c`` (it tests that the file opens), which on Debian is dash, with
    no ``/dev/tcp`` (the seed's ``</dev/tcp/127.0.0.1/80`` always fails).
    keepalived -t says nothing about either. Fix: ``script "/bin/bash -c '...'"``
    or a script file.
    """
    out = []
    for m, path, s in statements(members):
        is_script = (s.keyword == "script" and path[-1:] == ("vrrp_script",)) or \
                    (s.keyword in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
                     and path[-1:] in (("vrrp_instance",), ("vrrp_sync_group",)))
        if not is_script:
            continue
        argv = s.script_argv()
        why = _shell_reason(argv)
        if why == SH_DEV_TCP:
            out.append(diag(s, m, s.keyword, "error",
                            f"{' '.join(argv)!r} is run through /bin/sh (keepalived runs a '</path' check with sh -c), "
                            f"and Debian's /bin/sh (dash) has no /dev/tcp: the check always fails; use "
                            f"\"/bin/bash -c '{' '.join(argv)}'\"", "shell-script"))
        elif why:
            out.append(diag(s, m, s.keyword, "error",
                            f"{' '.join(argv)!r} is run without a shell ({why}), so it cannot work as written; "
                            f"use \"/bin/bash -c '{' '.join(argv)}'\" (bash: /dev/tcp is a bash feature) or a script file", "shell-script"))
    return out
