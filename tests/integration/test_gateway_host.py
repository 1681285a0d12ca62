"""A config whose node address is host .1 of its subnet (unicast_src_ip 192.168.100.1, often the old gateway's
address in production) runs unchanged: the lab gives the engine's reserved gateway another free address
(Topology.gateway_host) instead of refusing. Expected from the configs and the rules: lb1 holds 192.168.100.1 on
bond0.100, and the election is the pair's own (VI_WEB lb1, VI_DB lb2: the higher priority, RFC 3768 §6.4.3)."""
import ipaddress
import shutil
from pathlib import Path

import pytest

from lab.topology.from_configs import topology_from_configs

pytestmark = pytest.mark.integration
PAIR = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"


def test_a_node_on_host_1_runs_and_the_gateway_moves(lab_factory, tmp_path):
    shutil.copytree(PAIR, tmp_path / "pair")
    db = tmp_path / "pair" / "conf.d" / "vi_db.conf"
    db.write_text(db.read_text().replace("192.168.100.2", "192.168.100.1"))
    topo = topology_from_configs([(tmp_path / "pair" / "lb1.conf", "lb1"), (tmp_path / "pair" / "lb2.conf", "lb2")])
    lab = lab_factory(topo)
    seg = topo.nodes["lb1"].interfaces["bond0.100"].network
    ipam = lab.networks[seg].attrs["IPAM"]["Config"]
    # both families: lb1 is also 2001:db8:100::1 on the dual-stack segment (VI_WEB6)
    assert sorted(c.get("Gateway") for c in ipam) == ["192.168.100.254", "2001:db8:100::fe"], ipam
    held = {str(i.ip) for i in lab.node("lb1").ip_addresses()["bond0.100"]}
    assert "192.168.100.1" in held, held
    assert lab.wait_for_master("VI_WEB").name == "lb1" and lab.wait_for_master("VI_DB").name == "lb2"
    assert ipaddress.IPv4Address("192.168.100.1") == lab.node("lb1").addresses["bond0.100"]
