"""kalab upgrade: rehearse a rolling keepalived upgrade on a topology (lab.upgrade)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import _topology, app, console


@app.command()
def upgrade(topology: str = typer.Argument(..., help="a topology name or YAML file (it needs a client node)"),
            from_: str = typer.Option("2.2.7", "--from", help="the keepalived release every node starts on "
                                                            "(a version or Debian suite; `kalab versions`)"),
            to: str = typer.Option(..., "--to", help="the keepalived release each node is upgraded to"),
            report: Optional[Path] = typer.Option(None, help="write the history, timeline picture and HTML report "
                                                            "to this folder")) -> None:
    """Rehearse a rolling upgrade: start TOPOLOGY on --from, then stop each node gracefully and start it on --to,
    one at a time (backups first, the MASTER last), judging every step against the election model while a
    client asks the VIPs every 50 ms. Prints each step, the VIP downtime and the verdict; exit 0 only if it
    holds."""
    from ..lab import Lab
    from ..releases import UnknownRelease, release
    from ..upgrade import rehearse
    try:
        old, new = release(from_), release(to)
    except UnknownRelease as e:
        console.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(2)
    topo = _topology(topology)
    if topo.keepalived or any(topo.nodes[n].keepalived for n in topo.keepalived_nodes()):
        console.print(f"[red]error:[/] {escape(str(topo.source))} names its own keepalived release; the rehearsal "
                      f"starts every node on --from: remove `keepalived:` from the topology")
        raise typer.Exit(2)
    if not topo.client_nodes():             # before any container starts (lab.upgrade.rehearse says the same)
        console.print(f"[red]error:[/] topology {escape(topo.name)} has no client node: the rehearsal measures the VIP "
                      "downtime from one; add `client: {kind: client, interfaces: {eth0: {network: ...}}}`")
        raise typer.Exit(2)
    if old == new:
        console.print(f"[yellow]note:[/] --from and --to are both keepalived {new.version}: every node is restarted "
                      "on the release it already runs")
    say = lambda m: console.print(f"[dim]{escape(m)}[/]")     # noqa: E731
    with Lab(topo, keepalived=old.version, say=say) as lab:
        with console.status(f"lab {lab.id}: keepalived {old.version} on every node, waiting for the election ..."):
            for i in lab.topology.instance_names():
                lab.wait_for_master(i)
        result = rehearse(lab, new.version, say=say)
        for line in result.lines(lab.history.t0):
            console.print(escape(line))
        if report:
            from ..report import write_report
            console.print(f"report: {write_report(lab, report)}")
    raise typer.Exit(0 if result.verdict == "holds" else 1)
