"""Production subnets this host cannot give a lab, moved to lab subnets consistently (lab.topology.subnet_map,
pure). Expected values from the rule the module states: each address inside a moved subnet keeps its host
part, everything else in the files stays byte for byte; with --exact the clash is refused by name."""
import ipaddress
from pathlib import Path

import pytest

from lab.errors import ConfigError
from lab.topology.from_configs import topology_from_configs
from lab.topology.subnet_map import map_text, plan_mapping, text_diff

PAIR = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"
N = ipaddress.IPv4Network
POOL = N("10.213.0.0/16")
ROUTE = [(N("192.168.100.0/24"), "this host's route on eth1")]


def test_a_clashing_subnet_moves_to_the_first_free_subnet_of_its_size():
    taken = ROUTE + [(N("10.213.0.0/24"), "Docker network x")]
    (m,) = plan_mapping({"lan": N("192.168.100.0/24"), "back": N("10.20.30.0/24")}, taken, POOL)
    assert (m.network, m.production, m.lab) == ("lan", N("192.168.100.0/24"), N("10.213.1.0/24"))
    assert "this host's route on eth1" in m.why
    assert plan_mapping({"lan": N("192.168.7.0/24")}, ROUTE, POOL) == [], "no clash, no move"


def test_exact_refuses_naming_the_network_the_subnet_and_the_clash():
    with pytest.raises(ConfigError, match=r"network lan: the configs' subnet 192\.168\.100\.0/24 overlaps this host's "
                                          r"route on eth1 192\.168\.100\.0/24; --exact"):
        plan_mapping({"lan": N("192.168.100.0/24")}, ROUTE, POOL, exact=True)


def test_only_addresses_inside_the_moved_subnet_change():
    (m,) = plan_mapping({"lan": N("192.168.100.0/24")}, ROUTE, POOL)
    text = ("priority 150\n  unicast_src_ip 192.168.100.2\n  virtual_ipaddress {\n    192.168.100.10/24 dev bond0.100\n"
            "    192.168.1000.1\n    10.20.30.20/24\n  }\n  version 2\n  script \"curl 192.168.100.99:8080\"\n")
    assert map_text(text, [m]) == text.replace("192.168.100.2\n", f"{m.lab.network_address + 2}\n") \
        .replace("192.168.100.10/24", f"{m.lab.network_address + 10}/24") \
        .replace("192.168.100.99:", f"{m.lab.network_address + 99}:")


def test_the_pair_on_a_host_that_routes_its_subnet_runs_moved_and_shows_the_diff():
    topo = topology_from_configs([(PAIR / "lb1.conf", "lb1"), (PAIR / "lb2.conf", "lb2")], unavailable=ROUTE, pool=POOL)
    (m,) = topo.subnet_moves
    lab = m.lab.network_address
    assert m.production == N("192.168.100.0/24") and topo.networks["seg1"].subnet == m.lab
    assert topo.networks["seg2"].subnet == N("10.20.30.0/24"), "a subnet that does not clash stays"
    assert {n: topo.nodes[n].interfaces["bond0.100"].host for n in ("lb1", "lb2")} == {"lb1": 2, "lb2": 3}
    lb1 = topo.node_configs["lb1"]
    web = lb1.parsed.instances["VI_WEB"]
    assert [str(v) for v in web.virtual_ipaddress] == [f"{lab + 10}/24 dev bond0.100"]
    assert lb1.parsed.instances["VI_DB"].unicast_src_ip == str(lab + 2)
    assert lb1.parsed.instances["VI_DB"].unicast_peer == [str(lab + 3)]
    assert {n: {i: x.priority for i, x in topo.instances(n).items()} for n in ("lb1", "lb2")} == \
        {"lb1": {"VI_DB": 100, "VI_DB_BACK": 100, "VI_WEB": 150, "VI_WEB6": 150},
         "lb2": {"VI_DB": 150, "VI_DB_BACK": 150, "VI_WEB": 100, "VI_WEB6": 100}}
    # the files keep their paths; the user's bytes are kept; only address lines differ
    assert set(lb1.files) == set(lb1.original) and str(PAIR / "lb1.conf") in lb1.files
    for path, before in lb1.original.items():
        diff = text_diff(path, before.decode(), lb1.files[path].decode()) or ""
        changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
        assert all("192.168.100." in ln for ln in changed if ln.startswith("-")), changed
        assert all(str(lab)[:-1] in ln for ln in changed if ln.startswith("+")), changed
    assert lb1.original[str(PAIR / "lb1.conf")] == (PAIR / "lb1.conf").read_bytes(), "nothing on disk is touched"


def test_exact_refuses_the_pair_before_anything_starts():
    with pytest.raises(ConfigError, match=r"lb1\.conf.*network seg1: the configs' subnet 192\.168\.100\.0/24 .*--exact"):
        topology_from_configs([(PAIR / "lb1.conf", "lb1"), (PAIR / "lb2.conf", "lb2")], unavailable=ROUTE,
                              exact=True, pool=POOL)
