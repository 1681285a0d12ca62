"""kalab watch, logs, shell, report: look at a running lab."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import LabError
from .. import cli_output as O
from .common import FormatOpt, LabOpt, _attach, _check_format, app, console, err_console


@app.command()
def watch(lab: Optional[str] = LabOpt, fmt: str = FormatOpt,
          adverts: bool = typer.Option(False, "--adverts", help="also every VRRP advert (one per advert_int "
                                                                  "per master; `kalab report` has them all)")) -> None:
    """Print transitions as they happen, until Ctrl-C (--format json: one JSON object per line)."""
    _check_format(fmt)
    lb = _attach(lab)
    # watching is read-only: what this watcher observes (a follower's notes, a death it sees) is not
    # written to the lab's journal, or the record would depend on how many people watched
    if lb._journal in lb.history.listeners:
        lb.history.listeners.remove(lb._journal)

    def show(ev) -> None:
        if ev.kind == "advert" and not adverts:
            return
        if fmt == "json":
            doc = O.WatchEvent(lab=lb.id, t_s=round(ev.t - lb.history.t0, 6), kind=ev.kind, data=dict(ev.data),
                               text=ev.summary(lb.history.t0))
            print(doc.model_dump_json(by_alias=True), flush=True)
        else:
            console.print(ev.describe(lb.history.t0))

    seen = len(lb.history.arrived())
    for line in lb.history.events():
        show(line)
    for n in lb.keepalived_nodes():
        n.follow_events()
    lb.follow_journal()
    if fmt != "json":
        console.print("[dim]watching; Ctrl-C to stop[/]")
    else:
        err_console.print("[dim]watching; Ctrl-C to stop[/]")
    try:
        while True:
            lb.history.wait_for(lambda h: len(h) > seen, 3600, account=False)
            new = lb.history.arrived(seen)      # arrival order: an event stamped earlier is not skipped
            seen += len(new)
            for ev in new:
                show(ev)
                if ev.kind == "node" and ev.get("action") == "start" and ev.get("node") in lb.nodes:
                    lb.node(ev["node"]).follow_events()     # restarted by another kalab process
    except KeyboardInterrupt:          # Ctrl-C is how a watch ends: not an error
        (err_console if fmt == "json" else console).print("[dim]stopped watching[/]")


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
def report(out: Path = typer.Option(Path("reports/latest"), "--out"), lab: Optional[str] = LabOpt,
           fmt: str = FormatOpt) -> None:
    """Write the timeline picture (PNG, SVG), history (JSON lines) and an HTML report."""
    from ..report import write_report
    _check_format(fmt)
    attached = _attach(lab)
    # the lab was watched until now: the history (and what kalab judge can judge) ends here, not at its
    # last event
    attached.history.append("note", text="report written: the lab was recorded until here")
    page = write_report(attached, out)
    if fmt == "json":
        files = {p.name: str(p.resolve()) for p in sorted(Path(out).iterdir()) if p.is_file()}
        print(O.dump(O.Report(lab=attached.id, files=files)))
        return
    console.print(f"report: {page}")
