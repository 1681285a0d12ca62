"""``kalab``: reproduce an incident from a terminal (typer + rich).

Labs started by ``kalab up`` survive between commands; every command finds
them through their Docker labels (``--lab ID`` when several run). Errors are
one sentence and a non-zero exit code, never a traceback.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from . import cli_output as O
from .errors import LabError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="keepalived-lab: real keepalived + nginx on Docker, faults, and checks against the rules.")
# node names like a and b: ":a:" is not an emoji here; piped output is never cut to 80 columns
console = Console(emoji=False, width=None if sys.stdout.isatty() else max(int(os.environ.get("COLUMNS") or 0), 200))
err_console = Console(emoji=False, stderr=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version
        try:
            v = version("keepalived-lab")
        except PackageNotFoundError:
            v = "unknown (not installed)"
        print(f"kalab (keepalived-lab) {v}")
        raise typer.Exit()


@app.callback()
def _main(_: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version and exit")) -> None:
    """keepalived-lab: real keepalived + nginx on Docker, faults, and checks against the rules."""
LabOpt = typer.Option(None, "--lab", help="lab id (default: the only running lab)")


def _topologies_dirs() -> list[Path]:
    return [Path.cwd() / "topologies", Path(__file__).resolve().parents[1] / "topologies"]


def _topology(name: str):
    from .topology import find, load
    return load(find(name, _topologies_dirs()))


FormatOpt = typer.Option("text", "--format", help="text or json (a stable schema: lab/cli_output.py)")


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "json"):
        raise LabError(f"--format {fmt!r}: use text or json")


def _attach(lab_id: Optional[str]):
    from .lab import Lab
    return Lab.attach(lab_id, say=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))


@app.command()
def engine() -> None:
    """Make sure a Docker engine runs (as root on Debian: install docker.io and start dockerd)."""
    from .runtime.engine import ensure_engine
    c = ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))
    console.print(f"Docker engine {c.version().get('Version')} is up")


@app.command()
def build() -> None:
    """Build the node image if images/ changed (base image made with debootstrap when no registry)."""
    from .runtime.engine import ensure_engine
    from .runtime.images import ensure_node_image
    console.print(ensure_node_image(ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))))


@app.command()
def demo(topology: str = typer.Argument("two_node"), instance: str = "VI_1",
         report: Path = typer.Option(Path("reports/demo"), help="where to write the HTML report and picture")) -> None:
    """Bring up TOPOLOGY, kill the master, print the takeover against the master down interval, tear down."""
    from .demo import run_demo
    raise typer.Exit(run_demo(_topology(topology), instance, report, console))


@app.command()
def up(topology: str, keep: bool = typer.Option(False, "--keep", help="keep the lab even if it does not converge"),
       instance: Optional[str] = None,
       quiet: bool = typer.Option(False, "-q", "--quiet", help="print only the lab id (for scripts)")) -> None:
    """Start TOPOLOGY (name or path), wait for the election, print status; the lab keeps running."""
    import contextlib

    from .lab import Lab
    from .status import status_table
    say = (lambda m: None) if quiet else (lambda m: console.print(f"[dim]{m}[/]"))
    lab = Lab(_topology(topology), keep=True, say=say)
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
def predict(topology: str, events: list[str] = typer.Argument(
        None, help="events, applied in order after every keepalived node started (unless the list begins with "
                   "up:NODE): up:NODE kill:NODE stop:NODE pause:NODE resume:NODE script:NODE:SCRIPT:ok|fail file:NODE:TRACK_FILE:VALUE "
                   "link:NODE:IFACE:up|down block:NODE unblock:NODE reload:NODE:INSTANCE:FIELD=VALUE[,...]"),
            fmt: str = FormatOpt) -> None:
    """The model's expected MASTER after each event, with its time window and the rules (no Docker)."""
    from rich.table import Table

    from .election import RULES
    from .election.predict import predict_topology
    _check_format(fmt)
    topo = _topology(topology)
    name_of = {text: name.removeprefix("R_") for name, text in RULES.items()}
    t = Table("event", "instance", "expected MASTER", "window (s after event)", "effective priorities", "rules")
    used: dict[str, str] = {}
    rows = []
    for text, exp in predict_topology(topo, events or []):
        prios = " ".join(f"{n}={p}" for n, p in sorted(exp.effective_priorities.items()))
        names = [name_of.get(r, r[:40]) for r in exp.rules]
        used.update({name_of.get(r, r[:40]): r for r in exp.rules})
        t.add_row(text, exp.instance, exp.describe_options(), f"{exp.earliest:.2f} .. {exp.latest:.2f}", prios,
                  ", ".join(names))
        rows.append(O.PredictRow(event=text, instance=exp.instance, options=[sorted(o) for o in exp.options],
                                 earliest_s=exp.earliest, latest_s=exp.latest,
                                 effective_priorities=dict(exp.effective_priorities), rules=names))
    if fmt == "json":
        print(O.dump(O.Predict(topology=topo.name, rows=rows, rules=used)))
        return
    console.print(t)
    for n, text in used.items():
        console.print(f"[bold]{n}[/]: {text}", highlight=False, soft_wrap=True)


@app.command()
def status(lab: Optional[str] = LabOpt, fmt: str = FormatOpt) -> None:
    """Table: node, instance, state, configured and effective priority, VIP held, nginx up, when the state began."""
    from .status import status_rows, status_table
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

    from .runtime import labels as L
    from .runtime.cleanup import lab_ids, owner_liveness
    from .runtime.engine import ensure_engine
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
    from .nemesis import make_fault
    f = make_fault(lb, kind, node, args or [])
    f.apply()
    console.print(f"{f.name} applied on {node}; heal with `kalab heal {f.name} --lab {lb.id}` "
                  f"or `kalab heal --all --lab {lb.id}`")


@app.command()
def faults(fmt: str = FormatOpt) -> None:
    """Every fault kind with its parameters."""
    from rich.table import Table

    from .nemesis import kinds
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
    from .nemesis import heal_recorded
    healed = heal_recorded(lb, None if all_ else name)
    console.print(f"healed: {', '.join(healed) or 'nothing to heal'}")


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
    from .report import write_report
    attached = _attach(lab)
    # the lab was watched until now: the history (and what kalab judge can judge) ends here, not at its
    # last event
    attached.history.append("note", text="report written: the lab was recorded until here")
    page = write_report(attached, out)
    console.print(f"report: {page}")


@app.command()
def judge(history: Path = typer.Argument(..., help="a history.jsonl written by a test, `kalab report` or CI"),
          fmt: str = typer.Option("text", "--format", help="text or json"),
          allow: list[str] = typer.Option([], "--allow", help="a fault kind or name whose missing rule is accepted"),
          topology: Optional[str] = typer.Option(None, "--topology", help="topology, if the history has none")) -> None:
    """Judge a recorded history offline against the election model, without Docker.

    Exit code: 0 holds, 1 violated, 2 cannot judge (each judgement printed with its rule and window),
    3 the history or topology cannot be read.
    """
    import json as _json

    from .events import EventError
    from .history import History
    from .judge.offline import judge_history
    def unreadable(why: str) -> None:          # exit 3: the input, not the failover, is wrong
        print(f"error: {history}: {why}", file=sys.stderr)
        raise typer.Exit(3)

    try:
        h = History.from_jsonl(history)
    except (OSError, EventError, ValueError, TypeError, KeyError, AttributeError) as e:
        unreadable(f"not a readable history ({type(e).__name__}: {e})")
    try:
        rep = judge_history(h, _topology(topology) if topology else None, allow=allow or None, source=str(history))
    except typer.Exit:
        raise
    except LabError as e:
        unreadable(str(e).removeprefix(f"{history}: "))
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        unreadable(f"its records do not fit the topology or the event schema ({type(e).__name__}: {e})")
    rel = lambda t: round(t - h.t0, 3)
    from .judge import t_in
    margin = float(h.meta.get("margin", 1.0))

    def enforced_from(j) -> float:
        e = j.expectation
        return t_in(j.event) + (max(0.0, e.earliest - margin) if e.changed and e.earliest > margin else 0.0)

    rows = [{"verdict": j.verdict.value if j.verdict else "superseded", "instance": j.expectation.instance,
             "cause": j.expectation.cause, "at": rel(j.event.t), "issued": rel(t_in(j.event)),
             "deadline": rel(j.deadline),
             # a start's window is anchored to keepalived's own start once seen (no start-up allowance left)
             "window": [j.expectation.earliest, round(min(j.expectation.latest, j.deadline - margin - t_in(j.event)), 6)],
             "enforced": [rel(enforced_from(j)), rel(j.deadline)], "margin": margin,
             "expected": j.expectation.describe_options(),
             "observed": sorted(j.observed) if j.observed is not None else None,
             "observed_at": rel(j.superseded_at) if j.superseded_at is not None else rel(j.deadline),
             "problem": j.problem, "rules": list(j.expectation.rules)} for j in rep.judgements]
    stop = ({"at": rel(rep.stopped_at.event.t), "event": rep.stopped_at.event.describe(h.t0).strip(),
             "reason": rep.stopped_at.reason, "allowed": rep.stop_allowed} if rep.stopped_at else None)
    if fmt == "json":
        print(_json.dumps({"schema": "kalab.judge/1", "verdict": rep.verdict.value, "judgements": rows,
                           "stopped_at": stop}, indent=2))
    else:
        for r in rows:
            seen = "{" + ", ".join(r["observed"]) + "}" if r["observed"] is not None else "not judged"
            when = "when the next input came" if r["verdict"] == "superseded" else "at the deadline"
            print(f"[{r['verdict']}] {r['instance']} after `{r['cause']}` (issued {r['issued']:.3f} s): expected "
                  f"MASTER {r['expected']} {r['window'][0]:.3f}..{r['window'][1]:.3f} s after it (with the "
                  f"{r['margin']:g} s margin: from {r['enforced'][0]:.3f} s to the deadline {r['enforced'][1]:.3f} s); "
                  f"MASTER {seen} {when} ({r['observed_at']:.3f} s). {r['problem']}")
            print(f"    rules: {' | '.join(r['rules'])}")
        if stop:
            print(f"[{'allowed' if stop['allowed'] else 'cannot judge'}] from {stop['at']:.3f} s: "
                          f"{stop['event']}: {stop['reason']}")
        print(f"verdict: {rep.verdict.value}")
    raise typer.Exit(rep.verdict.exit_code)


@app.command()
def down(lab: Optional[str] = LabOpt, all_: bool = typer.Option(
        False, "--all", help="all your kept labs and your labs whose owner is gone (`kalab prune`: anyone's)")) -> None:
    """Remove a lab (its containers and networks)."""
    from .runtime import labels as L
    from .runtime.cleanup import lab_ids, owner_liveness
    from .runtime.cleanup import prune as prune_labs
    from .runtime.engine import ensure_engine
    client = ensure_engine(install=False)
    if all_:
        mine = [i for i, lb in lab_ids(client).items() if lb.get(L.USER) == str(os.getuid())
                and (lb.get(L.KEEP) == "1" or owner_liveness(client, lb) == "gone")]
        ids = prune_labs(client, mine) if mine else []
    else:
        ids = prune_labs(client, [_attach(lab).id])
    console.print(f"removed: {', '.join(ids) or 'nothing'}")


@app.command()
def prune(yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Remove everything carrying the lab's labels: every lab on this engine, kept or not, anyone's."""
    from .runtime import labels as L
    from .runtime.cleanup import lab_ids
    from .runtime.cleanup import prune as prune_labs
    from .runtime.engine import ensure_engine
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


@app.command()
def lint(files: list[Path] = typer.Argument(..., help="keepalived.conf files of one cluster (one per node), "
                                                     "or a topology YAML"),
         json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
         no_keepalived: bool = typer.Option(False, "--no-keepalived", help="skip `keepalived -t` (no Docker)"),
         subnet: list[str] = typer.Option([], "--subnet", help="a CIDR of the nodes' networks (repeatable)"),
         interface: list[str] = typer.Option(["eth0"], "--interface", help="an interface the nodes have (repeatable)"),
         config_id: Optional[str] = typer.Option(None, "--config-id", help="keepalived -i (for @ID lines)")) -> None:
    """keepalived -t (in the node image) plus the lab's semantic checks; exit 1 when anything is an error."""
    import ipaddress

    from .kaconf.lint import exit_code, format_json, format_text
    from .runtime.ktest import lint_files
    from .topology.lint import lint_topology
    yamls = [f for f in files if f.suffix in (".yaml", ".yml")]
    if yamls and len(files) > 1:
        raise LabError(f"kalab lint: {yamls[0]} is a topology; lint a topology on its own (`kalab lint "
                       f"{yamls[0]}`), or give only keepalived.conf files of one cluster")
    if len(files) == 1 and files[0].suffix in (".yaml", ".yml"):
        topo = _topology(str(files[0]))
        subnets = {n: ipaddress.IPv4Network(f"10.213.{i}.0/{s.prefix()}") for i, (n, s) in enumerate(topo.networks.items())}
        res = lint_topology(topo, {n: topo.networks[n].subnet or s for n, s in subnets.items()})
    else:
        res = lint_files([str(f) for f in files], keepalived_test=not no_keepalived, subnets=subnet,
                         interfaces=interface, config_id=config_id)
    sys.stdout.write((format_json(res) if json_out else format_text(res)) + "\n")
    sys.stdout.flush()
    sys.exit(exit_code(res))      # sys.exit: main() runs click with standalone_mode=False, which swallows typer.Exit


@app.command()
def render(topology: str, node: str,
           plain: bool = typer.Option(False, "--plain", help="without the lab's script wrapper (what you would "
                                                              "deploy); by default exactly what the lab runs")) -> None:
    """Print the keepalived.conf TOPOLOGY gives NODE, as the lab runs it (placeholder subnets 10.213.N.0/24
    unless declared)."""
    import ipaddress

    from .lab import SCRIPT_WRAPPER
    from .topology.render import render_node
    topo = _topology(topology)
    subnets = {n: s.subnet or ipaddress.IPv4Network(f"10.213.{i}.0/{s.prefix()}")
               for i, (n, s) in enumerate(topo.networks.items())}
    if node not in topo.keepalived_nodes():
        raise LabError(f"{node!r} is not a keepalived node of {topo.name}; nodes: {', '.join(topo.keepalived_nodes())}")
    sys.stdout.write(render_node(topo, node, subnets, script_wrapper=None if plain else SCRIPT_WRAPPER))


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: run the typer app; LabError and Docker errors become one line and exit 1."""
    from docker.errors import DockerException
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGHUP, _sigterm)      # a closed terminal: clean up as after Ctrl-C
    try:
        rv = app(standalone_mode=False)      # typer returns the exit code (130 after Ctrl-C)
        if rv == 130:
            console.print("interrupted")
        if isinstance(rv, int) and rv:
            sys.exit(rv)
    except LabError as e:
        console.print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
        sys.exit(1)
    except DockerException as e:
        console.print(f"[bold red]error:[/] Docker: {e}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click usage errors (typer vendors click) and friends
        if type(e).__name__ == "Abort":
            sys.exit(130)
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(e.exit_code)
        raise


if __name__ == "__main__":
    main()
