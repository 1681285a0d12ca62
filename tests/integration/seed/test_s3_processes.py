"""Seed §3 control plane: keepalived runs `core`, `check` and `vrrp` processes; the core's watchdog
respawns a failed child. Seed §5 extras: nopreempt on both nodes, vrrp_skip_check_adv_addr, vrrp_gna_interval."""
import re

import pytest

from lab.conformance import expect_claim
from lab.timers import MARGIN

from _start_race import make_master

from .builders import ADV, master_after_start, mdi, pair

#: a conformance claim is checked on every keepalived release (lab.releases): one column each
pytestmark = pytest.mark.every_release





def keepalived_pids(node) -> list[int]:
    out = node.exec(["pgrep", "-x", "keepalived"], check=True).output
    return sorted(int(p) for p in out.split())


@pytest.mark.claim("3-processes", "§3: keepalived runs three processes: core, check and vrrp")
@pytest.mark.differs(reason="seed: core, check and vrrp processes always run; "
                   "keepalived starts the checker child only when the config has LVS virtual_servers: a "
                   "VRRP-only config runs two processes (the parent and the VRRP child)")
def test_three_processes(lab_factory):
    lab = lab_factory(pair({"priority": 150}, {"priority": 100}, client=False))
    m = lab.wait_for_master("VI_1")
    pids = keepalived_pids(m)
    assert 1 in pids, "the parent is PID 1"
    assert "Starting VRRP child process" in m.logs(200)
    expect_claim(len(pids) == 3, f"{len(pids)} keepalived processes: {pids}")


@pytest.mark.claim("3-watchdog", "§3: the core's watchdog notices a dead VRRP child and restarts it")
def test_watchdog_respawns_vrrp_child(lab_factory):
    lab = lab_factory(pair({"priority": 150}, {"priority": 100}, client=False))
    m = lab.wait_for_master("VI_1")
    f = lab.fault("kill-vrrp-child", m.name)
    f.apply()
    assert f.old_pid and f.new_pid and f.new_pid != f.old_pid, "a new VRRP child replaced the killed one"
    assert 1 in keepalived_pids(m), "the parent (PID 1) survived"
    assert re.search(rf"VRRP child process\({f.old_pid}\) died: Respawning", m.logs(200))
    # the respawned child starts over (BACKUP) and wins the election again: s1 MASTER within its MDI
    lab.wait_for_transition("VI_1", "MASTER", node=m.name, since=f.issued_at, clock_from=f.applied_at, timeout=mdi(150) + 2 * MARGIN)
    f.heal()


@pytest.mark.claim("5-nopreempt-both", "§5 nopreempt: the setting must be the same on master and backup "
                   "(with nopreempt only on the higher-priority node it does not take effect)")
@pytest.mark.differs(reason="seed: nopreempt must be set on both nodes; keepalived "
                   "2.2.7 applies it per node: nopreempt on the higher-priority node alone already stops it from "
                   "taking the VIP back (the lower node's setting never matters, it has nobody to preempt)")
def test_nopreempt_on_one_node_only(lab_factory):
    lab = lab_factory(pair({"priority": 150, "nopreempt": True}, {"priority": 100}))
    make_master(lab, "VI_1", "s1")      # the start is a race with nopreempt on s1 (tests/integration/_start_race.py)
    t = lab.node("s1").kill()
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=mdi(100) + MARGIN)
    t = lab.node("s1").start()
    took = master_after_start(lab, "s1", 150, since=t)      # preempting, it would be MASTER by then
    expect_claim(bool(took), "with nopreempt on s1 only, s1 still did not take the VIP back")


#: keepalived's report of a checked advert whose address list differs from its own


@pytest.mark.claim("5-skip-check-adv-addr", "§5 vrrp_skip_check_adv_addr: without it every advert's addresses are "
                   "checked; with it an advert from the same router as the previous one is not checked again")
@pytest.mark.parametrize("skip", [False, True], ids=["checked", "skipped"])
@pytest.mark.judge(allow=["signal"])     # the SIGHUP reloads another VIP set: the model is told no new config
def test_skip_check_adv_addr(lab_factory, skip):
    from lab.topology.render import render_node
    from lab.lab import SCRIPT_WRAPPER
    topo = pair({"priority": 150}, {"priority": 100}, global_defs={"vrrp_skip_check_adv_addr": skip}, client=False)
    lab = lab_factory(topo)
    s1, s2 = lab.node("s1"), lab.node("s2")
    assert lab.wait_for_master("VI_1").name == "s1"
    # s1 (same router as before) now advertises a different address list: reload it with VIP lan+202 (a copy:
    # the lab's own topology stays what the nodes started with, which the judge reads)
    reloaded = topo.model_copy(deep=True)
    reloaded.nodes["s1"].vrrp_instances["VI_1"]["virtual_ipaddress"] = ["lan+202"]
    s1.put_file("/etc/keepalived/keepalived.conf", render_node(reloaded, "s1", lab.subnets, script_wrapper=SCRIPT_WRAPPER))
    t = lab.history.append("note", text="s1 reloads with VIP lan+202").t
    s1.kill("SIGHUP")
    n = 3
    src = str(s1.address)
    new_vip = str(lab.subnets["lan"].network_address + 202)
    # the adverts that carry the reloaded address list are the ones s2 checks or skips: under load the reload
    # comes a while after the SIGHUP is issued, and the adverts before it still carry the old list (CI -n 4).
    # n of them come within n - 1 advert intervals of the reload, before s2's master down interval runs out
    reloaded = lambda h: [e for e in h.events("advert", src=src, since=t) if new_vip in (e.get("addresses") or [])]
    assert lab.history.wait_for(lambda h: len(reloaded(h)) >= n, (n + 1) * ADV + MARGIN), \
        f"s1 sent fewer than {n} adverts with {new_vip} after the reload"
    # keepalived counts each advert whose address list it checked and found wrong in the instance's
    # addr_list_err statistic (vrrp.c vrrp_check_packet, every release; its log line is rate limited from 2.3.3
    # on, commit 90555872, so the log is no count): read it from keepalived's own JSON dump
    errors = lambda: lab.dump_json("s2")["VI_1"].stats.get("addr_list_err")
    if skip:
        assert errors() == 0, "adverts from the same master were checked"
        assert lab.history.states("VI_1")["s2"] == "BACKUP"
    else:
        # the count follows the adverts s2 has read (it may trail the capture by a moment)
        lab.history.wait_for(lambda h: (errors() or 0) >= n, ADV + MARGIN)
        assert (errors() or 0) >= n, f"only {errors()} address-list errors for {n} adverts with the new address list"


@pytest.mark.claim("5-gna-interval", "§5 vrrp_gna_interval: the delay between unsolicited neighbour adverts (IPv6)")
@pytest.mark.parametrize("interval", [None, 0.5], ids=["default", "0.5"])
def test_gna_interval(lab_factory, interval):
    # an IPv6 VIP on a dual-stack network: a new master announces it with unsolicited neighbour adverts
    # (ICMPv6 type 136, RFC 4861 §7.2.6), vrrp_garp_master_repeat (5) of them; vrrp_gna_interval spaces them,
    # without it they go out back to back (man 5 keepalived.conf: "delay between unsolicited NA messages")
    from lab.timers import MARGIN as M

    from .builders import Tcpdump
    topo = pair({"priority": 150}, {"priority": 100}, name="seed_gna",
                shared={"version": 3, "virtual_ipaddress": ["fd00:6b61:53::100/64"]},
                networks={"lan": {"subnet6": "fd00:6b61:53::/64"}},
                global_defs={"vrrp_gna_interval": interval} if interval else {})
    lab = lab_factory(topo)
    assert lab.wait_for_master("VI_1").name == "s1"
    s2 = lab.node("s2")
    dump = Tcpdump(lab.node("client"), f"icmp6 and ip6[40] == 136 and ether src {s2.mac()}", count=3)
    t = lab.node("s1").kill()
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=mdi(100) + M)
    lines = dump.lines(timeout=10)
    times = [float(ln.split()[0]) for ln in lines]
    assert len(times) == 3 and all("fd00:6b61:53::100" in ln for ln in lines), lines
    gaps = [b - a for a, b in zip(times, times[1:])]
    if interval is None:
        assert max(gaps) < 0.1, f"no vrrp_gna_interval: no delay between neighbour adverts, gaps {gaps}"
    else:
        assert min(gaps) >= interval - 0.05, f"gaps {gaps} shorter than vrrp_gna_interval {interval}"
