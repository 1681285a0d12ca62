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
def faults(fmt: str = FormatOpt) -> None:
    """Every fault kind with its parameters."""
    from rich.table import Table

    from ..nemesis import kinds
    _check_format(fmt)
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
