"""``kalab explore TOPOLOGY``: random fault schedules, live at a fast clock on several labs at once, each judged;
what breaks the rules is shrunk to a minimal scenario file (lab.explore)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import app, console


def _seconds(text: str) -> float:
    """``90s``, ``10m``, ``1h`` or plain seconds as seconds; LabError otherwise."""
    import re

    from ..errors import LabError
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise LabError(f"--budget {text!r}: give a time such as 90s, 10m or 1h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


@app.command()
def explore(topology: str = typer.Argument(..., help="a topology name or YAML file"),
            budget: str = typer.Option("10m", help="how long to search (90s, 10m, 1h)"),
            seed: int = typer.Option(0, help="the search's seed: the same seed draws the same schedules"),
            labs: int = typer.Option(2, help="labs at once (each runs its own schedules)"),
            max_steps: int = typer.Option(4, "--max-steps", help="the most steps a drawn schedule has before its heals"),
            kinds: Optional[str] = typer.Option(None, help="fault kinds to draw, comma separated (default: "
                                                "kill,sigterm,stop,pause,restart,drop-vrrp,one-way,partition)"),
            out: Path = typer.Option(Path("reports/explore"), help="where shrunk findings go"),
            keepalived: Optional[str] = typer.Option(None, "--keepalived", help="the keepalived release the labs run")) -> None:
    """Search for schedules of faults that keepalived does not handle by its rules: random schedules run live
    at a fast clock (VRRPv3, advert_int 0.1 s) on several labs at once, each judged; a violation or a
    "cannot judge" is shrunk (re-run live) to a minimal scenario file, written with its history and report."""
    from ..errors import LabError
    from ..explore.search import Search
    from ..nemesis import kinds as registry
    from ..runtime.engine import ensure_engine
    from ..runtime.images import ensure_node_image
    from .common import _topology

    topo = _topology(topology)
    chosen = None
    if kinds:
        reg = registry()
        names = [k.strip() for k in kinds.split(",") if k.strip()]
        unknown = [k for k in names if k not in reg]
        if unknown or not names:
            raise LabError(f"--kinds: no fault kind {', '.join(unknown) or repr(kinds)}; kinds: {', '.join(reg)}")
        chosen = {k: reg[k] for k in names}
    if labs < 1 or max_steps < 1:
        raise LabError("--labs and --max-steps are at least 1")
    seconds = _seconds(budget)
    client = ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))
    ensure_node_image(client)
    search = Search(topo, kinds=chosen, seed=seed, labs=labs, budget=seconds, out=out, max_steps=max_steps,
                    keepalived=keepalived, say=lambda m: console.print(escape(m), highlight=False, soft_wrap=True))
    console.print(f"exploring {topo.name} at a fast clock (VRRPv3, advert_int 0.1 s) with {labs} lab(s) for "
                  f"{seconds:.0f} s, seed {seed}, kinds {', '.join(search.kinds)}")
    s = search.run()
    counts = ", ".join(f"{n} {k}" for k, n in s.verdicts.items() if n)
    console.print(f"{s.judged} schedules judged in {s.seconds:.0f} s ({s.per_minute:.1f} per minute): {counts or 'none'}")
    for f in s.not_reproduced:
        console.print(f"[yellow]not reproduced[/] (held when run again alone): {escape(', '.join(x.text() for x in f.schedule))}")
    for f in s.findings:
        console.print(f"[bold red]{f.verdict.value}[/]: {escape(', '.join(x.text() for x in f.schedule))}\n"
                      f"  shrunk to {len(f.shrunk)} step(s): {escape(', '.join(x.text() for x in f.shrunk))}\n"
                      f"  {escape(f.problems[0] if f.problems else '')}\n  scenario: {f.path}")
    worst = [f.verdict for f in s.findings]
    from ..judge.verdict import merge
    raise typer.Exit(merge(worst).exit_code if worst else 0)
