"""Node and keepalived faults against the two-node lab (a: priority 150, b: priority 100, advert_int 1).

Expected values from the documented rules, written before running:
* RFC 3768 §6.1: Skew_Time = (256 - Priority)/256 s; Master_Down_Interval = 3 x Advertisement_Interval
  + Skew_Time. b: skew 0.609 s, MDI 3.609 s; a: MDI 3.414 s.
* RFC 3768 §6.4.3 + keepalived(8) SIGNALS: on SIGTERM (graceful shutdown) the MASTER sends an advert
  with priority 0; §6.4.2: a BACKUP receiving priority 0 sets its Master_Down_Timer to Skew_Time, so
  it takes over after ~skew time. On SIGKILL nothing is sent: the backup waits MDI from the last
  advert, i.e. MDI - advert_int .. MDI after the kill.
* man 5 keepalived.conf: preemption is on by default, so a returning higher-priority node takes
  the VIP back after its own master down interval (it discards lower-priority adverts, §6.4.2).
* keepalived --help: the parent respawns child processes unless --dont-respawn; a new VRRP child
  starts the instance in its initial state (BACKUP here).
"""
import pytest

from lab.timers import MARGIN
from lab.nemesis.keepalived import RESPAWN_DEADLINE

pytestmark = pytest.mark.topology("two_node")

ADVERT_INT = 1.0
SKEW_B = (256 - 100) / 256                 # 0.609375 s
MDI_B = 3 * ADVERT_INT + SKEW_B            # 3.609375 s
MDI_A = 3 * ADVERT_INT + (256 - 150) / 256  # 3.4140625 s
#: keepalived's timer resolution plus notify_fifo stamping, for lower bounds (stated, not fitted)
TIMER_TOLERANCE = 0.1


def _fault_events(lab, name):
    return [(e["action"], e.t) for e in lab.history.events("fault", name=name)]


def test_sigterm_hands_over_after_skew_time_and_sigkill_after_master_down_interval(lab):
    assert lab.wait_for_master("VI_1").name == "a"

    term = lab.fault("sigterm", "a")
    term.apply()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="b", since=term.issued_at, clock_from=term.applied_at, timeout=SKEW_B + MARGIN)
    # a's priority-0 advert sets b's timer to its skew time (timed from that advert, not the signal's call)
    term_takeover = lab.check.assert_master_down_takeover("b", "VI_1", since=term.issued_at,
                                                          tolerance=TIMER_TOLERANCE, late=MARGIN)
    assert lab.vip_holders("VI_1") == ["b"]

    term.heal()                                 # start a again: it preempts b
    back = lab.wait_for_transition("VI_1", "MASTER", node="a", since=term.heal_issued_at,
                                   clock_from=term.healed_at, timeout=lab.convergence_deadline("VI_1"))
    assert [a for a, _ in _fault_events(lab, term.name)] == ["apply", "heal"]

    kill = lab.fault("sigkill", "a")
    kill.apply()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="b", since=back.t, timeout=MDI_B + MARGIN + 10)
    # timed from a's last advert (the kill lands somewhere between its issue and its return)
    took = lab.check.assert_master_down_takeover("b", "VI_1", since=kill.issued_at, tolerance=TIMER_TOLERANCE,
                                                 late=MARGIN)
    print(f"SIGTERM takeover {term_takeover:.3f} s (skew {SKEW_B:.3f}); SIGKILL takeover {took:.3f} s after a's "
          f"last advert (MDI {MDI_B:.3f})")
    assert ev.t - kill.applied_at <= MDI_B + MARGIN, f"SIGKILL takeover {ev.t - kill.applied_at:.3f} s after the kill"
    assert lab.vip_holders("VI_1") == ["b"]
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


def test_reload_with_a_lower_priority_hands_over_and_heal_restores(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("reload", "a", priority=50, instance="VI_1")
    f.apply()
    # a now advertises 50 < 100: b discards those adverts (preempt) and times out after its MDI.
    ev = lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    down = lab.wait_for_transition("VI_1", "BACKUP", node="a", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + ADVERT_INT + MARGIN)
    assert down["priority"] == 50, "notify_fifo reports the reloaded priority"
    # b's timer runs from a's last advert at 150 (the ones at 50 do not restart it, RFC 3768 §6.4.2)
    lab.check.assert_master_down_takeover("b", "VI_1", since=f.issued_at, tolerance=TIMER_TOLERANCE, late=MARGIN)
    assert lab.vip_holders("VI_1") == ["b"]
    assert "priority 50" in lab.node("a").read_file("/etc/keepalived/keepalived.conf")

    f.heal()                                   # original config (150) and SIGHUP again: a preempts
    up = lab.wait_for_transition("VI_1", "MASTER", node="a", since=f.heal_issued_at, clock_from=f.healed_at, timeout=MDI_A + MARGIN)
    assert up["priority"] == 150
    assert lab.wait_for_master("VI_1", timeout=ADVERT_INT + MARGIN).name == "a"
    assert "priority 150" in lab.node("a").read_file("/etc/keepalived/keepalived.conf")
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


def test_killing_the_vrrp_child_keeps_the_parent_and_respawns_the_child(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("kill-vrrp-child", "a")
    f.apply()
    print(f"VRRP child {f.old_pid} -> {f.new_pid} after {f.respawn_s} s; log: {f.log_line}")
    assert lab.node("a").status() == "running", "the parent (PID 1) survives"
    assert f.parent_pid1_is_keepalived()
    assert f.new_pid is not None and f.new_pid != f.old_pid, "the parent respawned the VRRP child"
    assert f.respawn_s < RESPAWN_DEADLINE
    assert f.log_line and "Respawning" in f.log_line
    # the new child starts in the initial state (BACKUP) and wins the election again (highest priority)
    lab.wait_for_transition("VI_1", "BACKUP", node="a", since=f.issued_at, clock_from=f.applied_at, timeout=MARGIN + 1)
    assert lab.wait_for_master("VI_1", timeout=MDI_B + MDI_A + 2 * MARGIN).name == "a"
    assert lab.vip_holders("VI_1") == ["a"]
    f.heal()
    assert [a for a, _ in _fault_events(lab, f.name)] == ["apply", "heal"]
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


def test_pause_freezes_the_master_and_unpause_restores_it(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    f = lab.fault("pause", "a")
    f.apply()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="b", since=f.issued_at, clock_from=f.applied_at, timeout=MDI_B + MARGIN)
    lab.check.assert_master_down_takeover("b", "VI_1", since=f.issued_at, tolerance=TIMER_TOLERANCE, late=MARGIN)
    assert lab.node("a").status() == "paused"
    f.heal()
    # a wakes up still MASTER and advertises 150; b yields on the first one (RFC 3768 §6.4.3)
    lab.wait_for_transition("VI_1", "BACKUP", node="b", since=f.heal_issued_at, clock_from=f.healed_at, timeout=ADVERT_INT + MARGIN)
    assert lab.node("a").status() == "running"
    assert lab.vip_holders("VI_1") == ["a"]
    f.heal()                                    # idempotent
    assert len(_fault_events(lab, f.name)) == 2
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


def test_stop_is_graceful_and_restart_brings_the_master_back(lab):
    assert lab.wait_for_master("VI_1").name == "a"
    stop = lab.fault("stop", "a")
    stop.apply()
    ev = lab.wait_for_transition("VI_1", "MASTER", node="b", since=stop.issued_at, clock_from=stop.applied_at, timeout=SKEW_B + MARGIN)
    # docker stop sends SIGTERM: a's priority-0 advert sets b's timer to its skew time
    lab.check.assert_master_down_takeover("b", "VI_1", since=stop.issued_at, tolerance=TIMER_TOLERANCE, late=MARGIN)
    assert lab.node("a").status() == "exited"
    stop.heal()
    lab.wait_for_transition("VI_1", "MASTER", node="a", since=stop.heal_issued_at, clock_from=stop.healed_at,
                                timeout=lab.convergence_deadline("VI_1"))

    restart = lab.fault("restart", "a")
    restart.apply()                             # stop (graceful) + start
    lab.wait_for_transition("VI_1", "MASTER", node="b", since=restart.issued_at, clock_from=restart.applied_at, timeout=SKEW_B + MARGIN + 10)
    back = lab.wait_for_transition("VI_1", "MASTER", node="a", since=restart.issued_at,
                                   clock_from=restart.applied_at, timeout=lab.convergence_deadline("VI_1"))
    assert back["priority"] == 150
    restart.heal()
    assert lab.vip_holders("VI_1") == ["a"]
    lab.check.assert_matches_model()   # the judge: every transition as the rules allow


@pytest.mark.parametrize("how", ["stop", "SIGTERM"])
def test_a_sigterm_while_the_node_starts_ends_keepalived_gracefully(lab, how):
    # keepalived(8) SIGNALS: SIGTERM is a graceful shutdown (exit status 0). keepalived is PID 1 of its node,
    # and the kernel drops a default-action signal sent to a namespace's init: a SIGTERM that came before
    # keepalived had set its handlers (or while the entrypoint still prepared the node) was lost, and docker
    # stop ended the node by SIGKILL 10 s later (exit 137), with a MASTER meanwhile (found in a run of the
    # seed suite: `stop` right after the lab started; reproduced 1 in 3 by a stop right after a start).
    # On a host, keepalived is not PID 1 and such a SIGTERM acts. Each round is a new start.
    assert lab.wait_for_master("VI_1").name == "a"
    node = lab.node("a")
    for _ in range(3):
        node.stop()
        node.start()
        if how == "stop":
            node.stop()
        else:
            node.kill("SIGTERM")
            node.container.wait(timeout=30)
        node.container.reload()
        code = node.container.attrs["State"]["ExitCode"]
        assert code == 0, f"keepalived on a ended with status {code} (137: SIGKILL; the SIGTERM was lost)"
    lab.check.assert_matches_model()
