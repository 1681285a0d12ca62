"""keepalived.conf's lexical rules (pure): comments, words, quotes and escapes, braces.

Each function follows one routine of keepalived 2.2.7's ``lib/parser.c``:

* :func:`decomment` (``decomment``): an unquoted ``!`` or ``#`` starts a comment
  anywhere on a line, ``\\!`` / ``\\#`` escape them, a trailing ``\\`` continues
  the line; leading and trailing blanks are dropped;
* :func:`words` (``alloc_strvec_r``): split on blanks; a word starting with ``"``
  runs to the next ``"`` (no escapes); a bare word also ends at a ``"``;
* :func:`qe_words` (``alloc_strvec_quoted_escaped``): shell-like quotes and
  escapes, used for script values (:meth:`lab.kaconf.parse.Stmt.script_argv`);
* :func:`split_braces` (``read_line``): an unquoted ``{`` or ``}`` ends the line,
  so ``track_script { chk }`` is four lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

#: the blanks keepalived splits on
WS = " \t"


@dataclass
class Line:
    """One line of text and where it came from (file name, 1-based line number)."""

    text: str
    file: str
    line: int


def decomment(line: str) -> tuple[str, bool]:
    """keepalived's ``decomment()``: strip comments and blanks. Returns (text, continued).

    ``continued`` is True when the line ends in an unescaped ``\\`` (multi-line definition).
    """
    s = line.lstrip(WS)
    out: list[str] = []
    quote = False
    cont = False
    i = 0
    while i < len(s):
        c = s[i]
        if c == '"':
            quote = not quote
        elif c == "\\":
            if i + 1 < len(s):
                if not quote and s[i + 1] in "#!":
                    out.append(s[i + 1])
                    i += 2
                    continue
                out.append(s[i:i + 2])
                i += 2
                continue
            cont = True
            break
        elif not quote and c in "!#":
            break
        out.append(c)
        i += 1
    text = "".join(out).rstrip(WS)
    return text, cont


def words(text: str) -> tuple[list[str], Optional[str]]:
    """Split a line into words like keepalived's ``alloc_strvec_r``. Returns (words, error)."""
    out: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in WS:
            i += 1
        if i >= n:
            return out, None
        if text[i] == '"':
            j = text.find('"', i + 1)
            if j < 0:
                return out, f"unmatched quote: {text!r}"
            out.append(text[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in WS and text[j] != '"':
                j += 1
            out.append(text[i:j])
            i = j


_ESC = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def qe_words(text: str) -> list[str]:
    """Split like keepalived's ``alloc_strvec_quoted_escaped`` (shell-like quotes and escapes).

    ``"a b"c`` is one word ``a bc``; single quotes work too; ``\\n``, ``\\xHH``,
    ``\\nnn`` (octal), ``\\cC`` escapes as in man 5 keepalived.conf, Quoted strings.
    An unterminated quote gives ``[]`` (keepalived drops the line).
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in WS:
            i += 1
        if i >= n:
            break
        buf: list[str] = []
        quote = ""
        while i < n:
            c = text[i]
            if c == "\\":
                i += 1
                if i >= n:
                    return []
                c = text[i]
                if c == "x" and i + 1 < n and text[i + 1] in "0123456789abcdefABCDEF":
                    i += 1
                    v = 0
                    while i < n and text[i] in "0123456789abcdefABCDEF":
                        v = (v * 16 + int(text[i], 16)) & 0xFF
                        i += 1
                    buf.append(chr(v))
                elif c == "c" and i + 1 < n:
                    buf.append(chr(ord(text[i + 1]) & 0x1F))
                    i += 2
                elif c in "01234567":
                    v, k = 0, 0
                    while i < n and k < 3 and text[i] in "01234567":
                        v = v * 8 + int(text[i])
                        i += 1
                        k += 1
                    buf.append(chr(v & 0xFF))
                else:
                    buf.append(_ESC.get(c, c))
                    i += 1
                continue
            if quote:
                if c == quote:
                    quote = ""
                else:
                    buf.append(c)
                i += 1
                continue
            if c in "\"'":
                quote = c
                i += 1
                continue
            if c in WS:
                break
            buf.append(c)
            i += 1
        if quote:
            return []
        out.append("".join(buf))
    return out


def split_braces(ln: Line) -> Iterator[Line]:
    """keepalived's read_line: an unquoted ``{`` or ``}`` ends the line; each brace is its own line."""
    t = ln.text
    while t:
        if t[0] in "{}":
            yield Line(t[0], ln.file, ln.line)
            t = t[1:].lstrip(WS)
            continue
        p, q = 0, False
        cut = -1
        while p < len(t):
            c = t[p]
            if c == '"':
                q = not q
            elif not q and c in "{}":
                cut = p
                break
            p += 1
        if cut < 0:
            yield Line(t.rstrip(WS), ln.file, ln.line)
            return
        head = t[:cut].rstrip(WS)
        if head:
            yield Line(head, ln.file, ln.line)
        t = t[cut:]
