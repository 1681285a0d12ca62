"""The mutations themselves, on synthetic histories (pure): each one finds what it breaks and the judge
calls its mutant violated. The recorded corpus (test_judge_corpus.py) does the same on real histories.

two_node.yaml: a 150, b 100, advert_int 1 s: MDI(a) 3.414 s, MDI(b) 3.609 s (RFC 3768 §6.1).
"""
from __future__ import annotations


import pytest

from lab.history import History
from lab.judge import Verdict
from lab.judge.mutate import MUTATIONS, mutants
from lab.judge.offline import judge_history

from two_node_history import MDI_A, MDI_B, START, nd, st  # noqa: E402,F401
from two_node_history import hist as _hist  # noqa: E402


def hist(*rows) -> History:
    return _hist(*rows, with_topology=True)


#: a kill and restart, a drop-vrrp split brain healed, a weight-0 script FAULT and recovery
KILL = START + [nd(10.0, "a", "kill"), st(10.0 + MDI_B - 0.3, "b", "MASTER", 100), nd(20.0, "a", "start"),
                nd(20.2, "a", "ready"), st(20.3, "a", "BACKUP", 150), st(20.2 + MDI_A + 0.05, "a", "MASTER", 150),
                st(20.2 + MDI_A + 0.1, "b", "BACKUP", 100), (40.0, "note", dict(text="end"))]
SPLIT = START + [(10.0, "fault", dict(name="drop-vrrp-b", action="apply", target="b", fault_kind="drop-vrrp",
                                      model=[dict(input="hearing", receiver="b", sender="a", hears=False)])),
                 st(10.0 + MDI_B - 0.4, "b", "MASTER", 100),
                 (20.0, "fault", dict(name="drop-vrrp-b", action="heal", target="b", fault_kind="drop-vrrp",
                                      model=[dict(input="hearing", receiver="b", sender="a", hears=True)])),
                 st(20.5, "b", "BACKUP", 100), (40.0, "note", dict(text="end"))]


@pytest.mark.parametrize("rows", [KILL, SPLIT], ids=["kill", "split"])
def test_the_originals_hold(rows):
    assert judge_history(hist(*rows)).verdict is Verdict.HOLDS


@pytest.mark.parametrize("name", ["early-takeover", "missing-takeover", "spurious-master", "instant-start"])
def test_mutations_of_a_kill_are_violated(name):
    h = hist(*KILL)
    m = MUTATIONS[name](h, judge_history(h))
    assert m is not None, f"{name} found nothing to break"
    rep = judge_history(m.history)
    assert rep.verdict is Verdict.VIOLATED, (m.what, [j.problem for j in rep.judgements])


def test_a_master_that_never_yields_after_the_heal_is_violated():
    h = hist(*SPLIT)
    m = MUTATIONS["never-yields"](h, judge_history(h))
    assert m is not None and judge_history(m.history).verdict is Verdict.VIOLATED


def test_every_mutant_of_both_is_violated():
    for rows in (KILL, SPLIT):
        h = hist(*rows)
        ms = mutants(h, judge_history(h))
        assert ms
        for m in ms:
            assert judge_history(m.history).verdict is Verdict.VIOLATED, m.what
