"""A node that runs a user's own keepalived.conf unchanged (config_file) and the topology built from such
files (kalab check): pure, no Docker. The example pair is topologies/configs/prod_pair/ (includes,
$IFACE definitions, @lb1/@lb2 lines, unicast peers, a tracked script)."""
import ipaddress
from pathlib import Path

import pytest

from lab.errors import ConfigError, TopologyError
from lab.topology import load
from lab.topology.from_configs import parse_config_arg, topology_from_configs
from lab.topology.loader import validate
from lab.topology.render import lab_config, render_node
from lab.topology.user_config import read_node_config, wrapper_config

ROOT = Path(__file__).resolve().parents[2]
PAIR = ROOT / "topologies" / "configs" / "prod_pair"


def test_the_file_and_every_include_go_to_the_node_byte_for_byte():
    nc = read_node_config(PAIR / "lb1.conf", "lb1")
    assert set(nc.files) == {str(PAIR / "lb1.conf"), str(PAIR / "conf.d" / "vi_db.conf"), str(PAIR / "conf.d" / "vi_web.conf"),
                             str(PAIR / "conf.d" / "vi_web6.conf")}
    assert nc.files[str(PAIR / "conf.d" / "vi_web.conf")] == (PAIR / "conf.d" / "vi_web.conf").read_bytes()
    # @lb1 lines for lb1, $IFACE expanded: what keepalived reads with config id lb1
    assert {n: i.priority for n, i in nc.parsed.instances.items()} == {"VI_DB": 100, "VI_DB_BACK": 100, "VI_WEB": 150,
                                                                     "VI_WEB6": 150}
    assert nc.parsed.instances["VI_DB"].unicast_src_ip == "192.168.100.2"
    assert nc.parsed.instances["VI_WEB"].interface == "bond0.100"
    assert "priority 150" in nc.expanded and "@lb" not in nc.expanded and "$IFACE" not in nc.expanded
    lb2 = read_node_config(PAIR / "lb2.conf", "lb2")
    assert {n: i.priority for n, i in lb2.parsed.instances.items()} == {"VI_DB": 150, "VI_DB_BACK": 150, "VI_WEB": 100,
                                                                      "VI_WEB6": 100}
    assert list(lb2.parsed.sync_groups) == ["G_DB"] and lb2.parsed.instances["VI_DB_BACK"].interface == "ens224"


def test_the_lab_config_only_adds_its_notify_lines_and_includes_the_users_file():
    text = wrapper_config("/home/me/lb1.conf", "/run/kalab/notify.fifo")
    # the user's file first: keepalived 2.2.7 reread the lab's block before the user's script_user on SIGHUP
    # and dropped the fifo and the tracked scripts (tests/integration/test_check_configs.py)
    assert text.splitlines()[0] == "include /home/me/lb1.conf"
    assert "vrrp_notify_fifo /run/kalab/notify.fifo" in text and "vrrp_notify_priority_changes" in text


def test_a_users_own_vrrp_notify_fifo_is_refused_with_its_line(tmp_path):
    f = tmp_path / "k.conf"
    f.write_text("global_defs {\n    router_id x\n    vrrp_notify_fifo /tmp/mine\n}\n")
    with pytest.raises(ConfigError, match=r"k\.conf:3: vrrp_notify_fifo: .*move yours to `notify_fifo`"):
        read_node_config(f, "x")


def test_a_missing_file_or_include_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such keepalived.conf"):
        read_node_config(tmp_path / "nope.conf", "x")


def _topo(tmp_path, extra_node=""):
    (tmp_path / "t.yaml").write_text(f"""name: t
networks: {{lan: {{subnet: 192.168.100.0/24}}}}
vrrp_instances:
  VI_SHARED: {{interface: eth0, virtual_router_id: 9, virtual_ipaddress: [lan+200]}}
nodes:
  lb1:
    interfaces: {{bond0.100: {{network: lan, host: 2}}}}
    config_file: {PAIR / 'lb1.conf'}
{extra_node}
""")
    return tmp_path / "t.yaml"


def test_a_config_file_node_has_exactly_the_instances_of_its_file(tmp_path):
    t = load(_topo(tmp_path))
    assert sorted(t.instances("lb1")) == ["VI_DB", "VI_DB_BACK", "VI_WEB", "VI_WEB6"], \
        "the shared VI_SHARED is not merged into it"
    assert list(t.scripts("lb1")) == ["chk_nginx"]
    assert t.global_defs_for("lb1").enable_script_security is True
    assert render_node(t, "lb1", {}, notify_fifo="/run/f").startswith(f"include {PAIR / 'lb1.conf'}\n")
    assert lab_config(t, "lb1", {}).instances["VI_WEB"].priority == 150


def test_config_file_with_its_own_instances_or_a_template_is_an_error_naming_the_field(tmp_path):
    bad = "    vrrp_instances: {VI_WEB: {priority: 1}}"
    p = _topo(tmp_path)
    p.write_text(p.read_text().replace(f"    config_file: {PAIR / 'lb1.conf'}\n", f"    config_file: {PAIR / 'lb1.conf'}\n{bad}\n"))
    with pytest.raises(TopologyError, match=r"nodes\.lb1\.vrrp_instances.*come from that file"):
        load(p)
    with pytest.raises(TopologyError, match="config_file and config_template both given"):
        validate({"name": "x", "networks": {"lan": {}}, "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}},
                  "config_file": "a.conf", "config_template": "a.j2"}}})


def test_a_config_file_that_does_not_exist_is_named_at_its_field(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("name: t\nnetworks: {lan: {}}\nnodes:\n  a:\n    interfaces: {eth0: {network: lan}}\n"
                 "    config_file: missing.conf\n")
    with pytest.raises(TopologyError, match=r"t\.yaml:6.*nodes\.a\.config_file.*missing\.conf: no such keepalived\.conf \(a relative path is read from "):
        load(p)


def test_parse_config_arg_names_nodes_by_stem_or_explicit_id():
    assert parse_config_arg("x/lb1.conf") == (Path("x/lb1.conf"), "lb1")
    assert parse_config_arg("/etc/keepalived/keepalived.conf@lb2") == (Path("/etc/keepalived/keepalived.conf"), "lb2")
    with pytest.raises(ConfigError, match="FILE@NAME"):
        parse_config_arg("1.conf")


def test_the_pair_gets_its_segments_with_their_subnets_interface_names_and_unicast_addresses():
    t = topology_from_configs([(PAIR / "lb1.conf", "lb1"), (PAIR / "lb2.conf", "lb2")], "prod_pair")
    # bond0.100 carries VI_WEB and VI_DB (192.168.100.0/24 from their VIPs), ens224 VI_DB_BACK (10.20.30.0/24)
    assert {n: str(s.subnet) for n, s in t.networks.items()} == {"seg1": "192.168.100.0/24", "seg2": "10.20.30.0/24"}
    # unicast_src_ip gives .2 and .3 on bond0.100; ens224 has none: the first free hosts from .11
    assert {n: {i: (s.network, s.host) for i, s in spec.interfaces.items()} for n, spec in t.nodes.items()} == {
        "lb1": {"bond0.100": ("seg1", 2), "ens224": ("seg2", 11)},
        "lb2": {"bond0.100": ("seg1", 3), "ens224": ("seg2", 12)},
        "client": {"eth0": ("seg1", 11), "eth1": ("seg2", 13)}}
    assert {n: {i: x.priority for i, x in t.instances(n).items()} for n in t.keepalived_nodes()} == \
        {"lb1": {"VI_DB": 100, "VI_DB_BACK": 100, "VI_WEB": 150, "VI_WEB6": 150},
         "lb2": {"VI_DB": 150, "VI_DB_BACK": 150, "VI_WEB": 100, "VI_WEB6": 100}}
    # VI_WEB6's IPv6 VIP 2001:db8:100::10/64 on bond0.100: that segment is dual-stack, on the VIP's /64
    assert {n: str(s.subnet6) for n, s in t.networks.items() if s.subnet6} == {"seg1": "2001:db8:100::/64"}
    assert t.addresses6("lb1") == {"bond0.100": ipaddress.IPv6Address("2001:db8:100::2")}


def test_auto_addresses_avoid_vips_and_addresses_outside_the_subnet_are_named(tmp_path):
    conf = "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 7\n priority {p}\n virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
    (tmp_path / "a.conf").write_text(conf.format(p=150, vip="10.1.2.11/24"))
    (tmp_path / "b.conf").write_text(conf.format(p=100, vip="10.1.2.11/24"))
    t = topology_from_configs([(tmp_path / "a.conf", "a"), (tmp_path / "b.conf", "b")])
    hosts = sorted(s.interfaces["eth0"].host for s in t.nodes.values())
    assert 11 not in hosts and len(set(hosts)) == 3
    (tmp_path / "b.conf").write_text(conf.format(p=100, vip="10.9.9.9/24"))
    with pytest.raises(ConfigError, match=r"b\.conf: 10\.9\.9\.9 is outside 10\.1\.2\.0/24.*a lab network is one subnet"):
        topology_from_configs([(tmp_path / "a.conf", "a"), (tmp_path / "b.conf", "b")])
    with pytest.raises(ConfigError, match="both be node 'a'"):
        topology_from_configs([(tmp_path / "a.conf", "a"), (tmp_path / "b.conf", "a")])


def test_kalab_check_input_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.conf: no such keepalived\.conf"):
        topology_from_configs([(tmp_path / "nope.conf", "nope")])
    with pytest.raises(ConfigError, match="a directory: give the keepalived.conf file itself"):
        topology_from_configs([(tmp_path, "x")])
    (tmp_path / "bad.conf").write_text("vrrp_instance VI_1 {\n interface eth0\n")
    with pytest.raises(ConfigError, match=r"bad\.conf:1: block 'vrrp_instance VI_1' is never closed"):
        topology_from_configs([(tmp_path / "bad.conf", "bad")])


def test_a_config_id_no_line_is_for_is_named_and_an_empty_config_is_refused(tmp_path):
    nc = read_node_config(PAIR / "lb1.conf", "lbX")
    assert any("no @ID line is for config id 'lbX' (the files have @lb1, @lb2)" in w for w in nc.warnings)
    assert not any("no @ID line" in w for w in read_node_config(PAIR / "lb1.conf", "lb1").warnings)
    (tmp_path / "empty.conf").write_text("")
    with pytest.raises(ConfigError, match=r"empty\.conf: no vrrp_instance for config id 'empty': nothing to run"):
        topology_from_configs([(tmp_path / "empty.conf", "empty")])


def test_a_missing_include_is_an_error_not_a_quietly_smaller_config(tmp_path):
    (tmp_path / "a.conf").write_text("include nothere/*.conf\nvrrp_instance VI_1 {\n interface eth0\n"
                                     " virtual_router_id 5\n virtual_ipaddress {\n 10.1.1.1/24\n }\n}\n")
    with pytest.raises(ConfigError, match=r"a\.conf:1: Config files missing 'nothere/\*\.conf'"):
        read_node_config(tmp_path / "a.conf", "a")


def test_an_ipv6_vip_gets_a_dual_stack_network_and_runs_as_vrrpv3(tmp_path):
    # no `version` line: keepalived runs an instance with IPv6 VIPs as VRRPv3 (VRRPv2 is IPv4 only, RFC 3768)
    conf = ("vrrp_instance VI_4 {{\n interface eth0\n virtual_router_id 9\n priority {p}\n"
            " virtual_ipaddress {{\n  10.9.9.100/24\n }}\n}}\n"
            "vrrp_instance VI_6 {{\n interface eth0\n virtual_router_id 9\n priority {p}\n"
            " virtual_ipaddress {{\n  fd00:1::10/64\n }}\n}}\n")
    (tmp_path / "a.conf").write_text(conf.format(p=150))
    (tmp_path / "b.conf").write_text(conf.format(p=100))
    t = topology_from_configs([(tmp_path / "a.conf", "a"), (tmp_path / "b.conf", "b")])
    assert list(t.networks) == ["lan"]
    assert str(t.networks["lan"].subnet6) == "fd00:1::/64" and str(t.networks["lan"].subnet) == "10.9.9.0/24"
    six = t.addresses6("a")["eth0"]
    assert six in t.networks["lan"].subnet6 and six != ipaddress.IPv6Address("fd00:1::10")
    from lab.election.specs import specs_from_topology
    specs = specs_from_topology(t)
    assert (specs["VI_6"]["a"].version, specs["VI_6"]["a"].family) == (3, 6)
    assert (specs["VI_4"]["a"].version, specs["VI_4"]["a"].family) == (2, 4)


def test_ipv6_vips_of_one_segment_outside_one_subnet_are_refused_naming_the_file(tmp_path):
    conf = ("vrrp_instance VI_6 {{\n interface eth0\n virtual_router_id 9\n priority {p}\n"
            " virtual_ipaddress {{\n  fd00:1::10/64\n  {extra}\n }}\n}}\n")
    (tmp_path / "a.conf").write_text(conf.format(p=150, extra="fd00:1::11/64"))
    (tmp_path / "b.conf").write_text(conf.format(p=100, extra="fd00:2::11/64"))
    with pytest.raises(ConfigError, match=r"b\.conf: fd00:2::11 is outside fd00:1::/64"):
        topology_from_configs([(tmp_path / "a.conf", "a"), (tmp_path / "b.conf", "b")])


def test_a_history_of_a_config_file_lab_can_be_judged_where_the_files_are_not(tmp_path):
    # kalab judge on a kalab check history said "nodes.lb1.vrrp_instances: node lb1 runs its config_file: ...
    # remove them here" (newcomer finding): the meta record carries the instances the lab read from the files
    import json
    from lab.history import History
    from lab.judge.offline import history_topology
    t = topology_from_configs([(PAIR / "lb1.conf", "lb1"), (PAIR / "lb2.conf", "lb2")], "prod_pair")
    h = History()
    h.meta["topology"] = json.loads(t.model_dump_json(exclude_none=True))
    h.meta["topology"]["nodes"]["lb1"]["config_file"] = str(tmp_path / "gone" / "lb1.conf")   # not on this host
    back = history_topology(h)
    assert {n: {i: x.priority for i, x in back.instances(n).items()} for n in ("lb1", "lb2")} == \
        {n: {i: x.priority for i, x in t.instances(n).items()} for n in ("lb1", "lb2")}
    assert back.sync_groups("lb2").keys() == {"G_DB"}


def test_a_node_on_host_1_moves_the_engines_gateway_out_of_its_way(tmp_path):
    # a production pair whose unicast_src_ip is .1 (newcomer finding: "host: Input should be greater than or equal
    # to 2", naming no file): the lab gives lb1 .1 and the engine's reserved gateway another free address
    import shutil
    shutil.copytree(PAIR, tmp_path / "pair")
    db = tmp_path / "pair" / "conf.d" / "vi_db.conf"
    db.write_text(db.read_text().replace("192.168.100.2", "192.168.100.1"))
    t = topology_from_configs([(tmp_path / "pair" / "lb1.conf", "lb1"), (tmp_path / "pair" / "lb2.conf", "lb2")])
    assert t.nodes["lb1"].interfaces["bond0.100"].host == 1
    seg = t.nodes["lb1"].interfaces["bond0.100"].network
    # not a node's host (1, 3, the client's 11) nor a VIP's (.10, .20): the highest free one
    assert t.gateway_host(seg) == 254
    assert t.gateway_host(t.nodes["lb1"].interfaces["ens224"].network) == 1
