"""Advert capture decodes what keepalived sends (lab.runtime.capture) on both capture paths.

Expected fields come from the topology (topologies/model_capture.yaml) and the RFCs: VRRPv2
carries the advert interval in seconds and PASS authentication's first 8 characters
(RFC 3768 §5.3.6-7, man 5 keepalived.conf authentication); VRRPv3 carries centiseconds and
no authentication (RFC 5798 §5.2.7); only the MASTER advertises, with its effective priority.
"""
import pytest

from lab.runtime.capture import start_capture

pytestmark = [pytest.mark.integration, pytest.mark.topology("model_capture", capture=False)]


def test_both_capture_paths_decode_v2_with_auth_and_v3(lab):
    import os
    paths = ["container"] + (["host"] if os.geteuid() == 0 else [])
    caps = [start_capture(lab.history, "lan", lab.networks["lan"], lab.nodes_on("lan"), p) for p in paths]
    try:
        assert lab.wait_for_master("VI_2").name == "a" and lab.wait_for_master("VI_3").name == "a"
        src = str(lab.node("a").address)
        t = lab.history.events()[-1].t

        def seen(h):
            got = {(e["path"], e["vrid"]) for e in h.events("advert", since=t) if e["src"] == src}
            return got >= {(p, v) for p in paths for v in (62, 63)}
        assert lab.history.wait_for(seen, 2 * 1 + 1.0), "an advert of each instance on each path within 2 intervals"
        for p in paths:
            v2 = [e for e in lab.history.events("advert", since=t, path=p, vrid=62)][-1]
            v3 = [e for e in lab.history.events("advert", since=t, path=p, vrid=63)][-1]
            assert (v2["version"], v2["priority"], v2["advert_int"]) == (2, 150, 1.0)
            assert v2["auth"] == {"type": "PASS", "pass": "kalab123"}
            assert v2["addresses"] == [str(lab.vip("VI_2"))]
            assert (v3["version"], v3["priority"], v3["advert_int"], v3["auth"]) == (3, 150, 0.5, None)
            assert v3["addresses"] == [str(lab.vip("VI_3"))]
        backups = [e for e in lab.history.events("advert", since=t) if e["src"] == str(lab.node("b").address)]
        assert backups == [], "a BACKUP sends no adverts (RFC 3768 §6.4.2)"
        # keepalived's own view agrees with the wire
        dump = lab.dump_json("a")
        assert dump["VI_2"].effective_priority == 150 and dump["VI_2"].state == "MASTER"
        assert lab.dump_json("b")["VI_3"].state == "BACKUP"
    finally:
        for c in caps:
            c.stop()


def test_capture_starts_with_the_lab_by_default(lab_factory):
    from pathlib import Path
    lab = lab_factory(Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml")
    assert lab.captures, [e.describe() for e in lab.history.events("note")]
    assert lab.wait_for_master("VI_1").name == "a"
    lab.check.assert_effective_priority("a", "VI_1", 150)      # from the JSON dump and a's next advert
    with pytest.raises(AssertionError, match="expected 151"):
        lab.check.assert_effective_priority("a", "VI_1", 151)


def test_every_masters_first_advert_is_in_the_history(lab_factory):
    # RFC 3768 §6.4.2 / RFC 5798 §6.4.2: on becoming Master a router sends an ADVERTISEMENT at once;
    # keepalived sends it, then writes its MASTER line (seen 1 ms apart). Both masters of a failover.
    from pathlib import Path
    lab = lab_factory(Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml")
    assert lab.wait_for_master("VI_1").name == "a"
    kill = lab.fault("kill", "a")
    kill.apply()
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=kill.issued_at, clock_from=kill.applied_at)  # default: the longest master down interval + MARGIN
    for node in ("a", "b"):
        became = lab.history.events("state", node=node, instance="VI_1", state="MASTER")[0].t
        src = str(lab.node(node).address)
        first = lab.history.wait_for(
            lambda h: next((e for e in h.events("advert") if e["src"] == src and e["vrid"] == 51), None), 1.0)
        assert first is not None, f"no advert from {node} recorded"
        assert abs(first.t - became) <= 0.1, f"{node}'s first recorded advert {first.t - became:+.3f} s from its MASTER line"
