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
def build(keepalived: str = typer.Option("2.2.7", "--keepalived", "-k", metavar="RELEASES",
                                         help="the keepalived release(s) to build: a version or Debian suite "
                                              "(2.1.5, bookworm, sid), comma-separated, or all")) -> None:
    """Build the node image of each keepalived release if images/ changed (base image made with debootstrap when
    no registry); `kalab versions` lists them."""
    from ..errors import LabError
    from ..releases import UnknownRelease, releases
    from ..runtime.engine import ensure_engine
    from ..runtime.images import ensure_node_image, image_features
    try:
        wanted = releases(keepalived)
    except UnknownRelease as e:
        console.print(f"[red]error:[/] --keepalived: {e}")
        raise typer.Exit(2)
    client = ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))
    failed = 0
    for r in wanted:
        try:
            tag = ensure_node_image(client, release=r)
            have = image_features(client, tag).get("version")
            console.print(tag)
            if have != r.version:           # the build checks it; an image made by hand might not
                console.print(f"[red]error:[/] {tag} runs keepalived {have}, not {r.version}")
                failed += 1
        except LabError as e:
            console.print(f"[red]error:[/] keepalived {r.version} ({r.suite}): {e}")
            failed += 1
    raise typer.Exit(1 if failed else 0)


@app.command()
def versions() -> None:
    """The keepalived releases the lab runs: version, Debian suite, the node image (if built) and what the
    build found the release can do."""
    from rich.table import Table

    from ..releases import DEFAULT_VERSION, RELEASES
    from ..runtime.engine import ensure_engine
    from ..runtime.images import built_releases, image_features
    client = ensure_engine(install=False)
    built = built_releases(client)
    t = Table("keepalived", "Debian", "image", "JSON dump", "--signum", "notify_priority_changes", "python smtpd")
    yes = {"1": "yes", "0": "no"}
    for r in RELEASES:
        tag = built[r.version]
        f = image_features(client, tag) if tag else {}
        t.add_row(r.version + (" (default)" if r.version == DEFAULT_VERSION else ""), r.suite,
                  tag or "[dim]not built: kalab build -k " + r.version + "[/]",
                  *(yes.get(f.get(k, ""), "?") for k in ("json", "signum", "notify_priority_changes", "python_smtpd")))
    console.print(t)


@app.command()
def demo(topology: str = typer.Argument("two_node"), instance: str = "VI_1",
         report: Path = typer.Option(Path("reports/demo"), help="where to write the HTML report and picture")) -> None:
    """Bring up TOPOLOGY, kill the master, print the takeover against the master down interval, tear down."""
    from ..demo import run_demo
    raise typer.Exit(run_demo(_topology(topology), instance, report, console))
