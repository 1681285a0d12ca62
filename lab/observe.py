"""Observing a running lab: who holds a VIP (inside: ``ip addr``; outside: a client's HTTP request),
keepalived's own JSON dump, and the lab's script switches. Every observation is recorded in the history.
"""
from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable, Optional

from .history import History

if TYPE_CHECKING:  # pragma: no cover
    from .runtime.node import Node


class ObserveMixin:
    """Observations of :class:`lab.lab.Lab` (uses ``self.history``, ``self.topology``, ``self.nodes``, ``self.subnets``)."""

    history: History
    nodes: dict

    def vip_holders(self, instance: str) -> list[str]:
        """Nodes that have every VIP of ``instance`` on an interface (inside view, ``ip -j addr``).

        Only running nodes are asked: a paused node cannot be (it may still hold the VIP), a stopped one
        holds nothing (no container, no network namespace). A node that stops or is paused between the lab's look and its question (SIGTERM to
        keepalived ends the container a moment after its priority-0 advert) is left out the same way.
        Recorded in the history as a ``vip`` event; ``not_running`` names the nodes left out.

        Raises:
            RuntimeError: a running node could not say what it holds (lab.runtime.node.Node.ip_addresses).
        """
        from .errors import NodeNotRunning

        def ask(n):
            try:
                return n.ip_addresses() if n.status() == "running" else None
            except NodeNotRunning:
                return None

        vips = self.vips(instance)
        nodes = list(self.keepalived_nodes())
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            addrs = dict(zip([n.name for n in nodes], pool.map(ask, nodes)))
        holders = sorted(name for name, a in addrs.items() if a is not None
                         and all(any(i.ip == v for l in a.values() for i in l) for v in vips))
        not_running = sorted(name for name, a in addrs.items() if a is None)
        self.history.append("vip", instance=instance, holders=holders, view="inside", not_running=not_running)
        return holders

    def http_get_vip(self, instance: str, via: Optional[str] = None) -> Optional[str]:
        """Ask the VIP over HTTP from a client node; returns the answering node's name or None.

        Recorded in the history as a ``vip`` event (outside view).
        """
        cl = self.nodes[via] if via else self.client.node
        who = cl.http_get(self.vip(instance))
        self.history.append("vip", instance=instance, holders=[who] if who else [], view="outside")
        return who

    def vip_neighbour(self, instance: str, via: Optional[str] = None) -> Optional[str]:
        """Whose MAC the client's neighbour entry (ARP / NDP cache) holds for the first VIP of ``instance``: the
        node its packets to the VIP go to, whoever answers them (a node that forwards passes a stale entry's
        traffic on, so the HTTP answer alone cannot show it). A node name, ``"?"`` for a MAC no keepalived
        node has, or None for no resolved entry. Recorded as a ``vip`` event (view ``neighbour``)."""
        cl = self.nodes[via] if via else self.client.node
        mac = cl.neighbour_mac(self.vip(instance))
        who = None if mac is None else next((n.name for n in self.keepalived_nodes() if mac in n.macs()), "?")
        self.history.append("vip", instance=instance, holders=[who] if who else [], view="neighbour")
        return who

    def dump_json(self, node: str) -> dict:
        """keepalived's JSON dump on ``node``: {instance: InstanceDump(state, effective_priority, ...)}."""
        from .runtime.dump import dump_json
        return dump_json(self.node(node))

    def cross_check(self) -> list:
        """Compare the record with every running keepalived node's JSON dump (:mod:`lab.crosscheck`):
        state, effective priority and adverts sent, per instance. Each finding is recorded as a
        ``crosscheck`` event and returned (``lab.crosscheck.Finding``). Waits (bounded) for the events
        follower to read to the end of the node's events log, and for the host capture to record every
        advert it received before the dump was answered (a capture that cannot say so: at most one
        advert interval + 0.5 s for adverts still in flight). Never raises for a node it cannot ask: that is a
        skipped finding naming why."""
        import time

        from .crosscheck import Finding, compare_node
        from .election.specs import RunningView
        from .kaconf.schema import instance_family
        from .runtime.dump import dump_json
        from .runtime.node_events import EVENTS_LOG

        captured_from = self.captured_from()
        view = RunningView(self.topology, getattr(self, "configs", {}) or {})
        findings: list = []
        for node in self.keepalived_nodes():
            try:
                status = node.status()
                if status != "running":
                    findings.append(Finding(node.name, "*", "dump", None, why=f"the container is {status}"))
                    continue
                t_issued = time.monotonic()
                dump = dump_json(node)
                t_done = time.monotonic()
                lines = node.exec(["sh", "-c", f"wc -l < {EVENTS_LOG}"], idempotent=True)
                n = int(lines.output.strip() or 0) if lines.ok else 0
                self.history.wait_for(lambda h: node._lines_seen >= n, timeout=2.0, account=False)
            except Exception as e:          # keepalived gone meanwhile, the engine stopped answering
                findings.append(Finding(node.name, "*", "dump", None, why=f"no dump: {str(e)[:200]}"))
                continue
            addrs = sorted(node.advert_sources())
            unicast = {k: bool(getattr(v, "unicast_peer", None)) for k, v in view.instances(node.name).items()}
            families = {k: instance_family(getattr(v, "virtual_ipaddress", None) or ())
                        for k, v in view.instances(node.name).items()}

            def compare():
                return compare_node(self.history.events(), node.name, addrs, dump, t_issued, t_done,
                                    captured_from=captured_from, unicast=unicast, families=families)

            def short(fs):
                return any(f.item == "advert_sent" and f.ok is False for f in fs)

            flushed = self.flush_captures(t_done)
            fs = compare()
            if short(fs) and not flushed:   # adverts sent before t_done may still be on their way to the capture
                wait = max(float(d.raw.get("adver_int") or 1.0) for d in dump.values()) + 0.5
                self.history.wait_for(lambda h: not short(compare()), timeout=wait, account=False)
                fs = compare()
            for f in fs:
                self.history.append("crosscheck", **f.as_data())
            findings += fs
        return findings

    async def run(self, fn: Callable, *args, **kw):
        """``await lab.run(node.kill)``: a blocking (docker) call in a thread, for async tests."""
        import asyncio
        return await asyncio.to_thread(fn, *args, **kw)

    def set_script(self, node: str, script: str, ok: bool) -> float:
        """Make the vrrp_script ``script`` on ``node`` succeed (``ok``) or fail from now on.

        Lab topologies' convention: a script whose command mentions ``/run/kalab/ok-NAME`` succeeds
        while that file exists (``test -e /run/kalab/ok-chk`` starts failing); any other fails while
        ``/run/kalab/fail-NAME`` exists (``test ! -e /run/kalab/fail-chk``). Recorded as a ``fault``
        event named ``script`` (the election model reads it). Returns the history time of the flip.
        """
        cmd = self.topology.scripts(node)[script].script
        if f"/run/kalab/ok-{script}" in cmd:
            path, present = f"/run/kalab/ok-{script}", ok
        else:
            path, present = f"/run/kalab/fail-{script}", not ok
        self.node(node).exec(f"touch {path}" if present else f"rm -f {path}", check=True)
        return self.history.append("fault", name="script", action="apply", target=node, script=script, ok=ok,
                                   detail=f"{script} {'OK' if ok else 'KO'}", fault_kind="set-script",
                                   model=[{"input": "script_result", "node": node, "script": script, "ok": ok}]).t



class Client:
    """A client node seen through the lab: ``lab.client.http_get_vip("VI_1")``.

    Every attribute not defined here is the underlying :class:`~lab.runtime.node.Node`'s.
    """

    def __init__(self, lab: "ObserveMixin", node: "Node"):
        self.lab, self.node = lab, node

    def __getattr__(self, name: str):
        return getattr(self.node, name)

    def http_get_vip(self, instance: str) -> Optional[str]:
        """HTTP GET the first VIP of ``instance``; the answering node's name, or None (recorded)."""
        return self.lab.http_get_vip(instance, via=self.node.name)

    def arp_vip(self, instance: str) -> Optional[str]:
        """The MAC address that answers ARP for the first VIP of ``instance`` (or None)."""
        return self.node.arp_mac(self.lab.vip(instance))

