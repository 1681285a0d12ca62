"""kalab predict, judge, lint, render: answers without a running lab (predict, judge and render need no Docker)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .. import cli_output as O
from ..errors import LabError
from .common import FormatOpt, _check_format, _topology, _topology_or_configs, app, console


@app.command()
def predict(topology: str = typer.Argument(..., help="a topology (name or YAML), or keepalived.conf files "
                                                      "(FILE or FILE@CONFIG_ID, one per node) before the events"),
            events: list[str] = typer.Argument(
        None, help="events, applied in order after every keepalived node started (unless the list begins with "
                   "up:NODE): up:NODE kill:NODE stop:NODE pause:NODE resume:NODE script:NODE:SCRIPT:ok|fail file:NODE:TRACK_FILE:VALUE "
                   "link:NODE:IFACE:up|down block:NODE unblock:NODE cut:NODE heal:NODE reload:NODE:INSTANCE:FIELD=VALUE[,...]. "
                   "stop is a graceful SIGTERM, kill a SIGKILL; block stops NODE receiving adverts (drop-vrrp direction=in), cut drops VRRP both ways on NODE, as the "
                   "drop-vrrp fault with direction=both; nginx stopped is script:NODE:SCRIPT:fail of the script that "
                   "checks it"),
            fmt: str = FormatOpt) -> None:
    """The model's expected MASTER after each event, with its time window and the rules (no Docker)."""
    from rich.table import Table

    from ..election import RULES
    from ..election.predict import predict_topology
    _check_format(fmt)
    topo, events = _topology_or_configs(topology, events or [])
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
def judge(history: Path = typer.Argument(..., help="a history.jsonl written by a test, `kalab report` or CI"),
          fmt: str = typer.Option("text", "--format", help="text or json"),
          allow: list[str] = typer.Option([], "--allow", help="a fault kind or name whose missing rule is accepted"),
          topology: Optional[str] = typer.Option(None, "--topology", help="topology, if the history has none")) -> None:
    """Judge a recorded history offline against the election model, without Docker.

    Exit code: 0 holds, 1 violated, 2 cannot judge (each judgement printed with its rule and window),
    3 the history or topology cannot be read.
    """
    import json as _json

    from ..events import EventError
    from ..history import History
    from ..judge.offline import judge_history
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
    from ..judge import t_in
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
            took = "" if abs(r["at"] - r["issued"]) < 5e-4 else f", in effect at {r['at']:.3f} s"
            print(f"[{r['verdict']}] {r['instance']} after `{r['cause']}` (issued at {r['issued']:.3f} s{took}): expected "
                  f"MASTER {r['expected']} {r['window'][0]:.3f}..{r['window'][1]:.3f} s after it: with the "
                  f"{r['margin']:g} s margin, from {r['enforced'][0]:.3f} s (counted from the issue) to "
                  f"{r['enforced'][1]:.3f} s (the deadline, counted from when it was in effect); "
                  f"MASTER {seen} {when} ({r['observed_at']:.3f} s). {r['problem']}")
            print(f"    rules: {' | '.join(r['rules'])}")
        if stop:
            print(f"[{'allowed' if stop['allowed'] else 'cannot judge'}] from {stop['at']:.3f} s: "
                          f"{stop['event']}: {stop['reason']}")
        print(f"verdict: {rep.verdict.value}")
    raise typer.Exit(rep.verdict.exit_code)

@app.command()
def lint(files: list[str] = typer.Argument(..., help="keepalived.conf files of one cluster (one per node; "
                                                    "FILE@CONFIG_ID for its @ID lines), or a topology YAML"),
         fmt: str = FormatOpt,
         json_out: bool = typer.Option(False, "--json", hidden=True, help="the same as --format json"),
         no_keepalived: bool = typer.Option(False, "--no-keepalived", help="skip `keepalived -t` (no Docker)"),
         subnet: list[str] = typer.Option([], "--subnet", help="a CIDR of the nodes' networks (repeatable)"),
         interface: list[str] = typer.Option([], "--interface", help="an interface the nodes have (repeatable; "
                                                                      "default: those the instances name)"),
         config_id: Optional[str] = typer.Option(None, "--config-id", help="keepalived -i (for @ID lines) for every "
                                                 "file without FILE@ID; default: each file's name, lb1.conf -> lb1, "
                                                 "as kalab check")) -> None:
    """keepalived -t (in the node image) plus the lab's semantic checks; exit 1 when anything is an error."""
    import ipaddress

    from ..kaconf.lint import exit_code, format_json, format_text
    _check_format(fmt)
    json_out = json_out or fmt == "json"
    from ..runtime.ktest import lint_files
    from ..topology.lint import lint_topology
    from ..topology.from_configs import split_config_arg
    split = [split_config_arg(a) for a in files]
    # the config id as kalab check takes it: FILE@ID, else --config-id, else the file's name (lb1.conf -> lb1)
    ids = [cid or config_id or path.name.split(".")[0] for path, cid in split]
    files = [path for path, _ in split]
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
                         interfaces=interface or _named_interfaces(files, ids), config_id=ids)
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

    from ..lab import SCRIPT_WRAPPER
    from ..topology.render import render_node
    topo = _topology(topology)
    subnets = {n: s.subnet or ipaddress.IPv4Network(f"10.213.{i}.0/{s.prefix()}")
               for i, (n, s) in enumerate(topo.networks.items())}
    if node not in topo.keepalived_nodes():
        raise LabError(f"{node!r} is not a keepalived node of {topo.name}; nodes: {', '.join(topo.keepalived_nodes())}")
    sys.stdout.write(render_node(topo, node, subnets, script_wrapper=None if plain else SCRIPT_WRAPPER))


def _named_interfaces(files: list[Path], ids: list) -> list[str]:
    """The interfaces the files' vrrp_instances name (``interface``), for keepalived -t to find; a
    typo in a VIP's ``dev`` or a track_interface is still reported. ``eth0`` when none can be read."""
    from ..kaconf.from_config import from_config
    from ..kaconf.parse import parse_file
    names: list[str] = []
    for f, cid in zip(files, ids):
        try:
            kc = from_config(parse_file(f, config_id=cid))
        except Exception:            # lint_files reports an unreadable file itself, with its line
            continue
        names += [i.interface for i in kc.instances.values() if i.interface and i.interface not in names]
    return names or ["eth0"]
