"""Files and includes -> logical lines (pure; reads files, no Docker).

* the physical lines of a file, decommented (:mod:`lab.kaconf.parse.lex`), with
  multi-line definitions gathered and every line expanded
  (:mod:`lab.kaconf.parse.expand`);
* ``include`` / ``includer|m|w|b|a`` FILE-GLOB: relative to the directory of the
  including file (keepalived chdir()s there); missing files are reported as
  problems, not errors (man 5 keepalived.conf, DESCRIPTION); nesting is bounded;
* braces split off (``read_line``), so each :class:`~lab.kaconf.parse.lex.Line`
  yielded is a statement, ``{`` or ``}``.
"""
from __future__ import annotations

import glob as _glob
import os
import re
from pathlib import Path
from typing import Iterator, Optional

from .expand import MAX_GENERATED_LINES, Definitions
from .lex import WS, Line, decomment, split_braces
from .stmt import ParseProblem

_INCLUDE_RE = re.compile(r"^include([rmwba])?[ \t]")


class Reader:
    """Produces logical lines (after comments, conditionals, definitions, includes, braces)."""

    def __init__(self, config_id: Optional[str], max_depth: int = 32):
        self.problems: list[ParseProblem] = []
        self.definitions = Definitions(config_id, self.problems)
        self.files: list[str] = []
        self.max_depth = max_depth

    @property
    def defs(self) -> dict[str, str]:
        """The ``$NAME`` definitions read so far."""
        return self.definitions.defs

    def read_file(self, path: Path, depth: int = 0) -> Iterator[Line]:
        try:
            text = path.read_text(errors="replace")
        except OSError as e:
            self.problems.append(ParseProblem(str(path), None, f"cannot read: {e.strerror}", "error"))
            return
        self.files.append(str(path))
        yield from self.read_text(text, str(path), path.parent, depth)

    def _include(self, kind: str, pattern: str, cur: Line, cwd: Path, depth: int) -> Iterator[Line]:
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

    def read_text(self, text: str, fname: str, cwd: Path, depth: int = 0) -> Iterator[Line]:
        physical = text.splitlines()
        pending: list[Line] = []        # lines produced by multi-line definitions or ~SEQ
        multiline_def: Optional[str] = None
        i = 0
        generated = 0
        while pending or i < len(physical):
            if pending:
                cur = pending.pop(0)
                t = cur.text
                generated += 1
                if generated > MAX_GENERATED_LINES:
                    self.problems.append(ParseProblem(cur.file, cur.line, f"definitions generate more than "
                                                      f"{MAX_GENERATED_LINES} lines (does a definition refer to "
                                                      f"itself?); reading stopped here", "error"))
                    return
            else:
                raw = physical[i].rstrip("\r\n")
                i += 1
                cur = Line(raw, fname, i)
                if not raw.strip():
                    multiline_def = None
                    continue
                t, cont = decomment(raw)
                if multiline_def is not None:
                    multiline_def = self.definitions.extend(multiline_def, t, cont)
                    continue
                if cont:
                    t += "\\"
            if not t:
                continue
            t, front, opened = self.definitions.expand(t, cur, str(cwd))
            pending = front + pending
            if opened is not None:
                multiline_def = opened
            if not t:
                continue
            im = _INCLUDE_RE.match(t)
            if im:
                yield from self._include(im.group(1) or "", t[im.end():].strip(WS), cur, cwd, depth)
                continue
            yield from split_braces(Line(t, cur.file, cur.line))
        if multiline_def is not None:
            self.definitions.finish(multiline_def)
