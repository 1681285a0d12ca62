"""Lint rule ``script-glued``: ``script"..."`` with no blank: keepalived sees no script.

Source: man 5 keepalived.conf, Quoted strings; measured on keepalived 2.2.7.
"""
from __future__ import annotations

from ..base import Diagnostic, Member, diag, register, statements


@register("script-glued",
          summary="`script\"...\"` with no blank: keepalived sees no script",
          source="man 5 keepalived.conf, Quoted strings; measured on keepalived 2.2.7")
def rule_script_glued(members: list[Member]) -> list[Diagnostic]:
    """``script"..."`` with no blank between keyword and quote.

    keepalived 2.2.7 splits the raw line with its quoted-string rules (man 5
    keepalived.conf, Quoted strings: quotes join, like the shell), so
    ``script"/tools/nginx_check.sh"`` is ONE word and no script is left
    (measured: "No script set for vrrp_script nginx_check - removing"); every
    track_script naming it is then ignored.
    """
    out = []
    for m, path, s in statements(members):
        if path[-1:] == ("vrrp_script",) and s.keyword == "script" and s.args and not s.script_argv():
            out.append(diag(s, m, "script", "error",
                            f"no blank between 'script' and its quoted command ({s.text!r}): keepalived reads one "
                            f"word and drops the vrrp_script; write script \"{s.args[0]}\"", "script-glued"))
    return out
