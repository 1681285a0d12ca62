"""A lab node: one container (testcontainers/docker-py): exec, files, lifecycle, addresses. Its own
record (notify_fifo events, 'Startup complete', unexpected exits) is :mod:`lab.runtime.node_events`.

Containers are touched only inside :mod:`lab.runtime` (and by :mod:`lab.lab`, which creates them);
every layer above goes through a Node. keepalived is PID 1 in a keepalived node, so
``kill``/``signal`` act on keepalived itself.
"""
from __future__ import annotations

import ipaddress
import json
import threading
import shlex
import time
from typing import TYPE_CHECKING, Optional

from docker.errors import APIError, DockerException, NotFound

from ..errors import NodeNotRunning
from .clock import LOCAL
from .node_events import EVENTS_LOG, TAIL_POLL, NodeEventsMixin, parse_fifo_line, stream_lines  # noqa: F401

#: capabilities a lab node gets: keepalived needs NET_ADMIN (addresses, routes), NET_RAW (its VRRP
#: socket) and NET_BROADCAST (gratuitous ARP); nothing else, never --privileged
CAPS = ["NET_ADMIN", "NET_RAW", "NET_BROADCAST"]

if TYPE_CHECKING:  # pragma: no cover
    from docker.models.containers import Container
    from ..history import History


class ExecResult:
    """Result of a command run in a node: ``exit_code`` (int) and ``output`` (stdout+stderr, str).

    ``complete`` False: the engine lost part of the output (lab.runtime.exec_io); ``output`` then raises
    ``ExecOutputLost`` naming the command, and ``received`` is what arrived. ``exit_code`` stays usable.
    """

    def __init__(self, exit_code: int, output: str, complete: bool = True, cmd: str = ""):
        self.exit_code, self.received, self.complete, self.cmd = exit_code, output, complete, cmd

    @property
    def output(self) -> str:
        if not self.complete:
            from .exec_io import ExecOutputLost
            raise ExecOutputLost(f"the output of `{self.cmd}` did not arrive whole (exit {self.exit_code}; "
                                 f"{len(self.received)} characters arrived: {self.received[-200:]!r}): the "
                                 "engine closed the exec's streams early (lab.runtime.exec_io)")
        return self.received

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __repr__(self) -> str:
        return f"ExecResult({self.exit_code}, {self.received!r}{'' if self.complete else ', incomplete'})"


#: where the node image's keepalived reads its configuration
class ContainerNotRunning(NodeNotRunning, DockerException):
    """:class:`~lab.errors.NodeNotRunning` as :meth:`Node.exec` raises it: also a ``DockerException``, so code
    written for the engine's own refusal (a journal writer trying the next node) still catches it."""


CONFIG_PATH = "/etc/keepalived/keepalived.conf"
#: the sha256 of the configuration keepalived started with (written by the node's entrypoint at each start)
CONFIG_SHA = "/run/kalab/config.sha"


class Node(NodeEventsMixin):
    """One container of a lab.

    Attributes:
        name: the topology's node name.
        kind: "keepalived" or "client".
        addresses: {interface name: IPv4Address} assigned by the lab.
        addresses6: {interface name: IPv6Address} on the networks with IPv6 (``subnet6``); {} for none.
    """

    def __init__(self, name: str, kind: str, container: "Container", addresses: dict[str, ipaddress.IPv4Address],
                 history: "History", addresses6: Optional[dict[str, ipaddress.IPv6Address]] = None):
        self.name, self.kind, self.addresses = name, kind, addresses
        self.addresses6 = dict(addresses6 or {})
        self._container = container
        self._history = history
        self._lines_seen = 0
        self._stream_thread: Optional[threading.Thread] = None
        #: which run of the container this is (one per start) and which run the events follower follows
        self._run = 0
        self._stream_run = 0
        self._stream_lock = threading.Lock()
        #: True while the lab (or a fault) is stopping the node on purpose: its exit is not a death
        self.expect_exit = False
        #: wall-clock time (s) just before the current run was started; None: the first run
        self.run_started_wall: Optional[float] = None
        #: the container's clocks against this host's (lab.runtime.clock): zero on a local engine,
        #: measured when the node starts on a remote one
        self.clock = LOCAL
        #: sha256 (hex) of the keepalived.conf keepalived reread at the last SIGHUP of this run; None: none yet
        #: (then what it started with is the node's own record, CONFIG_SHA)
        self.config_sha: Optional[str] = None
        #: the files keepalived reads (a user's config_file node: the lab's keepalived.conf, then the user's
        #: file and its includes) and the sha256 of their bytes in that order as the lab put them there
        self.config_files: list[str] = [CONFIG_PATH]
        self.files_sha: Optional[str] = None
        self._features: Optional[dict[str, str]] = None

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.kind})"

    @property
    def container(self) -> "Container":
        return self._container

    @property
    def address(self) -> ipaddress.IPv4Address:
        """The node's first interface address."""
        return next(iter(self.addresses.values()))

    def features(self) -> dict[str, str]:
        """What the node's keepalived release and tools can do, as its image's build probed them
        (``/etc/kalab/features``, images/node/kalab-features.sh): ``{"version": "2.3.4", "json": "1",
        "signum": "1", "notify_priority_changes": "1", "python_smtpd": "0", "aiosmtpd": "1", ...}``.
        Read once (the image does not change under a container). Raises ImageError for an image without it."""
        if self._features is None:
            from .images import image_features
            self._features = image_features(self._container.client, self._container.image.id)
        return self._features

    def running_version(self) -> str:
        """The keepalived version this node's binary reports (``keepalived --version``'s first line,
        ``Keepalived v2.3.4 (...)`` -> ``"2.3.4"``), asked in the running node: what runs, not what the tag
        says. The whole first line when it is not in that form. Raises NodeNotRunning when the node is not."""
        r = self.exec("keepalived --version 2>&1 | head -n1", idempotent=True)
        words = r.output.split()
        return words[1].removeprefix("v") if len(words) > 1 and words[0] == "Keepalived" else r.output.strip()

    # ---------------------------------------------------------------- commands
    def exec(self, cmd: str | list[str], check: bool = False, user: str = "", idempotent: bool = False) -> ExecResult:
        """Run ``cmd`` (a shell string or argv list) in the node; return its exit code and output.

        ``idempotent``: the command only reads, so running it again is harmless: if the engine loses its
        output (``ExecResult.complete`` False) while the node runs, it is run again, up to 3 times.

        Raises:
            RuntimeError: ``check`` is set and the command failed (message has its output).
            NodeNotRunning: the engine refused the exec because the container is not running (it exited,
                is paused or was removed, perhaps since the caller last looked).
        """
        from .exec_io import run
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else cmd
        shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
        for _ in range(3 if idempotent else 1):
            try:
                code, out, complete = run(self._container.client.api, self._container.id, argv, user=user)
            except NotFound as e:
                raise ContainerNotRunning(self.name, "removed", shown) from e
            except APIError as e:
                status = self.status() if e.status_code == 409 else "running"
                if status != "running":
                    raise ContainerNotRunning(self.name, status, shown) from e
                raise
            res = ExecResult(code if code is not None else -1, out.decode(errors="replace"), complete, shown)
            if complete or self.status() != "running":
                break
        if check and not res.ok:
            raise RuntimeError(f"{self.name}: `{cmd}` exited {res.exit_code}: {res.received.strip()[-500:]}")
        return res

    def put_file(self, path: str, content: str | bytes, mode: int = 0o644) -> None:
        """Write a file into the node (works on created and running containers)."""
        import io
        import posixpath
        import tarfile

        data = content.encode() if isinstance(content, str) else content
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(posixpath.basename(path))
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        self._container.put_archive(posixpath.dirname(path) or "/", buf.getvalue())

    def read_file(self, path: str) -> str:
        """Read a text file from the node. Raises RuntimeError if it does not exist."""
        return self.exec(["cat", path], check=True, idempotent=True).output

    def logs(self, tail: int = 60) -> str:
        """The last ``tail`` lines of the container's output (keepalived logs to the console)."""
        try:
            return self._container.logs(tail=tail, timestamps=False).decode(errors="replace")
        except (APIError, NotFound) as e:
            return f"<no logs: {e}>"

    def status(self) -> str:
        """Docker's view: created, running, paused, exited, ..."""
        try:
            self._container.reload()
            return self._container.status
        except NotFound:
            return "removed"

    # ---------------------------------------------------------------- lifecycle (recorded)
    def _record(self, action: str, t_issued: float, **extra) -> float:
        t = time.monotonic()
        self._history.append("node", t=t, node=self.name, action=action, t_issued=t_issued, **extra)
        return t

    def _until_keepalived_takes_signals(self, signal: str) -> None:
        """Before a catchable ``signal`` goes to a keepalived node: wait until this run has reported ready
        (bounded by lab.timers.STARTUP_ALLOWANCE; then the signal goes anyway).

        keepalived is PID 1 of its node, and the kernel drops a default-action signal sent to a namespace's
        init: a SIGTERM (or SIGHUP, ...) that came while the entrypoint still prepared the node, or before
        keepalived had set its handlers, was lost, and ``docker stop`` ended the node by SIGKILL 10 s later
        (measured: 1 stop in 3 right after a start). On a host keepalived is not PID 1 and the signal acts,
        so the lab holds it until keepalived reports it has started (its handlers are set by then):
        the lab must not change what it tests. SIGKILL and SIGSTOP cannot be ignored and go at once."""
        name = str(signal).upper().removeprefix("SIG")
        if self.kind != "keepalived" or name in ("KILL", "9", "STOP", "19"):
            return
        from ..timers import STARTUP_ALLOWANCE
        if not self.reported_ready(self._history) and self.status() == "running":
            self._history.wait_for(self.reported_ready, STARTUP_ALLOWANCE, account=False)

    def kill(self, signal: str = "SIGKILL") -> float:
        """Send ``signal`` to PID 1 (keepalived). SIGKILL/SIGTERM end the container. A catchable signal to a
        keepalived that has not reported its start yet waits for it (:meth:`_until_keepalived_takes_signals`).

        Returns the history time (monotonic seconds) at which the signal had been delivered.
        """
        t0 = time.monotonic()
        self._until_keepalived_takes_signals(signal)
        if str(signal).upper().removeprefix("SIG") in ("KILL", "TERM", "INT", "QUIT", "9", "15", "2", "3"):
            self.expect_exit = True          # set before the signal: the engine's die event may come first
        changed = None
        reload = str(signal).upper().removeprefix("SIG") in ("HUP", "1")
        if reload and self.kind == "keepalived":
            # a reload: the election changes only if the config did (the judge needs to know which). What
            # keepalived started with: the entrypoint's /run/kalab/config.sha; after a reload: what it reread
            if self.files_sha is None:
                r = self.exec(["sh", "-c", f"sha256sum {CONFIG_PATH} | cut -d' ' -f1; cat {CONFIG_SHA} 2>/dev/null"],
                              idempotent=True)
                now, *started = (r.output.split() if r.ok else []) or [None]
            else:                               # every file it reads, against what the lab put there
                r = self.exec(["sh", "-c", "cat " + " ".join(shlex.quote(f) for f in self.config_files)
                               + " | sha256sum | cut -d' ' -f1"], idempotent=True)
                now, started = ((r.output.split() if r.ok else []) or [None])[0], [self.files_sha]
            before = self.config_sha or (started[0] if started else None)
            changed = None if not now or not before else now != before
            self.config_sha = now
        self._container.kill(signal=signal)
        action = "kill" if signal in ("SIGKILL", "KILL", 9) else "signal"
        extra = {"config_changed": changed} if reload else {}
        return self._record(action, t0, signal=str(signal), **extra)

    def stop(self, timeout: int = 10) -> float:
        """Graceful stop, as ``docker stop``: SIGTERM, SIGKILL after ``timeout`` seconds. Returns the time the
        stop was issued. A node that is not running is left as it is, and nothing is recorded. The ``stop``
        event is stamped when the SIGTERM had been delivered (the kill call returned): ``docker stop`` delivers
        it somewhere inside one long call, and a loaded engine took more than a second to (CI: a rolling
        restart judged against the issue time). A node still starting
        gets its SIGTERM once keepalived has reported its start (:meth:`_until_keepalived_takes_signals`)."""
        t0 = time.monotonic()
        self._until_keepalived_takes_signals("SIGTERM")
        self.expect_exit = True
        try:
            self._container.kill(signal="SIGTERM")
        except APIError as e:
            if e.status_code != 409:            # 409: not running (already exited): nothing to stop
                raise
            return t0                           # and nothing to record (the upgrade rehearsal recorded each stop twice)
        self._record("stop", t0)
        try:
            self._container.wait(timeout=timeout)
        except Exception:                       # still running after the grace period: as docker stop does
            try:
                self._container.kill(signal="SIGKILL")
            except APIError:
                pass
            self._container.wait(timeout=60)
        self._record("exited", t0)
        return t0

    def start(self) -> float:
        """Start a stopped/killed node again and resume reading its events. Returns the start time."""
        if self.expect_exit and self.status() == "running":
            # a graceful stop (SIGTERM) may still be running: `docker start` would be a no-op and the
            # exit would come later. Block until it has exited (docker wait, event driven).
            self._container.wait(timeout=60)
        # the last run's events follower ends first: otherwise a follower still finishing (a loaded host) made
        # follow_events below start none, and the new run's reports were lost (seen in CI: a restart's MASTER)
        self.end_follow()
        t0 = time.monotonic()
        self.run_started_wall = time.time()
        self.config_sha = None                 # a new run starts with the config on disk (CONFIG_SHA)
        self._container.start()
        self.expect_exit = False             # only now: a late die event of the old run must not count
        # stamped when the start was issued: keepalived's first report can carry an earlier stamp than
        # the moment the engine's call returned, and no reader may see a report before its start
        self._history.append("node", t=t0, node=self.name, action="start", t_issued=t0)
        t = t0
        self.follow_events()
        if self.kind == "keepalived":
            self.watch_ready()
        return t

    def restart(self, timeout: int = 10) -> float:
        """Stop then start (``docker restart``)."""
        self.stop(timeout)
        return self.start()

    def pause(self) -> float:
        """Freeze every process of the node (cgroup freezer): it keeps its VIPs but sends nothing."""
        t0 = time.monotonic()
        self._container.pause()
        return self._record("pause", t0)

    def unpause(self) -> float:
        """Thaw a paused node."""
        t0 = time.monotonic()
        self._container.unpause()
        return self._record("unpause", t0)

    def link_local(self) -> list[ipaddress.IPv6Address]:
        """The IPv6 link-local address of each interface on an IPv6 network: the modified EUI-64 of its MAC
        (RFC 4291 §2.5.6 and appendix A; a container's default ``addr_gen_mode`` 0). VRRPv3 over IPv6 sends
        its adverts from it (RFC 5798 §5.1.2.1). Read from the engine's record, so also when the node is
        stopped. [] when the node has no IPv6."""
        if not self.addresses6:
            return []
        try:
            self._container.reload()
        except NotFound:
            pass
        out = []
        for net in (self._container.attrs.get("NetworkSettings") or {}).get("Networks", {}).values():
            mac = net.get("MacAddress") or ""
            if not net.get("GlobalIPv6Address") or len(mac.split(":")) != 6:
                continue
            b = [int(x, 16) for x in mac.split(":")]
            iid = bytes([b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]])
            out.append(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + iid))
        return out

    def advert_sources(self) -> set[str]:
        """Every source address this node's adverts can carry: its IPv4 addresses (VRRPv2/v3 over IPv4), its
        IPv6 link-local addresses (VRRPv3 over IPv6), and its global IPv6 addresses (a unicast peer)."""
        return ({str(a) for a in self.addresses.values()} | {str(a) for a in self.addresses6.values()}
                | {str(a) for a in self.link_local()})

    # ---------------------------------------------------------------- observation
    def ipv4_addresses(self) -> dict[str, list[ipaddress.IPv4Interface]]:
        """The IPv4 part of :meth:`ip_addresses` (same errors)."""
        return {k: [a for a in v if a.version == 4] for k, v in self.ip_addresses().items()}

    def ip_addresses(self) -> dict[str, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]]:
        """``ip -j addr`` as {ifname: [IPv4Interface or IPv6Interface, ...]} (link-local ones included).

        Raises:
            NodeNotRunning: the node is not running, or stopped while asked (a stopped container's
                network namespace is gone: it holds nothing; a paused one keeps its addresses but cannot
                be asked). The caller decides what that means; it is never an empty answer.
            RuntimeError: the node runs and ``ip`` failed or printed something that is not its JSON, or the
                engine lost the output (ExecOutputLost): the lab cannot say what it holds, never "nothing".
        """
        r = self.exec(["ip", "-j", "addr", "show"], idempotent=True)
        if not r.ok or not r.complete:
            status = self.status()
            if status != "running":
                raise ContainerNotRunning(self.name, status, r.cmd)
            if not r.ok:
                raise RuntimeError(f"{self.name}: `{r.cmd}` exited {r.exit_code}: {r.received.strip()[-300:]}")
        try:
            data = json.loads(r.output)
        except json.JSONDecodeError as e:
            raise RuntimeError(f"{self.name}: `{r.cmd}` printed no JSON ({e}): {r.output[:300]!r}") from e
        out: dict[str, list] = {}
        for link in data:
            for a in link.get("addr_info", []):
                if a.get("family") in ("inet", "inet6"):
                    out.setdefault(link["ifname"], []).append(ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}"))
        return out

    def holds(self, address: ipaddress.IPv4Address | str) -> bool:
        """Whether ``address`` is configured on any interface of the node (the inside view); False when the
        node is stopped. Raises NodeNotRunning when it is paused (it cannot be asked)."""
        address = ipaddress.ip_address(str(address))
        try:
            addrs = self.ip_addresses()
        except NodeNotRunning as e:
            if e.status == "paused":            # its namespace (and any VIP in it) lives on: cannot say
                raise
            return False                        # no container, no namespace: no address
        return any(i.ip == address for l in addrs.values() for i in l)

    def http_get(self, address: ipaddress.IPv4Address | str, timeout: float = 2.0) -> Optional[str]:
        """HTTP GET ``http://address/`` from this node; the body (a node name) or None on failure."""
        host = f"[{address}]" if ":" in str(address) else str(address)
        r = self.exec(["curl", "-s", "-g", "-m", f"{timeout:g}", f"http://{host}/"], idempotent=True)
        return r.output.strip() if r.ok else None

    def arp_mac(self, address: ipaddress.IPv4Address | str, iface: str = "eth0") -> Optional[str]:
        """MAC address that answers ARP for ``address`` (one request, 2 s deadline) or None."""
        r = self.exec(["arping", "-c", "1", "-w", "2", "-I", iface, str(address)], idempotent=True)
        import re
        m = re.search(r"\[([0-9A-Fa-f:]{17})\]", r.output) or re.search(r"from ([0-9A-Fa-f:]{17})", r.output)
        return m.group(1).lower() if m else None

    def neighbour_mac(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | str) -> Optional[str]:
        """The link-layer address this node's neighbour table holds for ``address`` (its ARP / NDP cache entry:
        where its packets to ``address`` go), or None when it has none that resolves (no entry, INCOMPLETE,
        FAILED). Reads ``ip -j neigh``; sends nothing."""
        import json
        r = self.exec(["ip", "-j", "neigh", "show", "to", str(address)], idempotent=True)
        try:
            entries = json.loads(r.output or "[]") if r.ok else []
        except ValueError:
            return None
        for e in entries:
            mac = e.get("lladdr")
            if mac and not {"INCOMPLETE", "FAILED"} & set(e.get("state") or []):
                return mac.lower()
        return None

    def macs(self) -> set[str]:
        """The MAC address of each of this node's interfaces on the lab's networks (the engine's record, so
        also when the node is stopped or paused)."""
        try:
            self._container.reload()
        except NotFound:
            pass
        return {(net.get("MacAddress") or "").lower()
                for net in (self._container.attrs.get("NetworkSettings") or {}).get("Networks", {}).values()
                if net.get("MacAddress")}

    def mac(self, iface: str = "eth0") -> Optional[str]:
        r = self.exec(["cat", f"/sys/class/net/{iface}/address"], idempotent=True)
        return r.output.strip().lower() if r.ok else None

    def read_file_any_state(self, path: str) -> Optional[str]:
        """Read a file from the node even if it is stopped (docker cp); None if absent."""
        import io
        import tarfile
        try:
            stream, _ = self._container.get_archive(path)
        except (APIError, NotFound):
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.getmembers()[0]
            f = tar.extractfile(member)
            return f.read().decode(errors="replace") if f else None

    def json_files(self, folder: str) -> list[dict]:
        """The JSON objects of every ``*.json`` file in ``folder`` (any container state: docker cp);
        [] when the folder is absent. Unreadable files are skipped."""
        import io
        import tarfile
        try:
            stream, _ = self._container.get_archive(folder)
        except (APIError, NotFound):
            return []
        out = []
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            for m in tar.getmembers():
                if m.isfile() and m.name.endswith(".json"):
                    try:
                        out.append(json.loads(tar.extractfile(m).read()))  # type: ignore[union-attr]
                    except (ValueError, AttributeError):
                        continue
        return out

