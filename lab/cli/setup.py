"""kalab engine, build, demo: set-up and the one-command demonstration."""
from __future__ import annotations

from pathlib import Path

import typer

from .common import _topology, app, console


@app.command()
def engine() -> None:
    """Make sure a Docker engine runs (as root on Debian: install docker.io and start dockerd)."""
    from ..runtime.engine import ensure_engine
    c = ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))
    console.print(f"Docker engine {c.version().get('Version')} is up")


@app.command()
def build() -> None:
    """Build the node image if images/ changed (base image made with debootstrap when no registry)."""
    from ..runtime.engine import ensure_engine
    from ..runtime.images import ensure_node_image
    console.print(ensure_node_image(ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))))


@app.command()
def demo(topology: str = typer.Argument("two_node"), instance: str = "VI_1",
         report: Path = typer.Option(Path("reports/demo"), help="where to write the HTML report and picture")) -> None:
    """Bring up TOPOLOGY, kill the master, print the takeover against the master down interval, tear down."""
    from ..demo import run_demo
    raise typer.Exit(run_demo(_topology(topology), instance, report, console))
