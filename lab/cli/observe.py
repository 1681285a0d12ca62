"""kalab watch, logs, shell, report: look at a running lab."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import LabError
from .common import LabOpt, _attach, app, console


@app.command()
def watch(lab: Optional[str] = LabOpt) -> None:
    """Print transitions as they happen, until Ctrl-C."""
    lb = _attach(lab)
    seen = len(lb.history)
    for line in lb.history.events():
        console.print(line.describe(lb.history.t0))
    for n in lb.keepalived_nodes():
        n.follow_events()
    lb.follow_journal()
    console.print("[dim]watching; Ctrl-C to stop[/]")
    try:
        while True:
            lb.history.wait_for(lambda h: len(h) > seen, 3600)
            for ev in lb.history.events()[seen:]:
                console.print(ev.describe(lb.history.t0))
                if ev.kind == "node" and ev.get("action") == "start" and ev.get("node") in lb.nodes:
                    lb.node(ev["node"]).follow_events()     # restarted by another kalab process
            seen = len(lb.history)
    except KeyboardInterrupt:          # Ctrl-C is how a watch ends: not an error
        console.print("[dim]stopped watching[/]")


@app.command()
def logs(node: str, follow: bool = typer.Option(False, "-f", "--follow"), tail: int = 100,
         lab: Optional[str] = LabOpt) -> None:
    """keepalived's log (the container's console) of NODE."""
    n = _attach(lab).node(node)
    if not follow:
        console.print(n.logs(tail=tail), markup=False, highlight=False)
        return
    for chunk in n.container.logs(stream=True, follow=True, tail=tail):
        sys.stdout.write(chunk.decode(errors="replace"))
        sys.stdout.flush()


@app.command()
def shell(node: str, command: list[str] = typer.Argument(None, help="a command to run instead of an interactive bash"),
          lab: Optional[str] = LabOpt) -> None:
    """A shell in NODE (docker exec; a TTY only when this terminal has one), or run COMMAND there."""
    import shutil
    n = _attach(lab).node(node)
    if shutil.which("docker") is None:
        if not command:
            raise LabError("an interactive shell needs the docker command-line client (Debian: apt install "
                           "docker.io); without it run one command: `kalab shell NODE -- COMMAND ...`")
        r = n.exec(list(command))                  # the engine API: no CLI needed for one command
        sys.stdout.write(r.output)
        raise typer.Exit(r.exit_code)
    argv = ["docker", "exec", "-i"] + (["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else [])
    os.execvp("docker", argv + [n.container.id] + (command or ["bash"]))


@app.command()
def report(out: Path = typer.Option(Path("reports/latest"), "--out"), lab: Optional[str] = LabOpt) -> None:
    """Write the timeline picture (PNG, SVG), history (JSON lines) and an HTML report."""
    from ..report import write_report
    attached = _attach(lab)
    # the lab was watched until now: the history (and what kalab judge can judge) ends here, not at its
    # last event
    attached.history.append("note", text="report written: the lab was recorded until here")
    page = write_report(attached, out)
    console.print(f"report: {page}")
