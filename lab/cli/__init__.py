"""``kalab``: reproduce an incident from a terminal (typer + rich).

Labs started by ``kalab up`` survive between commands; every command finds
them through their Docker labels (``--lab ID`` when several run). Errors are
one sentence and a non-zero exit code, never a traceback.

One module per group of commands: :mod:`.setup` (engine, build, demo), :mod:`.labs` (up, status,
list, down, prune), :mod:`.faults` (fault, faults, heal, exec), :mod:`.observe` (watch, logs,
shell, report), :mod:`.offline` (predict, judge, lint, render), :mod:`.check` (check: users' configs
through the failover battery), :mod:`.scenarios` (run, record: scenario files), :mod:`.explore` (explore); :mod:`.common` holds what they share.
"""
from __future__ import annotations

import signal
import sys

import typer

from ..errors import LabError
# each module registers its commands, in the order `kalab --help` lists them
from . import setup  # noqa: F401,E402
from . import labs  # noqa: F401,E402
from . import faults  # noqa: F401,E402
from . import observe  # noqa: F401,E402
from . import offline  # noqa: F401,E402
from . import check  # noqa: F401,E402
from . import upgrade  # noqa: F401,E402
from . import scenarios  # noqa: F401,E402
from . import explore  # noqa: F401,E402
from .common import app, console, err_console  # noqa: F401 (console: re-exported)

__all__ = ["app", "main"]


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: run the typer app; LabError and Docker errors become one line on stderr and exit 1
    (stdout carries only a command's output, so `kalab render T N > a.conf` never writes an error there)."""
    from docker.errors import DockerException
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGHUP, _sigterm)      # a closed terminal: clean up as after Ctrl-C
    try:
        rv = app(standalone_mode=False)      # typer returns the exit code (130 after Ctrl-C)
        if rv == 130:
            err_console.print("interrupted")
        if isinstance(rv, int) and rv:
            sys.exit(rv)
    except LabError as e:
        err_console.print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
        sys.exit(1)
    except DockerException as e:
        err_console.print(f"[bold red]error:[/] Docker: {e}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click usage errors (typer vendors click) and friends
        if type(e).__name__ == "Abort":
            sys.exit(130)
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(e.exit_code)
        raise

