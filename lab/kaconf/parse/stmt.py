"""What the reader produces (pure): :class:`Stmt` (one keyword line, maybe a block),
:class:`Config` (a whole file's statements, files read, definitions) and :class:`ParseProblem`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional

from .lex import qe_words


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
