"""Who owns a lab, and whether that owner is provably gone.

A lab is removed automatically (:func:`lab.runtime.cleanup.reap_orphans`) only when its owner is
*provably* gone; a lab whose owner might be alive is never touched. ``hostname:pid`` alone cannot
prove that: a run in another PID namespace with the same host name (CI jobs in containers with host
networking, pods with ``hostNetwork``) sees other PIDs, and a PID is reused after its process ends.

The owner is therefore recorded as (labels on every object of the lab):

``io.kalab.owner``            ``hostname:pid`` (for people: ``kalab list``)
``io.kalab.owner-pidns``      the PID namespace (``readlink /proc/self/ns/pid``, e.g. ``pid:[4026531836]``)
``io.kalab.owner-boot``       the kernel's boot id (``/proc/sys/kernel/random/boot_id``)
``io.kalab.owner-start``      the process's start time, clock ticks since boot (``/proc/PID/stat`` field 22)
``io.kalab.owner-container``  the id of the container the owner runs in, when the lab's own engine
                              knows that container (an engine-side identity that outlives namespaces)

Liveness (:func:`liveness`), in order:

1. no identity beyond ``hostname:pid`` (a lab of an older keepalived-lab) -> ``unknown``;
2. the owner ran in a container of this engine and that container is gone or not running ->
   ``gone`` (every process in it has ended);
3. same boot and same PID namespace as the caller: the PID exists with the recorded start time ->
   ``alive``, otherwise ``gone`` (ended, or the PID now belongs to another process);
4. anything else (another namespace, another boot or machine) -> ``unknown``.

Only ``gone`` is ever reaped; ``unknown`` labs stay until ``kalab down --lab ID`` or ``kalab prune``.
"""
from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from typing import Callable, Literal, Optional

PREFIX = "io.kalab.owner"
HOST_PID = PREFIX
PIDNS = f"{PREFIX}-pidns"
BOOT = f"{PREFIX}-boot"
START = f"{PREFIX}-start"
CONTAINER = f"{PREFIX}-container"

Liveness = Literal["alive", "gone", "unknown"]

_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/")
#: the files the engine bind-mounts into every container from its own ``containers/<id>/`` folder
_ENGINE_FILES = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")


@dataclass(frozen=True)
class Owner:
    """One process's identity. ``start`` is in clock ticks since boot; empty strings mean unknown."""
    host: str
    pid: int
    pidns: str = ""
    boot: str = ""
    start: str = ""
    container: str = ""

    def labels(self) -> dict[str, str]:
        """The owner labels (see the module docstring)."""
        out = {HOST_PID: f"{self.host}:{self.pid}", PIDNS: self.pidns, BOOT: self.boot, START: self.start}
        if self.container:
            out[CONTAINER] = self.container
        return out

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> Optional["Owner"]:
        """The owner recorded in ``labels``, or None when there is no parsable ``hostname:pid``."""
        host, _, pid = (labels.get(HOST_PID) or "").rpartition(":")
        if not host or not pid.isdigit():
            return None
        return cls(host, int(pid), labels.get(PIDNS, ""), labels.get(BOOT, ""), labels.get(START, ""),
                   labels.get(CONTAINER, ""))


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def start_ticks(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot (``/proc/PID/stat`` field 22, proc(5)),
    or "" when there is no such process (in this PID namespace)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return ""
    fields = stat.rpartition(")")[2].split()      # the command name (field 2) may hold spaces and ')'
    return fields[19] if len(fields) > 19 else ""  # fields[0] is field 3 (state); field 22 -> index 19


def own_container_id(mountinfo: str | None = None) -> str:
    """The id of the Docker container this process runs in ("" on a host): the engine bind-mounts
    ``/etc/hostname`` etc. from ``.../containers/<id>/``, which shows in ``/proc/self/mountinfo``.

    Only a mount *at* one of those files counts (mountinfo field 5, the mount point). On a host that sees
    the engine's own mounts (``/var/lib/docker/containers/<id>/mounts/shm`` of every running container),
    any line would name some other container, and its removal would make this live process look gone.

    Args:
        mountinfo: the text of a mountinfo file (default this process's; proc(5) gives the format).
    """
    text = _read("/proc/self/mountinfo") if mountinfo is None else mountinfo
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] in _ENGINE_FILES:
            m = _CONTAINER_ID.search(fields[3])
            if m:
                return m.group(1)
    return ""


def me(container_known: Callable[[str], bool] = lambda cid: False) -> Owner:
    """This process as an :class:`Owner`. ``container_known(id)`` says whether the lab's engine knows the
    container this process runs in; only then is the container recorded (another engine's container
    id would prove nothing)."""
    try:
        pidns = os.readlink("/proc/self/ns/pid")
    except OSError:
        pidns = ""
    cid = own_container_id()
    return Owner(socket.gethostname(), os.getpid(), pidns, _read("/proc/sys/kernel/random/boot_id"),
                 start_ticks(os.getpid()), cid if cid and container_known(cid) else "")


def liveness(owner: Optional[Owner], caller: Owner,
             container_running: Callable[[str], Optional[bool]]) -> Liveness:
    """Whether ``owner`` is alive, provably gone, or cannot be told from ``caller``'s place.

    Args:
        owner: the recorded owner (None: no parsable owner labels).
        caller: the process asking (:func:`me`).
        container_running: ``id -> True`` (running), ``False`` (exists, not running), ``None`` (no such
            container on the lab's engine).
    Returns ``"alive"``, ``"gone"`` or ``"unknown"`` by the rules in the module docstring.
    """
    if owner is None or not owner.pidns or not owner.boot or not owner.start:
        return "unknown"
    if owner.container and not container_running(owner.container):
        return "gone"
    if owner.boot == caller.boot and owner.pidns == caller.pidns and caller.pidns:
        return "alive" if start_ticks(owner.pid) == owner.start else "gone"
    return "unknown"
