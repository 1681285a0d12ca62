"""Service faults: stop nginx, force a vrrp_script's result, or run a user's own break/repair commands.

Forcing a script: the lab renders each ``vrrp_script`` as ``/usr/local/sbin/kalab-check NAME
<original command>`` (images/node/kalab-check.sh); the wrapper exits 0 when
``/run/kalab/scripts/NAME.force`` says ``ok``, 1 when it says ``fail``, and otherwise runs the
original command. A user's own keepalived.conf (``config_template``) is not wrapped: break what
its script checks instead (``nginx-stop``, or ``command`` with ``run=...`` and ``undo=...``).
keepalived applies a script's result after ``fall`` consecutive failures / ``rise`` successes,
each ``interval`` seconds apart (man 5 keepalived.conf, vrrp_script).
"""
from __future__ import annotations

import time

from ..errors import LabError
from .base import Fault, node_input, register

SCRIPT_DIR = "/run/kalab/scripts"
WRAPPER = "/usr/local/sbin/kalab-check"
#: seconds nginx may take to exit after ``nginx -s stop``
NGINX_STOP_DEADLINE = 5.0


@register
class NginxStop(Fault):
    """``nginx -s stop`` (waits until no nginx process is left); heal starts nginx again."""

    kind = "nginx-stop"
    summary = ("stop nginx on the node [scripts=NAME,... the vrrp_scripts that check it]; heal starts it")

    def __init__(self, lab, target, *, scripts: str = "", **kw):
        super().__init__(lab, target, scripts=scripts, **kw)

    def _checks(self) -> list[str]:
        return [s for s in self.params["scripts"].split(",") if s]

    def model_inputs(self, action: str):
        """nginx itself is not VRRP: the meaning is the results of the vrrp_scripts that check it
        (``scripts=``): failing while nginx is stopped, succeeding again after heal. A node that
        tracks scripts but names none has no rule: the model cannot know which of them check nginx."""
        topo = self.lab.topology
        tracked = topo.scripts(self.target) if self.target in topo.keepalived_nodes() else {}
        if self._checks():
            return [node_input("script_result", self.target, script=s, ok=action != "apply") for s in self._checks()]
        return [] if not tracked else None

    def unmodelled(self, action: str) -> str:
        return (f"nginx-stop on {self.target}, which runs vrrp_scripts: name the ones that check nginx "
                f"(scripts=NAME,...) so the model knows which results change")

    def _apply(self) -> str:
        node = self.node()
        node.exec(["nginx", "-s", "stop"], check=True)
        deadline, delay = time.monotonic() + NGINX_STOP_DEADLINE, 0.02
        while node.exec(["pidof", "nginx"]).ok:     # readiness probe with a deadline
            if time.monotonic() > deadline:
                raise LabError(f"{self.target}: nginx still running {NGINX_STOP_DEADLINE:.0f} s after `nginx -s stop`")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        return "nginx stopped"

    def _heal(self) -> str:
        node = self.node()
        if node.status() != "running":
            return "node not running"
        if node.exec(["pidof", "nginx"]).ok:
            return "nginx already running"
        node.exec(["nginx"], check=True)
        return "nginx started"


@register
class ForceScript(Fault):
    """Force the named vrrp_script to fail (or succeed) on the node, whatever it checks."""

    kind = "script"
    summary = "force vrrp_script script=NAME to result=fail|ok; heal lets the real check decide"

    def __init__(self, lab, target, *, script: str, result: str = "fail", real: str = "ok", **kw):
        if result not in ("fail", "ok") or real not in ("fail", "ok"):
            raise LabError(f"script: result and real must be fail or ok, got result={result!r} real={real!r}")
        super().__init__(lab, target, script=script, result=result, real=real, **kw)

    def model_inputs(self, action: str):
        """The script's result becomes ``result``; after heal the real check decides again, which
        returns ``real`` (default ok: what the check sees in a healthy lab)."""
        ok = self.params["result" if action == "apply" else "real"] == "ok"
        return [node_input("script_result", self.target, script=self.params["script"], ok=ok)]

    def _apply(self) -> str:
        node, s = self.node(), self.params["script"]
        conf = node.read_file("/etc/keepalived/keepalived.conf")
        if f"{WRAPPER} {s} " not in conf:
            raise LabError(f"{self.target}: vrrp_script {s!r} is not run through {WRAPPER} (a user's own "
                           f"config_template, or no such script); break what it checks instead, e.g. the "
                           f"nginx-stop fault or `command run=... undo=...`")
        node.put_file(f"{SCRIPT_DIR}/{s}.force", f"{self.params['result']}\n")
        return f"vrrp_script {s} forced to {self.params['result']}"

    def _heal(self) -> str:
        node = self.node()
        if node.status() == "running":
            node.exec(["rm", "-f", f"{SCRIPT_DIR}/{self.params['script']}.force"])
        return f"vrrp_script {self.params['script']} runs its own check again"


@register
class Command(Fault):
    """Break what a user's own check looks at: ``run`` a shell command, ``undo`` it on heal."""

    kind = "command"
    summary = ("run=SHELL on apply and undo=SHELL on heal (e.g. remove a file a check script tests) "
               "[script=NAME [script_node=NODE]: the vrrp_script it breaks, so the judge knows]")

    def __init__(self, lab, target, *, run: str, undo: str = "", script: str = "", script_node: str = "", **kw):
        if script_node:
            lab.node(script_node)
        super().__init__(lab, target, run=run, undo=undo, script=script, script_node=script_node, **kw)

    def model_inputs(self, action: str):
        """An arbitrary command has no meaning the model can know, unless ``script=NAME`` says which
        vrrp_script it makes fail (and ``undo`` makes succeed again), on ``script_node`` (default the
        node the command runs on: a rule on a client can break a check that runs on a keepalived node)."""
        if self.params["script"]:
            node = self.params.get("script_node") or self.target
            return [node_input("script_result", node, script=self.params["script"], ok=action != "apply")]
        return None

    def unmodelled(self, action: str) -> str:
        return "command: an arbitrary shell command; say which vrrp_script it breaks with script=NAME"

    def _apply(self) -> str:
        self.node().exec(self.params["run"], check=True)
        return f"ran: {self.params['run']}"

    def _heal(self) -> str:
        if not self.params["undo"]:
            return "no undo command"
        self.node().exec(self.params["undo"], check=True)
        return f"ran: {self.params['undo']}"
