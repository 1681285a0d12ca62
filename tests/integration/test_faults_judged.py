"""The fault kinds no other live test applies through ``lab.fault``: kill, script, command. Each test
applies the fault, heals it, and lets the judge check the whole history against the model (the
explicit ``assert_matches_model()`` here, and the plugin's teardown judge).

Expected values from the rules each fault's meaning cites:
* kill (SIGKILL, no goodbye): b becomes MASTER after its master down interval, 3 + 156/256 = 3.609 s
  (RFC 3768 §6.1/§6.4.2); after heal a starts in BACKUP and preempts after its own start-up master down
  interval, 3 + 106/256 = 3.414 s (man 5 keepalived.conf, state; nopreempt is off).
* script / command on topologies/faults_scripts.yaml: chk_nginx failing lowers a to 150 - 60 = 90 < 100
  (man 5 keepalived.conf, vrrp_script weight): b preempts after its master down interval, at most
  interval x fall = 1 s after the change; back to 150, a preempts after 3.414 s.
"""
import pytest

from lab.timers import MARGIN

ADVERT_INT = 1.0
CHECK = 1.0
MDI_B = 3 * ADVERT_INT + (256 - 100) / 256
MDI_A = 3 * ADVERT_INT + (256 - 150) / 256


@pytest.mark.topology("two_node")
def test_kill_fault_then_heal_is_judged(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("kill", "a")
    f.apply()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    lab.check.assert_master_down_takeover("b", "VI_1", since=f.issued_at)   # from a's last advert (R_MDI)
    f.heal()
    lab.wait_for_transition("VI_1", "MASTER", node="a", since=f.heal_issued_at, clock_from=f.healed_at, timeout=lab.convergence_deadline("VI_1"))
    lab.check.assert_matches_model()


@pytest.mark.topology("faults_scripts")
def test_script_fault_then_heal_is_judged(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("script", "a", script="chk_nginx", result="fail")
    f.apply()
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=CHECK + MDI_B + MARGIN)
    f.heal()                               # the real check (nginx runs) passes again: a preempts
    lab.wait_for_transition("VI_1", "MASTER", node="a", since=f.heal_issued_at, clock_from=f.healed_at, timeout=CHECK + MDI_A + MARGIN)
    lab.check.assert_matches_model()


@pytest.mark.topology("faults_scripts")
def test_command_fault_that_names_its_script_is_judged(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("command", "a", run="nginx -s stop", undo="nginx", script="chk_nginx")
    f.apply()
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=CHECK + MDI_B + MARGIN)
    f.heal()
    lab.wait_for_transition("VI_1", "MASTER", node="a", since=f.heal_issued_at, clock_from=f.healed_at, timeout=CHECK + MDI_A + MARGIN)
    lab.check.assert_matches_model()


@pytest.mark.topology("faults_scripts")
@pytest.mark.judge(allow=["command"])
def test_a_command_without_a_declared_meaning_cannot_be_judged(lab):
    """Three verdicts, never a silent pass: the judge refuses to call this history 'holds'."""
    from lab.checks import CheckFailed
    assert lab.wait_for_master("VI_1").name == "a"
    with lab.fault("command", "a", run="true"):
        pass
    with pytest.raises(CheckFailed, match="cannot judge"):
        lab.check.assert_matches_model()
    lab.check.assert_matches_model(allow=["command"])    # allowed by name: what came before holds
