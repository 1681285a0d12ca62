"""Logical lines -> the tree of statements (pure): blocks opened by ``{``, closed by ``}``, with line numbers.

Words are split with :func:`lab.kaconf.parse.lex.words`; a ``{`` opens a block on
the statement just before it; stray braces and unclosed blocks are problems.
"""
from __future__ import annotations

from typing import Iterable, Optional

from .lex import Line, words
from .stmt import ParseProblem, Stmt


#: the deepest block nesting read (keepalived's own grammar nests at most 5 deep: virtual_server >
#: real_server > HTTP_GET > url; deeper is not a keepalived.conf, and would exhaust recursion)
MAX_NESTING = 32


def build(lines: Iterable[Line], problems: list[ParseProblem]) -> list[Stmt]:
    """The top-level statements of ``lines``; problems found are appended to ``problems``.

    A ``{`` that would nest blocks deeper than :data:`MAX_NESTING` is one error and its block is
    read flat (its braces ignored)."""
    root: list[Stmt] = []
    stack: list[tuple[Stmt, list[Stmt]]] = []
    cur = root
    last: Optional[Stmt] = None        # last statement at the current level, may open a block
    too_deep = 0                       # braces opened (and ignored) beyond MAX_NESTING
    for ln in lines:
        if ln.text == "{" and len(stack) >= MAX_NESTING:
            if not too_deep:
                problems.append(ParseProblem(ln.file, ln.line, f"blocks nested more than {MAX_NESTING} deep: "
                                                               f"not a keepalived.conf (read flat from here)", "error"))
            too_deep += 1
            continue
        if ln.text == "}" and too_deep:
            too_deep -= 1
            continue
        if ln.text == "{":
            if last is not None and last.children is None:
                last.children = []
                stack.append((last, cur))
                cur = last.children
                last = None
            else:
                problems.append(ParseProblem(ln.file, ln.line, "Unexpected '{' - ignoring", "error"))
            continue
        if ln.text == "}":
            if not stack:
                problems.append(ParseProblem(ln.file, ln.line, "Extra '}' found", "error"))
                continue
            blk, cur = stack.pop()
            if ln.file == blk.file:
                blk.end_line = ln.line
            last = None
            continue
        ws, err = words(ln.text)
        if err:
            problems.append(ParseProblem(ln.file, ln.line, err, "error"))
        if not ws:
            continue
        st = Stmt(ws[0], ws[1:], None, ln.file, ln.line, ln.text)
        cur.append(st)
        last = st
    for blk, _ in reversed(stack):
        problems.append(ParseProblem(blk.file, blk.line, f"block '{' '.join(blk.words)}' is never closed "
                                                         f"(missing '}}')", "error"))
    return root
