"""Topology loading and validation: errors name the file, the line and the field."""
import ipaddress
from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.topology import find, load, parse_vip, resolve_address, validate

ROOT = Path(__file__).resolve().parents[2]


def test_two_node_topology_loads_as_the_issue_describes():
    t = load(ROOT / "topologies" / "two_node.yaml")
    assert t.keepalived_nodes() == ["a", "b"]
    assert t.client_nodes() == ["client"]
    a, b = t.instances("a")["VI_1"], t.instances("b")["VI_1"]
    assert (a.priority, b.priority) == (150, 100)
    assert a.state == b.state == "BACKUP"
    assert not a.nopreempt and not b.nopreempt
    assert a.virtual_router_id == b.virtual_router_id
    assert a.advert_int == 1


def write(tmp_path, text):
    p = tmp_path / "t.yaml"
    p.write_text(text)
    return p


BASE = """name: t
networks: {lan: {}}
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 51, virtual_ipaddress: [lan+200]}
nodes:
  a:
    interfaces: {eth0: {network: lan}}
    vrrp_instances: {VI_1: {priority: %s}}
"""


def test_bad_priority_names_file_line_field_and_value(tmp_path):
    p = write(tmp_path, BASE % 300)
    with pytest.raises(TopologyError) as e:
        load(p)
    msg = str(e.value)
    assert f"{p}:8" in msg and "nodes.a.vrrp_instances.VI_1.priority" in msg and "300" in msg


def test_unknown_field_is_an_error(tmp_path):
    p = write(tmp_path, BASE.replace("virtual_router_id: 51", "virtual_router_id: 51, prority: 3") % 100)
    with pytest.raises(TopologyError, match=r"vrrp_instances.VI_1.prority: unknown field"):
        load(p)


def test_bad_yaml_names_the_line(tmp_path):
    p = write(tmp_path, "name: t\nnetworks: {lan: {}\nnodes: {}\n")
    with pytest.raises(TopologyError, match=rf"{p}:\d+: not valid YAML"):
        load(p)


def test_bad_yaml_also_names_where_the_open_block_began(tmp_path):
    # PyYAML notices an unclosed flow mapping on a later line; the message names both lines
    p = write(tmp_path, "name: t\nnetworks:\n  lan: {a: 1\n    b: 2\nnodes: {}\n")
    with pytest.raises(TopologyError, match=rf"{p}:4: not valid YAML: .*\(while parsing a flow mapping at line 3\)"):
        load(p)


def test_unknown_topology_name_suggests_and_lists_each_folder_once():
    d = ROOT / "topologies"
    with pytest.raises(TopologyError) as e:
        find("two_nod", [d, d / ".." / "topologies"])
    msg = str(e.value)
    assert "did you mean 'two_node'?" in msg and msg.count(str(d.resolve())) == 1


def test_missing_topology_path_says_no_such_file():
    with pytest.raises(TopologyError, match="nonexist/x.yaml: no such file"):
        find("nonexist/x.yaml", [ROOT / "topologies"])


def test_unknown_network_and_interface_are_reported(tmp_path):
    p = write(tmp_path, (BASE % 100).replace("{network: lan}", "{network: wan}"))
    with pytest.raises(TopologyError, match="unknown network 'wan'"):
        load(p)


def test_vip_must_be_outside_dockers_range(tmp_path):
    p = write(tmp_path, (BASE % 100).replace("lan+200", "lan+20"))
    with pytest.raises(TopologyError, match=r"VIP host must be in 128\.\.254"):
        load(p)


def test_vip_syntax():
    assert parse_vip("10.0.0.1") == {"address": "10.0.0.1", "prefix": None}
    assert parse_vip("lan+200/24 dev eth0 label eth0:1") == {
        "address": "lan+200", "prefix": 24, "dev": "eth0", "label": "eth0:1"}
    with pytest.raises(ValueError, match="unknown option"):
        parse_vip("10.0.0.1 via eth0")
    with pytest.raises(ValueError, match="neither an IPv4"):
        parse_vip("nonsense")
    assert resolve_address("lan+200", {"lan": ipaddress.IPv4Network("10.9.8.0/24")}) == ipaddress.IPv4Address("10.9.8.200")


def test_builder_dict_validates_without_a_file():
    t = validate({"name": "x", "networks": {"lan": {}},
                  "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}},
                                  "vrrp_instances": {"VI_1": {"interface": "eth0", "virtual_router_id": 7,
                                                              "virtual_ipaddress": ["lan+130"]}}}}})
    assert t.instances("a")["VI_1"].priority == 100    # keepalived's default priority (man 5 keepalived.conf)


def test_errors_in_shared_instances_point_at_the_shared_block(tmp_path):
    p = write(tmp_path, """name: t
networks: {lan: {}}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 256
    virtual_ipaddress: [lan+200]
nodes:
  a: {interfaces: {eth0: {network: lan}}, vrrp_instances: {VI_1: {priority: 150}}}
  b: {interfaces: {eth0: {network: lan}}, vrrp_instances: {VI_1: {prority: 100}}}
""")
    with pytest.raises(TopologyError) as e:
        load(p)
    msg = str(e.value)
    assert msg.count("VI_1.virtual_router_id:") == 1, "reported once, not once per node"
    assert f"{p}:6: vrrp_instances.VI_1.virtual_router_id" in msg
    assert f"{p}:10: nodes.b.vrrp_instances.VI_1.prority" in msg and "did you mean 'priority'" in msg


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("content,says", [
    (BOMB.encode(), "expands to more than"),
    (b"name: x\nnodes:\n  a: {kind: client}\n  a: {kind: client}\n", "appears twice"),
    (b"\x00\xff\xfe\x9c binary", "not a text file"),
    (("a: " + "[" * 3000 + "]" * 3000 + "\n").encode(), "nested too deeply|not valid YAML"),
])
def test_hostile_yaml_is_one_clear_error(tmp_path, content, says):
    from lab.errors import TopologyError
    p = tmp_path / "t.yaml"
    p.write_bytes(content)
    with pytest.raises(TopologyError, match=says):      # bounded by MAX_NODES / the recursion limit, not a clock
        load(p)


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path):
    # a 9.5 MB topology took 94 s and 1.26 GB to be refused (newcomer review): refused by size instead
    from lab.errors import TopologyError
    from lab.topology.loader import MAX_BYTES
    p = tmp_path / "huge.yaml"
    p.write_text("name: t\n" + "# padding padding padding padding padding padding padding\n" * (MAX_BYTES // 50))
    with pytest.raises(TopologyError, match="larger than 1 MiB"):
        load(p)
