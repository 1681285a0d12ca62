"""keepalived.conf rendering from topologies and users' templates."""
import ipaddress
from pathlib import Path

import pytest

from lab.errors import ConfigError
from lab.kaconf.render import ensure_notify_fifo
from lab.topology import load, validate
from lab.topology.render import render_node

ROOT = Path(__file__).resolve().parents[2]
SUBNETS = {"lan": ipaddress.IPv4Network("10.213.4.0/24")}


def test_two_node_renders_priority_vip_and_notify_fifo():
    text = render_node(load(ROOT / "topologies" / "two_node.yaml"), "b", SUBNETS)
    assert "vrrp_instance VI_1 {" in text
    assert "    priority 100\n" in text
    assert "    state BACKUP\n" in text
    assert "        10.213.4.200/24\n" in text
    assert "vrrp_notify_fifo /run/kalab/notify.fifo" in text
    assert "nopreempt" not in text


def test_every_instance_keyword_renders():
    t = validate({"name": "x", "networks": {"lan": {}}, "vrrp_scripts": {"chk": {"script": "killall -0 nginx", "weight": -20, "fall": 2, "rise": 3}},
                  "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {
                      "interface": "eth0", "virtual_router_id": 7, "virtual_ipaddress": ["lan+130 dev eth0 label eth0:1"],
                      "nopreempt": True, "preempt_delay": 5, "advert_int": 0.5, "version": 3,
                      "authentication": {"auth_type": "PASS", "auth_pass": "secret"},
                      "track_script": ["chk"], "track_interface": [{"name": "eth0", "weight": 10}],
                      "notify_master": "/bin/echo master"}}}}})
    text = render_node(t, "a", SUBNETS)
    for line in ["nopreempt", "preempt_delay 5", "advert_int 0.5", "version 3", "auth_type PASS", "auth_pass secret",
                 "10.213.4.130 dev eth0 label eth0:1", "track_script {\n        chk\n", "eth0 weight 10",
                 'notify_master "/bin/echo master"', 'script "killall -0 nginx"', "weight -20", "fall 2", "rise 3"]:
        assert line in text, line


def test_user_template_gets_lab_facts(tmp_path):
    (tmp_path / "ka.conf.j2").write_text(
        "vrrp_instance VI_1 {\n interface eth0\n unicast_src_ip {{ interfaces.eth0.address }}\n"
        " unicast_peer { {% for p in peers.values() %}{{ p.eth0 }} {% endfor %}}\n"
        " virtual_ipaddress { {{ instances.VI_1.vips[0] }} }\n}\n")
    topo = tmp_path / "t.yaml"
    topo.write_text("""name: t
networks: {lan: {}}
vrrp_instances: {VI_1: {interface: eth0, virtual_router_id: 9, virtual_ipaddress: [lan+200]}}
nodes:
  a: {interfaces: {eth0: {network: lan}}, config_template: ka.conf.j2}
  b: {interfaces: {eth0: {network: lan}}}
""")
    text = render_node(load(topo), "a", SUBNETS)
    assert "unicast_src_ip 10.213.4.11" in text
    assert "10.213.4.12" in text and "10.213.4.200" in text
    assert text.startswith("global_defs {\n    vrrp_notify_fifo /run/kalab/notify.fifo")


def test_user_template_error_names_the_file(tmp_path):
    (tmp_path / "bad.j2").write_text("{{ nope.address }}\n")
    topo = tmp_path / "t.yaml"
    topo.write_text("""name: t
networks: {lan: {}}
nodes: {a: {interfaces: {eth0: {network: lan}}, config_template: bad.j2}}
""")
    with pytest.raises(ConfigError, match="bad.j2"):
        render_node(load(topo), "a", SUBNETS)


def test_notify_fifo_is_inserted_into_existing_global_defs():
    out = ensure_notify_fifo("global_defs {\n router_id x\n}\n", "/f")
    assert out.count("global_defs") == 1 and "vrrp_notify_fifo /f" in out
    # a user's global notify_fifo stays; keepalived writes VRRP events to it and to the lab's vrrp_notify_fifo
    out = ensure_notify_fifo("global_defs {\n notify_fifo /mine\n}\n", "/f")
    assert "notify_fifo /mine" in out and "vrrp_notify_fifo /f" in out
    assert ensure_notify_fifo("global_defs {\n vrrp_notify_fifo /f\n}\n", "/f").count("notify_fifo") == 1


def test_own_vrrp_notify_fifo_is_an_error_naming_the_line():
    with pytest.raises(ConfigError, match=r"ka.conf:3: vrrp_notify_fifo /tmp/x: .*\{\{ notify_fifo \}\}"):
        ensure_notify_fifo("! mine\nglobal_defs {\n vrrp_notify_fifo /tmp/x\n}\n", "/f", "ka.conf")


def test_priority_changes_are_turned_on_once():
    out = ensure_notify_fifo("global_defs {\n router_id x\n}\n", "/f")
    assert out.count("vrrp_notify_priority_changes") == 1
    assert "vrrp_notify_priority_changes" in render_node(load(ROOT / "topologies" / "two_node.yaml"), "b", SUBNETS)
    mine = "global_defs {\n vrrp_notify_fifo /f\n vrrp_notify_priority_changes false\n}\n"
    assert ensure_notify_fifo(mine, "/f") == mine


@pytest.mark.parametrize("template,says", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "may not"),          # the sandbox refuses it
    ("{% for i in range(10**9) %}x{% endfor %}", "Range too big"),         # the sandbox caps range()
    ("{% include '/etc/passwd' %}", "fails to render"),                     # no loader: no other files
    ("{{ 1/0 }}", "fails to render"),
])
def test_a_users_template_is_sandboxed(tmp_path, template, says):
    from lab.errors import ConfigError
    from lab.kaconf.render import Facts, render_user_template
    p = tmp_path / "keepalived.conf.j2"
    p.write_text(template)
    facts = Facts(node="a", topology="t", interfaces={}, peers={}, instances={}, subnets={})
    with pytest.raises(ConfigError, match=says):
        render_user_template(p, facts, None)


def test_a_template_outside_the_topologys_folder_is_refused(tmp_path):
    from lab.errors import ConfigError
    from lab.topology import validate
    from lab.topology.render import render_node
    (tmp_path / "sub").mkdir()
    topo = validate({"name": "esc", "networks": {"lan": {}}, "nodes": {
        "a": {"interfaces": {"eth0": {"network": "lan"}}, "config_template": "../../../../etc/shadow"}}},
        str(tmp_path / "sub" / "topology.yaml"))
    with pytest.raises(ConfigError, match="outside the topology's folder"):
        render_node(topo, "a", {})
