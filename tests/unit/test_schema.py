"""Topology schema: every keyword the seed uses, users' templates, and errors that say what is allowed."""
import ipaddress
from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.kaconf.from_config import from_text
from lab.topology import TopologyBuilder, load, parse_vip, validate
from lab.topology.render import lab_config, render_node

ROOT = Path(__file__).resolve().parents[2]
SUBNETS = {"lan": ipaddress.IPv4Network("10.213.4.0/24"), "wan": ipaddress.IPv4Network("10.213.5.0/24")}
SEED_TOPOLOGIES = sorted((ROOT / "topologies").glob("seed_*.yaml"))


def test_seed_topologies_load_render_and_have_a_purpose():
    assert len(SEED_TOPOLOGIES) >= 8
    for f in SEED_TOPOLOGIES:
        t = load(f)
        assert t.description, f
        for n in t.keepalived_nodes():
            assert "vrrp_instance VI_1" in render_node(t, n, SUBNETS)


def test_seed_example_meanings():
    a = load(ROOT / "topologies/seed_1a_master_higher.yaml")
    assert a.instances("server1")["VI_1"].state == "MASTER"
    assert a.instances("server1")["VI_1"].priority > a.instances("server2")["VI_1"].priority
    b = load(ROOT / "topologies/seed_1b_master_lower.yaml")
    assert b.instances("server1")["VI_1"].state == "MASTER"
    assert b.instances("server1")["VI_1"].priority < b.instances("server2")["VI_1"].priority
    two = load(ROOT / "topologies/seed_2_nopreempt.yaml")
    assert all(two.instances(n)["VI_1"].nopreempt and two.instances(n)["VI_1"].state == "BACKUP"
               for n in two.keepalived_nodes())
    pos, neg = load(ROOT / "topologies/seed_weight_positive.yaml"), load(ROOT / "topologies/seed_weight_negative.yaml")
    assert pos.scripts("server1")["nginx_check"].weight > 0 > neg.scripts("server1")["nginx_check"].weight
    tcp = load(ROOT / "topologies/seed_dev_tcp_check.yaml").scripts("server1")["nginx_check"]
    assert (tcp.fall, tcp.rise) == (2, 1) and "/dev/tcp/127.0.0.1/80" in tcp.script
    full = load(ROOT / "topologies/seed_full.yaml").global_defs_for("server1")
    assert full.notification_email == ["acassen@firewall.loc", "failover@firewall.loc", "sysadmin@firewall.loc"]
    assert full.vrrp_strict and full.smtp_connect_timeout == 30 and full.router_id == "LVS_DEVEL"


def test_user_template_topology_is_read_back_for_the_model():
    t = load(ROOT / "topologies/seed_user_config.yaml")
    kc = lab_config(t, "server1", SUBNETS)
    vi = kc.instances["VI_1"]
    assert (vi.state, vi.priority, vi.virtual_router_id) == ("MASTER", 100, 52)
    assert vi.virtual_ipaddress == ["10.213.4.200"]
    assert kc.global_defs.vrrp_strict and kc.scripts == {}          # keepalived drops script"..."
    assert lab_config(t, "server2", SUBNETS).instances["VI_1"].priority == 90


ALL = {
    "name": "all", "networks": {"lan": {}, "wan": {}},
    "global_defs": {"router_id": "LVS_DEVEL", "notification_email": ["a@x", "b@y"],
                    "notification_email_from": "k@x", "smtp_server": "192.168.200.1", "smtp_connect_timeout": 30,
                    "vrrp_skip_check_adv_addr": True, "vrrp_strict": True, "vrrp_iptables": True,
                    "vrrp_garp_interval": 0.001, "vrrp_gna_interval": 0.000001, "enable_script_security": True,
                    "script_user": "root", "notify_fifo": "/run/user.fifo"},
    "vrrp_scripts": {"chk": {"script": "killall -0 nginx", "interval": 2, "timeout": 3, "fall": 2, "rise": 1,
                             "weight": -20, "reverse": True, "init_fail": True, "user": "root"}},
    "vrrp_track_files": {"tf": {"file": "/run/tf", "weight": 3, "init_file": True, "init_value": 5, "overwrite": True}},
    "vrrp_instances": {
        "VI_1": {"state": "MASTER", "interface": "eth0", "virtual_router_id": 51, "priority": 150, "advert_int": 1,
                 "version": 2, "authentication": {"auth_type": "PASS", "auth_pass": "test"},
                 "virtual_ipaddress": ["lan+200", "lan+201/24", "lan+202/24 dev eth1", "lan+203/24 dev eth0 label eth0:1"],
                 "nopreempt": True, "preempt_delay": 5, "unicast_src_ip": "lan+11", "unicast_peer": ["lan+12"],
                 "track_script": [{"chk": {"weight": 30, "reverse": True}}],
                 "track_interface": [{"eth1": {"weight": -10}}], "track_file": ["tf"],
                 "notify_master": "/tools/master.sh", "notify_backup": "/tools/backup.sh",
                 "notify_fault": "/tools/fault.sh", "notify_stop": "/tools/stop.sh", "notify": "/tools/notify.sh",
                 "smtp_alert": True},
        "VI_2": {"interface": "eth1", "virtual_router_id": 52, "virtual_ipaddress": ["wan+200/24"], "version": 3,
                 "authentication": {"auth_type": "AH", "auth_pass": "x"}}},
    "vrrp_sync_groups": {"G": {"group": ["VI_1", "VI_2"], "notify_master": "/tools/g.sh", "smtp_alert": True}},
    "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}, "eth1": {"network": "wan"}}},
              "c": {"kind": "client", "interfaces": {"eth0": {"network": "lan"}}}},
}


def test_every_keyword_round_trips_through_schema_renderer_and_parser():
    t = validate(ALL)
    text = render_node(t, "a", SUBNETS)
    kc = from_text(text)
    assert not kc.notes, kc.notes
    assert kc.global_defs == t.global_defs_for("a")
    assert kc.scripts == t.scripts("a") and kc.track_files == t.track_files("a")
    assert kc.sync_groups == t.sync_groups("a")
    for name, inst in t.instances("a").items():
        got = kc.instances[name]
        exp = inst.model_copy(update={
            "virtual_ipaddress": [v.replace("lan+", "10.213.4.").replace("wan+", "10.213.5.") for v in inst.virtual_ipaddress],
            "unicast_src_ip": "10.213.4.11" if inst.unicast_src_ip else None,
            "unicast_peer": ["10.213.4.12"] if inst.unicast_peer else []})
        assert got == exp, name
    assert "    vrrp_iptables\n" in text and "notify_fifo /run/user.fifo" in text
    assert "track_file tf {" in text and "init_file 5 overwrite" in text


def test_vip_forms_the_docs_allow():
    assert parse_vip("10.0.0.100") == {"address": "10.0.0.100", "prefix": None}     # bare -> /32
    assert parse_vip("10.0.0.101/24 dev eth1")["dev"] == "eth1"
    assert parse_vip("10.0.0.102/24 dev eth2 label eth2:1")["label"] == "eth2:1"
    v = parse_vip("192.168.200.17/24 brd 192.168.200.255 scope global home -nodad no_track")
    assert v["brd"] == "192.168.200.255" and v["home"] and v["-nodad"] and v["no_track"]
    assert parse_vip("fe80::1/64 dev eth0")["prefix"] == 64
    with pytest.raises(ValueError, match="scope 'bogus'"):
        parse_vip("10.0.0.1 scope bogus")
    with pytest.raises(ValueError, match="needs a value"):
        parse_vip("10.0.0.1 dev")


def write(tmp_path, text):
    p = tmp_path / "t.yaml"
    p.write_text(text)
    return p


def test_error_names_file_line_field_value_and_what_is_allowed(tmp_path):
    p = write(tmp_path, "name: t\nnetworks: {lan: {}}\nvrrp_instances:\n  VI_1:\n    interface: eth0\n"
                        "    virtual_router_id: 51\n    state: SLAVE\n    virtual_ipaddress: [lan+200]\n"
                        "nodes:\n  a: {interfaces: {eth0: {network: lan}}}\n")
    with pytest.raises(TopologyError) as e:
        load(p)
    msg = str(e.value)
    assert f"{p}:7" in msg and "vrrp_instances.VI_1.state" in msg and "'SLAVE'" in msg and "'MASTER' or 'BACKUP'" in msg


def test_unknown_fields_are_errors_with_the_allowed_list(tmp_path):
    p = write(tmp_path, "name: t\nnetworks: {lan: {}}\nglobal_defs: {vrrp_strct: true}\n"
                        "vrrp_scripts: {chk: {script: x, fail: 2}}\n"
                        "nodes:\n  a: {interfaces: {eth0: {network: lan}}}\n")
    with pytest.raises(TopologyError) as e:
        load(p)
    msg = str(e.value)
    assert "global_defs.vrrp_strct: unknown field; did you mean 'vrrp_strict'?" in msg
    assert f"{p}:4: vrrp_scripts.chk.fail: unknown field; did you mean 'fall'?" in msg and "allowed:" in msg


def test_values_keepalived_rejects_are_rejected():
    base = {"name": "t", "networks": {"lan": {}}, "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}}}}
    with pytest.raises(TopologyError, match="vrrp_garp_interval"):        # 2.2.7: '0' outside range
        validate({**base, "global_defs": {"vrrp_garp_interval": 0}})
    with pytest.raises(TopologyError, match="interval"):                   # 2.2.7: whole seconds only
        validate({**base, "vrrp_scripts": {"c": {"script": "x", "interval": 0.5}}})


def test_references_are_checked():
    d = {**ALL, "vrrp_instances": {**ALL["vrrp_instances"],
                                   "VI_1": {**ALL["vrrp_instances"]["VI_1"], "track_file": ["nope"],
                                            "track_interface": ["eth9"], "unicast_peer": ["dmz+3"]}},
         "vrrp_sync_groups": {"G": {"group": ["VI_1", "VI_9"]}}}
    with pytest.raises(TopologyError) as e:
        validate(d)
    msg = str(e.value)
    for part in ("no track_file named 'nope'", "no interface 'eth9'", "unknown network 'dmz'",
                 "no vrrp_instance named 'VI_9'"):
        assert part in msg


def test_builder_is_equivalent_to_yaml():
    t = (TopologyBuilder("two_node").network("lan")
         .instance("VI_1", state="BACKUP", interface="eth0", virtual_router_id=51, advert_int=1,
                   virtual_ipaddress=["lan+200/24"])
         .node("a", eth0="lan", instances={"VI_1": {"priority": 150}})
         .node("b", eth0="lan", instances={"VI_1": {"priority": 100}})
         .client("client", eth0="lan").build())
    y = load(ROOT / "topologies/two_node.yaml")
    assert [t.instances(n) for n in "ab"] == [y.instances(n) for n in "ab"]
    assert render_node(t, "a", SUBNETS) == render_node(y, "a", SUBNETS)
    with pytest.raises(TopologyError, match="<builder>: vrrp_instances.VI_1.prority: unknown field"):
        TopologyBuilder("x").network("lan").instance("VI_1", prority=1).node("a", eth0="lan").build()


def test_topology_survives_the_label_round_trip():
    # lab.Lab.attach rebuilds the topology from model_dump_json(exclude_none=True)
    import json
    t = validate(ALL)
    again = validate(json.loads(t.model_dump_json(exclude_none=True)))
    assert again.instances("a") == t.instances("a") and again.sync_groups("a") == t.sync_groups("a")


def test_a_newline_in_a_rendered_value_cannot_inject_keepalived_config():
    """issue 18: a newline in a notify command would start a new vrrp_instance block in keepalived.conf."""
    import pytest as _pytest
    from lab.errors import TopologyError
    from lab.topology import validate
    evil = "/bin/true\n}\nvrrp_instance EVIL {\n  priority 255"
    with _pytest.raises(TopologyError, match="control character"):
        validate({"name": "inj", "networks": {"lan": {}}, "vrrp_instances": {"VI_1": {
            "state": "BACKUP", "interface": "eth0", "virtual_router_id": 51, "virtual_ipaddress": ["lan+200/24"],
            "notify_master": evil}}, "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}}}})


def test_a_control_character_is_reported_at_its_own_line(tmp_path):
    # a newcomer saw ":25: vrrp_instances: ..." (the dict's line) for a newline on line 29
    import pytest as _pytest
    from lab.errors import TopologyError
    from lab.topology import load
    p = tmp_path / "t.yaml"
    p.write_text("name: nl\nnetworks:\n  lan: {}\nvrrp_instances:\n  VI_1:\n    interface: eth0\n"
                 "    virtual_router_id: 51\n    virtual_ipaddress: [lan+200]\n"
                 "    notify_master: \"/bin/true\\nvrrp_instance EVIL {\"\n"
                 "nodes:\n  a:\n    interfaces: {eth0: {network: lan}}\n")
    with _pytest.raises(TopologyError) as e:
        load(p)
    assert f"{p}:9: vrrp_instances.VI_1.notify_master:" in str(e.value)
