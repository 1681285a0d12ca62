"""Topologies for the seed conformance suite, built in Python (the builder path of lab.topology).

Each builder mirrors a configuration the seed document (``../shared/seeds/000_f1af7e39474d1e8c.txt``)
shows or describes; field names are keepalived's keywords.
"""
from __future__ import annotations

import copy
from typing import Any

from lab.timers import master_down_interval
from lab.topology import Topology, validate

#: advert_int (s) of every seed topology here
ADV = 1.0


def mdi(prio: int) -> float:
    """Master down interval (s) of a backup of ``prio`` at advert_int ADV, VRRPv2 (RFC 3768 §6.1)."""
    return master_down_interval(prio, ADV, 2)

BASE_INSTANCE = {"interface": "eth0", "virtual_router_id": 52, "advert_int": 1, "virtual_ipaddress": ["lan+200"]}

#: a vrrp_script the lab can make fail by creating a flag file in the node (no shell syntax:
#: keepalived execs the command, sh does the test; /usr/bin/sh, not /bin/sh: keepalived 2.3.x disables a script
#: whose path goes through a symlinked directory, the claim 5-script-symlink-paths)
FLAG_SCRIPT = "/usr/bin/sh -c 'test ! -e /tmp/fail-{name}'"


def pair(a: dict[str, Any], b: dict[str, Any], *, shared: dict[str, Any] | None = None,
         scripts: dict[str, dict[str, Any]] | None = None, global_defs: dict[str, Any] | None = None,
         name: str = "seed_pair", client: bool = True, extra_nodes: dict[str, Any] | None = None,
         networks: dict[str, Any] | None = None) -> Topology:
    """Two keepalived nodes ``s1`` and ``s2`` (the seed's Server1/Server2) plus a client.

    Args:
        a, b: VRRP instance fields of VI_1 for s1 and s2 (e.g. {"state": "MASTER", "priority": 100}).
        shared: fields of VI_1 common to both (merged over BASE_INSTANCE).
        scripts: vrrp_script blocks by name (shared by both nodes).
        networks: the topology's networks (default ``{"lan": {}}``; e.g. with a ``subnet6``).
    """
    inst = {**copy.deepcopy(BASE_INSTANCE), **(shared or {})}
    nodes: dict[str, Any] = {
        "s1": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": a}},
        "s2": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": b}},
    }
    if client:
        nodes["client"] = {"kind": "client", "interfaces": {"eth0": {"network": "lan"}}}
    nodes.update(extra_nodes or {})
    return validate({"name": name, "networks": networks or {"lan": {}}, "global_defs": global_defs or {},
                     "vrrp_scripts": scripts or {}, "vrrp_instances": {"VI_1": inst}, "nodes": nodes}, "<seed builder>")


def master_after_start(lab, node: str, prio: int, since: float = float("-inf")):
    """``node``'s MASTER reports within one master down interval (+ MARGIN) of its keepalived start.

    A node of priority ``prio`` that hears no higher advert becomes MASTER one MDI after it
    starts (RFC 3768 §6.4.2; man 5 keepalived.conf, ``state``), so an empty list means it did
    not. The wait runs from keepalived's own ``Startup complete`` (lab.keepalived_started), not
    from a start-up allowance. Returns the list of MASTER state events (empty: none, also
    when keepalived exited instead of starting).
    """
    import time

    from lab.timers import MARGIN
    up = lab.keepalived_started(node)
    if up is None:
        return []
    return lab.history.wait_for(lambda h: h.events("state", since=since, node=node, state="MASTER"),
                                up + mdi(prio) + MARGIN - time.monotonic(), clock_start=up, slack=MARGIN) or []


def flag_script(name: str, **fields: Any) -> dict[str, dict[str, Any]]:
    """A vrrp_script ``name`` that succeeds until ``/tmp/fail-<name>`` exists in the node."""
    return {name: {"script": FLAG_SCRIPT.format(name=name), "interval": 1, **fields}}


def fail_script(lab, node: str, name: str):
    """Make the flag script ``name`` fail on ``node`` (create its flag file), as a ``command`` fault
    whose declared meaning is that script's failure, so the judge knows. Returns the fault: its
    ``heal()`` removes the flag file (the script passes again)."""
    f = lab.fault("command", node, run=f"touch /tmp/fail-{name}", undo=f"rm -f /tmp/fail-{name}", script=name)
    f.apply()
    return f


class Tcpdump:
    """tcpdump in a node, started and read through a streaming docker exec (no polling).

    ``Tcpdump(node, "arp", count=5)`` returns once tcpdump says it is listening;
    ``.lines(timeout)`` blocks until ``count`` packets were printed (or the deadline) and
    returns the packet lines (``-tt``: first field is the capture time in epoch seconds).

    tcpdump runs without ``-c``: it is this reader that stops at ``count``. With ``-c`` tcpdump exited at once
    after the last packet, and the engine's exec stream can end before that last line reaches it (CI-21:
    3 of 4 adverts printed, the host capture had all 4); tcpdump ends with ``timeout`` or its container.
    """

    def __init__(self, node, bpf: str, count: int, timeout: float = 30, iface: str = "eth0"):
        import queue
        import re
        import threading

        from lab.runtime.node import stream_lines
        self._q: "queue.Queue[str | None]" = queue.Queue()
        from lab.runtime.exec_io import start
        _, res = start(node.container.client.api, node.container.id,
                       ["timeout", f"{timeout:g}", "tcpdump", "-n", "-tt", "-e", "-l", "-i", iface, bpf])
        ready = threading.Event()

        def pump():
            for text in stream_lines(res.chunks()):
                if "listening on" in text:
                    ready.set()
                elif re.match(r"^\d+\.\d+ ", text):       # a packet line (-tt time first)
                    self._q.put(text)
            ready.set()
            self._q.put(None)

        self._t = threading.Thread(target=pump, daemon=True)
        self._t.start()
        if not ready.wait(10):
            raise AssertionError("tcpdump did not start listening within 10 s")
        self.count = count

    def lines(self, timeout: float) -> list[str]:
        import queue
        import time
        out, deadline = [], time.monotonic() + timeout
        while len(out) < self.count:
            try:
                item = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                break
            out.append(item)
        return out
