"""An intent file (kalab check --expect) against the model's arithmetic, before any container (pure).
The variant of the production-style pair with chk_nginx weight -10 instead of -60 cannot move VI_WEB:
lb1 drops from 150 to 140, not below lb2's 100 (man 5 keepalived.conf weight; RFC 3768 §6.4.3), and a
weight of -51 or lower would (150 - 51 = 99 < 100)."""
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lab.battery import scenarios
from lab.cli import app
from lab.errors import ConfigError, LabError
from lab.intent import check_intent, load_intent
from lab.topology.from_configs import topology_from_configs

PAIR = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"
MASTERS = {"VI_WEB": "lb1", "VI_WEB6": "lb1", "VI_DB": "lb2"}


def variant(tmp_path, weight):
    shutil.copytree(PAIR, tmp_path / "pair")
    for n in ("lb1", "lb2"):
        f = tmp_path / "pair" / f"{n}.conf"
        f.write_text(f.read_text().replace("weight -60", f"weight {weight}"))
    return topology_from_configs([(tmp_path / "pair" / "lb1.conf", "lb1"), (tmp_path / "pair" / "lb2.conf", "lb2")])


def test_the_pairs_own_intent_holds_by_the_arithmetic(tmp_path):
    topo = variant(tmp_path, -60)
    assert check_intent(topo, scenarios(topo, MASTERS), load_intent(PAIR / "intent.yaml")) == []


def test_a_weight_too_small_fails_exactly_that_scenario_with_the_arithmetic(tmp_path):
    topo = variant(tmp_path, -10)
    # chk_nginx weighs on VI_WEB and VI_WEB6 alike (150 and 100 in both): the one scenario fails for each
    msgs = check_intent(topo, scenarios(topo, MASTERS), load_intent(PAIR / "intent.yaml"), "intent.yaml")
    assert len(msgs) == 2, msgs
    for msg, inst in zip(msgs, ("VI_WEB", "VI_WEB6")):
        assert msg.startswith(f"intent.yaml:3: nginx stopped on lb1 (chk_nginx fails): you expect {inst} MASTER lb2, "
                              "the rules give lb1"), msg
        assert "lb1=140, lb2=100" in msg and f"a weight of -51 or lower would move {inst} to lb2" in msg


def test_kalab_check_refuses_before_starting_anything(tmp_path):
    variant(tmp_path, -10)
    d = tmp_path / "pair"
    r = CliRunner().invoke(app, ["check", str(d / "lb1.conf"), str(d / "lb2.conf"), "--expect", str(PAIR / "intent.yaml")])
    assert r.exit_code == 1 and "a weight of -51 or lower" in r.output and "nothing started" in r.output


def test_intent_file_mistakes_are_named_with_their_line(tmp_path):
    topo = variant(tmp_path, -60)
    sc = scenarios(topo, MASTERS)
    bad = tmp_path / "i.yaml"
    bad.write_text("nginx stopped on lb1: {VI_WEB: lb2\n")
    # the brace is noticed unclosed on line 2; where the mapping began is named too
    with pytest.raises(ConfigError, match=r"i\.yaml:2: not valid YAML: .*flow mapping at line 1"):
        load_intent(bad)
    bad.write_text("nginx stopped on lb1: lb2\n")
    with pytest.raises(ConfigError, match=r"i\.yaml:1: 'nginx stopped on lb1': give \{INSTANCE: MASTER\}"):
        load_intent(bad)
    for text, what in (("SIGKILL: {VI_WEB: lb2}\n", "names 2 scenarios"), ("SIGKILL lb1: {VI_X: lb2}\n", "no instance 'VI_X'"),
                       ("SIGKILL lb1: {VI_WEB: lb9}\n", "no node 'lb9'"),
                       ("rolling restart: {VI_WEB: lb1}\n", "cannot be predicted before it runs")):
        bad.write_text(text)
        with pytest.raises(LabError, match=what):
            check_intent(topo, sc, load_intent(bad), str(bad))


def test_the_start_up_election_can_be_expected_too(tmp_path):
    topo = variant(tmp_path, -60)
    p = tmp_path / "i.yaml"
    p.write_text("start-up election: {VI_WEB: lb2}\n")
    (msg,) = check_intent(topo, scenarios(topo, MASTERS), load_intent(p), "i.yaml")
    assert "start-up election: you expect VI_WEB MASTER lb2, the rules give lb1" in msg and "lb1=150, lb2=100" in msg
    p.write_text("start-up election: {VI_DB: lb2}\n")
    assert check_intent(topo, scenarios(topo, MASTERS), load_intent(p), "i.yaml") == []
