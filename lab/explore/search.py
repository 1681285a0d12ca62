"""The explorer's live search: random schedules (:mod:`.schedule`) run on several labs at once at a fast
clock, each judged by the election model; a schedule the judge finds violated or cannot judge is shrunk
(re-run live) and written as a scenario file with its history and report.

Fast clock: every VRRP instance runs VRRPv3 with ``advert_int`` 0.1 s (RFC 5798 counts the interval in
centiseconds; master down interval = 3 x 0.1 + skew), so a takeover takes about 0.35 s instead of 3.6 s.
Each step is followed by the judge's own settle (the model's deadline after it, lab.checks.Checks.settle),
and a schedule's verdict is the judge's on the inputs made during it (the lab's whole history is judged,
so what came before is the model's state, not a guess). A lab whose judge had to stop (an input it has no
rule for) is replaced by a new one, since nothing after that can be judged on it.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import LabError
from ..judge import Verdict
from ..judge.verdict import merge
from .schedule import Step, random_schedule, shrink_candidates, to_steps

__all__ = ["FAST_ADVERT_INT", "DEFAULT_KINDS", "fast_clock", "Finding", "Summary", "Search", "run_schedule"]

#: the fast clock's advertisement interval (s), VRRPv3
FAST_ADVERT_INT = 0.1
#: the fault kinds the explorer draws by default: each declares its meaning for the model
DEFAULT_KINDS = ("kill", "sigterm", "stop", "pause", "restart", "drop-vrrp", "one-way", "partition")
#: the most live runs one shrink makes (each a schedule of a few seconds at the fast clock)
MAX_SHRINK_RUNS = 30


def fast_clock(topo):
    """``topo`` with every VRRP instance on VRRPv3 at ``advert_int`` 0.1 s (a new, validated Topology)."""
    import json

    from ..topology import validate
    data = json.loads(topo.model_dump_json(exclude_none=True))
    for inst in (data.get("vrrp_instances") or {}).values():
        inst.update(advert_int=FAST_ADVERT_INT, version=3)
    for spec in (data.get("nodes") or {}).values():
        for inst in (spec.get("vrrp_instances") or {}).values():
            if inst is not None and ("advert_int" in inst or "version" in inst):
                inst.update(advert_int=FAST_ADVERT_INT, version=3)
    data["name"] = f"{data.get('name', 'topology')}-fast"
    return validate(data, f"{topo.source or data['name']} (fast clock)")


@dataclass
class Finding:
    """A schedule the judge did not find holding: the first ``schedule``, its ``verdict`` and ``problems``,
    the ``shrunk`` schedule (still failing) and where its scenario file went."""

    schedule: list[Step]
    verdict: Verdict
    problems: list[str]
    shrunk: list[Step] = field(default_factory=list)
    path: Optional[Path] = None


@dataclass
class Summary:
    """A search's counts: schedules judged, per verdict, wall seconds, findings."""

    judged: int = 0
    steps: int = 0                     # steps of the judged schedules (their heals included)
    schedule_seconds: float = 0.0      # the time those schedules took, summed over the labs
    verdicts: dict = field(default_factory=lambda: {**{v.value: 0 for v in Verdict}, "not run": 0})
    #: findings whose smallest schedule held when run once more alone (timing): reported, not counted
    not_reproduced: list = field(default_factory=list)
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    labs: int = 0

    @property
    def per_minute(self) -> float:
        return 60.0 * self.judged / self.seconds if self.seconds else 0.0


def dwell(topo) -> float:
    """How long each step is held at least (s): twice the longest master down interval of any node (RFC 5798
    §6.1), so that an effect the model was not told of (a fault's wrong meaning) has the time to show."""
    from ..timers import master_down_interval
    return 2 * max(master_down_interval(topo.instances(n)[i].priority, topo.instances(n)[i].advert_int,
                                        topo.instances(n)[i].version or 2)
                   for n in topo.keepalived_nodes() for i in topo.instances(n))


def _key(j) -> tuple:
    return (j.event.t, j.expectation.instance, j.expectation.cause)


def _verdicts(rep) -> dict:
    return {_key(j): j.verdict for j in rep.judgements if j.verdict is not None}


def run_schedule(lab, schedule: list[Step], kinds: dict[str, type]) -> tuple[Optional[Verdict], list[str], bool]:
    """Run ``schedule`` on ``lab`` (each step, then the judge's settle, and at least :func:`dwell`) and judge
    the inputs made meanwhile.

    Returns (verdict, problems, usable): ``usable`` False when the lab's judge stopped (an input without a
    rule) or a step could not be done, so the lab must be replaced. The verdict is None when a step could not
    be done (a lab limitation, not keepalived's behaviour: nothing to judge)."""
    t0 = time.monotonic()
    before = _verdicts(lab.check.judge(until=t0))
    faults: dict[str, Any] = {}
    hold = dwell(lab.topology)
    try:
        for s in schedule:
            t_step = time.monotonic()
            if s.action == "apply":
                f = kinds[s.kind](lab, s.node, _name=s.name, **dict(s.params))
                f.apply()
                faults[s.name] = f
            else:
                faults.pop(s.name).heal()
            lab.check.settle()
            left = t_step + hold - time.monotonic()
            if left > 0:                      # a wait that must run out: the protocol's time, not the lab's
                lab.history.wait_for(lambda h: None, left)
    except (LabError, KeyError) as e:
        for f in reversed(list(faults.values())):
            try:
                f.heal()
            except LabError:
                pass
        return None, [f"a step could not be done: {e}"], False
    rep = lab.check.judge(until=time.monotonic())
    # the inputs made meanwhile, and an earlier input whose settled state the schedule broke (its "stays until
    # the next input" window reaches into the schedule: a change no input declared is judged there)
    mine = [j for j in rep.judgements if j.verdict is not None and
            (j.event.t >= t0 or j.verdict.rank > before.get(_key(j), Verdict.HOLDS).rank)]
    problems = [f"[{j.verdict.value}] after `{j.expectation.cause}`: {j.problem} (rules: "
                f"{' | '.join(dict.fromkeys(j.expectation.rules))})" for j in mine if j.verdict is not Verdict.HOLDS]
    stopped = rep.stopped_at is not None
    if stopped:
        problems.append(f"[cannot judge] {rep.stopped_at.reason}")
    verdict = merge([j.verdict for j in mine] + ([Verdict.CANNOT_JUDGE] if stopped else []))
    if not mine and not stopped:
        verdict = Verdict.HOLDS          # nothing the model expected changed (e.g. a fault on a backup): held
    return verdict, problems, not stopped


class Search:
    """A search on ``topo`` (made fast-clock) with fault ``kinds`` ({kind: Fault class}), ``labs`` labs at once,
    for ``budget`` seconds, drawing from ``seed``; findings go under ``out``. ``say`` gets progress lines."""

    def __init__(self, topo, *, kinds: Optional[dict[str, type]] = None, seed: int = 0, labs: int = 2,
                 budget: float = 60.0, out: Path = Path("reports/explore"), max_steps: int = 4,
                 say: Callable[[str], None] = lambda m: None, keepalived: Optional[str] = None,
                 stop_at_first: bool = False):
        from ..nemesis import kinds as registry
        self.topo = fast_clock(topo)
        reg = registry()
        self.kinds = kinds or {k: reg[k] for k in DEFAULT_KINDS}
        self.seed, self.labs, self.budget, self.out = seed, labs, budget, Path(out)
        self.max_steps, self.say, self.keepalived = max_steps, say, keepalived
        self.stop_at_first = stop_at_first
        self.summary = Summary(labs=labs)
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ------------------------------------------------------------ labs
    def _new_lab(self):
        from ..lab import Lab
        lab = Lab(self.topo, keepalived=self.keepalived)
        lab.start()
        for inst in self.topo.instance_names():
            lab.wait_for_master(inst)
        return lab

    def _count(self, verdict: Optional[Verdict], steps: int = 0, seconds: float = 0.0) -> None:
        with self._lock:
            if verdict is None:
                self.summary.verdicts["not run"] += 1
                return
            self.summary.judged += 1
            self.summary.steps += steps
            self.summary.schedule_seconds += seconds
            self.summary.verdicts[verdict.value] += 1

    # ------------------------------------------------------------ a worker: one lab at a time
    def _worker(self, k: int, deadline: float) -> None:
        rng = random.Random(f"{self.seed}-{k}")
        nodes = self.topo.keepalived_nodes()
        lab = None
        try:
            while time.monotonic() < deadline and not self._stop.is_set():
                if lab is None:
                    lab = self._new_lab()
                sched = random_schedule(rng, nodes, list(self.kinds), max_steps=self.max_steps)
                t = time.monotonic()
                verdict, problems, usable = run_schedule(lab, sched, self.kinds)
                self._count(verdict, len(sched), time.monotonic() - t)
                self.say(f"[lab {k}] #{self.summary.judged} {', '.join(s.text() for s in sched)}: "
                         f"{verdict.value if verdict else 'not run: ' + problems[0]} ({time.monotonic() - t:.1f} s)")
                if verdict is not Verdict.HOLDS or not usable:
                    lab.stop()                   # its model state and the lab's may differ from here on
                    lab = None
                if verdict is not None and verdict is not Verdict.HOLDS:
                    finding = Finding(sched, verdict, problems)
                    if self._shrink(finding, k):
                        with self._lock:
                            self.summary.findings.append(finding)
                        if self.stop_at_first:
                            self._stop.set()
                    else:
                        with self._lock:
                            self.summary.not_reproduced.append(finding)
        finally:
            if lab is not None:
                lab.stop()

    def _shrink(self, finding: Finding, k: int) -> bool:
        """Re-run smaller schedules live, each on a lab whose model state is the record's (a new lab after any
        run that did not hold: the model's state and the lab's differ after a violation), until none still fails
        the same way; then run the smallest once more alone on a new lab: when it fails again, write it as a
        scenario file with that run's history and report and return True; when it holds, the finding was not
        reproduced (timing): False."""
        from ..report import write_report
        best, lab = finding.schedule, None
        improved, runs = True, 0
        while improved and runs < MAX_SHRINK_RUNS and not self._stop.is_set():
            improved = False
            for cand in shrink_candidates(best):
                lab = lab or self._new_lab()
                verdict, problems, _ = run_schedule(lab, cand, self.kinds)
                runs += 1
                self.say(f"[lab {k}]   shrink {', '.join(s.text() for s in cand)}: "
                         f"{verdict.value if verdict else 'not run'}")
                if verdict is not Verdict.HOLDS:
                    lab.stop()
                    lab = None
                if verdict is finding.verdict:
                    best, finding.problems, improved = cand, problems, True
                    break
        finding.shrunk = best
        if lab is not None:
            lab.stop()
        lab = self._new_lab()            # the smallest once more, alone on a new lab: its history shows only it
        try:
            verdict, problems, _ = run_schedule(lab, best, self.kinds)
            self.say(f"[lab {k}]   again alone: {', '.join(s.text() for s in best)}: "
                     f"{verdict.value if verdict else 'not run'}")
            if verdict is None or verdict is Verdict.HOLDS:
                return False
            with self._lock:
                n = len(self.summary.findings) + 1
            d = self.out / f"finding-{self.seed}-{k}-{n}"
            d.mkdir(parents=True, exist_ok=True)
            finding.path = d / f"finding-{n}.scenario.yaml"
            finding.path.write_text(self._scenario_text(best, finding, verdict, problems))
            write_report(lab, d)
            return True
        finally:
            lab.stop()

    def _scenario_text(self, sched: list[Step], finding: Finding, verdict: Verdict, problems: list[str]) -> str:
        import json

        import yaml
        doc = {"name": f"explorer finding (seed {self.seed}): {verdict.value}",
               "source": f"kalab explore, seed {self.seed}; shrunk from: {', '.join(s.text() for s in finding.schedule)}",
               "documented": "the election model's rules hold after every step (lab.election); the judge said: "
                             + " / ".join(problems or finding.problems)[:1500],
               "topology": json.loads(self.topo.model_dump_json(exclude_none=True, exclude_defaults=True)),
               "steps": to_steps(sched) + [{"expect": {"judge": "holds"}}]}
        return ("# Written by `kalab explore`: the smallest schedule found that the judge does not find holding.\n"
                "# Replay: kalab run FILE (pytest collects it too).\n"
                + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True))

    # ------------------------------------------------------------ the search
    def run(self) -> Summary:
        start = time.monotonic()
        deadline = start + self.budget
        errors: list[BaseException] = []

        def guarded(k: int) -> None:
            try:
                self._worker(k, deadline)
            except BaseException as e:      # a worker's error ends the search, said once
                errors.append(e)
                self._stop.set()
        threads = [threading.Thread(target=guarded, args=(k,), name=f"kalab-explore-{k}", daemon=True)
                   for k in range(self.labs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.summary.seconds = time.monotonic() - start
        if errors:
            raise errors[0]
        return self.summary
