"""What every kalab command shares: the typer app, consoles, the --lab/--format options, lookups."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..errors import LabError

app = typer.Typer(add_completion=True, no_args_is_help=True,
                  help="keepalived-lab: real keepalived + nginx on Docker, faults, and checks against the rules.")
# node names like a and b: ":a:" is not an emoji here; piped output is never cut to 80 columns
console = Console(emoji=False, width=None if sys.stdout.isatty() else max(int(os.environ.get("COLUMNS") or 0), 200))
#: errors and notes: never hard-wrapped (a wrapped path cannot be copied; the terminal wraps long lines)
err_console = Console(emoji=False, stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version
        try:
            v = version("keepalived-lab")
        except PackageNotFoundError:
            v = "unknown (not installed)"
        print(f"kalab (keepalived-lab) {v}")
        raise typer.Exit()


@app.callback()
def _main(_: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version and exit")) -> None:
    """keepalived-lab: real keepalived + nginx on Docker, faults, and checks against the rules."""


LabOpt = typer.Option(None, "--lab", help="lab id (default: your own lab started by `kalab up`, see `kalab list`)")


def _topologies_dirs() -> list[Path]:
    from ..paths import bundled
    return [Path.cwd() / "topologies", bundled("topologies")]


def _topology(name: str):
    from ..topology import find, load
    return load(find(name, _topologies_dirs()))


def _is_config_arg(arg: str) -> bool:
    """A keepalived.conf file argument (``FILE`` or ``FILE@CONFIG_ID``), not a topology or an event."""
    from ..topology.from_configs import split_config_arg
    path = split_config_arg(arg)[0]
    return path.suffix not in (".yaml", ".yml") and path.is_file()


def _topology_or_configs(first: str, rest: list[str]):
    """(topology, the remaining arguments): a topology name or YAML, or leading keepalived.conf files
    (``FILE`` or ``FILE@CONFIG_ID``, one per node) made into one (:mod:`lab.topology.from_configs`)."""
    if not _is_config_arg(first):
        return _topology(first), list(rest)
    from ..topology.from_configs import parse_config_arg, topology_from_configs
    files = [first]
    rest = list(rest)
    while rest and _is_config_arg(rest[0]):
        files.append(rest.pop(0))
    return topology_from_configs([parse_config_arg(f) for f in files], "configs"), rest


FormatOpt = typer.Option("text", "--format", help="text or json (a stable schema: lab/cli_output.py)")


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "json"):
        raise LabError(f"--format {fmt!r}: use text or json")


def _attach(lab_id: Optional[str]):
    from ..lab import Lab
    return Lab.attach(lab_id, say=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))
