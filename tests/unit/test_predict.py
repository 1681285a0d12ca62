"""`kalab predict`: event syntax and the model's answer for two_node (RFC 3768 §6.1/§6.4, man 5 keepalived.conf)."""
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.election import NodeDown, Reload, ScriptResult
from lab.election.predict import parse_event, predict_topology
from lab.topology import load

TOPO = load(Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml")
MDI_B = 3 + 156 / 256


def test_event_syntax():
    assert parse_event("stop:a", TOPO) == NodeDown("a", graceful=True)
    with pytest.raises(LabError, match="tracks no vrrp_script 'chk'"):     # two_node tracks no script
        parse_event("script:b:chk:fail", TOPO)
    track = load(Path(__file__).resolve().parents[2] / "topologies" / "model_track.yaml")
    node = track.keepalived_nodes()[0]
    script = next(t.name for i in track.instances(node).values() for t in i.track_script)
    assert parse_event(f"script:{node}:{script}:fail", track) == ScriptResult(node, script, False)
    assert parse_event("reload:a:VI_1:priority=90", TOPO) == Reload.of("a", "VI_1", priority=90)
    with pytest.raises(LabError, match="unknown node 'zz'"):
        parse_event("kill:zz", TOPO)
    with pytest.raises(LabError, match="is not one of"):
        parse_event("explode:a", TOPO)


def test_kill_master_then_return():
    rows = predict_topology(TOPO, ["kill:a", "up:a"])
    by_event = {text: exp for text, exp in rows}
    assert by_event["kill:a"].master == "b"
    assert by_event["kill:a"].latest == pytest.approx(MDI_B)          # b's master down interval
    assert by_event["up:a"].master == "a"                              # default preempt: a takes back
    lower = predict_topology(TOPO, ["reload:a:VI_1:priority=90"])[-1][1]
    assert lower.master == "b", "a at 90 is below b's 100"


@pytest.mark.parametrize("event,says", [
    ("reload:a:VI_1:priority=abc", "is not a int"),
    ("reload:a:VI_1:bogus=1", "cannot be reloaded"),
    ("reload:a:VI_1:priority=300", "1..255"),
    ("reload:a:VI_9:priority=90", "no VRRP instance"),
    ("script:a:nope:fail", "tracks no vrrp_script"),
    ("link:a:eth9:down", "no interface"),
])
def test_bad_events_name_what_is_wrong(event, says):
    from lab.errors import LabError
    from lab.topology import load
    topo = load(Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml")
    with pytest.raises(LabError, match=says):
        predict_topology(topo, [event])
