"""track_file and vrrp_sync_group: real keepalived (every release, lab.releases) against the election model (issue 12).

Expected values from the rules, written before running (advert_int 1 s, RFC 3768 §6.1:
MDI(b) = 3 + 156/256 = 3.609 s, MDI(a) = 3 + 106/256 = 3.414 s; margin lab.timers.MARGIN):
* topologies/track_file.yaml, man 5 keepalived.conf, Track files: a (150) tracks /run/kalab/flag with
  weight -10; the file is "read whenever it is modified". value 6: 150 - 60 = 90 < 100, b preempts within
  its master down interval; value 4: 110 > 100, nothing moves; with weight 0 a non-zero value is a failure:
  a goes to FAULT. Heal writes 0 (a missing file's value): a is back at 150 and preempts.
* topologies/sync_group.yaml, man 5 keepalived.conf, VRRP synchronization group(s): "transition of one
  instance will be reflected to others group members": a's eth1 down puts VI_2 (on eth1) in FAULT and VI_1
  (on eth0, whose link is up) with it; b takes over both. A member's weighted track_script: the man page
  says its weight is set to zero (so its failure puts the group in FAULT); keepalived 2.2.7's source ignores
  the script: strict xfail with both.
* A vrrp_script's first result: keepalived decides it on the first run and logs it; the judge follows what
  keepalived logged (the script's environment) and checks init_fail's count (man 5 keepalived.conf:
  "assume script initially is in failed state"), which keepalived 2.2.7 ignores: strict xfail with both.
Every test also replays its whole history through the model (``assert_matches_model``).
"""
from pathlib import Path

import pytest
import yaml

from lab.timers import MARGIN
from lab.topology import validate

pytestmark = [pytest.mark.integration, pytest.mark.every_release]
TOPOS = Path(__file__).resolve().parents[2] / "topologies"
MDI_B = 3 + 156 / 256
MDI_A = 3 + 106 / 256


def track_file_topology(weight: int):
    data = yaml.safe_load((TOPOS / "track_file.yaml").read_text())
    data["vrrp_track_files"]["flag"]["weight"] = weight
    return validate(data, str(TOPOS / "track_file.yaml"))


@pytest.mark.parametrize("weight,value,master,a_state,a_prio", [
    (-10, 6, "b", "BACKUP", 90),
    (-10, 4, "a", "MASTER", 110),
    (0, 1, "b", "FAULT", None),
], ids=["moves", "too-small", "weight-0-fault"])
def test_a_track_file_value_moves_the_vip_by_the_arithmetic(lab_factory, weight, value, master, a_state, a_prio):
    lab = lab_factory(track_file_topology(weight))
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("track-file", "a", file="flag", value=value)
    f.apply()
    lab.check.assert_matches_model()                        # waits for the model's deadline, judges all
    assert lab.history.masters("VI_1") == [master]
    assert lab.history.states("VI_1")["a"] == a_state
    if a_prio is not None:
        lab.check.assert_effective_priority("a", "VI_1", a_prio)
    f.heal()                                                # 0 again: a is back at 150
    lab.check.assert_matches_model()
    assert lab.history.masters("VI_1") == ["a"]


def test_a_sync_groups_members_fail_over_together(lab_factory):
    lab = lab_factory(TOPOS / "sync_group.yaml")
    assert lab.wait_for_master("VI_1").name == "a" and lab.wait_for_master("VI_2").name == "a"
    f = lab.fault("link-down", "a", iface="eth1")
    f.apply()
    ev = lab.wait_for_transition("VI_1", "FAULT", node="a", since=f.issued_at, clock_from=f.applied_at, timeout=MARGIN)
    assert ev.t - f.issued_at <= MARGIN, "VI_1 follows VI_2 into FAULT at once"
    lab.check.assert_matches_model()
    assert lab.history.masters("VI_1") == ["b"] and lab.history.masters("VI_2") == ["b"]
    f.heal()
    lab.check.assert_matches_model()
    assert lab.history.masters("VI_1") == ["a"] and lab.history.masters("VI_2") == ["a"]


def sync_group_with_member_script():
    data = yaml.safe_load((TOPOS / "sync_group.yaml").read_text())
    data["vrrp_scripts"] = {"chk": {"script": "test ! -e /run/kalab/fail-chk", "interval": 1, "fall": 1, "rise": 1,
                                    "weight": -60}}
    data["nodes"]["a"]["vrrp_instances"]["VI_1"]["track_script"] = ["chk"]
    return validate(data, str(TOPOS / "sync_group.yaml"))


@pytest.mark.xfail(strict=True, reason=(
    "man 5 keepalived.conf (VRRP synchronization group(s)) says a member's tracking weights are set to zero, "
    "so chk failing would put the group in FAULT; keepalived (2.1.5 to 2.3.4) ignores the weighted script instead "
    "(vrrp.c vrrp_complete_instance: 'ignoring tracked script chk with weights due to SYNC group')"))
def test_a_members_weighted_script_has_its_weight_set_to_zero(lab_factory):
    lab = lab_factory(sync_group_with_member_script())
    assert lab.wait_for_master("VI_1").name == "a"
    t = lab.set_script("a", "chk", False)
    lab.wait_for_transition("VI_1", "FAULT", node="a", since=t, timeout=1.0 + MARGIN)   # fall 1 x interval 1


def model_track_variant(a: dict, b: dict, scripts: dict):
    data = yaml.safe_load((TOPOS / "model_track.yaml").read_text())
    data["nodes"]["a"]["vrrp_instances"]["VI_1"] = a
    data["nodes"]["b"]["vrrp_instances"]["VI_1"] = b
    data["vrrp_scripts"].update(scripts)
    return validate(data, str(TOPOS / "model_track.yaml"))


def test_a_script_that_fails_from_its_first_run_is_judged_from_keepaliveds_report(lab_factory):
    # the model cannot know what a user's own check returns; keepalived 2.2.7 decides a script's first
    # result on its first run (vrrp_scheduler.c: "one success is enough"; one failure too) and logs it:
    # a = 150 - 60 = 90 < 100 from the start, so b wins the first election (RFC 3768 §6.4.2)
    lab = lab_factory(model_track_variant(
        dict(priority=150, track_script=["app"]), dict(priority=100),
        {"app": {"script": "test -e /etc/kalab-no-such-file", "interval": 1, "fall": 2, "rise": 2, "weight": -60}}))
    assert lab.wait_for_master("VI_1").name == "b"
    assert [e["ok"] for e in lab.history.events("script", node="a")][:1] == [False], "keepalived logged the failure"
    lab.check.assert_matches_model()
    lab.check.assert_effective_priority("a", "VI_1", 90)


@pytest.mark.xfail(strict=True, reason=(
    "man 5 keepalived.conf, vrrp_script init_fail: 'assume script initially is in failed state', so rise (3) "
    "successes, one every 2 s, are needed before b gets +60; keepalived (2.1.5 to 2.3.4) reports the script OK "
    "on its first "
    "run (vrrp_track.c alloc_track_script resets the script's init state when an instance tracks it), so b "
    "(160) wins the first election"))
def test_an_init_fail_script_that_succeeds_is_judged_after_its_rise_runs(lab_factory):
    # man 5 keepalived.conf, vrrp_script init_fail: the script starts failing; rise (3) successes, one every
    # interval (2 s), make it OK: b = 100 + 60 = 160 > 150, b preempts within its master down interval
    # (3 + 96/256 s) of that, after a won the first election at 150 > 100
    lab = lab_factory(model_track_variant(
        dict(priority=150), dict(priority=100, track_script=["up"]),
        {"up": {"script": "true", "interval": 2, "fall": 1, "rise": 3, "weight": 60, "init_fail": True}}))
    assert lab.wait_for_master("VI_1").name == "a"
    ok = lab.history.wait_for(lambda h: next(iter(h.events("script", node="b", script="up", ok=True)), None),
                              timeout=3 * 2 + MARGIN + 2)
    assert ok is not None, "keepalived logged the script's success after its rise runs"
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=ok.t, timeout=3 + 96 / 256 + MARGIN)
    lab.check.assert_matches_model()
    lab.check.assert_effective_priority("b", "VI_1", 160)


@pytest.mark.parametrize("command,disabled", [
    ("/usr/local/bin/check-app --port 80", True),     # not there: keepalived disables the script
    ("no-such-check-kalab", True),                    # not on PATH: disabled
    ("</etc/hostname", False),                        # '</path': run through sh, the file opens: OK
])
def test_the_lab_runs_a_users_script_as_keepalived_would(lab_factory, command, disabled):
    # keepalived 2.2.7 (vrrp.c check_track_script_secure, lib/notify.c; the man page is silent): a tracked
    # script whose command is not found is disabled and never changes the priority (R_SCRIPT_DISABLED); a
    # '</path' command runs through /bin/sh -c. a (150) tracks it with weight -60, b 100: either way a
    # keeps 150 and stays MASTER. The lab's own wrapper must not change that (a wrapped missing command
    # would fail, 150 - 60 = 90 < 100, and b would take over).
    lab = lab_factory(model_track_variant(
        dict(priority=150, track_script=["app"]), dict(priority=100),
        {"app": {"script": command, "interval": 1, "fall": 1, "rise": 1, "weight": -60}}))
    assert lab.wait_for_master("VI_1").name == "a"
    lab.check.assert_matches_model()
    lab.check.assert_effective_priority("a", "VI_1", 150)
    if disabled:
        assert lab.node("a").wait_for_log(r"Disabling track script app|runs unwrapped", timeout=MARGIN) is not None
        assert [e["ok"] for e in lab.history.events("script", node="a", script="app")][:1] == [None]


def test_a_script_whose_path_goes_through_a_symlinked_directory_runs_as_keepalived_decides(lab_factory, lab_keepalived):
    # keepalived 2.3.0 and later check the security of a root script's path as written (lib/notify.c
    # check_security, commit ebf37b95): /bin, a symbolic link on merged-/usr Debian, is "Wrong file type" and the
    # script is disabled (R_SCRIPT_DISABLED); 2.1.5 and 2.2.7 resolve the path first and run it. The lab's wrapper
    # must change neither. a (150) tracks a failing '/bin/sh -c "exit 1"' with weight -60, b 100: run, a has
    # 90 < 100 and b is MASTER; disabled, a keeps 150 and is MASTER
    from lab.releases import release
    disabled = release(lab_keepalived).key >= (2, 3, 0)
    lab = lab_factory(model_track_variant(
        dict(priority=150, track_script=["app"]), dict(priority=100),
        {"app": {"script": "/bin/sh -c 'exit 1'", "interval": 1, "fall": 1, "rise": 1, "weight": -60}}))
    assert lab.node("a").exec("test -L /bin").ok, "the image's /bin is not a symbolic link"
    lab.check.assert_matches_model()
    lab.check.assert_effective_priority("a", "VI_1", 150 if disabled else 90)
    assert lab.history.masters("VI_1") == (["a"] if disabled else ["b"])
    if disabled:
        assert lab.node("a").wait_for_log(r"Wrong file type found in script path '/bin/sh'", timeout=MARGIN) is not None
