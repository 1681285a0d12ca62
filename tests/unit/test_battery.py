"""The failover battery kalab check derives from users' configs (pure: which scenarios, and the JUnit
file it writes). The live run is tests/integration/test_check_configs.py."""
import xml.etree.ElementTree as ET
from pathlib import Path

from lab.battery import Result, scenarios
from lab.cli.check import write_junit
from lab.judge import Verdict
from lab.topology.from_configs import topology_from_configs

PAIR = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"


def test_the_pair_gets_every_scenario_the_issue_lists_for_its_masters_scripts_and_nodes():
    topo = topology_from_configs([(PAIR / "lb1.conf", "lb1"), (PAIR / "lb2.conf", "lb2")])
    names = [s.name for s in scenarios(topo, {"VI_WEB": "lb1", "VI_DB": "lb2", "VI_DB_BACK": "lb2"})]
    assert names == ["SIGKILL lb1", "SIGTERM lb1", "SIGKILL lb2", "SIGTERM lb2",
                     "VRRP dropped both ways on lb1", "VRRP dropped both ways on lb2",
                     "SIGHUP reload, config unchanged on lb1", "SIGHUP reload, config unchanged on lb2",
                     "rolling restart",
                     # VI_WEB tracks ens224 (weight -60), the maintenance file (weight -100: value 1) and chk_nginx
                     "interface ens224 down on lb1", "track_file maintenance on lb1 set to 1",
                     "nginx stopped on lb1 (chk_nginx fails)",
                     "interface ens224 down on lb2", "track_file maintenance on lb2 set to 1",
                     "nginx stopped on lb2 (chk_nginx fails)"]
    one_master = [s.name for s in scenarios(topo, {"VI_WEB": "lb1", "VI_DB": "lb1"})]
    assert "SIGKILL lb2" not in one_master and "SIGKILL lb1" in one_master


def tracked_pair(tmp_path, tracker: str, track: str):
    """Nodes a (150) and b (100) whose VI_1 tracks ``track`` (a block's keyword and name), defined by ``tracker``."""
    conf = (tracker + "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 7\n priority {p}\n"
            " virtual_ipaddress {{\n  10.1.2.100/24\n }}\n " + track + "\n}}\n")
    (tmp_path / "a.conf").write_text(conf.format(p=150))
    (tmp_path / "b.conf").write_text(conf.format(p=100))
    return topology_from_configs([(tmp_path / "a.conf", "a"), (tmp_path / "b.conf", "b")])


def test_a_script_the_lab_cannot_fail_without_changing_the_config_is_listed_as_not_run(tmp_path):
    topo = tracked_pair(tmp_path, "vrrp_script chk {{\n script \"/bin/true\"\n weight -50\n}}\n",
                        "track_script {{\n  chk\n }}")
    skipped = [s for s in scenarios(topo, {"VI_1": "a"}) if s.skip]
    assert [s.name for s in skipped] == ["vrrp_script chk on a fails", "vrrp_script chk on b fails"]
    assert "would change your config" in skipped[0].skip and not skipped[0].steps


def test_junit_counts_each_verdict_and_keeps_the_reasons(tmp_path):
    results = [Result("start-up election", Verdict.HOLDS, "VI_1: MASTER a", "VI_1: MASTER a"),
               Result("SIGKILL a", Verdict.VIOLATED, "VI_1: MASTER b", "VI_1: MASTER none",
                      problems=["no MASTER by the deadline"], rules=["R_MDI: ..."]),
               Result("SIGTERM a", Verdict.CANNOT_JUDGE, problems=["cannot judge from x"]),
               Result("vrrp_script chk on a fails", None, problems=["not run: ..."])]
    root = ET.parse(write_junit(results, tmp_path / "j" / "junit.xml", "kalab-check.t")).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("4", "1", "1", "1")
    case = root.findall("testcase")[1]
    assert case.get("name") == "SIGKILL a" and case.find("failure").get("message") == "no MASTER by the deadline"
    assert "rule: R_MDI" in case.find("failure").text


def test_a_track_file_is_failed_with_the_value_its_weight_makes_a_loss(tmp_path):
    # a newcomer's pair: value -254 with weight -10 *raised* the priority, and the row said "fails".
    # man 5 keepalived.conf (Track files): the value times the weight is added: 1 x -10 = -10, 150 -> 140
    topo = tracked_pair(tmp_path, "vrrp_track_file flag {{\n file /tmp/flag\n weight -10\n}}\n",
                        "track_file {{\n  flag\n }}")
    tf = [s for s in scenarios(topo, {"VI_1": "a"}) if s.name.startswith("track_file")]
    assert [s.name for s in tf] == ["track_file flag on a set to 1", "track_file flag on b set to 1"]
    assert all(not s.skip and len(s.steps) == 2 for s in tf)
    assert tf[0].predict == ["file:a:flag:1"]


def test_the_failing_value_follows_weight_sign_and_reverse():
    from lab.battery import failing_value
    from lab.kaconf.schema import Track, VrrpTrackFile
    f = lambda **kw: VrrpTrackFile(file="/tmp/f", **kw)
    # weight 0: a non-zero value is a failure (FAULT); otherwise value x weight, negated by reverse
    assert failing_value(f(weight=0), Track(name="f")) == 1
    assert failing_value(f(weight=-60), Track(name="f")) == 1          # -60
    assert failing_value(f(weight=50), Track(name="f")) == -1          # -50
    assert failing_value(f(weight=50, reverse=True), Track(name="f")) == 1
    assert failing_value(f(weight=10), Track(name="f", weight=-20)) == 1   # the use's weight wins
    assert failing_value(f(weight=-5, init_file=True, init_value=1), Track(name="f")) == 2  # -5 at start
    # weight 0 reversed: a missing file (0) is already the failure; nothing is worse
    assert failing_value(f(weight=0, reverse=True), Track(name="f")) is None


def test_each_tracked_interface_goes_down_on_each_node(tmp_path):
    topo = tracked_pair(tmp_path, "", "track_interface {{\n  eth0 weight -30\n }}")
    ti = [s for s in scenarios(topo, {"VI_1": "a"}) if s.name.startswith("interface")]
    assert [s.name for s in ti] == ["interface eth0 down on a", "interface eth0 down on b"]
    assert ti[0].predict == ["link:a:eth0:down"] and len(ti[0].steps) == 2


def test_check_plan_prints_the_nodes_and_the_scenarios_and_starts_nothing():
    from typer.testing import CliRunner
    from lab.cli import app
    r = CliRunner().invoke(app, ["check", str(PAIR / "lb1.conf"), str(PAIR / "lb2.conf"), "--plan"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())        # the console wraps long lines
    assert "VI_WEB (vrid 51, priority 150)" in out and "bond0.100 192.168.100.0/24 .2" in out
    assert "after the start-up election: VI_DB MASTER lb2, VI_DB_BACK MASTER lb2, VI_WEB MASTER lb1" in out
    assert "nginx stopped on lb1 (chk_nginx fails)" in r.output and "SIGKILL lb2" in r.output


def test_a_tracked_uplink_gets_a_link_of_its_own_that_the_battery_takes_down(tmp_path):
    # track_interface on an interface no instance uses: the lab must give the node that interface
    topo = tracked_pair(tmp_path, "", "track_interface {{\n  ens224 weight -30\n }}")
    assert {n: sorted(s.interfaces) for n, s in topo.nodes.items()} == \
        {"a": ["ens224", "eth0"], "b": ["ens224", "eth0"], "client": ["eth0"]}
    assert topo.nodes["a"].interfaces["ens224"].network == topo.nodes["b"].interfaces["ens224"].network == "link-ens224"
    assert "link-ens224" not in {i.network for i in topo.nodes["client"].interfaces.values()}
    names = [s.name for s in scenarios(topo, {"VI_1": "a"}) if s.name.startswith("interface")]
    assert names == ["interface ens224 down on a", "interface ens224 down on b"]
