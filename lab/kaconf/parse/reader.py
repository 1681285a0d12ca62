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
import stat
from pathlib import Path
from typing import Iterator, Optional

from .expand import MAX_GENERATED_LINES, Definitions
from .lex import WS, Line, decomment, split_braces
from .stmt import ParseProblem

#: the largest file read (a keepalived.conf is kilobytes; /dev/zero or a log is not one)
MAX_FILE_BYTES = 4 * 2**20

_INCLUDE_RE = re.compile(r"^include([rmwba])?[ \t]")


def read_config_text(path: Path) -> str:
    """The text of a keepalived.conf (or included) file.

    Raises ValueError (the sentence to report) for what cannot be one: not a regular file (a device such
    as /dev/zero, a FIFO), larger than :data:`MAX_FILE_BYTES`, not UTF-8 text (a NUL byte or bad bytes),
    or unreadable."""
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ValueError("not a regular file (a device, FIFO or socket?): not read")
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ValueError(f"cannot read: {e.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // 2**20} MiB: not a keepalived.conf, not read")
    bad = data.find(b"\0")
    try:
        if bad >= 0:
            raise UnicodeDecodeError("utf-8", data, bad, bad + 1, "NUL byte")
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not a text file (byte {e.start + 1} is not UTF-8 text): not read") from None


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
        """The logical lines of ``path``: a regular text file of at most :data:`MAX_FILE_BYTES` (anything
        else, a device, a FIFO, a binary or a huge file, is one problem and no lines)."""
        try:
            text = read_config_text(path)
        except ValueError as e:
            self.problems.append(ParseProblem(str(path), None, str(e), "error"))
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
