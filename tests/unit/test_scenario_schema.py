"""Scenario files (lab.scenario): durations from the protocol's timers, steps and expectations read with
their lines, every problem named with file, line and the fix, and the incident library readable.

Expected timer values from RFC 3768 §6.1 (Master_Down_Interval = 3 x Advertisement_Interval + (256 -
Priority) / 256) and RFC 5798 §6.1 (the skew scaled by the interval, in centiseconds)."""
from pathlib import Path

import pytest

from lab.errors import ScenarioError
from lab.scenario import load, parse, parse_duration
from lab.topology import find, load as load_topology

ROOT = Path(__file__).resolve().parents[2]
TOPOS = [ROOT / "topologies"]


def two_node():
    return load_topology(find("two_node", TOPOS))


def scenario(steps: str, head: str = "topology: two_node\n"):
    return parse(head + "steps:\n" + steps, "x.scenario.yaml", ROOT, TOPOS)


def problems(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        parse(text, "x.scenario.yaml", ROOT, TOPOS)
    return str(e.value)


# ---------------------------------------------------------------- durations
@pytest.mark.parametrize("text, seconds", [
    ("20s", 20.0), ("500ms", 0.5), ("1.5s", 1.5),
    ("advert_int", 1.0), ("3 x advert_int", 3.0), ("2 * advert_int(VI_1)", 2.0),
    ("master_down_interval(b)", 3 + 156 / 256),          # b: priority 100
    ("master_down_interval(a, VI_1)", 3 + 106 / 256),    # a: priority 150
    ("skew_time(b)", 156 / 256),
    ("master_down_interval(b) + 500ms", 3 + 156 / 256 + 0.5),
])
def test_a_duration_is_seconds_or_the_protocols_timers(text, seconds):
    assert parse_duration(text, two_node()).seconds == pytest.approx(seconds)


def test_vrrpv3_timers_scale_the_skew_by_the_interval_in_centiseconds():
    from lab.topology.loader import validate
    topo = validate({"name": "v3", "networks": {"lan": {}},
                     "vrrp_instances": {"VI_1": {"interface": "eth0", "virtual_router_id": 9, "advert_int": 0.5,
                                                 "version": 3, "virtual_ipaddress": ["lan+200/24"]}},
                     "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {"priority": 100}}}}})
    # RFC 5798 §6.1: 3 x 50 cs + (256 - 100) x 50 / 256 cs = 150 + 30 (integer division) cs
    assert parse_duration("master_down_interval(a)", topo).seconds == pytest.approx(1.80)


@pytest.mark.parametrize("text, says", [
    ("20", "has no unit; write 20s"),
    ("three seconds", "is not a duration"),
    ("master_down_interval", "needs the backup node"),
    ("master_down_interval(zz)", "no keepalived node 'zz'"),
    ("advert_int(VI_9)", "no VRRP instance 'VI_9'"),
    ("bogus_timer(a)", "is not a duration"),
])
def test_a_duration_that_cannot_be_read_says_what_to_write(text, says):
    with pytest.raises(ValueError, match=says):
        parse_duration(int(text) if text.isdigit() else text, two_node())


# ---------------------------------------------------------------- steps
def test_steps_read_in_order_with_their_lines_and_fault_names():
    sc = scenario("  - expect: {master: a}\n"
                  "  - kill: a\n"
                  "  - expect: {master: b, within: master_down_interval(b)}\n"
                  "  - start: a\n"
                  "  - drop-vrrp: {node: b, direction: in, name: deaf}\n"
                  "  - wait: 3 x advert_int\n"
                  "  - heal: deaf\n"
                  "  - signal: {node: a, signal: hup}\n"
                  "  - wait: {for: MASTER, node: a, within: 5s}\n")
    got = [(s.action, s.line, s.text) for s in sc.steps]
    assert got == [("expect", 3, "expect {master: a}"), ("fault", 4, "kill a"),
                   ("expect", 5, "expect {master: b, within: master_down_interval(b)}"),
                   ("heal", 6, "start a"), ("fault", 7, "drop-vrrp b direction=in"),
                   ("wait", 8, "wait 3 x advert_int = 3.000 s"), ("heal", 9, "heal deaf"),
                   ("signal", 10, "SIGHUP a"), ("wait-for", 11, "wait for a MASTER in VI_1 within 5s")]
    assert sc.steps[3].name == "kill-a"                      # start: heals the fault that stopped a
    assert sc.steps[4].name == "deaf" and sc.steps[4].params == {"direction": "in"}
    assert sc.steps[2].expect.master == {"VI_1": frozenset({"b"})}
    assert sc.steps[2].expect.within.seconds == pytest.approx(3 + 156 / 256)


def test_expectations_take_one_instance_or_name_each():
    sc = scenario("  - expect: {master: [a, b], state: {a: master, b: {VI_1: BACKUP}}, vip_holders: none,\n"
                  "              vip_answered_by: {VI_1: b}, effective_priority: {a: 90}, judge: holds}\n")
    e = sc.steps[0].expect
    assert e.master == {"VI_1": frozenset({"a", "b"})}
    assert e.state == {("a", "VI_1"): "MASTER", ("b", "VI_1"): "BACKUP"}
    assert e.vip_holders == {"VI_1": frozenset()} and e.vip_answered_by == {"VI_1": "b"}
    assert e.effective_priority == {("a", "VI_1"): 90} and e.judge is True


def test_a_repeated_fault_gets_the_next_name_and_heal_all_clears_them():
    sc = scenario("  - pause: a\n  - unpause: a\n  - pause: a\n  - drop-vrrp: a\n  - drop-vrrp: {node: a, direction: in}\n"
                  "  - heal: drop-vrrp-a-2\n  - heal: all\n  - kill: a\n")
    assert [s.name for s in sc.steps] == ["pause-a", "pause-a", "pause-a", "drop-vrrp-a", "drop-vrrp-a-2",
                                          "drop-vrrp-a-2", "all", "kill-a"]


# ---------------------------------------------------------------- problems, each with its line and the fix
def test_every_problem_is_named_with_its_line_and_the_fix():
    text = ("topology: two_node\n"
            "stepz: 1\n"
            "steps:\n"
            "  - kil: a\n"
            "  - kill: c\n"
            "  - heal: kill-a\n"
            "  - drop-vrrp: {node: b, direction: sideways}\n"
            "  - wait: 20\n"
            "  - expect: {master: {VI_9: a}, within: master_down_interval(q)}\n"
            "  - start: b\n"
            "  - expect: {state: {a: MAYBE}, effective_priority: {a: 300}, judge: violated}\n"
            "  - loss: {node: a, percent: 500}\n"
            "  - rogue: {node: client, colour: red}\n")
    msg = problems(text)
    for where, says in [(2, "no field 'stepz'"), (4, "did you mean 'kill'?"), (5, "no node 'c'"),
                        (6, "no fault of that name is applied"), (7, "direction 'sideways' is not one of in, out, both"),
                        (8, "write 20s"), (9, "no VRRP instance 'VI_9'"), (9, "no keepalived node 'q'"),
                        (10, "b is not stopped by an earlier step"), (11, "no state 'MAYBE'"),
                        (11, "whole number 0..255, not 300"), (11, "write judge: holds"),
                        (12, "percent must be in (0, 100]"), (13, "no parameter 'colour'")]:
        assert f"x.scenario.yaml:{where}: " in msg and says in msg, (where, says, msg)


@pytest.mark.parametrize("text, says", [
    ("- a\n- b\n", "x.scenario.yaml:1: a scenario is a mapping"),
    ("steps: [\n", "x.scenario.yaml:2: not valid YAML"),
    ("topology: nope\nsteps: [{wait: 1s}]\n", "no such topology"),
    ("topology: two_node\nconfigs: [a.conf]\nsteps: [{wait: 1s}]\n", "either topology: "),
    ("topology: {name: t, nodes: {a: {kind: bogus}}}\nsteps: [{wait: 1s}]\n", "topology.nodes.a.kind"),
    ("topology: two_node\nsteps: []\n", "give a list of steps"),
    ("topology: two_node\nkeepalived: 9.9\nsteps: [{wait: 1s}]\n", "keepalived"),
    ("topology: two_node\nsteps: [{expect: {vip_answered_by: a}}]\n", None),
])
def test_a_bad_file_is_refused_before_anything_starts(text, says):
    if says is None:
        parse(text, "x.scenario.yaml", ROOT, TOPOS)                 # two_node has a client: accepted
        return
    assert says in problems(text)


def test_vip_answered_by_needs_a_client_node():
    inline = ("topology:\n  name: t\n  networks: {lan: {}}\n  vrrp_instances:\n    VI_1: {interface: eth0, "
              "virtual_router_id: 5, virtual_ipaddress: [lan+200/24]}\n  nodes:\n    a: {interfaces: {eth0: "
              "{network: lan}}, vrrp_instances: {VI_1: {priority: 100}}}\n"
              "steps:\n  - expect: {vip_answered_by: a}\n")
    assert "x.scenario.yaml:9: steps.0.expect.vip_answered_by: the topology has no client node" in problems(inline)


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load(tmp_path / "none.scenario.yaml")
    (tmp_path / "bin.scenario.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(ScenarioError, match="not a text file"):
        load(tmp_path / "bin.scenario.yaml")


def test_xfail_names_releases_or_all():
    sc = parse("topology: two_node\nxfail: {2.3.4: \"docs say X, 2.3.4 does Y\"}\nsteps: [{wait: 1s}]\n", "x.scenario.yaml",
               ROOT, TOPOS)
    assert sc.xfail_reason("2.3.4") == "docs say X, 2.3.4 does Y" and sc.xfail_reason("2.2.7") is None


# ---------------------------------------------------------------- the incident library
INCIDENTS = sorted((ROOT / "incidents").glob("*.scenario.yaml"))


def test_the_incident_library_is_not_empty():
    assert len(INCIDENTS) >= 1


@pytest.mark.parametrize("path", INCIDENTS, ids=lambda p: p.name)
def test_every_incident_reads_and_names_its_source_and_documented_outcome(path):
    sc = load(path, TOPOS)
    assert sc.source.strip() and sc.documented.strip(), "an incident names its source and the documented outcome"
    assert any(s.action == "expect" for s in sc.steps), "an incident expects something that could fail"


def test_adverts_and_log_lines_can_be_expected():
    sc = scenario("  - expect: {advert: {from: a, priority: 0}, logged: {b: 'Entering MASTER STATE'}}\n"
                  "  - expect: {advert: [{from: a, priority: 150, instance: VI_1}, {from: b, priority: 100}]}\n")
    assert sc.steps[0].expect.advert == (("a", "VI_1", 0),)
    assert sc.steps[0].expect.logged == {"b": "Entering MASTER STATE"}
    assert sc.steps[1].expect.advert == (("a", "VI_1", 150), ("b", "VI_1", 100))
    msg = problems("topology: two_node\nsteps:\n  - expect: {advert: {from: a, priority: 256}, logged: {a: 'x('}}\n")
    assert "x.scenario.yaml:3: steps.0.expect.advert.priority: an advert's priority is 0..255" in msg
    assert "steps.0.expect.logged.a: not a regular expression" in msg


def test_unjudged_says_why_and_leaves_the_verdict_to_the_expectations():
    sc = scenario("  - expect: {master: a}\n", head="topology: two_node\nunjudged: the model has no rule for X\n")
    assert sc.unjudged == "the model has no rule for X"
    msg = problems("topology: two_node\nunjudged: no rule for X\nsteps:\n  - kill: a\n  - expect: {judge: holds}\n")
    assert "x.scenario.yaml:5: steps.1.expect.judge: the file says unjudged" in msg
    assert "say why" in problems("topology: two_node\nunjudged: ''\nsteps:\n  - expect: {master: a}\n")


def test_a_release_xfail_applies_to_a_run_that_names_no_release():
    from lab.releases import DEFAULT_VERSION
    sc = parse(f"topology: two_node\nxfail: {{{DEFAULT_VERSION}: \"docs say X; it does Y\"}}\nsteps: [{{wait: 1s}}]\n",
               "x.scenario.yaml", ROOT, TOPOS)
    assert sc.xfail_reason(None) == "docs say X; it does Y"          # the default release runs
    assert sc.xfail_reason("2.3.4" if DEFAULT_VERSION != "2.3.4" else "2.2.7") is None


def test_a_scenario_file_is_not_taken_for_a_topology(tmp_path):
    (tmp_path / "other.scenario.yaml").write_text("topology: two_node\nsteps: [{wait: 1s}]\n")
    for ref in ("other.scenario", "other.scenario.yaml"):
        with pytest.raises(ScenarioError, match="is a scenario file, not a topology"):
            parse(f"topology: {ref}\nsteps: [{{wait: 1s}}]\n", str(tmp_path / "x.scenario.yaml"), tmp_path, TOPOS)
    with pytest.raises(ScenarioError) as e:
        parse("topology: three_node\nsteps: [{wait: 1s}]\n", str(tmp_path / "x.scenario.yaml"), tmp_path, TOPOS)
    assert "other.scenario" not in str(e.value) and "two_node" in str(e.value)
