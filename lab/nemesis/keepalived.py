"""keepalived faults: SIGTERM, SIGKILL, SIGHUP reload with a changed config, kill the VRRP child.

keepalived 2.2.7 runs as PID 1 of the node (``--dont-fork``): a parent process that forks a
VRRP child (and a checker child when virtual servers exist) and respawns a child that dies
(``keepalived --help``: ``-R, --dont-respawn  Don't respawn child processes``). Signals
(keepalived(8), SIGNALS): TERM shuts down gracefully (a MASTER sends priority-0 adverts and
removes its VIPs, RFC 3768 §6.4.3 "Shutdown"), HUP reloads the configuration.
"""
from __future__ import annotations

import re
import time
from typing import Optional

from ..errors import LabError
from .base import MARKER_DIR, Fault, node_input, register
from .node import _DownFault

CONF = "/etc/keepalived/keepalived.conf"
VRRP_PIDFILE = "/run/vrrp.pid"          # keepalived's default VRRP child pid file (keepalived --help, -r)
#: seconds within which the parent must have respawned a killed VRRP child (measured: well under 1 s)
RESPAWN_DEADLINE = 5.0


@register
class KeepalivedTerm(_DownFault):
    """SIGTERM to keepalived: graceful shutdown; the MASTER sends priority-0 adverts, so a
    backup takes over after its skew time (RFC 3768 §6.4.2), not the master down interval."""

    kind = "sigterm"
    graceful = True
    summary = "SIGTERM keepalived (graceful: priority-0 adverts, VIPs released); heal starts it"

    def _apply(self) -> str:
        self.node().kill("SIGTERM")
        return "SIGTERM to keepalived (PID 1)"


@register
class KeepalivedKill(_DownFault):
    """SIGKILL to keepalived: no goodbye; backups take over after the master down interval."""

    kind = "sigkill"
    summary = "SIGKILL keepalived (PID 1, so the node stops); heal starts it"

    def _apply(self) -> str:
        self.node().kill("SIGKILL")
        return "SIGKILL to keepalived (PID 1)"


def set_priority(conf: str, priority: int, instance: Optional[str] = None) -> str:
    """Return ``conf`` with ``priority`` set in ``vrrp_instance`` ``instance`` (or every instance).

    Raises LabError if no such instance (or no priority line in it) exists.
    """
    out, pos, changed = [], 0, 0
    for m in re.finditer(r"^\s*vrrp_instance\s+(\S+)\s*\{", conf, re.M):
        if instance and m.group(1) != instance:
            continue
        depth, i = 1, m.end()
        while depth and i < len(conf):
            depth += {"{": 1, "}": -1}.get(conf[i], 0)
            i += 1
        block = conf[m.end():i]
        new, n = re.subn(r"^(\s*priority\s+)\d+", lambda mm: f"{mm.group(1)}{priority}", block, count=1, flags=re.M)
        if n == 0:
            new = f"\n    priority {priority}" + block
        out += [conf[pos:m.end()], new]
        pos, changed = i, changed + 1
    if not changed:
        raise LabError(f"no vrrp_instance {instance!r} in {CONF}" if instance else f"no vrrp_instance in {CONF}")
    return "".join(out) + conf[pos:]


@register
class Reload(Fault):
    """Rewrite keepalived.conf (a new priority) and send SIGHUP; heal restores the file and reloads again."""

    kind = "reload"
    summary = "SIGHUP reload with a changed config (priority=N [instance=NAME]); heal reloads the original"

    def _instances(self) -> dict:
        insts = self.lab.topology.instances(self.target)
        name = self.params["instance"]
        return {name: insts[name]} if name and name in insts else ({} if name else dict(insts))

    def model_inputs(self, action: str):
        """The new priority of each reloaded instance (man 5 keepalived.conf: SIGHUP rereads the
        config); heal reloads the configured priority."""
        if action == "apply":
            return [node_input("reload", self.target, instance=i, changes={"priority": self.params["priority"]})
                    for i in self._instances()]
        return [node_input("reload", self.target, instance=i, changes={"priority": spec.priority})
                for i, spec in self._instances().items()]

    def __init__(self, lab, target, *, priority: int, instance: str = "", **kw):
        if not 1 <= int(priority) <= 255:
            raise LabError(f"reload: priority must be 1..255 (man 5 keepalived.conf), got {priority}")
        super().__init__(lab, target, priority=int(priority), instance=instance, **kw)

    @property
    def _saved(self) -> str:
        return f"{MARKER_DIR}/{self.name}.conf"

    def _apply(self) -> str:
        node = self.node()
        conf = node.read_file(CONF)
        new = set_priority(conf, self.params["priority"], self.params["instance"] or None)
        node.put_file(self._saved, conf)
        node.put_file(CONF, new)
        node.kill("SIGHUP")
        return f"priority {self.params['priority']} in {self.params['instance'] or 'every instance'}, SIGHUP"

    def _heal(self) -> str:
        node = self.node()
        if node.status() != "running":
            return "node not running; config left as is"
        r = node.exec(["cat", self._saved], idempotent=True)
        if not r.ok:
            return "no saved config"
        node.put_file(CONF, r.output)
        node.exec(["rm", "-f", self._saved])
        node.kill("SIGHUP")
        return "original config restored, SIGHUP"


@register
class KillVrrpChild(Fault):
    """SIGKILL only keepalived's VRRP child; the parent (PID 1) respawns it.

    After ``apply``: ``old_pid``, ``new_pid`` (None if no respawn within RESPAWN_DEADLINE),
    ``respawn_s`` (seconds from the kill until the new child's pid file appeared) and
    ``log_line`` (keepalived's own report of the death). Heal has nothing to undo.
    """

    kind = "kill-vrrp-child"
    summary = "SIGKILL keepalived's VRRP child process; the parent respawns it"

    def model_inputs(self, action: str):
        """The VRRP process dies without a word (no priority-0 advert) and the parent's respawn
        starts it again in its initial state (keepalived(8): the parent restarts a dead child);
        heal changes nothing."""
        if action == "apply":
            return [node_input("node_down", self.target, graceful=False), node_input("node_up", self.target)]
        return []

    old_pid: Optional[int] = None
    new_pid: Optional[int] = None
    respawn_s: Optional[float] = None
    log_line: Optional[str] = None

    def vrrp_child_pid(self) -> Optional[int]:
        """The VRRP child's pid from keepalived's pid file if that process is alive (not a zombie)."""
        r = self.node().exec(f"p=$(cat {VRRP_PIDFILE} 2>/dev/null) && [ -n \"$p\" ] && "
                             f"grep -q '^State:.*[RSD]' /proc/$p/status && echo $p")
        out = r.output.strip()
        return int(out) if r.ok and out.isdigit() else None

    def parent_pid1_is_keepalived(self) -> bool:
        r = self.node().exec(["cat", "/proc/1/comm"], idempotent=True)
        return r.ok and r.output.strip() == "keepalived"

    def _apply(self) -> str:
        node = self.node()
        self.old_pid = self.vrrp_child_pid()
        if self.old_pid is None:
            raise LabError(f"{self.target}: no running VRRP child (no live pid in {VRRP_PIDFILE})")
        t0 = time.monotonic()
        node.exec(["kill", "-KILL", str(self.old_pid)], check=True)
        deadline = t0 + RESPAWN_DEADLINE
        delay = 0.02
        while time.monotonic() < deadline:          # readiness probe with a deadline, backing off
            pid = self.vrrp_child_pid()
            if pid and pid != self.old_pid:
                self.new_pid, self.respawn_s = pid, time.monotonic() - t0
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        self.log_line = next((l.strip() for l in node.logs(tail=80).splitlines()
                              if f"({self.old_pid})" in l and "died" in l), None)
        if self.new_pid is None:
            return f"VRRP child {self.old_pid} killed; NOT respawned within {RESPAWN_DEADLINE:.0f} s"
        return f"VRRP child {self.old_pid} killed; respawned as {self.new_pid} after {self.respawn_s:.3f} s"

    def _heal(self) -> str:
        return "nothing to undo (the parent respawns the child)"
