"""``kalab check lb1.conf lb2.conf``: your own keepalived.conf files, unchanged, through a failover battery.

One node per file (named by the config id: ``lb1.conf`` -> ``lb1``, or ``FILE@ID``), networks and
addresses read from the files (:mod:`lab.topology.from_configs`), the scenarios of :mod:`lab.battery`
each judged by the election model. Prints a table, writes JUnit XML and the HTML report; exit 0 when
every scenario holds, 1 when one is violated, 2 when one could not be judged.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .common import app, console, err_console

VERDICT_STYLE = {"holds": "green", "violated": "bold red", "cannot judge": "yellow", None: "dim"}


def results_table(results, title: str) -> Table:
    t = Table(title=title, show_lines=False)
    for col in ("scenario", "expected", "observed", "time vs window", "verdict", "rule"):
        t.add_column(col, overflow="fold")
    for r in results:
        v = r.verdict.value if r.verdict else "not run"
        t.add_row(escape(r.name), escape(r.expected), escape(r.observed), escape(r.timing),
                  f"[{VERDICT_STYLE[r.verdict.value if r.verdict else None]}]{v}[/]",
                  escape((r.rules[0].split(":")[0] if r.rules else "")))
    return t


def write_junit(results, path: Path, suite: str) -> Path:
    """JUnit XML: one testcase per scenario; violated -> failure, cannot judge -> error, not run -> skipped."""
    failures = sum(1 for r in results if r.verdict and r.verdict.value == "violated")
    errors = sum(1 for r in results if r.verdict and r.verdict.value == "cannot judge")
    skipped = sum(1 for r in results if r.verdict is None)
    ts = ET.Element("testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors=str(errors),
                    skipped=str(skipped), time=f"{sum(r.seconds for r in results):.3f}")
    for r in results:
        tc = ET.SubElement(ts, "testcase", classname=suite, name=r.name, time=f"{r.seconds:.3f}")
        text = "\n".join([f"expected: {r.expected}", f"observed: {r.observed}", f"timing: {r.timing}",
                          *r.problems, *(f"rule: {x}" for x in r.rules)])
        if r.verdict is None:
            ET.SubElement(tc, "skipped", message=(r.problems or [""])[0])
        elif r.verdict.value == "violated":
            ET.SubElement(tc, "failure", message=(r.problems or ["violated"])[0]).text = text
        elif r.verdict.value == "cannot judge":
            ET.SubElement(tc, "error", message=(r.problems or ["cannot judge"])[0]).text = text
        else:
            ET.SubElement(tc, "system-out").text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(ts).write(path, encoding="unicode", xml_declaration=True)
    return path


@app.command()
def check(configs: list[str] = typer.Argument(..., help="keepalived.conf files, one per node: FILE or FILE@CONFIG_ID"),
          report: Path = typer.Option(Path("reports/check"), help="where to write junit.xml, the HTML report and picture"),
          only: Optional[list[str]] = typer.Option(None, help="run only scenarios whose name contains this (repeatable)"),
          plan: bool = typer.Option(False, "--plan", help="print the topology and the scenarios, start nothing"),
          expect: Optional[Path] = typer.Option(None, "--expect", help="an intent file: {scenario: {INSTANCE: MASTER}}, "
                                                                       "checked by the model's arithmetic before start"),
          exact: bool = typer.Option(False, "--exact", help="refuse, instead of moving to a lab subnet, a configs' "
                                                           "subnet that overlaps this host's routes or a Docker network"),
          package: Optional[list[str]] = typer.Option(None, "--package", help="a Debian package the configs' scripts "
                                                      "need, installed in every node (repeatable), e.g. haproxy"),
          name: str = typer.Option("check", help="the lab's name")) -> None:
    """Run your own keepalived.conf files, unchanged, through a failover battery judged by the rules.

    A configs' subnet this host cannot give a lab (it overlaps one of the host's routes, or a Docker network
    that is not a lab's) is moved to a free lab subnet, the configs' addresses in it rewritten and nothing
    else; the moves and the diff are printed first. ``--exact`` refuses instead."""
    from ..battery import run_battery
    from ..judge.verdict import merge
    from ..lab import Lab
    from ..report import write_report
    from ..runtime.engine import ensure_engine
    from ..runtime.images import ensure_node_image
    from ..topology.from_configs import parse_config_arg, topology_from_configs

    from ..runtime.network import pool, unavailable_subnets
    from ..topology.subnet_map import text_diff
    topo = topology_from_configs([parse_config_arg(c) for c in configs], name, unavailable=unavailable_subnets(),
                                 exact=exact, pool=pool(), packages=package or ())
    for m in topo.subnet_moves:
        console.print(f"[yellow]moved[/] {escape(m.text())}: the configs' addresses in it are rewritten, nothing else")
    for n in topo.keepalived_nodes():
        nc = topo.node_configs[n]
        for path, before in nc.original.items():
            diff = text_diff(path, before.decode(errors="replace"), nc.files[path].decode(errors="replace"))
            if diff:
                console.print(escape(diff), highlight=False, soft_wrap=True)
    for n in topo.keepalived_nodes():
        nc = topo.node_configs[n]
        six = topo.addresses6(n)
        itfs = ", ".join(f"{i} {topo.networks[s.network].subnet or s.network}"
                         + (f" .{s.host}" if s.host else "")
                         + (f" and {topo.networks[s.network].subnet6} {six[i]}" if i in six else "")
                         for i, s in topo.nodes[n].interfaces.items())
        insts = ", ".join(f"{i} (vrid {x.virtual_router_id}, priority {x.priority})" for i, x in topo.instances(n).items())
        console.print(f"[bold]{n}[/]: {nc.path} ({len(nc.files)} file(s)) on {itfs}: {insts}"
                      + (f"; with {', '.join(topo.nodes[n].packages)}" if topo.nodes[n].packages else ""))
        for w in nc.warnings:
            err_console.print(f"  [yellow]note:[/] {escape(w)}")
    from ..battery import predicted_masters, scenarios
    masters = predicted_masters(topo)      # the masters the model expects after start-up decide the scenarios
    if expect is not None:       # before any container: does the arithmetic give what the user expects?
        from ..intent import check_intent, load_intent
        intents = load_intent(expect)
        problems = check_intent(topo, scenarios(topo, masters), intents, str(expect))
        for p in problems:
            err_console.print(f"[bold red]intent:[/] {escape(p)}", soft_wrap=True)
        if problems:
            err_console.print(f"{len(problems)} of {len(intents)} expectation(s) the rules do not give; nothing started")
            raise typer.Exit(1)
        console.print(f"intent: the rules give all {len(intents)} expectation(s) of {expect}; the run checks them")
    if plan:
        console.print("scenarios (after the start-up election: "
                      + ", ".join(f"{i} MASTER {m}" for i, m in sorted(masters.items())) + "):")
        for sc in scenarios(topo, masters):
            console.print(f"  {escape(sc.name)}" + (f"  [dim]({escape(sc.skip)})[/]" if sc.skip else ""))
        return
    client = ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))
    ensure_node_image(client)
    _keepalived_says(topo, client)
    with Lab(topo, say=lambda m: console.print(f"[dim]{m}[/]")) as lab:
        results = run_battery(lab, only, say=lambda m: console.print(f"[dim]{escape(m)}[/]"))
        console.print(results_table(results, f"kalab check: {', '.join(topo.keepalived_nodes())} (lab {lab.id})"))
        for r in results:
            for p in r.problems:
                console.print(f"[bold]{escape(r.name)}[/]: {escape(p)}")
        junit = write_junit(results, report / "junit.xml", f"kalab-check.{name}")
        page = write_report(lab, report)
        console.print(f"junit: {junit}  report: {page}")
    verdict = merge(r.verdict for r in results if r.verdict is not None)
    console.print(f"verdict: [{VERDICT_STYLE[verdict.value]}]{verdict.value}[/]")
    raise typer.Exit(verdict.exit_code)


def _keepalived_says(topo, client) -> None:
    """Print what ``keepalived -t`` (the node image's keepalived) says of each node's files before the run: a
    misspelt keyword (``advert_intt``) is ignored by keepalived, which then runs with the default; the run
    judges what keepalived does, and the user learns why it may differ from the file. Notes only: keepalived
    runs such a config, so the check runs it too."""
    from ..errors import LabError
    from ..runtime.ktest import run_config_test
    from ..kaconf.ktest_output import parse_output
    nodes = topo.keepalived_nodes()
    ncs = [topo.node_configs[n] for n in nodes]
    extra = {p: data for nc in ncs for p, data in nc.files.items() if p != str(nc.path)}
    itfs = sorted({i for n in nodes for i in topo.nodes[n].interfaces})
    try:
        runs = run_config_test([str(nc.path) for nc in ncs], extra_files=extra, interfaces=itfs,
                               config_id=[nc.config_id for nc in ncs], client=client)
    except LabError as e:
        err_console.print(f"  [yellow]note:[/] keepalived -t could not run ({escape(str(e))}); the run goes on")
        return
    said = 0
    for n, run in zip(nodes, runs):
        for km in parse_output(run.stderr, run.file, run.exit_code):
            if km.severity in ("error", "warning"):
                where = f"{km.file}:{km.line}" if km.line else (km.file or run.file)
                err_console.print(f"  [yellow]keepalived -t ({n}):[/] {escape(where)}: {km.severity}: {escape(km.message)}",
                                  soft_wrap=True)
                said += 1
    if said:
        err_console.print(f"  [dim]keepalived runs these files as they are, so the check does too (`kalab lint` lists "
                          f"every finding)[/]")
