"""Read real keepalived.conf text into a structured form (pure; no Docker).

The reader follows keepalived 2.2.7's own parser (``lib/parser.c``) so that what
the lab sees is what the daemon sees:

* comments: an unquoted ``!`` or ``#`` starts a comment *anywhere* on a line
  (``\\!`` / ``\\#`` escape them); leading/trailing blanks are dropped;
* words: split on blanks; a word starting with ``"`` runs to the next ``"``
  (no escapes); a bare word also ends at a ``"`` (``alloc_strvec_r``);
* braces: an unquoted ``{`` or ``}`` always ends the current line, so
  ``track_script { chk }`` is four lines (``read_line``);
* ``include`` / ``includer|m|w|b|a`` FILE-GLOB: relative to the directory of
  the including file (keepalived chdir()s there); missing files are reported
  as problems, not errors (man 5 keepalived.conf, DESCRIPTION);
* ``$NAME=value`` definitions (``\\`` at the end continues a multi-line
  definition), ``$NAME`` / ``${NAME}`` use, the predefined ``$_PWD``,
  ``$_INSTANCE``, ``$_RANDOM``, ``$_HASH``, ``$_BANG`` (man 5, ADVANCED
  CONFIGURATION, Parameter substitution / Pre-defined definitions);
* ``@ID line`` / ``@^ID line``: kept only when ``config_id`` matches (does not
  match) ID (man 5, Conditional configuration and configuration id);
* ``~SEQ(VAR, start, step, end) line`` sequence blocks.

Script values are tokenised a second time the way keepalived does for
``script``/``notify*`` (``alloc_strvec_quoted_escaped``): see
:meth:`Stmt.script_argv`.

Result: a :class:`Config` holding a tree of :class:`Stmt` (keyword, args,
children when the statement opened a ``{`` block, file and line) and the
problems the reader found. :func:`dump` renders a tree back to text;
``dump(parse(dump(t)))`` equals ``dump(t)``.
"""
from __future__ import annotations

import glob as _glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

__all__ = ["Stmt", "Config", "ParseProblem", "parse_text", "parse_file", "dump", "words", "qe_words"]

_WS = " \t"
_DEF_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)\s*=")
_INCLUDE_RE = re.compile(r"^include([rmwba])?[ \t]")


@dataclass
class ParseProblem:
    """Something the reader noticed: ``severity`` is "error" or "warning"; ``line`` is 1-based."""

    file: str
    line: Optional[int]
    message: str
    severity: str = "warning"


@dataclass
class Stmt:
    """One keyword line; ``children`` is a list when the line opened a ``{`` block, else None.

    ``args`` are the words after the keyword (keepalived's ``alloc_strvec_r``);
    ``text`` is the logical line after comments, definitions and conditionals
    were applied (what keepalived's handlers see as the raw line).
    """

    keyword: str
    args: list[str] = field(default_factory=list)
    children: Optional[list["Stmt"]] = None
    file: str = "<text>"
    line: int = 0
    text: str = ""
    end_line: Optional[int] = None     # line of the closing '}' of a block

    # ---- navigation
    @property
    def words(self) -> list[str]:
        return [self.keyword, *self.args]

    @property
    def name(self) -> Optional[str]:
        """First argument (the block name of ``vrrp_instance VI_1``), or None."""
        return self.args[0] if self.args else None

    def find(self, keyword: str) -> Optional["Stmt"]:
        """Last child with this keyword (keepalived keeps the last of repeated scalars)."""
        found = [c for c in self.children or [] if c.keyword == keyword]
        return found[-1] if found else None

    def find_all(self, keyword: str) -> list["Stmt"]:
        return [c for c in self.children or [] if c.keyword == keyword]

    def value(self, keyword: str, default: Optional[str] = None) -> Optional[str]:
        """First argument of the last child ``keyword``; ``default`` when absent or without argument."""
        s = self.find(keyword)
        return s.args[0] if s is not None and s.args else default

    def script_argv(self) -> list[str]:
        """The argv keepalived builds for a script keyword (``script``, ``notify_master`` ...).

        keepalived 2.2.7 (``set_script_params_array``) tokenises the whole raw line
        with quotes and escapes, takes the second word and tokenises it again. So
        ``script "killall -0 nginx"`` gives ``["killall", "-0", "nginx"]`` and
        ``script"/x.sh"`` (no blank after the keyword) gives ``[]``: no script.
        """
        outer = qe_words(self.text)
        if len(outer) < 2:
            return []
        return qe_words(outer[1])

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Config:
    """A parsed keepalived.conf: top-level statements, files read, definitions, problems."""

    statements: list[Stmt]
    files: list[str] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=dict)
    problems: list[ParseProblem] = field(default_factory=list)
    source: str = "<text>"

    def find_all(self, keyword: str) -> list[Stmt]:
        return [s for s in self.statements if s.keyword == keyword]

    def find(self, keyword: str) -> Optional[Stmt]:
        found = self.find_all(keyword)
        return found[-1] if found else None

    def block(self, keyword: str, name: str) -> Optional[Stmt]:
        """The top-level block ``keyword name`` (e.g. ``vrrp_instance VI_1``), or None."""
        for s in self.statements:
            if s.keyword == keyword and s.name == name:
                return s
        return None

    def walk(self) -> Iterator[tuple[tuple[str, ...], Stmt]]:
        """Every statement with its path of enclosing keywords."""
        def rec(stmts, path):
            for s in stmts:
                yield path, s
                if s.children:
                    yield from rec(s.children, path + (s.keyword,))
        yield from rec(self.statements, ())

    def at(self, file: str, line: int) -> Optional[tuple[tuple[str, ...], Stmt]]:
        """The innermost statement on ``file:line``, or the block whose ``}`` is there; with its path."""
        best = None
        for path, s in self.walk():
            if s.file != file:
                continue
            if s.line == line or s.end_line == line:
                if best is None or len(path) >= len(best[0]):
                    best = (path, s)
        return best


# ------------------------------------------------------------------ tokenisers
def decomment(line: str) -> tuple[str, bool]:
    """keepalived's ``decomment()``: strip comments and blanks. Returns (text, continued).

    ``continued`` is True when the line ends in an unescaped ``\\`` (multi-line definition).
    """
    s = line.lstrip(_WS)
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
    text = "".join(out).rstrip(_WS)
    return text, cont


def words(text: str) -> tuple[list[str], Optional[str]]:
    """Split a line into words like keepalived's ``alloc_strvec_r``. Returns (words, error)."""
    out: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WS:
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
            while j < n and text[j] not in _WS and text[j] != '"':
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
        while i < n and text[i] in _WS:
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
            if c in _WS:
                break
            buf.append(c)
            i += 1
        if quote:
            return []
        out.append("".join(buf))
    return out


# ------------------------------------------------------------------ reader
@dataclass
class _Line:
    text: str
    file: str
    line: int


class _Reader:
    """Produces logical lines (after comments, conditionals, definitions, includes, braces)."""

    def __init__(self, config_id: Optional[str], max_depth: int = 32):
        self.config_id = config_id
        self.defs: dict[str, str] = {}
        self.problems: list[ParseProblem] = []
        self.files: list[str] = []
        self.max_depth = max_depth

    # -- definitions
    def _std(self, name: str, params: Optional[str], cwd: str) -> Optional[str]:
        if name == "_PWD":
            return cwd
        if name == "_INSTANCE":
            return self.config_id or ""
        if name == "_HASH":
            return "#"
        if name == "_BANG":
            return "!"
        if name == "_RANDOM":
            nums = [int(x) for x in (params or "").split()]
            return str(nums[0] if nums else 0)   # deterministic: the lowest value allowed
        return None

    def replace(self, text: str, cwd: str) -> tuple[str, list[str], bool]:
        """Substitute ``$NAME``/``${NAME}``; returns (line, extra lines of a multi-line value, changed)."""
        out = text
        extra: list[str] = []
        changed = False
        pos = 0
        guard = 0
        while True:
            j = out.find("$", pos)
            if j < 0 or j + 1 >= len(out):
                break
            guard += 1
            if guard > 1000:
                self.problems.append(ParseProblem("", None, f"definition expansion does not end: {text!r}", "error"))
                break
            braces = out[j + 1] == "{"
            k = j + 2 if braces else j + 1
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", out[k:])
            if not m:
                pos = j + 1
                continue
            name = m.group(0)
            end = k + len(name)
            params = None
            if braces:
                pm = re.match(r"((?: *\d+)*)\}", out[end:])
                if not pm:
                    pos = j + 1
                    continue
                params = pm.group(1).strip() or None
                end += len(pm.group(0))
            elif end < len(out) and out[end] not in " \t,)":
                pos = j + 1
                continue
            if name in self.defs:
                value = self.defs[name]
            else:
                value = self._std(name, params, cwd)
                if value is None:
                    pos = j + 1
                    continue
            changed = True
            if "\n" in value:
                first, *rest = value.split("\n")
                out = out[:j] + first + out[end:]
                extra = rest + extra
                pos = j + len(first)
            else:
                out = out[:j] + value + out[end:]
                pos = j + len(value)
            if value.lstrip(_WS).startswith("~"):
                break
        return out, extra, changed

    # -- files
    def read_file(self, path: Path, depth: int = 0) -> Iterator[_Line]:
        try:
            text = path.read_text(errors="replace")
        except OSError as e:
            self.problems.append(ParseProblem(str(path), None, f"cannot read: {e.strerror}", "error"))
            return
        self.files.append(str(path))
        yield from self.read_text(text, str(path), path.parent, depth)

    def _include(self, kind: str, pattern: str, cur: _Line, cwd: Path, depth: int) -> Iterator[_Line]:
        if depth >= self.max_depth:
            self.problems.append(ParseProblem(cur.file, cur.line, f"include nested more than {self.max_depth} deep "
                                                                  f"(a loop?): {pattern}", "error"))
            return
        pat = pattern if os.path.isabs(pattern) else str(cwd / pattern)
        matches = sorted(_glob.glob(pat))
        if not matches:
            sev = "error" if kind in ("r", "m", "a", "w", "b") else "warning"
            self.problems.append(ParseProblem(cur.file, cur.line, f"Config files missing '{pattern}'.", sev))
            return
        for m in matches:
            p = Path(m)
            if p.is_dir() or os.access(m, os.X_OK):
                self.problems.append(ParseProblem(cur.file, cur.line, f"Configuration file '{m}' is not a regular "
                                                                      f"non-executable file - skipping"))
                continue
            yield from self.read_file(p, depth + 1)

    def read_text(self, text: str, fname: str, cwd: Path, depth: int = 0) -> Iterator[_Line]:
        physical = text.splitlines()
        pending: list[_Line] = []       # lines produced by multi-line definitions or ~SEQ
        multiline_def: Optional[str] = None
        i = 0
        while pending or i < len(physical):
            if pending:
                cur = pending.pop(0)
                t = cur.text
            else:
                raw = physical[i].rstrip("\r\n")
                i += 1
                cur = _Line(raw, fname, i)
                if not raw.strip():
                    if multiline_def is not None:
                        multiline_def = None
                    continue
                t, cont = decomment(raw)
                if multiline_def is not None:
                    if cont:
                        piece = t.rstrip(_WS)
                        if piece:
                            self.defs[multiline_def] += piece + "\n"
                    else:
                        if t:
                            self.defs[multiline_def] += t
                        self.defs[multiline_def] = self.defs[multiline_def].rstrip("\n")
                        multiline_def = None
                    continue
                if cont:
                    t += "\\"
            if not t:
                continue
            # @id / @^id, definitions, sequences, substitution (repeat while something changes)
            keep = True
            for _ in range(100):
                if t.startswith("@"):
                    rev = t.startswith("@^")
                    rest = t[2:] if rev else t[1:]
                    m = re.search(r"[ \t]", rest)
                    if not m:
                        keep = False
                        break
                    ident = rest[:m.start()]
                    if ((self.config_id is None or ident != self.config_id) != rev):
                        keep = False
                        break
                    t = rest[m.start():].lstrip(_WS)
                dm = _DEF_RE.match(t)
                if dm:
                    value = t[dm.end():].lstrip(_WS)
                    if value.endswith("\\"):
                        value = value[:-1].rstrip(_WS)
                        self.defs[dm.group(1)] = value + "\n" if value else ""
                        multiline_def = dm.group(1)
                    else:
                        self.defs[dm.group(1)] = value
                    keep = False
                    break
                if t.startswith("~SEQ"):
                    pending = self._seq(t, cur) + pending
                    keep = False
                    break
                if t.startswith("~"):
                    break
                if "$" in t:
                    new, extra, changed = self.replace(t, str(cwd))
                    if not changed:
                        break
                    t, _ = decomment(new)
                    pending = [_Line(e, cur.file, cur.line) for e in extra] + pending
                    continue
                break
            if not keep or not t:
                continue
            im = _INCLUDE_RE.match(t)
            if im:
                yield from self._include(im.group(1) or "", t[im.end():].strip(_WS), cur, cwd, depth)
                continue
            yield from _split_braces(_Line(t, cur.file, cur.line))
        if multiline_def is not None:
            self.defs[multiline_def] = self.defs[multiline_def].rstrip("\n")

    def _seq(self, t: str, cur: _Line) -> list[_Line]:
        m = re.match(r"^~SEQ(x?)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,([^)]*)\)\s*(.*)$", t)
        if not m:
            self.problems.append(ParseProblem(cur.file, cur.line, f"Invalid ~SEQ specification '{t}'", "error"))
            return []
        hexa, var, nums, body = m.groups()
        try:
            vals = [int(x, 0) for x in nums.split(",")]
        except ValueError:
            self.problems.append(ParseProblem(cur.file, cur.line, f"Invalid ~SEQ definition '{t}'", "error"))
            return []
        if len(vals) == 1:
            end = vals[0]
            start, step = (-1 if end < 0 else 1), (-1 if end < 1 else 1)
        elif len(vals) == 2:
            start, end = vals
            step = 1 if start <= end else -1
        else:
            start, step, end = vals[:3]
        if step == 0 or (start < end and step < 0) or (start > end and step > 0):
            self.problems.append(ParseProblem(cur.file, cur.line, f"Invalid ~SEQ values '{t}'", "error"))
            return []
        out = []
        v = start
        while (step > 0 and v <= end) or (step < 0 and v >= end):
            val = format(v, "x") if hexa else str(v)
            line = re.sub(r"\$\{%s\}|\$%s(?![A-Za-z0-9_])" % (var, var), lambda _m: val, body)
            out.append(_Line(line, cur.file, cur.line))
            v += step
        return out


def _split_braces(ln: _Line) -> Iterator[_Line]:
    """keepalived's read_line: an unquoted ``{`` or ``}`` ends the line; each brace is its own line."""
    t = ln.text
    while t:
        if t[0] in "{}":
            yield _Line(t[0], ln.file, ln.line)
            t = t[1:].lstrip(_WS)
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
            yield _Line(t.rstrip(_WS), ln.file, ln.line)
            return
        head = t[:cut].rstrip(_WS)
        if head:
            yield _Line(head, ln.file, ln.line)
        t = t[cut:]


# ------------------------------------------------------------------ tree
def _build(lines: Iterator[_Line], problems: list[ParseProblem]) -> list[Stmt]:
    root: list[Stmt] = []
    stack: list[tuple[Stmt, list[Stmt]]] = []
    cur = root
    last: Optional[Stmt] = None        # last statement at the current level, may open a block
    for ln in lines:
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


def parse_text(text: str, source: str = "<text>", base_dir: str | Path | None = None,
               config_id: Optional[str] = None) -> Config:
    """Parse keepalived.conf ``text``.

    Args:
        text: the configuration.
        source: file name used in locations and problems.
        base_dir: directory relative includes are resolved against (default: the
            directory of ``source`` if it exists, else the current directory).
        config_id: keepalived's ``-i``/config id for ``@ID`` lines (default None:
            every ``@ID`` line is dropped, every ``@^ID`` line kept; keepalived
            defaults to the host name).
    Returns:
        a :class:`Config`; never raises for bad input (see ``Config.problems``).
    """
    if base_dir is None:
        sp = Path(source)
        base_dir = sp.parent if sp.exists() else Path.cwd()
    r = _Reader(config_id)
    problems: list[ParseProblem] = []
    stmts = _build(r.read_text(text, source, Path(base_dir)), problems)
    return Config(stmts, [source, *r.files], dict(r.defs), r.problems + problems, source)


def parse_file(path: str | Path, config_id: Optional[str] = None) -> Config:
    """Parse a keepalived.conf file (includes resolved relative to its directory).

    Raises:
        lab.errors.ConfigError: the file cannot be read.
    """
    from ..errors import ConfigError

    p = Path(path)
    try:
        text = p.read_text(errors="replace")
    except OSError as e:
        raise ConfigError(str(p), None, f"cannot read: {e.strerror}") from None
    return parse_text(text, str(p), p.parent, config_id)


# ------------------------------------------------------------------ render
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
