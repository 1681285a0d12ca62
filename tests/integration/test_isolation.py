"""A lab reaches nothing outside itself, and a node cannot exhaust the host (issue 18).

Nodes hold NET_ADMIN, so they can add a default route back. The lab's bridges carry no IPv4 address on
the host's side (Docker's ``inhibit_ipv4``), so the gateway address answers nobody: the route leads
nowhere. Every container has memory, process, CPU and log limits (topology ``limits:``)."""
import ipaddress
import subprocess

import pytest

from lab.errors import SubnetError
from lab.lab import Lab
from lab.runtime.network import bridge_name, create_network, engine_is_local, host_routes
from lab.runtime import labels as L
from lab.topology import TopologyBuilder

pytestmark = pytest.mark.integration


def small(limits=None):
    b = TopologyBuilder("isolation").network("lan")
    b.node("a", eth0="lan", instances={"VI_1": {"interface": "eth0", "virtual_router_id": 71, "priority": 150,
                                                "advert_int": 1, "virtual_ipaddress": ["lan+200"]}})
    b.node("c", "client", eth0="lan", **({"limits": limits} if limits else {}))
    return b.build()


def test_a_node_that_adds_a_default_route_reaches_nothing(lab_factory):
    lab = lab_factory(small())
    a = lab.node("a")
    gw = str(lab.subnets["lan"].network_address + 1)
    assert "default" not in a.exec("ip -4 route").output, "nodes start without a default route"
    a.exec(f"ip route replace default via {gw} dev eth0", check=True)   # what NET_ADMIN allows
    r = a.exec(f"ping -c 2 -W 1 {gw}")
    assert not r.ok, f"the gateway {gw} answered from inside the lab: {r.output}"
    assert "REACHABLE" not in a.exec(f"ip neigh show {gw}").output
    if engine_is_local(lab.docker):
        br = bridge_name(lab.networks["lan"])
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", br], capture_output=True, text=True)
        assert out.returncode == 0 and "inet " not in out.stdout, f"{br} has a host address: {out.stdout}"
    a.exec("ip route del default")


def test_every_container_has_limits_and_a_fork_loop_stays_inside_them(lab_factory):
    lab = lab_factory(small(limits={"pids": 64, "memory_mib": 64}))
    hc = lab.node("a").container.attrs["HostConfig"]
    assert (hc["Memory"], hc["PidsLimit"], hc["NanoCpus"]) == (256 * 2 ** 20, 512, 10 ** 9), "defaults (schema.Limits)"
    assert hc["MemorySwap"] == hc["Memory"], "no swap beyond the memory limit"
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "2"}}
    c = lab.node("c")
    assert (c.container.attrs["HostConfig"]["PidsLimit"], c.container.attrs["HostConfig"]["Memory"]) == (64, 64 * 2 ** 20)
    # a fork loop on the client (no keepalived there): the kernel refuses past the limit
    r = c.exec(["python3", "-c", "import os, signal, time\n"
                "kids = []\n"
                "try:\n"
                "    while len(kids) < 1000:\n"
                "        pid = os.fork()\n"
                "        if pid == 0:\n"
                "            time.sleep(60); os._exit(0)\n"
                "        kids.append(pid)\n"
                "except OSError as e:\n"
                "    print('refused', e.errno)\n"
                "print(len(kids))\n"
                "for k in kids: os.kill(k, signal.SIGKILL)\n"
                "for k in kids: os.waitpid(k, 0)\n"])
    lines = r.output.split()
    assert "refused" in lines and int(lines[-1]) < 64, r.output


def test_a_fixed_subnet_on_a_host_route_is_refused(lab_docker):
    if not engine_is_local(lab_docker):
        pytest.skip("the host's routes are not the engine host's")
    routes = [n for n, dev in host_routes() if n.prefixlen >= 8]
    assert routes, "this host has no IPv4 route of its own (/proc/net/route)"
    net = routes[0]
    sub = ipaddress.IPv4Network((net.network_address, max(net.prefixlen, 24)))
    with pytest.raises(SubnetError, match=f"overlaps the host's route {net}"):
        create_network(lab_docker, "kalab-isolation-refused", L.lab_labels("isolref", "isolation"), "lan", sub)
    assert not lab_docker.networks.list(names=["kalab-isolation-refused"])
