"""Node faults: SIGKILL the container, graceful stop, pause (freeze), restart.

They wrap :class:`lab.runtime.node.Node`'s lifecycle methods, which also record ``node``
events (so ``History.states`` shows the node DOWN or PAUSED). keepalived is PID 1, so killing
or stopping the container is killing or stopping keepalived (see :mod:`lab.nemesis.keepalived`).
Heal brings the node back: start (after kill/stop) or unpause.
"""
from __future__ import annotations

from typing import ClassVar

from .base import Fault, node_input, register

#: seconds a container may take to exit after a signal before heal starts it anyway (docker's default stop timeout)
EXIT_DEADLINE = 10


class _DownFault(Fault):
    """A fault that leaves the container exited; heal waits for the exit and starts it again.

    Meaning: apply takes keepalived down (``graceful``: after priority-0 adverts, RFC 3768 §6.4.3);
    heal starts it in its initial state.
    """

    graceful: ClassVar[bool] = False

    def model_inputs(self, action: str):
        if action == "apply":
            return [node_input("node_down", self.target, graceful=self.graceful)]
        return [node_input("node_up", self.target)]

    def _heal(self) -> str:
        node = self.node()
        st = node.status()
        if st == "running":
            try:
                node.container.wait(timeout=EXIT_DEADLINE)
            except Exception:      # still running after the deadline (e.g. a slow graceful stop)
                pass
            st = node.status()
        if st in ("exited", "created", "dead"):
            node.start()
            return "started again"
        return f"node was {st}; nothing to start"


@register
class NodeKill(_DownFault):
    """``docker kill`` (SIGKILL): keepalived dies without a word; backups wait the master down interval."""

    kind = "kill"
    summary = "SIGKILL the node's container (keepalived is PID 1); heal starts it"

    def _apply(self) -> str:
        self.node().kill("SIGKILL")
        return "SIGKILL to the container"


@register
class NodeStop(_DownFault):
    """``docker stop``: SIGTERM to keepalived (graceful, priority-0 adverts), SIGKILL after ``timeout`` s."""

    kind = "stop"
    summary = "graceful docker stop (SIGTERM, SIGKILL after timeout s); heal starts it"
    graceful = True

    def __init__(self, lab, target, *, timeout: int = EXIT_DEADLINE, **kw):
        super().__init__(lab, target, timeout=timeout, **kw)

    def _apply(self) -> str:
        self.node().stop(timeout=int(self.params["timeout"]))
        return f"docker stop (timeout {self.params['timeout']} s)"


@register
class NodePause(Fault):
    """``docker pause``: every process frozen; the node keeps its VIPs but sends nothing."""

    kind = "pause"
    summary = "freeze the node (cgroup freezer); heal unpauses"

    def model_inputs(self, action: str):
        """A paused node keeps its VIPs and sends nothing; thawed, it resumes where it was."""
        return [node_input("node_paused" if action == "apply" else "node_resumed", self.target)]

    def _apply(self) -> str:
        self.node().pause()
        return "container paused"

    def _heal(self) -> str:
        node = self.node()
        if node.status() == "paused":
            node.unpause()
            return "unpaused"
        return "was not paused"


@register
class NodeRestart(Fault):
    """``docker stop`` + ``start`` in one step. Instantaneous: heal only records the end."""

    kind = "restart"
    summary = "stop and start the node (keepalived restarts in its initial state)"

    def model_inputs(self, action: str):
        """A graceful stop then a start in its initial state; heal changes nothing."""
        if action == "apply":
            return [node_input("node_down", self.target, graceful=True), node_input("node_up", self.target)]
        return []

    def _apply(self) -> str:
        self.node().restart()
        return "stopped and started"

    def _heal(self) -> str:
        node = self.node()
        if node.status() in ("exited", "created"):
            node.start()
            return "started"
        return "nothing to undo"
