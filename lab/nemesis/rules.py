"""Pure builders of the network faults' commands: each returns the exact argv lists a fault runs;
nothing here runs them (the exec step is :mod:`lab.nemesis._exec`, the fault modules join the two).

This module imports nothing from Docker or :mod:`lab.runtime`; every builder is unit-tested
without a container (tests/unit/test_fault_rules.py). An argv is a ``list[str]``, run as is.

iptables conventions (iptables(8), iptables-extensions(8)):

* every rule a fault adds carries ``-m comment --comment kalab:<fault name>``;
* rules are inserted at the top of their chain (``-I CHAIN``), ahead of any rule keepalived adds
  itself (``vrrp_iptables``); a builder that adds several rules to one chain lists them in run
  order, so the last one run is the first in the chain;
* ``-w`` waits for the xtables lock instead of failing while keepalived or another fault holds it;
* removal needs no memory of what was added: :func:`tagged_lines` finds the tagged rules in
  ``iptables -S`` output and :func:`delete_argv` turns each into its ``-D`` command.
"""
from __future__ import annotations

import ipaddress
import shlex
import zlib
from typing import Iterable, Mapping, Optional, Sequence

from ..errors import LabError

Argv = list[str]

VRRP_PROTO = "112"          # IANA protocol number of VRRP (RFC 3768 §5.2.4, RFC 5798 §5.1.1.4)
PROTOS = {"vrrp": VRRP_PROTO, "icmp": "icmp", "tcp": "tcp", "udp": "udp", "all": None}
DIRECTIONS = ("in", "out", "both")
TABLES = ("filter", "raw")
COMMENT_PREFIX = "kalab:"


# ---------------------------------------------------------------- validated pieces
def proto_args(proto: str) -> Argv:
    """``-p`` arguments for a protocol name: vrrp (``-p 112``), icmp, tcp, udp, or all (no ``-p``).

    Raises:
        LabError: ``proto`` is not one of :data:`PROTOS` (lists them).
    """
    if proto not in PROTOS:
        raise LabError(f"protocol {proto!r} is not one of {', '.join(PROTOS)}")
    p = PROTOS[proto]
    return ["-p", p] if p else []


def chains(direction: str) -> list[str]:
    """The filter chains of a direction: ``in`` -> [INPUT], ``out`` -> [OUTPUT], ``both`` -> both.

    Raises:
        LabError: ``direction`` is not one of :data:`DIRECTIONS`.
    """
    if direction not in DIRECTIONS:
        raise LabError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    return {"in": ["INPUT"], "out": ["OUTPUT"], "both": ["INPUT", "OUTPUT"]}[direction]


def source_args(addrs: Iterable[ipaddress.IPv4Address | str]) -> Argv:
    """``-s A,B,...``: match packets from any of ``addrs`` (IPv4 addresses or their strings)."""
    return ["-s", ",".join(str(a) for a in addrs)]


def probability(percent: float) -> str:
    """The ``--probability`` value of the statistic match for a loss of ``percent`` %:
    ``percent / 100`` with six decimals (50 -> ``"0.500000"``).

    Raises:
        LabError: ``percent`` is not in (0, 100].
    """
    if not 0 < float(percent) <= 100:
        raise LabError(f"loss: percent must be in (0, 100], got {percent}")
    return f"{float(percent) / 100:.6f}"


def insert_rule(chain: str, match: Sequence[str], comment: str, target: Sequence[str],
                table: str = "filter") -> Argv:
    """``iptables -w -t TABLE -I CHAIN <match> -m comment --comment COMMENT -j <target>``.

    Args:
        chain: e.g. INPUT, OUTPUT, PREROUTING; match: match arguments (``-p 112``, ``-s A``, ...);
        comment: the fault's tag (``kalab:<name>``); target: ``["DROP"]`` or a target with its
        options (``["CT", "--notrack"]``); table: ``filter`` or ``raw``.
    """
    return ["iptables", "-w", "-t", table, "-I", chain, *match, "-m", "comment", "--comment", comment,
            "-j", *target]


# ---------------------------------------------------------------- one builder per fault
def drop_vrrp_rules(direction: str, peer_addrs: Sequence[str], comment: str) -> list[Argv]:
    """drop-vrrp: ``-p 112 -j DROP`` in INPUT and/or OUTPUT of the target node.

    Args:
        direction: in, out or both; peer_addrs: the peer node's addresses, or empty for every
        sender / receiver (INPUT matches them as sources ``-s``, OUTPUT as destinations ``-d``,
        comma-joined); comment: the fault's tag.
    Returns:
        One insert per chain, INPUT before OUTPUT; run them on the target node.
    Raises:
        LabError: unknown direction.
    """
    addrs = ",".join(str(a) for a in peer_addrs)
    out = []
    for chain in chains(direction):
        match = ["-p", VRRP_PROTO]
        if addrs:
            match += ["-s" if chain == "INPUT" else "-d", addrs]
        out.append(insert_rule(chain, match, comment, ["DROP"]))
    return out


def one_way_rules(proto: str, sender_addrs: Sequence[str], comment: str) -> list[Argv]:
    """one-way: drop ``proto`` from the sender's addresses, in the receiver's INPUT chain (so
    multicast adverts are caught too). Run the result on the receiver.

    Raises:
        LabError: unknown protocol.
    """
    return [insert_rule("INPUT", [*proto_args(proto), *source_args(sender_addrs)], comment, ["DROP"])]


def partition_rules(groups: Sequence[Sequence[str]], addresses: Mapping[str, Sequence[str]],
                    comment: str) -> dict[str, list[Argv]]:
    """partition: every node drops all packets from the addresses of the nodes in other groups
    (INPUT chain, all protocols).

    Args:
        groups: node names per group, e.g. ``[["a"], ["b", "client"]]``; addresses: each named
        node's IPv4 addresses; comment: the fault's tag.
    Returns:
        ``{node: [argv]}`` in group order, one insert per node; run each list on its node.
    Raises:
        LabError: fewer than two groups; KeyError: a node of ``groups`` missing from ``addresses``.
    """
    if len(groups) < 2:
        raise LabError("partition: needs at least two groups")
    out: dict[str, list[Argv]] = {}
    for i, g in enumerate(groups):
        others = [a for j, h in enumerate(groups) if j != i for n in h for a in addresses[n]]
        for n in g:
            out[n] = [insert_rule("INPUT", source_args(others), comment, ["DROP"])]
    return out


def loss_rules(percent: float, direction: str, proto: str, comment: str) -> list[Argv]:
    """loss: per chain, ``-m statistic --mode random --probability p -j DROP`` and, inserted after
    it so it sits above it, a counting rule with no target (it matches every selected packet, so
    its counter is the packets seen and the DROP rule's counter the packets dropped).

    The counting rule is ``iptables -w -I CHAIN <proto> -m comment --comment COMMENT`` (filter
    table by default, no ``-j``: iptables(8) "if the rule does not specify a target ... the
    counters are incremented").

    Returns:
        Per chain (INPUT before OUTPUT): the DROP insert, then the counting insert.
    Raises:
        LabError: percent not in (0, 100], unknown direction or protocol.
    """
    p = probability(percent)
    out = []
    for chain in chains(direction):
        out.append(insert_rule(chain, [*proto_args(proto), "-m", "statistic", "--mode", "random",
                                       "--probability", p], comment, ["DROP"]))
        out.append(["iptables", "-w", "-I", chain, *proto_args(proto), "-m", "comment", "--comment", comment])
    return out


def queue_number(lab_id: str, fault_name: str) -> int:
    """A netfilter queue number for a delay fault, stable per lab and fault name: 1000..60999."""
    return 1000 + zlib.crc32(f"{lab_id}/{fault_name}".encode()) % 60000


def nfqueue_delay_rules(direction: str, proto: str, queue: int, comment: str) -> list[Argv]:
    """delay (nfqueue backend): per chain, a raw-table ``-j CT --notrack`` (PREROUTING for INPUT,
    OUTPUT for OUTPUT), then ``-j NFQUEUE --queue-num Q --queue-bypass`` in the filter chain.

    Untracked: while the first packet of a flow waits in the queue its conntrack entry is
    unconfirmed, and later packets of the flow would be dropped as clashes on confirm.
    ``--queue-bypass`` lets packets through unharmed when no program listens on the queue.

    Raises:
        LabError: unknown direction or protocol.
    """
    out = []
    for chain in chains(direction):
        out.append(insert_rule("PREROUTING" if chain == "INPUT" else "OUTPUT", proto_args(proto), comment,
                               ["CT", "--notrack"], table="raw"))
        out.append(insert_rule(chain, proto_args(proto), comment,
                               ["NFQUEUE", "--queue-num", str(queue), "--queue-bypass"]))
    return out


def nfq_helper_argv(queue: int, ms: float, jitter_ms: float, pidfile: str) -> Argv:
    """Start the node image's ``kalab-nfq-delay`` (images/node/nfq-delay.py) as a daemon: hold each
    packet of queue ``queue`` ``ms`` +/- uniform ``jitter_ms`` milliseconds (passed in seconds,
    six decimals), its pid written to ``pidfile``."""
    return ["kalab-nfq-delay", "--queue", str(queue), "--delay", f"{ms / 1000:.6f}",
            "--jitter", f"{jitter_ms / 1000:.6f}", "--pidfile", pidfile, "--daemon"]


def stop_helper_cmd(pidfile: str, if_running: bool = True) -> str:
    """Shell command that kills the process whose pid is in ``pidfile``; with ``if_running`` it
    does nothing (and succeeds) when the file is absent."""
    if if_running:
        return f"[ -e {pidfile} ] && kill $(cat {pidfile}); true"
    return f"kill $(cat {pidfile})"


def netem_delay_argv(iface: str, ms: float, jitter_ms: float = 0.0) -> Argv:
    """delay (netem backend): ``tc qdisc add dev IF root netem delay Dms [Jms]`` (tc-netem(8));
    the jitter is left out when it is 0. Delays every egress packet of ``iface``."""
    return ["tc", "qdisc", "add", "dev", iface, "root", "netem", "delay", f"{ms:g}ms",
            *([f"{jitter_ms:g}ms"] if jitter_ms else [])]


def qdisc_show_argv(iface: str) -> Argv:
    """``tc qdisc show dev IF`` (to find a netem qdisc to remove)."""
    return ["tc", "qdisc", "show", "dev", iface]


def qdisc_delete_argv(iface: str) -> Argv:
    """``tc qdisc del dev IF root``: back to the interface's default qdisc."""
    return ["tc", "qdisc", "del", "dev", iface, "root"]


def link_argv(iface: str, up: bool) -> Argv:
    """link-down: ``ip link set dev IF down`` (``up`` False) or ``... up`` (ip-link(8))."""
    return ["ip", "link", "set", "dev", iface, "up" if up else "down"]


# ---------------------------------------------------------------- both address families
#: the binaries of the two families (iptables(8), ip6tables(8): one syntax)
BINARIES = ("iptables", "ip6tables")


def for_families(argvs: Sequence[Argv], ipv6: bool) -> list[Argv]:
    """The rules of a node for each address family it has: every ``iptables`` argv for IPv4 and, when the node
    has IPv6 (``ipv6``), right after it its ``ip6tables`` twin, so a fault on VRRP also catches VRRPv3 over
    IPv6 (RFC 5798; its adverts come from link-local addresses, which the -s/-d lists then carry too).

    An argv whose ``-s``/``-d`` list mixes families keeps its IPv4 addresses for iptables and its IPv6 ones for
    the twin; a family with no address of the list gets no rule (an address match with nothing in it would
    match every packet). ``-p icmp`` is ``-p ipv6-icmp`` in the twin. Other argvs pass unchanged.

    Raises:
        ValueError: an address of a ``-s``/``-d`` list is not an IP address.
    """
    out: list[Argv] = []
    for argv in argvs:
        if not argv or argv[0] != "iptables":
            out.append(list(argv))
            continue
        for fam, binary in ((4, "iptables"), (6, "ip6tables")):
            if fam == 6 and not ipv6:
                continue
            words, skip = [binary], False
            i = 1
            while i < len(argv):
                w = argv[i]
                if w in ("-s", "-d") and i + 1 < len(argv):
                    mine = [a for a in argv[i + 1].split(",") if a and ipaddress.ip_address(a.split("/")[0]).version == fam]
                    if not mine:
                        skip = True
                        break
                    words += [w, ",".join(mine)]
                    i += 2
                    continue
                if fam == 6 and w == "-p" and i + 1 < len(argv) and argv[i + 1] == "icmp":
                    words += ["-p", "ipv6-icmp"]
                    i += 2
                    continue
                words.append(w)
                i += 1
            if not skip:
                out.append(words)
    return out


# ---------------------------------------------------------------- reading rules back
def list_rules_argv(table: str, binary: str = "iptables") -> Argv:
    """``iptables -w -t TABLE -S`` (or ``ip6tables``): the table's rules as ``-A CHAIN ...`` specs."""
    return [binary, "-w", "-t", table, "-S"]


def tagged_lines(output: str, comment: Optional[str] = None) -> list[str]:
    """The ``-A`` lines of ``iptables -S`` output tagged ``--comment COMMENT`` (default: any tag
    starting ``kalab:``), in output order. iptables may quote the comment; shlex removes quotes."""
    out = []
    for line in output.splitlines():
        if not line.startswith("-A "):
            continue
        words = shlex.split(line)
        if "--comment" in words:
            c = words[words.index("--comment") + 1]
            if (comment is None and c.startswith(COMMENT_PREFIX)) or c == comment:
                out.append(line)
    return out


def delete_argv(line: str) -> Argv:
    """The ``iptables -w -t TABLE -D CHAIN ...`` command removing the rule of one
    ``[BINARY] -t TABLE -A CHAIN ...`` line (an ``iptables -S`` or ``ip6tables -S`` line prefixed with its
    table, and with the binary when it is not iptables)."""
    words = shlex.split(line)
    binary = words.pop(0) if words and words[0] in BINARIES else "iptables"
    words[2] = "-D"                     # "-t TABLE -A CHAIN ..." -> "-t TABLE -D CHAIN ..."
    return [binary, "-w", *words]


def counters_argv(binary: str = "iptables") -> Argv:
    """``iptables -w -L -v -x -n`` (or ``ip6tables``): the filter table with exact packet counters, numeric."""
    return [binary, "-w", "-L", "-v", "-x", "-n"]


def parse_counters(output: str, comment: str) -> list[tuple[int, str]]:
    """(packets, target) of each rule tagged ``comment`` in ``iptables -L -v -x -n`` output, in
    chain order. A rule with no target shows its protocol in the target column."""
    out = []
    for line in output.splitlines():
        if f"/* {comment} */" in line:
            parts = line.split()
            out.append((int(parts[0]), parts[2]))
    return out
