"""Errors the lab raises. Each message is one or two sentences a person can act on.

Nothing here imports Docker; the CLI and the pytest plugin print ``str(error)``
instead of a traceback.
"""
from __future__ import annotations

from typing import Optional


class LabError(Exception):
    """Base class: a problem the user can fix, described in ``str(self)``."""


class ProblemsError(LabError):
    """A file or input with one or more problems, each named with its field path and line.

    Attributes:
        source: file path (or ``"<builder>"``) the input came from.
        problems: list of ``(field_path, line_or_None, message)`` tuples.
    """

    #: what the message says is invalid
    what = "input"

    def __init__(self, source: str, problems: list[tuple[str, int | None, str]]):
        self.source = source
        self.problems = problems
        lines = []
        for path, line, msg in problems:
            where = f"{source}:{line}" if line else source
            lines.append(f"{where}: {path}: {msg}" if path else f"{where}: {msg}")
        super().__init__(f"invalid {self.what}\n  " + "\n  ".join(lines))


class TopologyError(ProblemsError):
    """A topology file or builder input is invalid (:class:`ProblemsError`)."""

    what = "topology"


class ScenarioError(ProblemsError):
    """A scenario file (``*.scenario.yaml``) is invalid (:class:`ProblemsError`)."""

    what = "scenario"


class ConfigError(LabError):
    """A keepalived.conf text cannot be parsed or rendered (names file and line)."""

    def __init__(self, source: str, line: int | None, message: str):
        self.source, self.line = source, line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


class EngineError(LabError):
    """No usable Docker engine (message says how to start one)."""


class ImageError(LabError):
    """The base or node image could not be built (message says which step failed)."""


class SubnetError(LabError):
    """No free subnet in the configured pool, or a declared subnet clashes with an existing network."""


class CapabilityError(LabError):
    """The kernel or engine lacks something a fault needs (e.g. sch_netem)."""


class NodeNotRunning(LabError):
    """A command was sent to a node whose container is not running (exited, paused, removed): the engine
    refused the exec (409). ``node`` and ``status`` name it; nothing ran in the node.
    """

    def __init__(self, node: str, status: str, cmd: str):
        self.node, self.status, self.cmd = node, status, cmd
        super().__init__(f"node {node} is {status}: cannot run `{cmd}` in it")


class LabTimeout(LabError, AssertionError):
    """An event the protocol requires did not happen before its deadline.

    Subclasses AssertionError so pytest reports it as a test failure, not an error.
    """


class UnknownName(LabError, KeyError):
    """A node, instance or lab name that does not exist (the message lists what does)."""

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0]) if self.args else ""


def yaml_problem(e: Exception) -> tuple[Optional[int], str]:
    """(1-based line, "not valid YAML: ...") for a PyYAML error: the line where the parser gave up, and
    where the construct it was reading began when that is another line (an unclosed ``{`` or ``[`` is
    noticed only on a later line)."""
    mark, ctx = getattr(e, "problem_mark", None), getattr(e, "context_mark", None)
    line = mark.line + 1 if mark else None
    where = (f" ({e.context} at line {ctx.line + 1})"
             if ctx is not None and getattr(e, "context", None) and ctx.line + 1 != line else "")
    return line, f"not valid YAML: {getattr(e, 'problem', None) or e}{where}"
