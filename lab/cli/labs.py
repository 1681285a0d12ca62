"""kalab up, status, list, down, prune: labs as a whole."""
from __future__ import annotations

import os
from typing import Optional

import typer

from .. import cli_output as O
from .common import FormatOpt, LabOpt, _attach, _check_format, _topology, app, console


@app.command()
def up(topology: str, keep: bool = typer.Option(False, "--keep", help="keep the lab even if it does not converge"),
       instance: Optional[str] = None,
       quiet: bool = typer.Option(False, "-q", "--quiet", help="print only the lab id (for scripts)")) -> None:
    """Start TOPOLOGY (name or path), wait for the election, print status; the lab keeps running."""
    import contextlib

    from ..lab import Lab
    from ..status import status_table
    say = (lambda m: None) if quiet else (lambda m: console.print(f"[dim]{m}[/]"))
    lab = Lab(_topology(topology), keep=True, say=say, capture="sidecar")
    try:
        lab.start()
        for inst in [instance] if instance else lab.topology.instance_names():
            with (contextlib.nullcontext() if quiet else
                  console.status(f"lab {lab.id}: waiting for the election of {inst} "
                                 f"(deadline {lab.convergence_deadline(inst):.1f} s)")):
                lab.wait_for_master(inst)
    except BaseException:
        if keep and lab.docker is not None:
            lab.mark_kept()
        else:
            lab.stop()
        raise
    lab.mark_kept()        # from here on the lab outlives this process; before, a crash leaves an orphan to reap
    if quiet:
        print(lab.id)
        return
    console.print(status_table(lab))
    console.print(f"lab [bold]{lab.id}[/] is up. Next: `kalab fault NODE kill --lab {lab.id}`, "
                  f"`kalab watch --lab {lab.id}`, `kalab status --lab {lab.id}`, `kalab down --lab {lab.id}`.")

@app.command()
def status(lab: Optional[str] = LabOpt, fmt: str = FormatOpt) -> None:
    """Table: node, instance, state, configured and effective priority, VIP held, nginx up, when the state began."""
    from ..status import status_rows, status_table
    _check_format(fmt)
    lb = _attach(lab)
    if fmt == "json":
        rows = [O.StatusItem(node=r.node, instance=r.instance, container=r.container, state=r.state,
                             priority=r.priority, effective_priority=r.reported_priority, holds_vip=r.holds_vip,
                             nginx_up=r.nginx_up, state_since_s=r.last_transition) for r in status_rows(lb)]
        print(O.dump(O.Status(lab=lb.id, topology=lb.topology.name, rows=rows)))
        return
    console.print(status_table(lb))


@app.command("list")
def list_labs(fmt: str = FormatOpt) -> None:
    """Running labs (found by label)."""
    from rich.table import Table

    from ..runtime import labels as L
    from ..runtime.cleanup import lab_ids, owner_liveness
    from ..runtime.engine import ensure_engine
    _check_format(fmt)
    t = Table("lab", "topology", "owner", "kept", "project")
    items = []
    client = ensure_engine(install=False)
    for i, lb in lab_ids(client).items():
        state = owner_liveness(client, lb)
        t.add_row(i, lb.get(L.TOPOLOGY, "?"), f"{lb.get(L.OWNER, '?')} ({state})",
                  "yes" if lb.get(L.KEEP) == "1" else "no", lb.get(L.PROJECT, ""))
        items.append(O.LabItem(lab=i, topology=lb.get(L.TOPOLOGY, "?"), owner=lb.get(L.OWNER, "?"),
                               owner_state=state, user=lb.get(L.USER, ""), project=lb.get(L.PROJECT, ""),
                               kept=lb.get(L.KEEP) == "1"))
    if fmt == "json":
        print(O.dump(O.Labs(labs=items)))
        return
    console.print(t)

@app.command()
def down(lab: Optional[str] = LabOpt, all_: bool = typer.Option(
        False, "--all", help="all your kept labs and your labs whose owner is gone (`kalab prune`: anyone's)")) -> None:
    """Remove a lab (its containers and networks)."""
    from ..runtime import labels as L
    from ..runtime.cleanup import lab_ids, owner_liveness
    from ..runtime.cleanup import prune as prune_labs
    from ..runtime.engine import ensure_engine
    client = ensure_engine(install=False)
    if all_:
        mine = [i for i, lb in lab_ids(client).items() if lb.get(L.USER) == str(os.getuid())
                and (lb.get(L.KEEP) == "1" or owner_liveness(client, lb) == "gone")]
        ids = prune_labs(client, mine) if mine else []
    else:
        target = _attach(lab)
        _cross_check(target)
        ids = prune_labs(client, [target.id])
    console.print(f"removed: {', '.join(ids) or 'nothing'}")


def _cross_check(lab) -> None:
    """A `kalab up` lab ends here: its record against keepalived's own dumps (lab.crosscheck), printed.
    A mismatch is a defect of the lab's record, said in red; the lab is removed all the same."""
    from ..crosscheck import summary
    from .common import err_console
    if not any(n.status() == "running" for n in lab.keepalived_nodes()):
        return
    for n in lab.keepalived_nodes():
        n.follow_events()               # lines written since the attach
    lab.follow_journal()                # adverts the sidecar recorded since the attach
    with console.status("cross-checking the record with keepalived's own dumps ..."):
        findings = lab.cross_check()
    c = summary(findings)
    console.print(f"the lab's record vs keepalived's own JSON dump (state, effective priority, adverts sent per "
                  f"node and instance): {c['compared']} compared, {c['mismatches']} mismatches, "
                  f"{c['skipped']} not comparable", highlight=False)
    for f in findings:
        if f.ok is None:
            console.print(f"  [dim]{f.text()}[/]", highlight=False)
        elif f.ok is False:
            err_console.print(f"[red]{f.text()}[/]", highlight=False)


@app.command()
def prune(yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Remove everything carrying the lab's labels: every lab on this engine, kept or not, anyone's."""
    from ..runtime import labels as L
    from ..runtime.cleanup import lab_ids
    from ..runtime.cleanup import prune as prune_labs
    from ..runtime.engine import ensure_engine
    client = ensure_engine(install=False)
    ids = lab_ids(client)
    if not ids:
        console.print("nothing to remove")
        return
    for i, lb in ids.items():
        console.print(f"  {i}  {lb.get(L.TOPOLOGY, '?')}  owner {lb.get(L.OWNER, '?')}")
    if not yes and not typer.confirm(f"remove these {len(ids)} lab(s)?", default=False):
        raise typer.Exit(1)
    removed = prune_labs(client, list(ids))
    console.print(f"removed {len(removed)} lab(s): {', '.join(removed)}")
