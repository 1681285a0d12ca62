"""Waiting on a running lab: event driven, with deadlines from the protocol's timers (never a sleep).

The timers of a node as a backup (master down interval, skew time: RFC 3768/5798 §6.1) come from
its configured instance; the deadlines add the lab's own allowances (:data:`lab.timers.MARGIN`,
:data:`lab.timers.STARTUP_ALLOWANCE`), and every failure carries the history tail and node logs.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Optional

from .errors import LabError, LabTimeout
from .events import Event, node_effect
from .history import History
from .judge import failure_text
from .timers import MARGIN, STARTUP_ALLOWANCE, master_down_interval, skew_time

if TYPE_CHECKING:  # pragma: no cover
    from .runtime.node import Node



#: node actions that are the lab's inputs to the election (each recorded when in effect): what a wait's
#: protocol clock may start from (``exited``, ``died``, ``ready`` are the node's own doings)
INPUT_ACTIONS = frozenset({"start", "restart", "kill", "signal", "stop", "pause", "unpause"})

class WaitsMixin:
    """Waits of :class:`lab.lab.Lab` (uses ``self.history``, ``self.topology``, ``self.nodes``)."""

    history: History
    nodes: dict

    def instance_config(self, node: str, instance: str):
        return self.topology.instances(node)[instance]

    def master_down_interval(self, node: str, instance: str, priority: Optional[int] = None) -> float:
        """Master down interval (s) of ``node`` as a backup of ``instance`` (RFC 3768/5798 §6.1)."""
        i = self.instance_config(node, instance)
        return master_down_interval(priority or i.priority, i.advert_int, i.version or 2)

    def skew_time(self, node: str, instance: str, priority: Optional[int] = None) -> float:
        """Skew time (s) of ``node`` for ``instance`` (RFC 3768/5798 §6.1)."""
        i = self.instance_config(node, instance)
        return skew_time(priority or i.priority, i.advert_int, i.version or 2)

    def convergence_deadline(self, instance: str) -> float:
        """Seconds to allow for first convergence: the longest MDI of any node plus start allowance."""
        mdis = [self.master_down_interval(n, instance) for n in self.topology.keepalived_nodes()
                if instance in self.topology.instances(n)]
        delay = max((self.instance_config(n, instance).preempt_delay or 0) for n in self.topology.keepalived_nodes()
                    if instance in self.topology.instances(n))
        return STARTUP_ALLOWANCE + max(mdis) + delay

    # ------------------------------------------------------------------ waiting
    def _settled_master(self, h: History, instance: str) -> Optional[str]:
        """The single MASTER of ``instance`` if no live node should still preempt it, else None.

        A BACKUP with a higher last-reported priority and preemption on would take over
        (man 5 keepalived.conf: preempt is the default; nopreempt disables it), so the
        election is not settled while one exists, nor while a running keepalived node of the
        instance has not reported any state yet.
        """
        states = h.states(instance)
        masters = [n for n, s in states.items() if s == "MASTER"]
        if len(masters) != 1:
            return None
        m = masters[0]
        running: dict[str, bool] = {}
        for e in h.events("node"):
            eff = node_effect(e["action"], e.get("signal"))
            if eff in ("up", "restart", "unpause"):
                running[e["node"]] = True
            elif eff in ("down", "down-graceful", "pause"):
                running[e["node"]] = False
        for n in self.topology.keepalived_nodes():
            if running.get(n) and instance in self.topology.instances(n) and n not in states:
                return None        # started and not yet reported: it may still win (issue 12, defect 5)
        prios = h.priorities(instance)
        for n, s in states.items():
            if n == m or s != "BACKUP" or instance not in self.topology.instances(n):
                continue
            cfg = self.topology.instances(n)[instance]
            if not cfg.nopreempt and prios.get(n, cfg.priority) > prios.get(m, 0):
                return None
        return m

    def _raise_if_died(self, h: History, since: float) -> None:
        """Raise LabError if a node's keepalived exited on its own and has not been started again.

        Called inside waits, so a config keepalived refuses (it exits at once) fails the wait
        immediately with the node's last log lines instead of at the deadline.
        """
        down: dict[str, Event] = {}
        for e in h.events("node"):
            if e["action"] == "died":
                down[e["node"]] = e
            elif e["action"] == "start":
                down.pop(e["node"], None)
        if down:
            n, e = next(iter(down.items()))
            raise LabError(f"keepalived on node {n} exited by itself (exit code {e.get('exit_code')}); "
                           f"its last log lines:\n{e.get('log_tail', '')}")
        return None

    def wait_for_master(self, instance: str, timeout: Optional[float] = None) -> "Node":
        """Wait until exactly one node is MASTER of ``instance`` and no BACKUP should preempt it.

        Args:
            timeout: seconds; default :meth:`convergence_deadline`.
        Returns: the master's Node.
        Raises: LabTimeout (an AssertionError) with the history tail and node logs.
        """
        timeout = self.convergence_deadline(instance) if timeout is None else timeout
        since = time.monotonic()
        causes = [e.t for e in self.history.events() if e.kind in ("node", "fault")]
        m = self.history.wait_for(lambda h: self._raise_if_died(h, since) or self._settled_master(h, instance), timeout,
                                  clock_start=max(causes) if causes else since)
        if not m:
            raise self.timeout_error(f"no single settled MASTER of {instance} within {timeout:.2f} s "
                                     f"(states now: {self.history.states(instance)})")
        return self.nodes[m]

    def clock_slack(self) -> float:
        """Seconds a node's stamp may lie before the host's moment it stands for: the largest measured clock
        uncertainty of the keepalived nodes (lab.runtime.clock; 0 on a local engine)."""
        return max((n.clock.uncertainty for n in self.keepalived_nodes()), default=0.0)

    def keepalived_started(self, node: str, timeout: float = STARTUP_ALLOWANCE) -> Optional[float]:
        """Wait until keepalived in ``node``'s current run logs ``Startup complete``; return when (host s).

        The protocol's clocks of a freshly started node (its first master down interval, man 5
        keepalived.conf ``state``) run from here, so a test that must show that nothing happens
        after a start can wait from this moment instead of a start-up allowance.
        Returns None when keepalived exited instead (a config it refuses): it runs no instance.
        Raises: LabTimeout (with logs) if neither happens within ``timeout`` seconds.
        """
        n = self.node(node)
        mine = [e for e in self.history.events("node", node=node) if e["action"] in ("start", "restart", "ready")]
        if mine and mine[-1]["action"] == "ready":       # already seen (Node.watch_ready)
            return mine[-1].t
        t = n.wait_for_log(n.startup_pattern(), timeout)      # keepalived before 2.2.2: its first initial state
        if t is None and n.status() != "running":
            return None
        if t is None:
            raise self.timeout_error(f"keepalived on {node} did not log the end of its start "
                                     f"({n.startup_pattern()!r}) within {timeout:.1f} s")
        mine = [e for e in self.history.events("node", node=node) if e["action"] in ("start", "restart", "ready")]
        if not (mine and mine[-1]["action"] == "ready"):
            self.history.append("node", t=t, node=node, action="ready")
        return t

    def wait_for_transition(self, instance: str, state: str, *, node: Optional[str] = None,
                            since: Optional[float] = None, timeout: Optional[float] = None,
                            clock_from: Optional[float] = None) -> Event:
        """Wait for a notify_fifo transition of ``instance`` to ``state`` after ``since``.

        Args:
            node: only this node's transitions (default any).
            since: history time (monotonic s); default now.
            timeout: seconds; default the longest master down interval + MARGIN.
            clock_from: the latest time the protocol's clock can have started (s): the deadline is
                ``clock_from + timeout``. For a fault, ``since=f.issued_at, clock_from=f.applied_at``: its
                effect began somewhere between the two (a loaded engine takes a while to put rules in
                place), and a deadline from the issue alone would count that delay against keepalived.
                Default: the latest input the lab recorded after ``since`` (a fault applied or healed, a
                node started, stopped, signalled, paused; each event stamped when it was in effect), else
                ``since``: no protocol clock starts before the input that starts it (CI: a heal whose
                ``rm`` took 1.2 s on a loaded host made a wait from before it run out).
        Returns: the first matching Event (its ``t`` is when keepalived reported it).
        """
        since = time.monotonic() if since is None else since
        if clock_from is None:
            clock_from = max([since] + [e.t for e in self.history.events(since=since)
                                        if e.kind == "fault" or (e.kind == "node" and e.get("action") in INPUT_ACTIONS)])
        clock_from = max(since, clock_from)
        if timeout is None:
            timeout = max(self.master_down_interval(n, instance) for n in self.topology.keepalived_nodes()
                          if instance in self.topology.instances(n)) + MARGIN
        match = {"instance": instance, "state": state, **({"node": node} if node else {})}
        # a node's stamps are on this host's clock within its measured uncertainty (lab.runtime.clock; 0 on a
        # local engine): a report stamped that much before ``since`` may have come after it
        slack = self.clock_slack()
        ev = self.history.wait_for(lambda h: next(iter(h.events("state", since=since - slack, **match)), None),
                                   max(0.0, clock_from + timeout - time.monotonic()), clock_start=since)
        if ev is None:
            who = node or "any node"
            raise self.timeout_error(f"{who} did not report {instance} -> {state} within {timeout:.2f} s")
        return ev

    async def wait_for(self, predicate: Callable[[History], object], timeout: float):
        """``await lab.wait_for(pred, timeout)``: :meth:`History.wait_for` in a thread, for async tests."""
        import asyncio
        return await asyncio.to_thread(self.history.wait_for, predicate, timeout)

    def timeout_error(self, message: str) -> LabTimeout:
        """A LabTimeout whose text carries the history tail and each keepalived node's log tail."""
        return LabTimeout(failure_text(message, self.history, [(n.name, n.logs(tail=15)) for n in self.keepalived_nodes()]))


