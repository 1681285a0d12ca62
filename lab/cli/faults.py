"""kalab fault, faults, heal, exec: act on a running lab's nodes."""
from __future__ import annotations

from typing import Optional

import typer

from .. import cli_output as O
from ..errors import LabError
from .common import FormatOpt, LabOpt, _attach, _check_format, app, console


#: plain node actions that are not faults (no heal): they act at once
NODE_ACTIONS = ("start", "unpause")


@app.command()
def fault(node: str, kind: str = typer.Argument(..., help="a fault kind (see `kalab faults`), or start | unpause"),
          args: list[str] = typer.Argument(None, help="KEY=VALUE parameters of the fault"),
          lab: Optional[str] = LabOpt) -> None:
    """Inject a fault into NODE (`kalab faults` lists every kind and its parameters)."""
    lb = _attach(lab)
    n = lb.node(node)
    if kind in NODE_ACTIONS:
        getattr(n, kind)()
        console.print(f"{kind} {node}: done")
        return
    from ..nemesis import make_fault
    f = make_fault(lb, kind, node, args or [])
    f.apply()
    console.print(f"{f.name} applied on {node}; heal with `kalab heal {f.name} --lab {lb.id}` "
                  f"or `kalab heal --all --lab {lb.id}`")


@app.command()
def faults(fmt: str = FormatOpt,
           applied: bool = typer.Option(False, "--applied", help="the faults applied to a lab and not healed"),
           lab: Optional[str] = LabOpt) -> None:
    """Every fault kind with its parameters; with --applied, the faults a lab has now."""
    from rich.table import Table

    from ..nemesis import kinds
    _check_format(fmt)
    if applied:
        _applied(_attach(lab), fmt)
        return
    if fmt == "json":
        print(O.dump(O.Faults(faults=[O.FaultKind(kind=k, summary=cls.summary) for k, cls in sorted(kinds().items())])))
        return
    from rich.markup import escape
    t = Table("kind", "what it does / parameters")
    for k, cls in sorted(kinds().items()):
        t.add_row(k, escape(cls.summary))          # [optional=...] is not markup
    console.print(t)


@app.command()
def heal(name: Optional[str] = typer.Argument(None), all_: bool = typer.Option(False, "--all"),
         lab: Optional[str] = LabOpt) -> None:
    """Heal one fault by name, or all faults (also unpauses and starts stopped nodes)."""
    if not name and not all_:
        raise LabError("kalab heal: name the fault to heal (the NAME `kalab fault` printed), or heal every fault "
                       "of the lab with --all")
    lb = _attach(lab)
    from ..nemesis import heal_recorded
    healed = heal_recorded(lb, None if all_ else name)
    console.print(f"healed: {', '.join(healed) or 'nothing to heal'}")


def _applied(lb, fmt: str) -> None:
    """The faults recorded in ``lb``'s nodes and not healed (the markers ``kalab heal`` reads)."""
    from rich.markup import escape
    from rich.table import Table

    from ..nemesis import recorded_faults
    items = [O.AppliedFault(name=n, kind=spec.get("kind", "?"), node=spec.get("target", "?"),
                            params={k: str(v) for k, v in (spec.get("params") or {}).items() if v is not None})
             for n, spec in sorted(recorded_faults(lb).items())]
    if fmt == "json":
        print(O.dump(O.Applied(lab=lb.id, faults=items)))
        return
    if not items:
        console.print(f"lab {lb.id}: no fault applied")
        return
    t = Table("name", "kind", "node", "parameters")
    for f in items:
        t.add_row(f.name, f.kind, f.node, escape(" ".join(f"{k}={v}" for k, v in f.params.items())))
    console.print(t)


@app.command("exec")
def exec_(command: list[str] = typer.Argument(..., help="the command and its arguments (after --)"),
          node: list[str] = typer.Option([], "--node", "-n", help="a node to run it on (repeatable; default: every "
                                                                   "running node)"),
          lab: Optional[str] = LabOpt, fmt: str = FormatOpt) -> None:
    """Run COMMAND on every running node of a lab (or the --node ones); exit 1 if it failed anywhere."""
    _check_format(fmt)
    lb = _attach(lab)
    names = node or [n for n, x in lb.nodes.items() if x.status() == "running"]
    rows = []
    for name in names:
        r = lb.node(name).exec(list(command))
        rows.append(O.ExecItem(node=name, exit_code=r.exit_code, output=r.output))
    if fmt == "json":
        print(O.dump(O.Exec(lab=lb.id, command=list(command), rows=rows)))
    else:
        for r in rows:
            console.print(f"[bold]{r.node}[/] (exit {r.exit_code})", highlight=False)
            console.out(r.output.rstrip("\n"), highlight=False) if r.output.strip() else None
    if any(r.exit_code != 0 for r in rows):
        raise typer.Exit(1)
