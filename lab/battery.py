"""The failover battery ``kalab check`` runs on users' own configs: scenarios derived from the configs,
each injected into one live lab and judged by the election model (:mod:`lab.judge`).

Scenarios (:func:`scenarios`), in order:

* ``start-up election``: every instance elects the master its priorities say (RFC 3768 §6.4.1, R_MDI);
* ``SIGKILL <master>`` / ``SIGTERM <master>`` for each node that is master of an instance after start-up:
  the backup takes over after its master down interval / skew time; heal starts the node again and it
  preempts back if the rules say so;
* ``VRRP dropped both ways on <master>``: both sides become MASTER (neither hears the other); after the
  heal one master remains (RFC 3768 §6.4.3: the lower-priority master hears the higher and yields);
* ``SIGHUP reload, config unchanged on <node>``: no transition at all (the same config reread);
* ``rolling restart``: each node restarted in turn, the next only once the election settled;
* each ``track_interface`` of a node: the interface down, then up (link-down; R_TRACK_IF);
* each tracked ``track_file``: the value that fails its first use (:func:`failing_value`) written, then
  the file restored (track-file; R_TRACK_FILE).

* each tracked ``vrrp_script`` that checks nginx: nginx stopped on the node, then started (R_WEIGHT_*).
  Another script's result cannot be forced without changing the user's config (the lab's script
  wrapper is only in configs it generates): it is listed as not run, with that reason.

Each :class:`Result` has the scenario's verdict (the worst of the model's judgements of the inputs made
in it: holds, violated, cannot judge), what the model expected, what was observed, the takeover time
against the model's window and the rules.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from .judge import Verdict
from .judge.verdict import merge
from .timers import MARGIN

if TYPE_CHECKING:
    from .lab import Lab

__all__ = ["Scenario", "Result", "scenarios", "predicted_masters", "run_battery"]


@dataclass
class Scenario:
    """One scenario: ``steps`` are (description, action(lab) -> None) run in order, each followed by
    settling (waiting until the model's deadline). ``quiet``: the scenario expects no transition."""

    name: str
    steps: list[tuple[str, Callable[["Lab"], None]]]
    quiet: bool = False
    skip: str = ""
    #: the model's events (``kalab predict`` syntax) of the first step, for checking an intent before start
    predict: Optional[list[str]] = None


@dataclass
class Result:
    """What one scenario gave. ``verdict`` is a :class:`~lab.judge.Verdict`, None for a scenario not run
    (``problems`` says why); times in seconds."""

    name: str
    verdict: Optional[Verdict]
    expected: str = ""
    observed: str = ""
    timing: str = ""
    rules: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _fault_steps(kind: str, node: str, **params) -> list[tuple[str, Callable]]:
    box: dict = {}

    def apply(lab):
        box["f"] = lab.fault(kind, node, **params)
        box["f"].apply()

    def heal(lab):
        box["f"].heal()
    return [(f"{kind} {node}", apply), (f"heal {kind} {node}", heal)]


def _tracks(topo, node: str, kind: str) -> list:
    """The ``kind`` entries (``track_script``, ``track_interface``, ``track_file``) of ``node``'s instances,
    then of its sync groups (a group's trackers apply to every member: R_SYNC_WEIGHTS)."""
    return ([t for inst in topo.instances(node).values() for t in getattr(inst, kind)]
            + [t for g in topo.sync_groups(node).values() for t in getattr(g, kind)])


def failing_value(tf, use) -> Optional[int]:
    """The number to write into a ``track_file`` so that its first use lowers the instance's priority
    the least that still counts as failing: with weight 0, the value that means failure (FAULT); otherwise
    one unit against the weight's sign (the weight itself is then the priority lost), e.g. weight -60:
    1 (150 -> 90), weight 50: -1, weight 50 reverse: 1. None when no value is worse than the file's
    value at start (``init_value`` with ``init_file``, else a missing file: 0).

    Args: ``tf`` the ``track_file`` block (``weight``, ``reverse``, ``init_file``, ``init_value``);
    ``use`` the instance's ``track_file`` entry (``weight`` overriding the block's, ``reverse``).
    Source: man 5 keepalived.conf, Track files (lab.priority.track_file_status, R_TRACK_FILE)."""
    from .priority import track_file_status
    weight = use.weight if use.weight is not None else tf.weight
    reverse = bool(use.reverse or tf.reverse)
    start = (tf.init_value or 0) if tf.init_file else 0

    def rank(v: int) -> float:
        st = track_file_status(weight, reverse, v)
        return float("-inf") if st is None else st
    for v in (1, -1, 0, 2, -2, 254, -254):
        if v != start and rank(v) < rank(start):
            return v
    return None


def scenarios(topo, masters: dict[str, str]) -> list[Scenario]:
    """The battery for ``topo`` (a :class:`~lab.topology.Topology`), given the masters after start-up
    ({instance: node}); pure (the steps act on the lab they are given)."""
    out: list[Scenario] = []
    leaders = sorted(set(masters.values()))
    for n in leaders:
        out.append(Scenario(f"SIGKILL {n}", _fault_steps("sigkill", n), predict=[f"kill:{n}"]))
        out.append(Scenario(f"SIGTERM {n}", _fault_steps("sigterm", n), predict=[f"stop:{n}"]))
    for n in leaders:
        out.append(Scenario(f"VRRP dropped both ways on {n}", _fault_steps("drop-vrrp", n, direction="both"),
                            predict=[f"cut:{n}"]))
    for n in topo.keepalived_nodes():
        out.append(Scenario(f"SIGHUP reload, config unchanged on {n}",
                            [(f"SIGHUP {n}", lambda lab, n=n: lab.node(n).kill("SIGHUP"))], quiet=True))
    out.append(Scenario("rolling restart", [
        (f"restart {n}", lambda lab, n=n: lab.fault("restart", n).apply()) for n in topo.keepalived_nodes()]))
    for n in topo.keepalived_nodes():
        tracked = sorted({t.name for t in _tracks(topo, n, "track_interface")})
        for itf in tracked:
            out.append(Scenario(f"interface {itf} down on {n}", _fault_steps("link-down", n, iface=itf),
                                predict=[f"link:{n}:{itf}:down"]))
        for fname, tf in topo.track_files(n).items():
            uses = [t for t in _tracks(topo, n, "track_file") if t.name == fname]
            if not uses:
                continue
            value = failing_value(tf, uses[0])
            if value is None:
                out.append(Scenario(f"track_file {fname} on {n} fails", [], skip=(
                    "not run: no value lowers its first use's priority; set one yourself "
                    f"(`kalab fault {n} track-file file={fname} value=N`)")))
                continue
            out.append(Scenario(f"track_file {fname} on {n} set to {value}",
                                _fault_steps("track-file", n, file=fname, value=value),
                                predict=[f"file:{n}:{fname}:{value}"]))
        for sname in topo.scripts(n):
            if not any(t.name == sname for t in _tracks(topo, n, "track_script")):
                continue
            if "nginx" in topo.scripts(n)[sname].script:      # it checks the node's nginx: stop that
                out.append(Scenario(f"nginx stopped on {n} ({sname} fails)", _fault_steps("nginx-stop", n, scripts=sname),
                                    predict=[f"script:{n}:{sname}:fail"]))
            else:
                out.append(Scenario(f"vrrp_script {sname} on {n} fails", [], skip=(
                    "not run: forcing a script's result would change your config; break what it checks "
                    f"instead (`kalab fault {n} command run=... undo=... script={sname}`)")))
    return out


def predicted_masters(topo) -> dict[str, str]:
    """{instance: node} the model expects as master once every node started (the first of a tie's
    options, by name): what the scenarios are derived from before a lab runs (``--plan``, pytest items)."""
    from .election.predict import predict_topology
    return {e.instance: sorted(e.options[0])[0] for _, e in predict_topology(topo, []) if e.options[0]}


def _describe(j, history=None, margin: float = MARGIN) -> tuple[str, str, str]:
    """(expected, observed, timing) of one judgement; timing is the first MASTER report of an expected
    master after the input (seconds from the input's event) against the model's window and the lab's margin
    (lab.timers.MARGIN, the judge's allowance for a loaded host)."""
    e = j.expectation
    if len(e.options) != 1:             # equal priorities: the tie-break is the primary IP (R_EQUAL_MASTERS)
        return (f"{e.instance}: MASTER one of {e.describe_options()} (tie)",
                f"{e.instance}: MASTER {'/'.join(sorted(j.observed or ())) or 'none'}" if j.observed is not None else "?",
                f"window {e.earliest:.2f}-{e.latest:.2f} s (+{margin:g} s margin)" if e.changed else "no change expected")
    expected = f"{e.instance}: MASTER {'/'.join(sorted(e.masters)) or 'none'}"
    observed = f"{e.instance}: MASTER {'/'.join(sorted(j.observed or ())) or 'none'}" if j.observed is not None else "?"
    if not e.changed:
        return expected, observed, "no change expected"
    timing = f"window {e.earliest:.2f}-{e.latest:.2f} s (+{margin:g} s margin)"
    if history is not None:
        start = min(j.event.t, j.event.get("t_issued", j.event.t))
        up = next((s for s in history.events("state", since=start, instance=e.instance, state="MASTER")
                   if s["node"] in e.masters and s.t <= j.deadline), None)
        if up is not None:
            timing = f"{up.t - j.event.t:.2f} s in {e.earliest:.2f}-{e.latest:.2f} s (+{margin:g} s margin)"
    return expected, observed, timing


def run_scenario(lab: "Lab", sc: Scenario, say: Callable[[str], None] = lambda m: None) -> Result:
    """Run ``sc`` on ``lab`` and judge what it did (never raises for a failing verdict)."""
    if sc.skip:
        return Result(sc.name, None, problems=[sc.skip])
    t0 = time.monotonic()
    n_states = len(lab.history.events("state"))
    for desc, step in sc.steps:
        say(f"  {sc.name}: {desc}")
        step(lab)
        lab.check.settle()                # until the model's deadline; judged below, per scenario
    rep = lab.check.judge()
    mine = [j for j in rep.judgements if j.event.t >= t0 - 1e-6 and j.verdict is not None]
    res = Result(sc.name, merge(j.verdict for j in mine) if mine else Verdict.HOLDS, seconds=time.monotonic() - t0)
    if sc.quiet:
        extra = [e for e in lab.history.events("state")[n_states:] if e.get("type", "INSTANCE") == "INSTANCE"]
        res.expected, res.observed = "no transition", (f"{len(extra)} transition(s)" if extra else "no transition")
        if extra:
            res.verdict = Verdict.VIOLATED
            res.problems.append("transitions after an unchanged reload: " + ", ".join(
                f"{e['node']} {e['instance']} -> {e['state']}" for e in extra[:4]))
        res.rules.append("man 5 keepalived.conf: SIGHUP rereads the configuration; an unchanged one changes nothing")
    elif not mine:
        res.verdict = Verdict.CANNOT_JUDGE
        res.problems.append("the model judged no input of this scenario")
    if rep.stopped_at is not None and rep.stopped_at.event.t >= t0 - 1e-6:
        res.verdict = merge([res.verdict, Verdict.CANNOT_JUDGE])
        res.problems.append(f"cannot judge from {rep.stopped_at.event.describe(lab.history.t0).strip()}: "
                            f"{rep.stopped_at.reason}")
    if mine:
        main = next((j for j in mine if j.expectation.changed), mine[0])
        # every instance the first input moves (a sync group moves several), the first one's timing
        same = [j for j in mine if j.event is main.event and (j.expectation.changed or j is main)]
        described = [_describe(j, lab.history) for j in same]
        res.expected, res.observed = (", ".join(d[i] for d in described) for i in (0, 1))
        res.timing = described[0][2]
        res.rules = list(dict.fromkeys(list(main.expectation.rules) + [r for j in mine for r in j.expectation.rules]))
        res.problems += [f"{j.expectation.instance} after `{j.expectation.cause}`: {j.problem}"
                         for j in mine if j.verdict is not Verdict.HOLDS and j.problem]
    return res


def run_battery(lab: "Lab", only: Optional[list[str]] = None, say: Callable[[str], None] = lambda m: None,
                exact: bool = False) -> list[Result]:
    """Start-up election, then every scenario of :func:`scenarios` (``only``: names containing one of
    these strings, or with ``exact`` exactly these names). Returns one :class:`Result` per scenario,
    start-up first."""
    say("start-up election")
    t0 = time.monotonic()
    lab.check.settle()                 # until the model's start-up deadline (a tie has no single master)
    masters = {i: m[0] for i in lab.topology.instance_names() if (m := lab.history.masters(i))}
    rep = lab.check.judge()
    mine = [j for j in rep.judgements if j.verdict is not None]
    first = Result("start-up election", merge(j.verdict for j in mine) if mine else Verdict.CANNOT_JUDGE,
                   expected=", ".join(f"{i}: MASTER {m}" for i, m in sorted(masters.items())),
                   seconds=time.monotonic() - t0)
    first.observed = ", ".join(f"{i}: MASTER {'/'.join(lab.history.masters(i)) or 'none'}" for i in sorted(masters))
    first.expected = ", ".join(sorted({_describe(j)[0] for j in mine})) or first.expected
    first.rules = list(dict.fromkeys(r for j in mine for r in j.expectation.rules))
    first.problems = [j.problem for j in mine if j.verdict is not Verdict.HOLDS and j.problem]
    out = [first]
    for sc in scenarios(lab.topology, masters):
        if only is not None and (sc.name not in only if exact else not any(o.lower() in sc.name.lower() for o in only)):
            continue
        say(sc.name)
        out.append(run_scenario(lab, sc, say))
    return out
