"""The judge judged: real histories recorded by the integration suite hold; their mutants do not.

tests/data/histories/*.jsonl are histories written by `.ci/run` (``--lab-report``) on real keepalived
2.2.7, one per fault kind and seed scenario, with the adverts left out (the judge does not read them)
to keep the files small; ``tests/data/histories/SOURCES`` says which test wrote each. Every original
must hold (no false alarm) and every mutant (lab.judge.mutate: each breaks one documented rule) must
be violated. The figures are in README.md's conformance section; a test below keeps them true.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.history import History
from lab.judge import Verdict
from lab.judge.mutate import MUTATIONS, mutants
from lab.judge.offline import judge_history

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "data" / "histories").glob("*.jsonl"))


def test_the_corpus_is_there():
    assert len(CORPUS) >= 10, "tests/data/histories should hold the recorded corpus"


def _mutants(h: History, rep):
    return mutants(h, rep)


def score() -> dict:
    """{"histories", "false_alarms", "mutants", "rejected", "by_mutation": {name: (rejected, total)}, "escaped": [...]}"""
    out = {"histories": 0, "false_alarms": [], "mutants": 0, "rejected": 0, "by_mutation": {}, "escaped": []}
    for p in CORPUS:
        h = History.from_jsonl(p)
        rep = judge_history(h, source=p.name)
        out["histories"] += 1
        if rep.verdict is not Verdict.HOLDS:
            out["false_alarms"].append((p.name, rep.verdict.value))
        for m in _mutants(h, rep):
            v = judge_history(m.history, source=p.name).verdict
            r, t = out["by_mutation"].get(m.name, (0, 0))
            ok = v is Verdict.VIOLATED
            out["by_mutation"][m.name] = (r + ok, t + 1)
            out["mutants"] += 1
            out["rejected"] += ok
            if not ok:
                out["escaped"].append((p.name, m.name, m.what, v.value))
    return out


@pytest.fixture(scope="module")
def figures():
    return score()


def test_every_recorded_history_holds(figures):
    assert not figures["false_alarms"], f"false alarms on real histories: {figures['false_alarms']}"


def test_every_mutant_is_violated(figures):
    assert figures["mutants"] >= 3 * len(CORPUS) // 2
    assert not figures["escaped"], "mutants the judge let through:\n" + "\n".join(map(str, figures["escaped"]))


def test_every_mutation_found_something_to_break(figures):
    assert set(figures["by_mutation"]) == set(MUTATIONS), f"mutations never applied: " \
        f"{sorted(set(MUTATIONS) - set(figures['by_mutation']))}"


def test_the_readme_reports_these_figures(figures):
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- mutation:start -->(.*?)<!-- mutation:end -->", text, re.S)
    assert m, "README.md lacks the mutation figures block"
    want = render(figures)
    assert m.group(1).strip() == want.strip(), "README's mutation figures are stale; put this there:\n" + want


def render(f: dict) -> str:
    lines = [f"{f['rejected']} of {f['mutants']} rule-breaking mutants rejected; "
             f"{len(f['false_alarms'])} false alarms on {f['histories']} recorded histories "
             f"(`tests/unit/test_judge_corpus.py`).", "", "| mutation | rejected / made |", "|---|---|"]
    lines += [f"| {name} | {r} / {t} |" for name, (r, t) in sorted(f["by_mutation"].items())]
    return "\n".join(lines)


if __name__ == "__main__":      # print the README block
    print(render(score()))


def test_every_fault_kind_is_in_the_corpus_and_a_mutant_of_its_history_is_rejected():
    import lab.nemesis as nemesis
    kinds = set(nemesis.kinds())
    covered: dict[str, int] = {}
    for p in CORPUS:
        h = History.from_jsonl(p)
        here = {e.get("fault_kind") for e in h.events("fault")} & kinds
        if not here:
            continue
        rep = judge_history(h, source=p.name)
        rejected = sum(judge_history(m.history).verdict is Verdict.VIOLATED for m in mutants(h, rep))
        for k in here:
            covered[k] = covered.get(k, 0) + rejected
    missing = sorted(kinds - set(covered))
    assert not missing, f"fault kinds with no recorded history in the corpus: {missing}"
    unmutated = sorted(k for k, n in covered.items() if n == 0)
    assert not unmutated, f"fault kinds whose histories gave no rejected mutant: {unmutated}"
