"""The network faults' pure command builders (lab.nemesis.rules), without Docker.

Expected argv are written from the tools' documented syntax, not from what the code returns:
* iptables(8): ``-w`` waits for the xtables lock; ``-t TABLE``; ``-I CHAIN`` inserts at the top
  (rule number 1), so of two inserts into one chain the later one ends up first; ``-D CHAIN
  rule-spec`` deletes the rule with that spec; ``-S`` prints rules as ``-A CHAIN rule-spec``;
  ``-L -v -x -n`` lists exact packet counters (columns pkts, bytes, target, prot, opt, in, out,
  source, destination); a rule without ``-j`` only counts. ``-s`` / ``-d`` take a comma-separated
  list of addresses (one rule per address).
* iptables-extensions(8): ``-m comment --comment C``; ``-m statistic --mode random --probability p``
  (p between 0.0 and 1.0); ``CT --notrack`` in the raw table (untracked packets); ``NFQUEUE
  --queue-num N --queue-bypass`` (packets pass when no program listens on the queue).
* tc-netem(8): ``tc qdisc add dev IF root netem delay TIME [JITTER]``; tc(8): ``tc qdisc del dev IF root``.
* ip-link(8): ``ip link set dev IF up|down``.
* RFC 3768 §5.2.4: VRRP is IP protocol 112.
"""
from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.history import History
from lab.nemesis import make_fault
from lab.nemesis import rules as R
from lab.runtime.probe import NAMES, Capabilities
from lab.topology import validate

ROOT = Path(__file__).resolve().parents[2]
C = "kalab:f-1"
TAG = ["-m", "comment", "--comment", C]


def ipt(*words: str) -> list[str]:
    return ["iptables", "-w", *words]


# ---------------------------------------------------------------- pieces
def test_insert_rule_is_a_tagged_insert_at_the_top_of_the_chain():
    assert R.insert_rule("INPUT", ["-p", "112"], C, ["DROP"]) == \
        ipt("-t", "filter", "-I", "INPUT", "-p", "112", *TAG, "-j", "DROP")
    assert R.insert_rule("PREROUTING", [], C, ["CT", "--notrack"], table="raw") == \
        ipt("-t", "raw", "-I", "PREROUTING", *TAG, "-j", "CT", "--notrack")


@pytest.mark.parametrize("proto,args", [("vrrp", ["-p", "112"]), ("icmp", ["-p", "icmp"]), ("tcp", ["-p", "tcp"]),
                                        ("udp", ["-p", "udp"]), ("all", [])])
def test_protocols(proto, args):
    assert R.proto_args(proto) == args


@pytest.mark.parametrize("direction,chains", [("in", ["INPUT"]), ("out", ["OUTPUT"]), ("both", ["INPUT", "OUTPUT"])])
def test_directions(direction, chains):
    assert R.chains(direction) == chains


def test_unknown_protocol_and_direction_are_one_sentence_naming_the_choices():
    with pytest.raises(LabError, match="protocol 'sctp' is not one of vrrp, icmp, tcp, udp, all"):
        R.proto_args("sctp")
    with pytest.raises(LabError, match="direction 'up' is not one of in, out, both"):
        R.chains("up")


def test_source_list_is_comma_separated():
    assert R.source_args([ipaddress.IPv4Address("10.0.0.2"), "10.0.1.2"]) == ["-s", "10.0.0.2,10.0.1.2"]


# ---------------------------------------------------------------- drop-vrrp
def test_drop_vrrp_in_out_both():
    drop_in = ipt("-t", "filter", "-I", "INPUT", "-p", "112", *TAG, "-j", "DROP")
    drop_out = ipt("-t", "filter", "-I", "OUTPUT", "-p", "112", *TAG, "-j", "DROP")
    assert R.drop_vrrp_rules("in", [], C) == [drop_in]
    assert R.drop_vrrp_rules("out", [], C) == [drop_out]
    assert R.drop_vrrp_rules("both", [], C) == [drop_in, drop_out]


def test_drop_vrrp_from_a_peer_matches_its_addresses_as_source_in_and_destination_out():
    peer = ["10.0.0.2", "10.0.1.2"]
    assert R.drop_vrrp_rules("both", peer, C) == [
        ipt("-t", "filter", "-I", "INPUT", "-p", "112", "-s", "10.0.0.2,10.0.1.2", *TAG, "-j", "DROP"),
        ipt("-t", "filter", "-I", "OUTPUT", "-p", "112", "-d", "10.0.0.2,10.0.1.2", *TAG, "-j", "DROP"),
    ]


def test_drop_vrrp_rejects_a_bad_direction():
    with pytest.raises(LabError):
        R.drop_vrrp_rules("sideways", [], C)


# ---------------------------------------------------------------- one-way
@pytest.mark.parametrize("proto,p", [("all", []), ("vrrp", ["-p", "112"]), ("tcp", ["-p", "tcp"])])
def test_one_way_drops_the_senders_packets_in_the_receivers_input(proto, p):
    assert R.one_way_rules(proto, ["10.0.0.2", "10.0.1.2"], C) == [
        ipt("-t", "filter", "-I", "INPUT", *p, "-s", "10.0.0.2,10.0.1.2", *TAG, "-j", "DROP")]


# ---------------------------------------------------------------- partition
def drop_from(*addrs: str) -> list[str]:
    return ipt("-t", "filter", "-I", "INPUT", "-s", ",".join(addrs), *TAG, "-j", "DROP")


ADDRS = {"a": ["10.0.0.2", "10.0.1.2"], "b": ["10.0.0.3"], "c": ["10.0.0.4"], "client": ["10.0.0.5"]}


def test_partition_two_groups_each_node_drops_the_other_side():
    assert R.partition_rules([["a"], ["b", "c", "client"]], ADDRS, C) == {
        "a": [drop_from("10.0.0.3", "10.0.0.4", "10.0.0.5")],
        "b": [drop_from("10.0.0.2", "10.0.1.2")],
        "c": [drop_from("10.0.0.2", "10.0.1.2")],
        "client": [drop_from("10.0.0.2", "10.0.1.2")],
    }


def test_partition_three_groups_in_group_order():
    got = R.partition_rules([["b"], ["a", "c"], ["client"]], ADDRS, C)
    assert list(got) == ["b", "a", "c", "client"]
    assert got == {
        "b": [drop_from("10.0.0.2", "10.0.1.2", "10.0.0.4", "10.0.0.5")],
        "a": [drop_from("10.0.0.3", "10.0.0.5")],
        "c": [drop_from("10.0.0.3", "10.0.0.5")],
        "client": [drop_from("10.0.0.3", "10.0.0.2", "10.0.1.2", "10.0.0.4")],
    }


def test_partition_needs_two_groups_and_every_nodes_addresses():
    with pytest.raises(LabError, match="at least two groups"):
        R.partition_rules([["a", "b"]], ADDRS, C)
    with pytest.raises(KeyError):
        R.partition_rules([["a"], ["z"]], ADDRS, C)


# ---------------------------------------------------------------- loss
def test_loss_inserts_the_drop_then_the_counter_above_it_per_chain():
    stat = ["-m", "statistic", "--mode", "random", "--probability", "0.500000"]
    assert R.loss_rules(50, "both", "vrrp", C) == [
        ipt("-t", "filter", "-I", "INPUT", "-p", "112", *stat, *TAG, "-j", "DROP"),
        ipt("-I", "INPUT", "-p", "112", *TAG),
        ipt("-t", "filter", "-I", "OUTPUT", "-p", "112", *stat, *TAG, "-j", "DROP"),
        ipt("-I", "OUTPUT", "-p", "112", *TAG),
    ]


@pytest.mark.parametrize("percent,p", [(100, "1.000000"), (33.3333333, "0.333333"), (0.5, "0.005000"), (2, "0.020000")])
def test_loss_probability_is_percent_over_100_with_six_decimals(percent, p):
    assert R.probability(percent) == p
    assert R.loss_rules(percent, "in", "all", C)[0] == ipt(
        "-t", "filter", "-I", "INPUT", "-m", "statistic", "--mode", "random", "--probability", p, *TAG, "-j", "DROP")


@pytest.mark.parametrize("percent", [0, -1, 100.5])
def test_loss_percent_outside_0_100_is_refused(percent):
    with pytest.raises(LabError, match=r"percent must be in \(0, 100\]"):
        R.loss_rules(percent, "in", "vrrp", C)


# ---------------------------------------------------------------- delay
def test_nfqueue_delay_untracks_in_raw_before_queueing_each_chain():
    q = ["-j", "NFQUEUE", "--queue-num", "4242", "--queue-bypass"]
    notrack = ["-j", "CT", "--notrack"]
    assert R.nfqueue_delay_rules("in", "vrrp", 4242, C) == [
        ipt("-t", "raw", "-I", "PREROUTING", "-p", "112", *TAG, *notrack),
        ipt("-t", "filter", "-I", "INPUT", "-p", "112", *TAG, *q),
    ]
    assert R.nfqueue_delay_rules("both", "all", 4242, C) == [
        ipt("-t", "raw", "-I", "PREROUTING", *TAG, *notrack),
        ipt("-t", "filter", "-I", "INPUT", *TAG, *q),
        ipt("-t", "raw", "-I", "OUTPUT", *TAG, *notrack),
        ipt("-t", "filter", "-I", "OUTPUT", *TAG, *q),
    ]


def test_nfq_helper_gets_seconds():
    assert R.nfq_helper_argv(4242, 150.5, 20, "/run/kalab/faults/delay-b.pid") == [
        "kalab-nfq-delay", "--queue", "4242", "--delay", "0.150500", "--jitter", "0.020000",
        "--pidfile", "/run/kalab/faults/delay-b.pid", "--daemon"]


def test_helper_stop_commands():
    assert R.stop_helper_cmd("/p.pid") == "[ -e /p.pid ] && kill $(cat /p.pid); true"
    assert R.stop_helper_cmd("/p.pid", if_running=False) == "kill $(cat /p.pid)"


def test_netem_delay_with_and_without_jitter():
    assert R.netem_delay_argv("eth0", 100, 0) == ["tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "100ms"]
    assert R.netem_delay_argv("eth1", 150.5, 7) == \
        ["tc", "qdisc", "add", "dev", "eth1", "root", "netem", "delay", "150.5ms", "7ms"]
    assert R.qdisc_show_argv("eth0") == ["tc", "qdisc", "show", "dev", "eth0"]
    assert R.qdisc_delete_argv("eth0") == ["tc", "qdisc", "del", "dev", "eth0", "root"]


def test_queue_number_is_stable_per_lab_and_fault_and_in_range():
    names = [f"delay-{n}" for n in "abcdefgh"]
    qs = [R.queue_number("lab1", n) for n in names]
    assert qs == [R.queue_number("lab1", n) for n in names]
    assert all(1000 <= q <= 60999 for q in qs)
    assert len(set(qs)) > 1 and R.queue_number("lab2", "delay-a") != R.queue_number("lab1", "delay-a")


# ---------------------------------------------------------------- link
def test_link_down_and_up():
    assert R.link_argv("eth1", up=False) == ["ip", "link", "set", "dev", "eth1", "down"]
    assert R.link_argv("eth1", up=True) == ["ip", "link", "set", "dev", "eth1", "up"]


# ---------------------------------------------------------------- reading rules back
S_OUTPUT = """-P INPUT ACCEPT
-P FORWARD ACCEPT
-P OUTPUT ACCEPT
-A INPUT -p vrrp -m comment --comment kalab:f-1 -j DROP
-A INPUT -s 10.0.0.2/32 -m comment --comment "kalab:f 2" -j DROP
-A INPUT -p tcp -m comment --comment other -j ACCEPT
-A OUTPUT -p vrrp -m comment --comment kalab:f-1 -m statistic --mode random --probability 0.50000000000 -j DROP
"""


def test_tagged_lines_by_comment_and_any_kalab_tag():
    assert R.list_rules_argv("raw") == ipt("-t", "raw", "-S")
    mine = ["-A INPUT -p vrrp -m comment --comment kalab:f-1 -j DROP",
            "-A OUTPUT -p vrrp -m comment --comment kalab:f-1 -m statistic --mode random --probability 0.50000000000 -j DROP"]
    assert R.tagged_lines(S_OUTPUT, C) == mine
    assert R.tagged_lines(S_OUTPUT) == [mine[0], '-A INPUT -s 10.0.0.2/32 -m comment --comment "kalab:f 2" -j DROP', mine[1]]
    assert R.tagged_lines(S_OUTPUT, "kalab:none") == []


def test_delete_is_the_same_spec_with_d():
    assert R.delete_argv("-t raw -A PREROUTING -p vrrp -m comment --comment kalab:f-1 -j CT --notrack") == \
        ipt("-t", "raw", "-D", "PREROUTING", "-p", "vrrp", *TAG, "-j", "CT", "--notrack")
    assert R.delete_argv('-t filter -A INPUT -s 10.0.0.2/32 -m comment --comment "kalab:f 2" -j DROP') == \
        ipt("-t", "filter", "-D", "INPUT", "-s", "10.0.0.2/32", "-m", "comment", "--comment", "kalab:f 2", "-j", "DROP")


L_OUTPUT = """Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination
     200     8000            112  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kalab:f-1 */
      97     3880 DROP       112  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kalab:f-1 */ statistic mode random probability 0.50000000000
       3      120 DROP       112  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kalab:f-10 */

Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
    pkts      bytes target     prot opt in     out     source               destination
"""


def test_counters_of_the_tagged_rules_in_chain_order():
    assert R.counters_argv() == ipt("-L", "-v", "-x", "-n")
    assert R.parse_counters(L_OUTPUT, C) == [(200, "112"), (97, "DROP")]


# ---------------------------------------------------------------- the module is pure
def test_rules_module_loads_no_docker_and_no_runtime():
    code = "import sys, lab.nemesis.rules; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            check=True).stdout.split()
    assert not [m for m in loaded if m.split(".")[0] in ("docker", "testcontainers", "scapy")]
    assert not [m for m in loaded if m.startswith(("lab.runtime", "lab.lab", "lab.checks", "lab.judge"))]


# ---------------------------------------------------------------- the faults run exactly their builders' argv
TOPO = validate({
    "name": "rules",
    "networks": {"lan": {}, "lan2": {}},
    "vrrp_instances": {"VI_1": {"state": "BACKUP", "interface": "eth0", "virtual_router_id": 51, "advert_int": 1,
                                "virtual_ipaddress": ["lan+200/24"]}},
    "nodes": {
        "a": {"interfaces": {"eth0": {"network": "lan"}, "eth1": {"network": "lan2"}},
              "vrrp_instances": {"VI_1": {"priority": 150}}},
        "b": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {"priority": 100}}},
        "client": {"kind": "client", "interfaces": {"eth0": {"network": "lan"}}},
    },
})


class _Done:
    ok, output = True, ""


class _Node:
    """A stand-in node of the FaultTarget protocol: it records what a fault asks it to run."""

    def __init__(self, name: str, addrs: dict[str, str], ran: list):
        self.name, self.ran = name, ran
        self.addresses = {i: ipaddress.IPv4Address(a) for i, a in addrs.items()}

    def exec(self, cmd, check=False, user=""):
        self.ran.append((self.name, cmd))
        return _Done()

    def put_file(self, path, data, mode=0o644):
        pass

    def json_files(self, folder):
        return []

    def status(self):
        return "running"


class Target:
    def __init__(self, *caps: str):
        self.id, self.history, self.faults, self.topology = "lab1", History(), [], TOPO
        self.ran: list = []
        self.nodes = {"a": _Node("a", {"eth0": "10.0.0.2", "eth1": "10.0.1.2"}, self.ran),
                      "b": _Node("b", {"eth0": "10.0.0.3"}, self.ran),
                      "client": _Node("client", {"eth0": "10.0.0.4"}, self.ran)}
        self.capabilities = Capabilities({n: n in caps for n in NAMES})

    def node(self, name):
        return self.nodes[name]


def applied(kind: str, node: str, *caps: str, **params) -> list:
    """(node, command) of every iptables / tc / ip / helper command the fault's apply ran."""
    t = Target("iptables", "statistic", "nfqueue", *caps)
    f = make_fault(t, kind, node, **params)
    f.apply()
    return [(n, c) for n, c in t.ran if c[:2] != ["rm", "-f"]], f


def test_drop_vrrp_from_a_peer_runs_on_the_target_with_the_peers_addresses():
    ran, f = applied("drop-vrrp", "b", direction="both", peer="a")
    assert ran == [("b", c) for c in R.drop_vrrp_rules("both", ["10.0.0.2", "10.0.1.2"], f.comment)]
    assert ran[0][1] == ipt("-t", "filter", "-I", "INPUT", "-p", "112", "-s", "10.0.0.2,10.0.1.2",
                            "-m", "comment", "--comment", "kalab:drop-vrrp-b", "-j", "DROP")


def test_one_way_runs_on_the_receiver():
    ran, f = applied("one-way", "a", to="b", proto="vrrp")
    assert ran == [("b", ipt("-t", "filter", "-I", "INPUT", "-p", "112", "-s", "10.0.0.2,10.0.1.2",
                             "-m", "comment", "--comment", "kalab:one-way-a", "-j", "DROP"))]


def test_partition_runs_each_nodes_rule_on_that_node():
    ran, f = applied("partition", "a")
    tag = ["-m", "comment", "--comment", "kalab:partition-a", "-j", "DROP"]
    assert ran == [("a", ipt("-t", "filter", "-I", "INPUT", "-s", "10.0.0.3,10.0.0.4", *tag)),
                   ("b", ipt("-t", "filter", "-I", "INPUT", "-s", "10.0.0.2,10.0.1.2", *tag)),
                   ("client", ipt("-t", "filter", "-I", "INPUT", "-s", "10.0.0.2,10.0.1.2", *tag))]


def test_loss_runs_its_rules_on_the_target():
    ran, f = applied("loss", "b", percent=25, direction="in", proto="vrrp")
    assert ran == [("b", c) for c in R.loss_rules(25, "in", "vrrp", "kalab:loss-b")]


def test_delay_nfqueue_starts_the_helper_then_inserts_its_rules():
    ran, f = applied("delay", "b", ms=200, jitter_ms=10)
    pid = "/run/kalab/faults/delay-b.pid"
    assert f.chosen == "nfqueue" and f.queue_num == R.queue_number("lab1", "delay-b")
    assert ran == [("b", R.nfq_helper_argv(f.queue_num, 200, 10, pid)),
                   *[("b", c) for c in R.nfqueue_delay_rules("in", "vrrp", f.queue_num, "kalab:delay-b")]]


def test_delay_netem_adds_a_qdisc_on_every_interface():
    ran, f = applied("delay", "a", "netem", ms=100, direction="out", proto="all")
    assert f.chosen == "netem"
    assert ran == [("a", R.netem_delay_argv("eth0", 100)), ("a", R.netem_delay_argv("eth1", 100))]


def test_link_down_then_up():
    ran, f = applied("link-down", "a", iface="eth1")
    assert ran == [("a", ["ip", "link", "set", "dev", "eth1", "down"])]
    f.lab.ran.clear()
    f.heal()
    assert [(n, c) for n, c in f.lab.ran if c[:2] != ["rm", "-f"]] == [("a", ["ip", "link", "set", "dev", "eth1", "up"])]


def test_a_node_with_ipv6_gets_each_rule_for_both_families():
    # ip6tables(8) takes the same rule syntax; VRRPv3 over IPv6 is also protocol 112 (RFC 5798 §5.1.2.4) and comes
    # from link-local addresses (§5.1.2.1), so a drop of VRRP must be made in both tables or IPv6 adverts pass
    rules = R.drop_vrrp_rules("in", [], TAG[-1])
    assert R.for_families(rules, ipv6=False) == rules
    v4, v6 = R.for_families(rules, ipv6=True)
    assert v4 == rules[0] and v6 == ["ip6tables", *rules[0][1:]]
    # a source list keeps each family's addresses in its own rule
    mixed = R.one_way_rules("vrrp", ["10.0.0.2", "fd00:1::2", "fe80::42:aff:fe00:2"], TAG[-1])
    v4, v6 = R.for_families(mixed, ipv6=True)
    assert v4[v4.index("-s") + 1] == "10.0.0.2" and v4[0] == "iptables"
    assert v6[0] == "ip6tables" and v6[v6.index("-s") + 1] == "fd00:1::2,fe80::42:aff:fe00:2"
    # no address of a family in the list: no rule for it (an empty match would drop everything)
    assert R.for_families(R.one_way_rules("vrrp", ["10.0.0.2"], TAG[-1]), ipv6=True) == \
        R.one_way_rules("vrrp", ["10.0.0.2"], TAG[-1])
    only6 = R.for_families(R.one_way_rules("all", ["fd00:1::2"], TAG[-1]), ipv6=True)
    assert [a[0] for a in only6] == ["ip6tables"]
    # ICMP is ipv6-icmp in ip6tables
    (icmp6,) = [a for a in R.for_families(R.one_way_rules("icmp", ["fd00:1::2"], TAG[-1]), ipv6=True)]
    assert icmp6[icmp6.index("-p") + 1] == "ipv6-icmp"
    # commands that are not iptables pass as they are
    assert R.for_families([R.link_argv("eth0", False)], ipv6=True) == [R.link_argv("eth0", False)]


def test_an_ip6tables_rule_is_deleted_with_ip6tables():
    assert R.delete_argv("ip6tables -t filter -A INPUT -p vrrp -m comment --comment kalab:f-1 -j DROP") == \
        ["ip6tables", "-w", "-t", "filter", "-D", "INPUT", "-p", "vrrp", *TAG, "-j", "DROP"]
    assert R.list_rules_argv("raw", "ip6tables") == ["ip6tables", "-w", "-t", "raw", "-S"]
    assert R.counters_argv("ip6tables")[0] == "ip6tables"
