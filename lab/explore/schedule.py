"""Random fault schedules for the explorer, and their shrinking (pure).

A schedule is a list of :class:`Step`: a fault applied to a node (its kind, parameters and a name) or a
named fault healed. Generation (:func:`random_schedule`) keeps a schedule runnable: no fault on a node
that a stopping fault has stopped or a pause froze, at most ``max_applied`` faults at once, every fault
healed by the end (the explorer heals what is left as the schedule's last steps). Shrinking
(:func:`shrink_candidates`) proposes smaller schedules the way delta debugging does: without one
applied fault (and its heal), then without the rest of the schedule after a step; the explorer keeps a
candidate that still breaks and tries again from it, so the result is 1-minimal for these moves.

Hypothesis is not used for the live search: its engine runs one example at a time, and the explorer
runs several labs at once; the generator here is seeded (``random.Random``), so a seed repeats a search.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

from ..scenario.schema import PAUSING, STOPPING   # the fault kinds that stop / freeze a node

__all__ = ["Step", "random_schedule", "shrink_candidates", "to_steps", "PARAMS", "STOPPING", "PAUSING"]


def _peers(node: str, nodes: Sequence[str]) -> list[str]:
    return [n for n in nodes if n != node]


def touched(step: "Step", nodes: Sequence[str]) -> set[str]:
    """The nodes a fault's apply and heal run commands in (lab.nemesis: Fault.touched_nodes): a partition's
    rules go on every node, a one-way loss's on its receiver, the others' on the node itself. None of them may
    be stopped or frozen while the fault is applied, or its heal could not run."""
    if step.kind == "partition":
        return set(nodes)
    if step.kind == "one-way":
        return {step.node, dict(step.params).get("to", step.node)}
    return {step.node}


#: kind -> how to draw its parameters: f(rng, node, keepalived nodes) -> dict
PARAMS: dict[str, Any] = {
    "drop-vrrp": lambda rng, node, nodes: {"direction": rng.choice(["in", "out", "both"])},
    "one-way": lambda rng, node, nodes: {"to": rng.choice(_peers(node, nodes))} if _peers(node, nodes) else None,
    "partition": lambda rng, node, nodes: {},          # the node against the rest
}


@dataclass(frozen=True)
class Step:
    """``action`` "apply" (``kind``, ``node``, ``params``) or "heal"; ``name`` the fault's name (its heal names it)."""

    action: str
    name: str
    kind: str
    node: str
    params: tuple = field(default_factory=tuple)

    def text(self) -> str:
        if self.action == "heal":
            return f"heal {self.name}"
        ps = " ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.kind} {self.node}" + (f" {ps}" if ps else "")

    def as_yaml(self) -> dict:
        """The step as a scenario file writes it (lab.scenario.schema)."""
        if self.action == "heal":
            return {"heal": self.name}
        spec = {"node": self.node, **dict(self.params)}
        if self.name != f"{self.kind}-{self.node}":
            spec["name"] = self.name
        return {self.kind: self.node if list(spec) == ["node"] else spec}


def random_schedule(rng: random.Random, nodes: Sequence[str], kinds: Sequence[str], *, max_steps: int = 6,
                    max_applied: int = 2) -> list[Step]:
    """A runnable schedule of at most ``max_steps`` steps over keepalived ``nodes`` with fault ``kinds``,
    every fault healed at the end (the heals count in ``max_steps`` only as far as they fit; the rest are
    added). Deterministic for a given ``rng`` state."""
    out: list[Step] = []
    applied: dict[str, Step] = {}
    n_steps = rng.randint(1, max_steps)
    for _ in range(n_steps):
        stopped = {s.node for s in applied.values() if s.kind in STOPPING + PAUSING}
        busy = set().union(*(touched(s, nodes) for s in applied.values() if s.kind not in STOPPING + PAUSING)) \
            if applied else set()
        free = [n for n in nodes if n not in stopped]
        can_apply = free and len(applied) < max_applied
        if applied and (not can_apply or rng.random() < 0.4):
            name = rng.choice(sorted(applied))
            s = applied.pop(name)
            out.append(Step("heal", name, s.kind, s.node))
            continue
        if not can_apply:
            break
        node = rng.choice(free)
        kind = rng.choice(list(kinds))
        draw = PARAMS.get(kind)
        params = draw(rng, node, nodes) if draw else {}
        if params is None:
            continue
        probe = Step("apply", "", kind, node, tuple(sorted(params.items())))
        if (kind in STOPPING + PAUSING and node in busy) or (touched(probe, nodes) & stopped):
            continue                   # a command could not run in a stopped or frozen node: not drawn
        name, k = f"{kind}-{node}", 1
        while name in applied:
            k += 1
            name = f"{kind}-{node}-{k}"
        s = Step("apply", name, kind, node, tuple(sorted(params.items())))
        applied[name] = s
        out.append(s)
    for name in sorted(applied):               # every fault healed: the schedule ends where it began
        s = applied[name]
        out.append(Step("heal", name, s.kind, s.node))
    return out


def _valid(schedule: list[Step]) -> bool:
    applied: set[str] = set()
    for s in schedule:
        if s.action == "apply":
            if s.name in applied:
                return False
            applied.add(s.name)
        elif s.name not in applied:
            return False
        else:
            applied.discard(s.name)
    return not applied


def shrink_candidates(schedule: list[Step]) -> Iterator[list[Step]]:
    """Smaller runnable schedules, smallest moves first: each applied fault removed with its heal; then the
    schedule cut after each step (what is still applied healed at once)."""
    seen: set[tuple] = set()

    def emit(c: list[Step]) -> Optional[list[Step]]:
        key = tuple(c)
        if c and len(c) < len(schedule) and _valid(c) and key not in seen:
            seen.add(key)
            return c
        return None

    for i, s in enumerate(schedule):
        if s.action != "apply":
            continue
        heal = next((j for j in range(i + 1, len(schedule)) if schedule[j].action == "heal"
                     and schedule[j].name == s.name), None)
        c = emit([x for j, x in enumerate(schedule) if j not in (i, heal)])
        if c:
            yield c
    for cut in range(1, len(schedule)):
        head = schedule[:cut]
        open_ = []
        for x in head:
            if x.action == "apply":
                open_.append(x)
            else:
                open_ = [o for o in open_ if o.name != x.name]
        c = emit(head + [Step("heal", o.name, o.kind, o.node) for o in open_])
        if c:
            yield c


def to_steps(schedule: list[Step]) -> list[dict]:
    """The schedule as scenario-file steps."""
    return [s.as_yaml() for s in schedule]
