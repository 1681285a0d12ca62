"""The foundation: two keepalived nodes (priority 150 and 100), one VIP, real failover.

Expected values come from the documented rules, not from a run:
* man 5 keepalived.conf (vrrp_instance: priority, state) and RFC 3768 §6.4.3: the
  router with the highest priority becomes MASTER; ``state`` is only the initial state.
* RFC 3768 §6.1: a backup takes over after Master_Down_Interval = 3 x Advertisement_Interval
  + Skew_Time, Skew_Time = (256 - Priority)/256 s, counted from the master's last advert.
* man 5 keepalived.conf: preemption is on by default (nopreempt turns it off), so a
  recovered higher-priority node takes the VIP back.
"""
import pytest

pytestmark = pytest.mark.topology("two_node")

HIGH, LOW = "a", "b"                    # priority 150 and 100 in topologies/two_node.yaml
ADVERT_INT = 1.0                        # seconds, topologies/two_node.yaml
MDI_LOW = 3 * ADVERT_INT + (256 - 100) / 256   # 3.609375 s: b's master down interval (RFC 3768 §6.1)
MARGIN = 0.5                            # stated margin: docker kill latency + notify_fifo stamping


def test_highest_priority_node_is_the_only_vip_holder(lab):
    master = lab.wait_for_master("VI_1")
    assert master.name == HIGH
    assert lab.vip_holders("VI_1") == [HIGH], "inside view: `ip addr` on every node"
    assert lab.client.http_get_vip("VI_1") == HIGH, "outside view: nginx behind the VIP names the node"
    assert lab.client.arp_vip("VI_1") == lab.node(HIGH).mac(), "the VIP's ARP answer is the master's MAC"
    # the client's own neighbour entry (where its packets go), read without sending anything
    assert lab.node(HIGH).mac() in lab.node(HIGH).macs() and lab.vip_neighbour("VI_1") == HIGH


def test_killing_the_master_moves_the_vip_within_the_master_down_interval(lab):
    assert lab.wait_for_master("VI_1").name == HIGH
    t_kill = lab.node(HIGH).kill()
    ev = lab.wait_for_transition("VI_1", "MASTER", since=t_kill, timeout=MDI_LOW + MARGIN)
    takeover = ev.t - t_kill
    assert ev["node"] == LOW
    # The master's last advert left between 0 and one advert_int before the kill,
    # so the takeover comes MDI - advert_int .. MDI after the kill.
    assert MDI_LOW - ADVERT_INT - MARGIN <= takeover <= MDI_LOW + MARGIN, f"takeover after {takeover:.3f} s"
    assert lab.vip_holders("VI_1") == [LOW]
    assert lab.client.http_get_vip("VI_1") == LOW


def test_restarted_former_master_preempts_back(lab):
    assert lab.wait_for_master("VI_1").name == HIGH
    t_kill = lab.node(HIGH).kill()
    assert lab.wait_for_transition("VI_1", "MASTER", since=t_kill, timeout=MDI_LOW + MARGIN)["node"] == LOW
    t_start = lab.node(HIGH).start()
    # a starts as BACKUP, hears b's lower-priority adverts, and preempts: it becomes MASTER after
    # its own master down interval (it ignores lower-priority adverts), b drops to BACKUP.
    back = lab.wait_for_transition("VI_1", "MASTER", node=HIGH, since=t_start,
                                   timeout=lab.convergence_deadline("VI_1"))
    lab.wait_for_transition("VI_1", "BACKUP", node=LOW, since=back.t - 0.1, timeout=ADVERT_INT + MARGIN)
    assert lab.vip_holders("VI_1") == [HIGH]
    assert lab.client.http_get_vip("VI_1") == HIGH
