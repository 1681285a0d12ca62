"""Seed §5: global_defs and vrrp_instance keywords behave as the seed explains them.

Each claim quotes the seed's explanation; deadlines come from RFC 3768 §6.1 and the man page.
"""
import ipaddress

import time

import pytest

from lab.conformance import expect_claim
from lab.timers import MARGIN
from lab.topology import validate

from .builders import BASE_INSTANCE, mdi, pair, Tcpdump

#: a conformance claim is checked on every keepalived release (lab.releases): one column each
pytestmark = pytest.mark.every_release





def addr_info(node, ip):
    """(ifname, prefixlen, label) of ``ip`` on ``node`` from ``ip -j addr``; None if absent."""
    import json
    for link in json.loads(node.exec(["ip", "-j", "-4", "addr"], check=True).output):
        for a in link.get("addr_info", []):
            if a["local"] == str(ip):
                return link["ifname"], a["prefixlen"], a.get("label")
    return None


@pytest.mark.claim("5-vip-32", "§5 virtual_ipaddress: without /prefix the VIP gets /32")
def test_vip_without_prefix_is_slash_32(lab_factory):
    lab = lab_factory(pair({"priority": 150}, {"priority": 100}, client=False))
    m = lab.wait_for_master("VI_1")
    assert addr_info(m, lab.vip("VI_1"))[1] == 32


def two_nic_topology(vips):
    inst = {**BASE_INSTANCE, "interface": "eth0", "virtual_ipaddress": vips}
    node = {"interfaces": {"eth0": {"network": "lan"}, "eth1": {"network": "lan2"}, "eth2": {"network": "lan3"}}}
    return validate({"name": "seed_vip_forms", "networks": {"lan": {}, "lan2": {}, "lan3": {}},
                     "vrrp_instances": {"VI_1": inst},
                     "nodes": {"s1": {**node, "vrrp_instances": {"VI_1": {"priority": 150}}}}}, "<seed builder>")


@pytest.mark.claim("5-vip-dev-label", "§5 virtual_ipaddress: `/24 dev eth1` puts the VIP on eth1; "
                   "`dev eth2 label eth2:1` also gives it that label")
def test_vip_dev_and_label(lab_factory):
    lab = lab_factory(two_nic_topology(["lan2+201/24 dev eth1", "lan3+202/24 dev eth2 label eth2:1"]))
    m = lab.wait_for_master("VI_1")
    v1 = lab.subnets["lan2"].network_address + 201
    v2 = lab.subnets["lan3"].network_address + 202
    assert addr_info(m, v1) == ("eth1", 24, "eth1")
    assert addr_info(m, v2) == ("eth2", 24, "eth2:1")


@pytest.mark.claim("5-vip-default-eth0", "§5 virtual_ipaddress: a VIP with no dev goes on eth0 (不指定网卡，默认为eth0)")
@pytest.mark.differs(reason="seed: a VIP without dev goes on eth0; keepalived "
                   "puts it on the instance's `interface` (man 5 keepalived.conf, virtual_ipaddress: "
                   "'dev <STRING>' defaults to the interface of the vrrp_instance)")
def test_vip_without_dev_goes_to_eth0(lab_factory):
    topo = two_nic_topology(["lan2+203"])
    topo.vrrp_instances["VI_1"]["interface"] = "eth1"      # the instance runs on eth1
    lab = lab_factory(topo)
    m = lab.wait_for_master("VI_1")
    where = addr_info(m, lab.subnets["lan2"].network_address + 203)
    assert where is not None, "the VIP must be configured somewhere"
    expect_claim(where[0] == "eth0", f"the VIP is on {where[0]}")


@pytest.mark.claim("5-auth-pass", "§5 auth_type PASS: nodes of one virtual router must share the password "
                   "(otherwise they do not recognise each other)")
def test_auth_pass_mismatch_splits_brain(lab_factory):
    lab = lab_factory(pair({"priority": 150, "authentication": {"auth_type": "PASS", "auth_pass": "test"}},
                           {"priority": 100, "authentication": {"auth_type": "PASS", "auth_pass": "other"}}))
    # s2 ignores s1's adverts (wrong password), so it becomes MASTER too after its master down interval
    lab.wait_for_transition("VI_1", "MASTER", node="s1", since=lab.history.t0, timeout=lab.convergence_deadline("VI_1"))
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=lab.history.t0, timeout=lab.convergence_deadline("VI_1"))
    assert sorted(lab.vip_holders("VI_1")) == ["s1", "s2"]


@pytest.mark.claim("5-auth-pass-same", "§5 auth_type PASS with the same password: one master")
def test_auth_pass_same_one_master(lab_factory):
    auth = {"auth_type": "PASS", "auth_pass": "test"}
    lab = lab_factory(pair({"priority": 150, "authentication": auth}, {"priority": 100, "authentication": auth}))
    assert lab.wait_for_master("VI_1").name == "s1"
    assert lab.vip_holders("VI_1") == ["s1"]


@pytest.mark.claim("5-preempt-delay", "§5 preempt_delay (the seed writes `preemtp_delay`): the preemption "
                   "happens that many seconds late")
def test_preempt_delay(lab_factory):
    delay = 5.0
    lab = lab_factory(pair({"priority": 150, "preempt_delay": delay}, {"priority": 100}))
    assert lab.wait_for_master("VI_1").name == "s1"
    t = lab.node("s1").kill()
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=mdi(100) + MARGIN)
    t = lab.node("s1").start()
    b = lab.wait_for_transition("VI_1", "BACKUP", node="s1", since=t, timeout=15)
    m = lab.wait_for_transition("VI_1", "MASTER", node="s1", since=t, timeout=delay + mdi(150) + 15)
    # man 5 keepalived.conf preempt_delay: the preemption waits `delay` seconds after startup;
    # it cannot come before the delay has run out
    assert m.t - b.t >= delay - MARGIN, f"preempted {m.t - b.t:.2f} s after entering BACKUP"


def notify_cmd(tag):
    # /usr/bin/sh, not /bin/sh: keepalived 2.3.x disables a script whose path goes through a symlinked
    # directory (the claim 5-script-symlink-paths); this claim is about when the scripts run
    return f"/usr/bin/sh -c 'echo {tag} >> /tmp/notify.log'"


@pytest.mark.claim("5-notify", "§5 notify_master / notify_backup / notify_fault / notify_stop run on the "
                   "matching transitions")
def test_notify_scripts(lab_factory):
    from .builders import fail_script, flag_script
    shared = {k: notify_cmd(k.split("_")[1]) for k in ("notify_master", "notify_backup", "notify_fault", "notify_stop")}
    shared["track_script"] = ["chk"]
    lab = lab_factory(pair({"priority": 150}, {"priority": 100}, shared=shared, scripts=flag_script("chk")))
    s1 = lab.wait_for_master("VI_1")
    assert s1.name == "s1"                  # preempting: s1 is MASTER once settled, even if s2 won the start race
    t = time.monotonic()            # the action begins: a report before it (a start race's) is not its effect
    fail_script(lab, "s1", "chk")
    lab.wait_for_transition("VI_1", "FAULT", node="s1", since=t, timeout=1 + MARGIN + 1)
    log = s1.exec(["cat", "/tmp/notify.log"], check=True).output.split()
    # one notify script per transition keepalived reported (notify_fifo), in order: backup, master, ... fault
    assert log == transitions(lab, "s1") and log[0] == "backup" and log[-2:] == ["master", "fault"], log
    s2 = lab.node("s2")
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=mdi(100) + 1 + MARGIN)
    s2.kill("SIGTERM")                      # keepalived stops gracefully: notify_stop runs
    s2.container.wait(timeout=15)           # docker wait: returns when keepalived (PID 1) has exited
    lab.wait_for_transition("VI_1", "STOP", node="s2", since=t, timeout=MARGIN)    # its last line is read
    log2 = s2.read_file_any_state("/tmp/notify.log").split()
    # s2 may have won the start race and handed over to s1 (backup, master, backup, ...): whatever it
    # went through, each transition ran its own script, and the last were master (s1 in FAULT) then stop
    assert log2 == transitions(lab, "s2") and log2[0] == "backup" and log2[-2:] == ["master", "stop"], log2


@pytest.mark.claim("5-script-symlink-paths", "man 5 keepalived.conf (use_symlink_paths): keepalived resolves script "
                   "path names to remove symlinks, so a notify script at /bin/sh (/bin a symbolic link to usr/bin on "
                   "merged-/usr Debian) runs", source="man")
@pytest.mark.differs("2.3.3", "2.3.4", reason=(
    "man 5 keepalived.conf: script paths are resolved to remove symlinks (use_symlink_paths keeps them); keepalived "
    "2.3.x checks the security of the path as written (lib/notify.c check_security, commit ebf37b95, first in v2.3.0), "
    "finds /bin a symbolic link, logs \"Wrong file type found in script path '/bin/sh'\" and disables the script"))
def test_a_script_path_through_a_symlinked_directory_runs(lab_factory):
    lab = lab_factory(pair({"priority": 150, "notify_master": "/bin/sh -c 'echo master >> /tmp/notify.log'"},
                           {"priority": 100}, client=False))
    s1 = lab.node("s1")
    assert s1.exec("test -L /bin").ok, "the image's /bin is not a symbolic link: this claim cannot be checked"
    assert lab.wait_for_master("VI_1").name == "s1"
    # keepalived runs the notify script when s1 enters MASTER; wait (bounded) for its line
    ran = s1.exec(f"timeout {1 + MARGIN:g} sh -c 'until grep -q master /tmp/notify.log 2>/dev/null; do sleep 0.05; done'").ok
    if not ran:    # the stated reason must be the real one
        assert "Wrong file type found in script path '/bin/sh'" in s1.logs(300)
    expect_claim(ran, "notify_master did not run: keepalived disabled the script")


def transitions(lab, node: str) -> list[str]:
    """The node's VI_1 transitions as keepalived reported them (notify_fifo), as notify script tags."""
    return [e["state"].lower() for e in lab.history.events("state", node=node, instance="VI_1")
            if e.get("type", "INSTANCE") == "INSTANCE" and e["state"] in ("BACKUP", "MASTER", "FAULT", "STOP")]


@pytest.mark.claim("5-advert-int", "§5 advert_int: the interval between the MASTER's adverts, in seconds")
def test_advert_int_spacing(lab_factory):
    lab = lab_factory(pair({"priority": 150, "advert_int": 2}, {"priority": 100, "advert_int": 2}, client=False))
    m = lab.wait_for_master("VI_1")
    dump = Tcpdump(lab.node("s2"), f"ip proto 112 and src {m.address}", count=4)
    times = [float(l.split()[0]) for l in dump.lines(timeout=4 * 2 + 3)]
    assert len(times) == 4, times
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(abs(g - 2.0) < 0.2 for g in gaps), gaps
