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

This package's modules, bottom up (each imports only the ones above it):

lex      comments, words, quotes and escapes, braces (decomment, words, qe_words)
stmt     the result types: Stmt, Config, ParseProblem
expand   definitions and @ID / $NAME / ~SEQ expansion of one logical line
reader   files and includes -> logical lines
tree     logical lines -> the statement tree
write    statements -> text (dump, quote_word)
here     parse_text / parse_file: text or a file -> Config
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .lex import decomment, qe_words, words
from .reader import Reader
from .stmt import Config, ParseProblem, Stmt
from .reader import read_config_text
from .tree import build
from .write import dump, quote_word

__all__ = ["Stmt", "Config", "ParseProblem", "parse_text", "parse_file", "dump", "words", "qe_words"]


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
    r = Reader(config_id)
    problems: list[ParseProblem] = []
    stmts = build(r.read_text(text, source, Path(base_dir)), problems)
    return Config(stmts, [source, *r.files], dict(r.defs), r.problems + problems, source)


def parse_file(path: str | Path, config_id: Optional[str] = None) -> Config:
    """Parse a keepalived.conf file (includes resolved relative to its directory).

    Raises:
        lab.errors.ConfigError: the file cannot be read.
    """
    from ...errors import ConfigError

    p = Path(path)
    try:
        text = read_config_text(p)
    except ValueError as e:
        raise ConfigError(str(p), None, str(e)) from None
    return parse_text(text, str(p), p.parent, config_id)
