"""kalab record (lab.scenario.record): a recorded history becomes a scenario file that reads back, with one
step per fault, heal and node action the lab did, and the MASTER sets the election model gives.

Run over the judge's corpus of recorded integration histories (tests/data/histories): each one that had
anything done to its lab records to a file the scenario reader accepts, whose fault steps are the
history's own fault applies and heals in order, and which expects the judge to hold at the end."""
from pathlib import Path

import pytest

from lab.history import History
from lab.judge.offline import history_topology
from lab.scenario import parse
from lab.scenario.record import record_scenario, recorded_steps

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests/data/histories").glob("*.jsonl"))


def _load(path):
    h = History.from_jsonl(path)
    return h, history_topology(h, str(path))


def _by_hand(h) -> set:
    """Fault kinds of ``h`` that are no registered fault (lab.set_script's ``set-script``)."""
    from lab.nemesis import kinds
    return {e["fault_kind"] for e in h.events("fault")} - set(kinds())


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem[-40:])
def test_a_recorded_history_becomes_a_scenario_that_reads_back(path):
    h, topo = _load(path)
    if _by_hand(h):
        from lab.errors import LabError
        with pytest.raises(LabError, match="no fault kind a scenario file can replay"):
            recorded_steps(h, topo)
        return
    steps = recorded_steps(h, topo)
    if not steps:                       # a start-up test: nothing to replay, and the recorder says so
        from lab.errors import LabError
        with pytest.raises(LabError, match="nothing was done"):
            record_scenario(h, topo, "x")
        return
    import json
    text = record_scenario(h, topo, json.loads(topo.model_dump_json(exclude_none=True)))
    sc = parse(text, "rec.scenario.yaml", ROOT, [ROOT / "topologies"])
    faults = [(e["action"], e["name"]) for e in h.events("fault")]
    got = [("apply" if s.action == "fault" else "heal", s.name) for s in sc.steps if s.action in ("fault", "heal")
           and (s.kind or s.action == "heal")]
    applied_here = {n for a, n in faults if a == "apply"}
    want = [(a, n) for a, n in faults if a == "apply" or n in applied_here]
    assert [x for x in got if x[1] in applied_here] == want
    assert sc.steps[-1].action == "expect" and sc.steps[-1].expect.judge


def test_node_actions_outside_faults_become_steps_that_heal_in_order():
    """seed: s1 (150) killed with the engine's kill, started again: two node actions, no fault; the start
    heals the kill (the reader refuses a start of a node no step stopped)."""
    import json
    h, topo = _load(next(p for p in CORPUS if "recovered_master_takes_back" in p.name))
    assert not h.events("fault")
    steps = [s for _, s, _ in recorded_steps(h, topo)]
    assert steps == [{"kill": "s1"}, {"start": "s1"}]
    sc = parse(record_scenario(h, topo, json.loads(topo.model_dump_json(exclude_none=True))), "rec.scenario.yaml",
               ROOT, [ROOT / "topologies"])
    # the record shows each outcome the rules give reached before the next step (s1 MASTER before the kill, s2
    # MASTER 11 ms before s1's start): each is expected, though the model's deadline (+ its margin) had not passed
    assert [(s.action, s.text) for s in sc.steps] == [
        ("expect", "expect {master: {VI_1: s1}}"), ("fault", "kill s1"), ("expect", "expect {master: {VI_1: s2}}"),
        ("heal", "start s1"), ("expect", "expect {master: {VI_1: s1}, judge: holds}")]
    assert sc.steps[-1].expect.master == {"VI_1": frozenset({"s1"})}
