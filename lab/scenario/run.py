"""Run a :class:`~lab.scenario.schema.Scenario` on a started lab: its steps in order, each expectation
checked on the live lab, the whole history judged by the election model at the end.

Every expectation gets one of the three verdicts (lab.judge.verdict): **holds**, **violated** (what was
expected and what was observed), **cannot judge** (what could not be observed and why). The scenario's
verdict is the worst of them and of the final judgement (the judge, the record against keepalived's
own dumps, the advert capture's holes), so a scenario never passes on a check that did not run.

An ``expect`` step first waits until the election has settled: the model's deadline after the last
input (lab.checks.Checks.settle, event driven; RFC 3768 §6.4 timers plus the lab's allowance
lab.timers.MARGIN). ``within`` then bounds each awaited MASTER transition by keepalived's own stamp.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from ..errors import LabError
from ..judge import Verdict
from ..judge.verdict import merge
from ..timers import MARGIN
from .schema import Expect, Scenario, Step

if TYPE_CHECKING:  # pragma: no cover
    from ..lab import Lab

__all__ = ["Outcome", "ScenarioResult", "run_scenario", "final_checks"]


@dataclass
class Outcome:
    """One step's result: ``verdict`` None for an action that was done (it is judged at the end), else the
    expectation's verdict; ``text`` what happened or what was seen; ``t`` seconds since the lab's start."""

    step: Step
    verdict: Optional[Verdict]
    text: str
    t: float

    def line(self) -> str:
        mark = "" if self.verdict is None else f"  [{self.verdict.value}]"
        return f"{self.t:8.3f} s  line {self.step.line:<3} {self.step.text}{mark}" + \
            ("".join(f"\n{'':24}{x}" for x in self.text.splitlines()) if self.text else "")


@dataclass
class ScenarioResult:
    """What a run gave: the outcomes in order, the final judgement's (verdict, text) pairs, the verdict
    (the worst of all; cannot judge when nothing was checked)."""

    scenario: Scenario
    outcomes: list[Outcome] = field(default_factory=list)
    final: list[tuple[Verdict, str]] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        vs = [o.verdict for o in self.outcomes if o.verdict is not None] + [v for v, _ in self.final]
        return merge(vs)

    def step_failures(self) -> list[str]:
        """Each step whose verdict is not "holds", as text with its file and line."""
        return [f"{self.scenario.path}:{o.step.line}: {o.step.text}: {o.verdict.value}: {o.text}"
                for o in self.outcomes if o.verdict not in (None, Verdict.HOLDS)]

    def failures(self) -> list[str]:
        """:meth:`step_failures`, then each final check that did not hold; a run that checked nothing is one."""
        out = self.step_failures()
        out += [f"{self.scenario.path}: {v.value}: {t}" for v, t in self.final if v is not Verdict.HOLDS]
        if not any(o.verdict is not None for o in self.outcomes) and not self.final:
            out.append(f"{self.scenario.path}: cannot judge: no expectation was checked and the run was not judged")
        return out


class _Run:
    def __init__(self, lab: "Lab", sc: Scenario, say: Callable[[str], None]):
        self.lab, self.sc, self.say = lab, sc, say
        self.faults: dict = {}
        self.issued = time.monotonic()            # when the previous action began (``within`` counts from it)
        self.started: set[str] = set()            # keepalived nodes the previous action started
        self.result = ScenarioResult(sc)

    def rel(self) -> float:
        return time.monotonic() - self.lab.history.t0

    def done(self, step: Step, verdict: Optional[Verdict], text: str = "") -> None:
        o = Outcome(step, verdict, text, self.rel())
        self.result.outcomes.append(o)
        self.say(o.line())

    # ------------------------------------------------------------ actions
    def fault(self, step: Step) -> None:
        f = self.lab.fault(step.kind, step.node, _name=step.name, **step.params)
        f.apply()
        self.faults[step.name] = f
        self.issued = f.issued_at
        self.started = {step.node} if step.kind == "restart" else set()
        self.done(step, None)

    def heal(self, step: Step) -> None:
        names = list(reversed(self.faults)) if step.name == "all" else [step.name]
        t0 = time.monotonic()
        from .schema import STOPPING
        self.started = {self.faults[n].target for n in names if self.faults[n].kind in STOPPING}
        for n in names:
            self.faults.pop(n).heal()
        self.issued = t0
        self.done(step, None)

    def signal(self, step: Step) -> None:
        t0 = time.monotonic()
        self.lab.node(step.node).kill(step.params["signal"])
        self.issued = t0
        self.started = set()
        self.done(step, None)

    def wait(self, step: Step) -> None:
        d = step.duration.seconds
        self.lab.history.wait_for(lambda h: None, d, clock_start=time.monotonic())   # the scenario asked for d
        self.done(step, None)

    def anchor(self) -> float:
        """When the protocol's clock of the previous step started: its issue time, or for a node that step
        started, its keepalived's own start ('Startup complete', the ``ready`` event; man 5 keepalived.conf,
        state), waited for (event driven, bounded by the start-up allowance)."""
        readies = [self.lab.keepalived_started(n) for n in sorted(self.started)]
        return max([self.issued] + [t for t in readies if t is not None])

    def wait_for(self, step: Step) -> None:
        inst, state = step.params["instance"], step.params["state"]
        timeout = step.duration.seconds + MARGIN if step.duration else None
        try:
            ev = self.lab.wait_for_transition(inst, state, node=step.node, since=self.issued, timeout=timeout,
                                              clock_from=self.anchor() if timeout is not None else None)
        except AssertionError as e:
            self.done(step, Verdict.VIOLATED, f"{step.node} did not report {inst} -> {state}"
                      + (f" within {step.duration} (+ the lab's allowance {MARGIN:.1f} s)" if step.duration else
                         f" ({str(e).splitlines()[0]})"))
            return
        self.done(step, None, f"reported at {ev.t - self.issued:.3f} s after the previous step")

    # ------------------------------------------------------------ expectations
    def expect(self, step: Step) -> None:
        exp: Expect = step.expect
        h = self.lab.history
        if exp.settle:
            self.lab.check.settle()
        if exp.within is not None:       # the bound is the file's: wait up to it for the reported masters and states
            end = self.anchor() + exp.within.seconds + MARGIN
            h.wait_for(lambda h: all(frozenset(h.masters(i)) == w for i, w in exp.master.items())
                       and all(h.states(i).get(n) == w for (n, i), w in exp.state.items()),
                       max(0.0, end - time.monotonic()), slack=MARGIN)
        checks: list[tuple[Verdict, str]] = []
        for inst, want in exp.master.items():
            got = frozenset(h.masters(inst))
            checks.append(_compare(f"MASTER of {inst}", want, got))
            if exp.within is not None:
                checks += [self._within(inst, n, exp) for n in sorted(want)]
        for (node, inst), want in exp.state.items():
            got = h.states(inst).get(node, "not reported")
            checks.append((Verdict.HOLDS if got == want else Verdict.VIOLATED,
                           f"{node} in {inst}: expected {want}, observed {got}"))
        for inst, want in exp.vip_holders.items():
            try:
                got = frozenset(self.lab.vip_holders(inst))
            except RuntimeError as e:
                checks.append((Verdict.CANNOT_JUDGE, f"VIP holders of {inst} (inside): {e}"))
                continue
            checks.append(_compare(f"VIP holders of {inst} (inside, ip addr)", want, got))
        for inst, want in exp.vip_answered_by.items():
            got = self.lab.http_get_vip(inst)
            checks.append((Verdict.HOLDS if got == want else Verdict.VIOLATED,
                           f"the client's HTTP request to {inst}'s VIP (outside): expected {want or 'no answer'}, "
                           f"answered by {got or 'nobody'}"))
            if want is not None:             # and its packets go to that node, not through another that forwards
                mac_of = self.lab.vip_neighbour(inst)
                checks.append((Verdict.HOLDS if mac_of == want else Verdict.VIOLATED,
                               f"the client's neighbour entry for {inst}'s VIP: expected {want}'s MAC, holds "
                               f"{mac_of + chr(39) + 's' if mac_of not in (None, '?') else 'an unknown MAC' if mac_of else 'none'}"))
        for (node, inst), want in exp.effective_priority.items():
            checks.append(self._priority(node, inst, want))
        for node, inst, prio in exp.advert:
            checks.append(self._advert(node, inst, prio))
        for node, rx in exp.logged.items():
            t = self.lab.node(node).wait_for_log(rx, MARGIN)
            checks.append((Verdict.HOLDS, f"{node} logged /{rx}/") if t is not None else
                          (Verdict.VIOLATED, f"no line of {node}'s keepalived log (this run) matches /{rx}/"))
        if exp.judge:
            checks.append(self._judge())
        verdict = merge(v for v, _ in checks)
        shown = [t for v, t in checks if v is not Verdict.HOLDS] or [t for _, t in checks]
        self.done(step, verdict, "\n".join(shown))

    def _within(self, inst: str, node: str, exp: Expect) -> tuple[Verdict, str]:
        bound = exp.within.seconds
        slack = self.lab.clock_slack()
        ups = self.lab.history.events("state", since=self.issued - slack, instance=inst, node=node, state="MASTER")
        anchor = self.anchor()
        if not ups:
            before = self.lab.history.masters(inst, at=self.issued)
            if node in before:
                return Verdict.HOLDS, f"{node} was MASTER of {inst} already when the previous step began"
            return Verdict.VIOLATED, f"{node} did not report MASTER of {inst} after the previous step"
        took = ups[0].t - anchor
        ok = took <= bound + MARGIN
        since = "keepalived's start on " + ", ".join(sorted(self.started)) if anchor > self.issued else "the previous step"
        return (Verdict.HOLDS if ok else Verdict.VIOLATED,
                f"{node} MASTER of {inst} {took:.3f} s after {since} (within {exp.within}, "
                f"+ the lab's allowance {MARGIN:.1f} s)")

    def _advert(self, node: str, inst: str, prio: int) -> tuple[Verdict, str]:
        """An advert of ``inst`` from ``node`` with priority ``prio`` captured since the previous step (waited for
        up to one advert interval plus the lab's allowance: a master sends one every advert_int, RFC 3768
        §6.4.3); none is "violated" only when the capture has no hole since then (else: cannot judge)."""
        spec = self.lab.topology.instances(node)[inst]
        src = self.lab.check.advert_sources(node)
        slack = self.lab.clock_slack()
        since = self.issued - slack

        def seen(h):
            return [e for e in h.events("advert", since=since) if e["src"] in src and e["vrid"] == spec.virtual_router_id]
        what = f"an advert of {inst} (vrid {spec.virtual_router_id}) from {node} with priority {prio}"
        if self.lab.history.wait_for(lambda h: any(e["priority"] == prio for e in seen(h)),
                                     spec.advert_int + MARGIN, slack=MARGIN):
            return Verdict.HOLDS, f"{what} since the previous step"
        holes = self.lab.history.capture_holes(since, time.monotonic())
        if holes:
            return Verdict.CANNOT_JUDGE, f"{what}: none captured, but the capture has holes: {'; '.join(holes)}"
        got = sorted({e["priority"] for e in seen(self.lab.history)})
        return Verdict.VIOLATED, f"{what}: none since the previous step (its priorities: {got or 'no advert'})"

    def _priority(self, node: str, inst: str, want: int) -> tuple[Verdict, str]:
        from ..checks import CheckFailed
        try:
            seen = self.lab.check.assert_effective_priority(node, inst, want)
        except CheckFailed as e:
            return Verdict.VIOLATED, e.finding
        except LabError as e:            # the node does not run: its keepalived cannot be asked
            return Verdict.CANNOT_JUDGE, f"effective priority of {node} in {inst}: {e}"
        return Verdict.HOLDS, f"effective priority of {node} in {inst}: {want} ({', '.join(seen)})"

    def _judge(self) -> tuple[Verdict, str]:
        from ..checks import CheckFailed
        try:
            rep = self.lab.check.assert_matches_model(settle=False, allow=self.sc.allow)
        except CheckFailed as e:
            text = e.finding                  # the timeline and log tails are in the run's report, once
            v = Verdict.VIOLATED if "verdict: violated" in text else Verdict.CANNOT_JUDGE
            return v, "the judge: " + text
        return Verdict.HOLDS, f"the judge holds ({len(rep.judgements)} expectations of the model)"

    # ------------------------------------------------------------ the run
    def run(self, judge: bool) -> ScenarioResult:
        do = {"fault": self.fault, "heal": self.heal, "signal": self.signal, "wait": self.wait,
              "wait-for": self.wait_for, "expect": self.expect}
        for step in self.sc.steps:
            try:
                do[step.action](step)
            except LabError as e:
                self.done(step, Verdict.CANNOT_JUDGE, f"the step could not be done: {e}")
                return self.result                    # what follows assumed this step happened
        if judge:
            self.result.final = final_checks(self.lab, self.sc.allow, self.sc.unjudged)
            for v, t in self.result.final:
                self.say(f"{'':10}  end       {t.splitlines()[0]}  [{v.value}]")
        return self.result


def _compare(what: str, want: frozenset, got: frozenset) -> tuple[Verdict, str]:
    show = lambda s: ", ".join(sorted(s)) or "none"
    return (Verdict.HOLDS if want == got else Verdict.VIOLATED, f"{what}: expected {show(want)}, observed {show(got)}")


def final_checks(lab: "Lab", allow: list[str], unjudged: str = "") -> list[tuple[Verdict, str]]:
    """The end of a run, as the pytest plugin judges every lab test: the judge on the whole history
    (after the last deadline; not with ``unjudged``, the scenario's reason why the model cannot), the record
    against keepalived's own dumps (lab.crosscheck), the advert capture's holes. Returns (verdict, text) for
    each check that ran."""
    out: list[tuple[Verdict, str]] = []
    lab.history.meta["allow"] = list(allow)
    if unjudged:
        lab.check.settle()                     # as the judge would, so the dumps compared are of the end
    else:
        out.append(_final_judge(lab, allow))
    bad = [f.text() for f in lab.cross_check() if f.ok is False]
    out.append((Verdict.VIOLATED, "the lab's record disagrees with keepalived's own dump (a lab defect):\n"
                + "\n".join(bad)) if bad else (Verdict.HOLDS, "the record agrees with keepalived's own dumps"))
    holes = lab.history.capture_holes(float("-inf"), float("inf"))
    out.append((Verdict.CANNOT_JUDGE, "the advert capture may have missed adverts: " + "; ".join(holes)) if holes
               else (Verdict.HOLDS, "the advert capture has no holes"))
    return out


def _final_judge(lab: "Lab", allow: list[str]) -> tuple[Verdict, str]:
    from ..checks import CheckFailed
    try:
        rep = lab.check.assert_matches_model(allow=allow)
    except CheckFailed as e:
        v = Verdict.VIOLATED if "verdict: violated" in e.finding else Verdict.CANNOT_JUDGE
        lab.history.meta["verdict"] = v.value
        return v, f"the judge: {e.finding}"
    lab.history.meta["verdict"] = "holds"
    return Verdict.HOLDS, f"the judge holds on the whole history ({len(rep.judgements)} expectations)"


def run_scenario(lab: "Lab", sc: Scenario, say: Callable[[str], None] = lambda s: None,
                 judge: bool = True) -> ScenarioResult:
    """Run ``sc``'s steps on ``lab`` (started, of ``sc.topology``). ``say`` gets one line per step as it ends;
    ``judge``: also run :func:`final_checks` (False when the caller judges the lab itself, as the pytest
    plugin does at teardown). A step that cannot be done (a LabError) ends the run with cannot judge."""
    return _Run(lab, sc, say).run(judge)
