"""Statements -> keepalived.conf text (pure): canonical layout, words quoted where keepalived would split them.

``dump(parse(dump(t)))`` equals ``dump(t)``.
"""
from __future__ import annotations

import re

from .stmt import Config, Stmt

_NEEDS_QUOTE = re.compile(r"[\s{}!#]|^$")


def quote_word(w: str) -> str:
    """Quote a word when keepalived would otherwise split it (blanks, braces, comment characters)."""
    if '"' in w:
        if _NEEDS_QUOTE.search(w) or w.startswith('"'):
            raise ValueError(f"word {w!r} cannot be written: it needs quotes and contains a double quote")
        return w
    return f'"{w}"' if _NEEDS_QUOTE.search(w) else w


def dump(stmts: list[Stmt] | Config, indent: int = 0, step: int = 4) -> str:
    """Render statements back to keepalived.conf text (canonical layout, comments dropped)."""
    if isinstance(stmts, Config):
        stmts = stmts.statements
    out: list[str] = []
    pad = " " * indent
    for s in stmts:
        line = pad + " ".join(quote_word(w) for w in s.words)
        if s.children is None:
            out.append(line + "\n")
        else:
            out.append(line + " {\n")
            out.append(dump(s.children, indent + step, step))
            out.append(pad + "}\n")
    return "".join(out)
