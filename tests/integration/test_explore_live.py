"""The explorer live (issue 16): a short seeded search finds a planted defect, a fault whose declared meaning
for the model is wrong (a test-only kind: VRRP dropped, declared as no effect), and shrinks it, re-run live,
to at most 3 steps within its budget; with the honest fault kinds the same short search finds nothing.

The planted kind lives only here (never registered): lab.explore.search.Search takes the kinds it draws."""
from pathlib import Path

import pytest

from lab.explore.search import Search
from lab.judge import Verdict
from lab.nemesis import kinds as registry
from lab.nemesis.drop_vrrp import DropVrrp
from lab.topology import find, load

ROOT = Path(__file__).resolve().parents[2]


class PlantedDropVrrp(DropVrrp):
    """drop-vrrp that declares no effect on the election: a wrong meaning (the real one: R_HEARING)."""

    kind = "planted-drop-vrrp"

    def model_inputs(self, action):
        return []


def two_node():
    return load(find("two_node", [ROOT / "topologies"]))


def test_a_planted_wrong_fault_meaning_is_found_and_shrunk_to_three_steps(lab_docker, tmp_path):
    reg = registry()
    kinds = {"kill": reg["kill"], "pause": reg["pause"], "planted-drop-vrrp": PlantedDropVrrp}
    search = Search(two_node(), kinds=kinds, seed=3, labs=2, budget=150, out=tmp_path, stop_at_first=True,
                    say=print)
    s = search.run()
    assert s.findings, f"nothing found in {s.judged} schedules"
    for f in s.findings:           # a finding without the planted kind would be a real one: it must not pass
        assert any(x.kind == "planted-drop-vrrp" for x in f.shrunk), [x.text() for x in f.shrunk]
        assert f.verdict is Verdict.VIOLATED and len(f.shrunk) <= 3, [x.text() for x in f.shrunk]
        assert f.path.is_file() and (f.path.parent / "history.jsonl").is_file()
        assert "planted-drop-vrrp" in f.path.read_text() and "judge: holds" in f.path.read_text()


def test_the_honest_fault_kinds_give_no_finding_in_a_short_seeded_search(lab_docker, tmp_path):
    search = Search(two_node(), seed=11, labs=2, budget=60, out=tmp_path, say=print)
    s = search.run()
    assert s.judged >= 4, f"only {s.judged} schedules judged in {s.seconds:.0f} s"
    assert not s.findings, "\n".join(f"{f.verdict.value}: {', '.join(x.text() for x in f.schedule)} -> "
                                     f"{', '.join(x.text() for x in f.shrunk)}: {f.problems[:1]}" for f in s.findings)
