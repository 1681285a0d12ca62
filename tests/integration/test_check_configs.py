"""Users' own keepalived.conf files, unchanged, in the lab (issue 14), on the production-style pair in
topologies/configs/prod_pair/ (includes, $IFACE, @lb1/@lb2 lines, interfaces bond0.100 and ens224, the
configs' own subnets 192.168.100.0/24 and 10.20.30.0/24, unicast VI_DB, the sync group G_DB of VI_DB and
VI_DB_BACK, on VI_WEB a tracked nginx check with weight -60, track_interface ens224 weight -60 and the
track_file maintenance with weight -100, and VI_WEB6: the web VIP over IPv6 (VRRPv3, 2001:db8:100::10/64) with
VI_WEB's VRID 51, tracking chk_nginx).

Expected before the run, from the files and the rules (not from a run):
- lb1 reads priority 150 for VI_WEB and 100 for VI_DB and VI_DB_BACK, lb2 the opposite (@ID lines, man 5
  keepalived.conf "conditional configuration"); keepalived's own JSON dump shows those priorities;
- VI_WEB elects lb1, VI_DB and VI_DB_BACK elect lb2 (highest priority, RFC 3768 §6.4.3); VI_WEB6 elects lb1 on
  its own IPv6 adverts (RFC 5798 §5.2.3: one VRID in IPv4 and IPv6 is two virtual routers), so lb1 holds the
  IPv6 VIP and the client reaches it over IPv6;
- nginx stopped on lb1: chk_nginx fails, 150 - 60 = 90 < 100, so VI_WEB and VI_WEB6 move to lb2 (R_WEIGHT_NEG);
- ens224 down on lb1: 150 - 60 = 90 < 100, VI_WEB moves to lb2 (R_TRACK_IF); maintenance 1 on lb1:
  150 - 100 = 50, VI_WEB moves to lb2 (R_TRACK_FILE); ens224 down on lb2: VI_DB_BACK is in FAULT there and
  G_DB takes VI_DB with it, both to lb1 (R_SYNC_FAULT);
- every scenario of the battery holds, and kalab check exits 0 with a JUnit file listing them.

One test, in order: the pair's fixed subnet admits one lab at a time on an engine. It ends with the pair on a
host where 192.168.100.0/24 is taken by a network that is not a lab's (kalab check moves it, --exact refuses).
"""
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lab.lab import SCRIPT_WRAPPER
from lab.topology.render import render_node

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PAIR = ROOT / "topologies" / "configs" / "prod_pair"
EXPECTED_PRIORITY = {"lb1": {"VI_WEB": 150, "VI_DB": 100, "VI_DB_BACK": 100, "VI_WEB6": 150},
                     "lb2": {"VI_WEB": 100, "VI_DB": 150, "VI_DB_BACK": 150, "VI_WEB6": 100}}


def _clash_network(client, name: str, subnet: str):
    """A network that is not a lab's, on ``subnet``: created once no other network holds it. Another lab of this
    run may hold the same production subnet for a while (test_gateway_host runs these configs too; CI-21: the
    engine refused this create with "Pool overlaps"); the lab's own wait for it is used (lab.runtime.network)."""
    import ipaddress
    import time

    from docker.errors import APIError
    from docker.types import IPAMConfig, IPAMPool

    from lab.runtime.network import _wait_until_free
    deadline = time.time() + 900
    while True:
        _wait_until_free(client, "clash", [ipaddress.ip_network(subnet)], lambda m: None, deadline)
        try:
            return client.networks.create(name, driver="bridge", labels={"kalabtest": "clash"},
                                          ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]))
        except APIError as e:
            if "overlap" not in str(e).lower():
                raise


def test_the_pair_runs_unchanged_and_kalab_check_judges_every_scenario(lab_factory, tmp_path):
    lab = lab_factory(PAIR / "pair.yaml")
    for name in ("lb1", "lb2"):
        node = lab.node(name)
        # what runs: the lab's wrapper (as `kalab render` shows it), then the user's files byte for byte
        assert node.read_file("/etc/keepalived/keepalived.conf") == render_node(lab.topology, name, lab.subnets,
                                                                               script_wrapper=SCRIPT_WRAPPER)
        for path, data in lab.topology.node_configs[name].files.items():
            assert node.read_file(path) == data.decode(), f"{name}: {path} differs from the user's file"
        assert "bond0.100" in node.exec("ip -o link show bond0.100").output
        assert "ens224" in node.exec("ip -o link show ens224").output
    assert lab.wait_for_master("VI_WEB").name == "lb1" and lab.wait_for_master("VI_DB").name == "lb2"
    assert lab.wait_for_master("VI_DB_BACK").name == "lb2"
    assert lab.wait_for_master("VI_WEB6").name == "lb1"
    assert [str(v) for v in lab.vips("VI_WEB6")] == ["2001:db8:100::10"]
    assert lab.vip_holders("VI_WEB6") == ["lb1"] and lab.http_get_vip("VI_WEB6") == "lb1"
    for name, want in EXPECTED_PRIORITY.items():          # the model's, keepalived's own dump: the same
        assert {i: x.priority for i, x in lab.topology.instances(name).items()} == want
        assert {i: d.effective_priority for i, d in lab.dump_json(name).items()} == want
    lab.check.assert_matches_model()
    # a SIGHUP rereads the same files and keeps everything: the lab's notify fifo (its record) and the tracked
    # scripts (the lab's global_defs used to come first, and keepalived 2.2.7 then dropped both on reload)
    lab.node("lb2").kill("SIGHUP")
    # one input at a time: a priority-0 advert that reaches lb2 while it reloads is lost (keepalived restarts its
    # instances' timers on reload; CI, stop 24: lb2 took over a master down interval after the SIGTERM, not its
    # skew time), and the model has no rule for a reload in flight. So lb1 stops once lb2's reload is complete.
    assert lab.node("lb2").wait_for_log(r"Reload complete", 10.0) is not None, "lb2 did not finish its reload"
    t = lab.node("lb1").kill("SIGTERM")       # lb2 takes VI_WEB over within its skew time (RFC 3768 §6.4.2)
    up = lab.wait_for_transition("VI_WEB", "MASTER", node="lb2", since=t)
    assert up["priority"] == 100
    log = lab.node("lb2").logs(tail=200)
    assert "Reload complete" in log and "- removing" not in log and "Failed to set default user" not in log, log[-3000:]
    lab.stop()

    report = tmp_path / "check"
    r = subprocess.run([sys.executable, "-m", "lab.cli", "check", str(PAIR / "lb1.conf"), str(PAIR / "lb2.conf"),
                        "--expect", str(PAIR / "intent.yaml"), "--report", str(report)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-5000:]
    assert "the rules give all 6 expectation(s)" in out
    suite = ET.parse(report / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert {"start-up election", "SIGKILL lb1", "SIGTERM lb1", "SIGKILL lb2", "SIGTERM lb2",
            "VRRP dropped both ways on lb1", "SIGHUP reload, config unchanged on lb1", "rolling restart",
            "nginx stopped on lb1 (chk_nginx fails)", "interface ens224 down on lb1", "interface ens224 down on lb2",
            "track_file maintenance on lb1 set to 1", "track_file maintenance on lb2 set to 1"} <= set(cases)
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "0"), out[-5000:]
    nginx = cases["nginx stopped on lb1 (chk_nginx fails)"].find("system-out").text
    assert "expected: VI_WEB: MASTER lb2" in nginx and "observed: VI_WEB: MASTER lb2" in nginx
    lines = dict(ln.split(": ", 1) for ln in nginx.splitlines() if ln.startswith(("expected: ", "observed: ")))
    assert "VI_WEB6: MASTER lb2" in lines["expected"] and "VI_WEB6: MASTER lb2" in lines["observed"], nginx
    for name in ("interface ens224 down on lb1", "track_file maintenance on lb1 set to 1"):
        text = cases[name].find("system-out").text
        assert "expected: VI_WEB: MASTER lb2" in text and "observed: VI_WEB: MASTER lb2" in text, text
    backend = cases["interface ens224 down on lb2"].find("system-out").text
    assert "VI_DB_BACK: MASTER lb1" in backend and "VI_DB: MASTER lb1" in backend, backend
    assert (report / "report.html").exists() and "verdict: holds" in out

    # the same pair on a host where 192.168.100.0/24 is taken by a network that is not a lab's: kalab check moves
    # that subnet to a lab subnet, shows the move and the diff, and the scenario still holds; --exact refuses
    import docker
    client = docker.from_env()
    clash = _clash_network(client, f"kalabtest-clash-{lab.id}", "192.168.100.0/24")
    try:
        args = [sys.executable, "-m", "lab.cli", "check", str(PAIR / "lb1.conf"), str(PAIR / "lb2.conf")]
        r = subprocess.run(args + ["--exact"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "overlaps Docker network kalabtest-clash" in r.stdout + r.stderr, r.stdout + r.stderr
        assert "Traceback" not in r.stdout + r.stderr
        r = subprocess.run(args + ["--only", "SIGKILL lb1", "--report", str(tmp_path / "moved")], cwd=tmp_path,
                           capture_output=True, text=True, timeout=900)
        out = " ".join((r.stdout + r.stderr).split())
        assert r.returncode == 0 and "verdict: holds" in out, out[-4000:]
        assert "moved seg1: 192.168.100.0/24 -> 10.213." in out and "overlaps Docker network kalabtest-clash" in out
        assert "-@lb1 unicast_src_ip 192.168.100.2" in out and "+@lb1 unicast_src_ip 10.213." in out, out[:4000]
    finally:
        clash.remove()
