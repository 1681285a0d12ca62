"""``kalab run FILE...``: scenario files (``*.scenario.yaml``, lab.scenario), each on its own lab, judged.

Every file is read first: one that cannot be read stops the command before any container starts (exit
2, each problem with its line). Then each scenario runs on a new lab (one per keepalived release asked
for), prints a line per step as it ends and the final judgement, and writes its history and report
under ``--report``. Exit 0 when everything holds, 1 when something was violated, 2 when something
could not be judged (lab.judge.verdict: the worst wins).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import _topologies_dirs, app, console, err_console

VERDICT_STYLE = {"holds": "green", "violated": "bold red", "cannot judge": "yellow"}


def _files(paths: list[Path]) -> list[Path]:
    """The scenario files named, a folder standing for every ``*.scenario.yaml`` under it (sorted)."""
    from ..scenario import SUFFIX
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.rglob(f"*{SUFFIX}"))
            if not found:
                err_console.print(f"[bold red]error:[/] {escape(str(p))}: no *{SUFFIX} file in this folder")
                raise typer.Exit(2)
            out += found
        else:
            out.append(p)
    return out


@app.command()
def run(files: list[Path] = typer.Argument(..., help="scenario files (*.scenario.yaml) or folders of them"),
        keepalived: Optional[str] = typer.Option(None, "--keepalived", help="the keepalived releases to run each "
                                                 "scenario on (2.2.7,2.3.4 or all); default: the file's, else "
                                                 "the topology's or the default"),
        report: Path = typer.Option(Path("reports/run"), help="where each run's history and report go"),
        plan: bool = typer.Option(False, "--plan", help="read and check the files, print the steps, start nothing"),
        keep: bool = typer.Option(False, "--keep", help="leave a lab whose scenario did not hold running "
                                                        "(`kalab down --lab ID` removes it)")) -> None:
    """Run scenario files: a topology, steps (faults, heals, signals, waits) and expectations, each judged.

    A scenario file names a topology (or your keepalived.conf files), then steps such as ``- kill: a``,
    ``- wait: 3 x advert_int``, ``- expect: {master: b, within: master_down_interval(b)}``; the format is
    in lab/scenario/schema.py and docs/scenarios.md. pytest collects the same files as tests."""
    from ..errors import LabError
    from ..judge import Verdict
    from ..judge.verdict import merge
    from ..scenario import load
    from ..topology.from_configs import topology_from_configs

    def build_configs(configs):
        from ..runtime.network import pool, unavailable_subnets
        return topology_from_configs(configs, "configs", unavailable=unavailable_subnets(), pool=pool())

    scenarios, bad = [], 0
    for f in _files(files):
        try:
            scenarios.append(load(f, _topologies_dirs(), build_configs))
        except LabError as e:
            err_console.print(escape(str(e)), soft_wrap=True)
            bad += 1
    if bad:
        err_console.print(f"{bad} of {bad + len(scenarios)} scenario file(s) cannot be read; nothing started")
        raise typer.Exit(2)
    from ..releases import UnknownRelease, releases
    try:
        asked = [r.version for r in releases(keepalived)] if keepalived is not None else None
    except UnknownRelease as e:                   # a usage error, like an unreadable file: exit 2
        err_console.print(f"[bold red]error:[/] --keepalived: {escape(str(e))}")
        raise typer.Exit(2)
    runs = [(sc, v) for sc in scenarios for v in (asked or sc.keepalived or [None])]
    if plan:
        for sc, v in runs:
            console.print(f"[bold]{escape(sc.name)}[/] ({escape(sc.path)}; topology {escape(sc.topology_ref)}"
                          + (f"; keepalived {v}" if v else "") + ")")
            for st in sc.steps:
                console.print(f"  line {st.line:<3} {escape(st.text)}")
        return
    from ..lab import Lab
    from ..report import write_report
    from ..runtime.engine import ensure_engine
    from ..runtime.images import ensure_node_image
    from ..scenario.run import run_scenario

    client = ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))
    ensure_node_image(client)
    verdicts = []
    for i, (sc, v) in enumerate(runs, 1):
        console.print(f"[bold]scenario {i}/{len(runs)}: {escape(sc.name)}[/] ({escape(sc.path)}"
                      + (f", keepalived {v}" if v else "") + ")")
        if sc.unjudged:
            console.print(f"[yellow]not judged by the election model[/]: {escape(sc.unjudged)}; its expectations decide")
        lab = Lab(sc.topology, keepalived=v, keep=keep, say=lambda m: console.print(f"[dim]{escape(m)}[/]"))
        result = None
        try:
            lab.start()
            result = run_scenario(lab, sc, say=lambda m: console.print(escape(m), highlight=False, soft_wrap=True))
            verdict = result.verdict
            out = report / "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in
                                   f"{Path(sc.path).name.removesuffix('.scenario.yaml')}{'-ka' + v if v else ''}")
            page = write_report(lab, out)
            console.print(f"report: {page}")
        except LabError as e:
            err_console.print(f"[bold red]error:[/] {escape(str(e))}", soft_wrap=True)
            verdict, result = Verdict.CANNOT_JUDGE, None
        finally:
            if keep and (result is None or result.verdict is not Verdict.HOLDS):
                lab.mark_kept()
                console.print(f"lab {lab.id} kept: `kalab status --lab {lab.id}`; `kalab down --lab {lab.id}` removes it")
            else:
                lab.stop()
        expected_fail = sc.xfail_reason(v)
        if expected_fail:
            # a strict xfail: the scenario documents where keepalived and its docs disagree
            shown = Verdict.HOLDS if verdict is Verdict.VIOLATED else Verdict.VIOLATED
            console.print(f"expected to fail ({escape(expected_fail)}): it {verdict.value}, "
                          + ("as documented" if shown is Verdict.HOLDS else "which the file says it should not"))
            verdict = shown
        for line in (result.failures() if result is not None and not expected_fail else []):
            console.print(f"[bold red]{escape(line)}[/]", soft_wrap=True)
        console.print(f"verdict: [{VERDICT_STYLE[verdict.value]}]{verdict.value}[/]\n")
        verdicts.append(verdict)
    total = merge(verdicts)
    if len(runs) > 1:
        counts = {x.value: sum(1 for y in verdicts if y is x) for x in Verdict}
        console.print(f"{len(runs)} scenario runs: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
                      + f"; verdict: [{VERDICT_STYLE[total.value]}]{total.value}[/]")
    raise typer.Exit(total.exit_code)


@app.command()
def record(history: Optional[Path] = typer.Argument(None, help="a history.jsonl (from kalab report or --lab-report); "
                                                    "default: the running lab's record"),
           out: Path = typer.Option(..., "--out", help="the scenario file to write (NAME.scenario.yaml)"),
           name: Optional[str] = typer.Option(None, help="the scenario's name (default: from --out)"),
           lab: Optional[str] = typer.Option(None, "--lab", help="the lab (kalab list); default: your own")) -> None:
    """Write what was done to a lab (faults, heals, node actions, from its journal) as a scenario file, with
    the MASTER sets the rules require after each step: `kalab run FILE` replays it, pytest collects it."""
    import json

    from ..errors import LabError
    from ..scenario import SUFFIX, parse
    from ..scenario.record import record_scenario

    if not out.name.endswith(SUFFIX):
        raise LabError(f"--out {out}: name the file *{SUFFIX}, so that pytest and kalab run find it")
    if history is not None:
        from ..history import History
        from ..judge.offline import history_topology
        h = History.from_jsonl(history)
        topo = history_topology(h, str(history))
        ref = json.loads(topo.model_dump_json(exclude_none=True))
        checks = None
    else:
        from .common import _attach
        lb = _attach(lab)
        h, topo, checks = lb.history, lb.topology, lb.check
        src = Path(topo.source) if topo.source and not topo.source.startswith("<") else None
        ref = str(src.resolve()) if src is not None and src.is_file() else json.loads(topo.model_dump_json(exclude_none=True))
        if isinstance(ref, str):                 # a topology the folders know goes by its name
            import os

            from ..topology import find
            try:
                named = find(src.stem, _topologies_dirs()).resolve() == src.resolve()
            except LabError:
                named = False
            ref = src.stem if named else os.path.relpath(ref, out.resolve().parent)
    text = record_scenario(h, topo, ref, name=name or out.name.removesuffix(SUFFIX), checks=checks,
                           source=f"recorded from {'history ' + str(history) if history else 'lab ' + lb.id}")
    parse(text, str(out), out.resolve().parent, _topologies_dirs())      # what it writes, it can read back
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    steps = sum(1 for line in text.splitlines() if line.startswith("- "))
    console.print(f"wrote {out} ({steps} steps); replay: kalab run {out}")

