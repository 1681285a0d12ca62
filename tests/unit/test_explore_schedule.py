"""The explorer's schedules (lab.explore.schedule): drawn runnable and healed, repeatable by seed, and shrunk
by moves that keep them runnable (each applied fault with its heal; the tail cut, what is open healed)."""
import random

import pytest

from lab.explore.schedule import STOPPING, Step, random_schedule, shrink_candidates, to_steps

KINDS = ["kill", "sigterm", "stop", "pause", "restart", "drop-vrrp", "one-way", "partition"]


def runnable(sched, nodes=("a", "b", "c")) -> bool:
    """Every heal names a fault applied and not yet healed; no fault runs a command in a node stopped or frozen
    (its apply now, or its heal later); all healed."""
    from lab.explore.schedule import touched
    applied: dict[str, Step] = {}
    for s in sched:
        if s.action == "apply":
            down = {x.node for x in applied.values() if x.kind in STOPPING + ("pause",)}
            busy = set().union(*[touched(x, nodes) for x in applied.values() if x.kind not in STOPPING + ("pause",)])
            if s.name in applied or (touched(s, nodes) & down):
                return False
            if s.kind in STOPPING + ("pause",) and s.node in busy:
                return False
            applied[s.name] = s
        elif applied.pop(s.name, None) is None:
            return False
    return not applied


@pytest.mark.parametrize("seed", range(200))
def test_every_drawn_schedule_is_runnable_and_ends_healed(seed):
    sched = random_schedule(random.Random(seed), ["a", "b", "c"], KINDS, max_steps=6)
    assert sched and runnable(sched), [s.text() for s in sched]
    assert sum(1 for s in sched if s.action == "apply") <= 6


def test_a_seed_repeats_its_schedules():
    draw = lambda: [random_schedule(r, ["a", "b"], KINDS) for r in [random.Random(7)] for _ in range(20)]
    assert draw() == draw()


def test_parameters_are_drawn_for_the_kinds_that_need_them():
    rng = random.Random(1)
    scheds = [random_schedule(rng, ["a", "b"], ["one-way", "drop-vrrp"]) for _ in range(50)]
    steps = [s for sc in scheds for s in sc if s.action == "apply"]
    assert all(dict(s.params)["to"] != s.node for s in steps if s.kind == "one-way")
    assert {dict(s.params)["direction"] for s in steps if s.kind == "drop-vrrp"} == {"in", "out", "both"}


def test_shrinking_removes_a_fault_with_its_heal_then_cuts_the_tail():
    k, p, d = (Step("apply", "kill-a", "kill", "a"), Step("apply", "pause-b", "pause", "b"),
               Step("apply", "drop-vrrp-a", "drop-vrrp", "a", (("direction", "in"),)))
    hk, hp, hd = (Step("heal", "kill-a", "kill", "a"), Step("heal", "pause-b", "pause", "b"),
                  Step("heal", "drop-vrrp-a", "drop-vrrp", "a"))
    sched = [k, hk, p, d, hp, hd]
    cands = list(shrink_candidates(sched))
    assert cands[:3] == [[p, d, hp, hd], [k, hk, d, hd], [k, hk, p, hp]]
    assert [k, hk] in cands                                    # the tail cut after the kill's heal
    assert [k, hk, p, hp] in cands and all(runnable(c) and len(c) < len(sched) for c in cands)


def test_a_schedule_is_written_as_scenario_steps():
    sched = [Step("apply", "drop-vrrp-a", "drop-vrrp", "a", (("direction", "in"),)), Step("apply", "kill-b", "kill", "b"),
             Step("heal", "kill-b", "kill", "b"), Step("heal", "drop-vrrp-a", "drop-vrrp", "a")]
    assert to_steps(sched) == [{"drop-vrrp": {"node": "a", "direction": "in"}}, {"kill": "b"}, {"heal": "kill-b"},
                               {"heal": "drop-vrrp-a"}]
