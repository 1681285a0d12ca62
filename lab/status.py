"""Status rows of a running lab (used by the CLI table and the demo)."""
from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

from lab.errors import NodeNotRunning
from lab.history import STATES


@dataclass
class StatusRow:
    """One (node, instance): state from notify_fifo, priority (configured and last reported),
    whether the node holds the instance's VIPs (``ip addr``), whether nginx answers locally,
    and the last state change's time (seconds since lab start; MASTER_RX_LOWER_PRI and
    priority changes are not state changes)."""

    node: str
    instance: str
    container: str
    state: str
    priority: int
    reported_priority: Optional[int]
    holds_vip: bool
    nginx_up: bool
    last_transition: Optional[float]


def status_rows(lab) -> list[StatusRow]:
    """Collect :class:`StatusRow` for every keepalived node and instance (parallel docker execs)."""
    def one(node):
        running = node.status()
        try:
            addrs = node.ip_addresses() if running == "running" else {}
            nginx = running == "running" and node.exec(["curl", "-s", "-m", "1", "-o", "/dev/null", "http://127.0.0.1/"],
                                                       idempotent=True).ok
        except NodeNotRunning as e:             # paused or gone since it was asked: shown as such
            running, addrs, nginx = e.status, {}, False
        rows = []
        for inst_name, inst in lab.topology.instances(node.name).items():
            vips = lab.vips(inst_name)
            held = bool(addrs) and all(any(i.ip == ipaddress.ip_address(str(v)) for l in addrs.values() for i in l)
                                       for v in vips)
            evs = [e for e in lab.history.events("state", node=node.name, instance=inst_name) if e["state"] in STATES]
            state = lab.history.states(inst_name).get(node.name) or "?"
            if running != "running":
                state = running.upper()
            rows.append(StatusRow(node.name, inst_name, running, state, inst.priority,
                                  lab.history.priorities(inst_name).get(node.name), held, nginx,
                                  evs[-1].t - lab.history.t0 if evs else None))
        return rows

    nodes = lab.keepalived_nodes()
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        return [r for rows in pool.map(one, nodes) for r in rows]


def status_table(lab, title: str = ""):
    """A rich Table of :func:`status_rows`."""
    from rich.table import Table

    t = Table(title=title or f"lab {lab.id} ({lab.topology.name})")
    for col in ("node", "instance", "state", "priority", "effective prio", "holds VIP", "nginx", "state since (s after start)"):
        t.add_column(col)
    colors = {"MASTER": "bold green", "BACKUP": "cyan", "FAULT": "bold red"}
    for r in status_rows(lab):
        t.add_row(r.node, r.instance, f"[{colors.get(r.state, 'dim')}]{r.state}[/]", str(r.priority),
                  str(r.reported_priority if r.reported_priority is not None else "-"),
                  "[bold green]yes[/]" if r.holds_vip else "no", "up" if r.nginx_up else "[red]down[/]",
                  f"{r.last_transition:.2f} s" if r.last_transition is not None else "-")
    return t
