"""What a user expects of their configs (``kalab check --expect intent.yaml``), checked by the model's
arithmetic before any container starts (pure; reads one YAML file).

The file maps a battery scenario (its name, or a part of it that names one scenario) to the master
the user expects of each instance while that scenario's fault is in effect::

    # lb1 loses VI_WEB when its nginx dies (chk_nginx weight -60: 150 - 60 = 90 < 100)
    nginx stopped on lb1: {VI_WEB: lb2}
    SIGKILL lb2: {VI_DB: lb1}

Where the rules give another master, :func:`check_intent` says so with the effective priorities the
model computed and, for a tracked script, the weight that would give the expected master
(man 5 keepalived.conf, vrrp_script ``weight``; RFC 3768 §6.4.3, the highest priority wins).
The run itself is judged by the model, so a scenario whose prediction matches the intent and holds
live also meets the intent.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .battery import Scenario
from .election.predict import predict_topology
from .errors import ConfigError, LabError, yaml_problem

__all__ = ["Intent", "load_intent", "check_intent"]


@dataclass(frozen=True)
class Intent:
    """``scenario`` (as written in the file), ``instance``, the expected ``master``, the file's ``line``."""

    scenario: str
    instance: str
    master: str
    line: int


def load_intent(path: str | Path) -> list[Intent]:
    """Read an intent file. Raises ConfigError naming the file, line and the fix."""
    p = Path(path)
    try:
        text = p.read_text()
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except OSError as e:
        raise ConfigError(str(p), None, f"cannot read the intent file: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(str(p), *yaml_problem(e)) from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(str(p), 1, "an intent file maps scenario names to {INSTANCE: MASTER}, e.g. "
                                     "`nginx stopped on lb1: {VI_WEB: lb2}`")
    lines = {k.value: k.start_mark.line + 1 for k, _ in root.value} if isinstance(root, yaml.MappingNode) else {}
    out = []
    for scen, want in data.items():
        line = lines.get(str(scen))
        if not isinstance(want, dict) or not want or not all(isinstance(v, str) for v in want.values()):
            raise ConfigError(str(p), line, f"{scen!r}: give {{INSTANCE: MASTER}}, e.g. {{VI_WEB: lb2}}")
        out += [Intent(str(scen), str(i), m, line or 0) for i, m in want.items()]
    return out


def check_intent(topo, scenarios, intents: list[Intent], source: str = "<intent>") -> list[str]:
    """Each intent the model's arithmetic does not give, as one message with the numbers (empty: all agree).

    Args:
        topo: the Topology; scenarios: :func:`lab.battery.scenarios` for it; intents: :func:`load_intent`.
    Raises: ConfigError when an intent names no single scenario, an unknown instance or node, or a
        scenario the model cannot predict before it runs.
    """
    problems = []
    nodes = topo.keepalived_nodes()
    for it in intents:
        every = [Scenario("start-up election", [], predict=["start-up"])] + list(scenarios)
        match = [s for s in every if s.name == it.scenario] or \
            [s for s in every if it.scenario.lower() in s.name.lower()]
        where = f"{source}:{it.line}" if it.line else source
        if len(match) != 1:
            names = "; ".join(s.name for s in every)
            raise LabError(f"{where}: {it.scenario!r} names {len(match)} scenarios; the battery has: {names}")
        sc = match[0]
        if it.instance not in topo.instance_names():
            raise LabError(f"{where}: no instance {it.instance!r}; the configs have {', '.join(topo.instance_names())}")
        if it.master not in nodes:
            raise LabError(f"{where}: no node {it.master!r}; the nodes are {', '.join(nodes)}")
        if not sc.predict:
            raise LabError(f"{where}: {sc.name!r} cannot be predicted before it runs; expect a SIGKILL, SIGTERM, "
                           f"VRRP-drop or nginx scenario")
        events = [] if sc.predict == ["start-up"] else sc.predict
        exps = [e for text, e in predict_topology(topo, events)
                if (text in events or not events) and e.instance == it.instance]
        if not exps:
            continue
        exp = exps[-1]
        if any(it.master in o for o in exp.options):
            continue
        prios = ", ".join(f"{n}={p}" for n, p in sorted(exp.effective_priorities.items()))
        got = " or ".join("/".join(sorted(o)) for o in exp.options) or "none"
        msg = (f"{where}: {sc.name}: you expect {it.instance} MASTER {it.master}, the rules give {got}: effective "
               f"priorities after it {prios} (RFC 3768 §6.4.3: the highest priority wins)")
        ev = sc.predict[0].split(":")
        if ev[0] == "script":
            msg += _weight_hint(topo, ev[1], ev[2], it, exp)
        problems.append(msg)
    return problems


def _weight_hint(topo, node: str, script: str, it: Intent, exp) -> str:
    """The weight of ``script`` on ``node`` that would give the expected master (a negative weight is
    subtracted when the script fails, man 5 keepalived.conf vrrp_script ``weight``)."""
    inst = topo.instances(node).get(it.instance)
    if inst is None or not any(t.name == script for t in inst.track_script):
        return f"; {script} is not tracked by {it.instance} on {node}, so its failure cannot move {it.instance}"
    track = next(t for t in inst.track_script if t.name == script)
    w = track.weight if track.weight is not None else topo.scripts(node)[script].weight
    mine, theirs = exp.effective_priorities.get(node), exp.effective_priorities.get(it.master)
    if it.master == node or mine is None or theirs is None or w > 0:
        return f" ({script} on {node} has weight {w})"
    need = mine - theirs + 1                        # how much lower node must be: strictly below the expected master
    return (f"; {script} on {node} has weight {w}, so {node} is at {mine}, not below {it.master}'s {theirs}: "
            f"a weight of {w - need} or lower would move {it.instance} to {it.master}")
