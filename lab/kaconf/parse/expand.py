"""Definitions and line expansion (pure): ``$NAME=value``, ``$NAME`` / ``${NAME}``, ``@ID`` / ``@^ID``, ``~SEQ``.

man 5 keepalived.conf, ADVANCED CONFIGURATION:

* ``$NAME=value`` defines (a ``\\`` at the end continues a multi-line
  definition); ``$NAME`` / ``${NAME}`` use; the predefined ``$_PWD``,
  ``$_INSTANCE``, ``$_RANDOM``, ``$_HASH``, ``$_BANG`` (Parameter substitution /
  Pre-defined definitions);
* ``@ID line`` / ``@^ID line``: kept only when ``config_id`` matches (does not
  match) ID (Conditional configuration and configuration id);
* ``~SEQ(VAR, start, step, end) line`` sequence blocks.

:class:`Definitions` holds the definitions of one read; :meth:`Definitions.expand`
turns one logical line into what keepalived parses. Files, includes and the
physical lines are :mod:`lab.kaconf.parse.reader`'s.
"""
from __future__ import annotations

import re
from typing import Optional

from .lex import WS, Line, decomment
from .stmt import ParseProblem

_DEF_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)\s*=")


#: the most lines definitions and ~SEQ may generate while reading one config (a definition that
#: refers to itself would otherwise generate lines for ever); far above any real configuration
MAX_GENERATED_LINES = 20_000


class Definitions:
    """The ``$NAME`` definitions and the config id of one read; problems go to the shared ``problems`` list."""

    def __init__(self, config_id: Optional[str], problems: list[ParseProblem]):
        self.config_id = config_id
        self.defs: dict[str, str] = {}
        self.problems = problems

    # -- one logical line
    def expand(self, t: str, cur: Line, cwd: str) -> tuple[str, list[Line], Optional[str]]:
        """Apply ``@ID``, a definition, ``~SEQ`` and ``$NAME`` substitution to ``t`` (from ``cur``).

        Repeats while a substitution changes the line. Returns (text, lines, multi):
        ``text`` is what is left to parse (``""`` when the line was dropped or
        consumed); ``lines`` are produced lines to read before anything pending
        (a multi-line value's further lines, a ``~SEQ``'s lines); ``multi`` is the
        name of a multi-line definition this line opened, else None.
        """
        front: list[Line] = []
        for _ in range(100):
            if t.startswith("@"):
                rev = t.startswith("@^")
                rest = t[2:] if rev else t[1:]
                m = re.search(r"[ \t]", rest)
                if not m:
                    return "", front, None
                ident = rest[:m.start()]
                if ((self.config_id is None or ident != self.config_id) != rev):
                    return "", front, None
                t = rest[m.start():].lstrip(WS)
            dm = _DEF_RE.match(t)
            if dm:
                return "", front, self._define(dm.group(1), t[dm.end():].lstrip(WS))
            if t.startswith("~SEQ"):
                return "", self._seq(t, cur) + front, None
            if t.startswith("~"):
                break
            if "$" in t:
                new, extra, changed = self.replace(t, cwd)
                if not changed:
                    break
                t, _ = decomment(new)
                front = [Line(e, cur.file, cur.line) for e in extra] + front
                continue
            break
        return t, front, None

    # -- definitions
    def _define(self, name: str, value: str) -> Optional[str]:
        """``$name=value``; returns ``name`` when the value continues on the next lines (ends in ``\\``)."""
        if value.endswith("\\"):
            value = value[:-1].rstrip(WS)
            self.defs[name] = value + "\n" if value else ""
            return name
        self.defs[name] = value
        return None

    def extend(self, name: str, t: str, cont: bool) -> Optional[str]:
        """A further line ``t`` (decommented) of multi-line definition ``name``; returns ``name`` while it goes on."""
        if cont:
            piece = t.rstrip(WS)
            if piece:
                self.defs[name] += piece + "\n"
            return name
        if t:
            self.defs[name] += t
        self.finish(name)
        return None

    def finish(self, name: str) -> None:
        """Close multi-line definition ``name`` at the end of its file."""
        self.defs[name] = self.defs[name].rstrip("\n")

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
            if value.lstrip(WS).startswith("~"):
                break
        return out, extra, changed

    # -- sequences
    def _seq(self, t: str, cur: Line) -> list[Line]:
        """The lines of ``~SEQ(VAR, start, step, end) body`` (or ``~SEQx``, hexadecimal)."""
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
        count = (end - start) // step + 1
        if count > MAX_GENERATED_LINES:
            self.problems.append(ParseProblem(cur.file, cur.line, f"~SEQ would generate {count} lines, more than "
                                              f"the {MAX_GENERATED_LINES} this reader allows: '{t}'", "error"))
            return []
        out = []
        v = start
        while (step > 0 and v <= end) or (step < 0 and v >= end):
            val = format(v, "x") if hexa else str(v)
            line = re.sub(r"\$\{%s\}|\$%s(?![A-Za-z0-9_])" % (var, var), lambda _m: val, body)
            out.append(Line(line, cur.file, cur.line))
            v += step
        return out
