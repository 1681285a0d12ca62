"""A lab node: one container (testcontainers/docker-py) plus the stream of its keepalived events.

Only this module and :mod:`lab.lab` touch containers. keepalived is PID 1 in a
keepalived node, so ``kill``/``signal`` act on keepalived itself.
"""
from __future__ import annotations

import ipaddress
import json
import shlex
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional

from docker.errors import APIError, NotFound

from ..events import node_effect

#: capabilities a lab node gets: keepalived needs NET_ADMIN (addresses, routes), NET_RAW (its VRRP
#: socket) and NET_BROADCAST (gratuitous ARP); nothing else, never --privileged
CAPS = ["NET_ADMIN", "NET_RAW", "NET_BROADCAST"]

if TYPE_CHECKING:  # pragma: no cover
    from docker.models.containers import Container
    from ..history import History

EVENTS_LOG = "/var/lib/kalab/events.log"
#: tail -F polls the events log (inotify does not reach it through the container's overlay
#: filesystem): measured arrival latency up to 1 s with the default interval; 20 ms costs little
TAIL_POLL = 0.02


@dataclass
class ExecResult:
    """Result of a command run in a node: ``exit_code`` (int) and ``output`` (stdout+stderr, str)."""

    exit_code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def stream_lines(chunks) -> "Iterator[str]":
    """Decoded lines from a streaming ``exec_run(..., stream=True)`` output (chunks split anywhere)."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode(errors="replace")


def parse_fifo_line(line: str) -> Optional[dict]:
    """Parse one line of the node's events log: ``<monotonic> INSTANCE "VI_1" MASTER 150``.

    keepalived writes ``TYPE "NAME" STATE PRIORITY`` to notify_fifo (man 5
    keepalived.conf, notify_fifo); TYPE is INSTANCE or GROUP. With
    vrrp_notify_priority_changes it also writes ``MASTER_PRIORITY``/``BACKUP_PRIORITY``
    when the effective priority changes. Returns ``{"t", "kind", "type", "instance",
    "state", "priority"}`` with kind "priority" for those lines (state then is MASTER or
    BACKUP) and "state" for the rest, or None for lines that are not notify_fifo lines.
    """
    parts = shlex.split(line)
    if len(parts) < 4 or parts[1] not in ("INSTANCE", "GROUP"):
        return None
    try:
        t = float(parts[0])
    except ValueError:
        return None
    prio = int(parts[4]) if len(parts) > 4 and parts[4].lstrip("-").isdigit() else None
    kind, state = ("priority", parts[3].removesuffix("_PRIORITY")) if parts[3].endswith("_PRIORITY") \
        else ("state", parts[3])
    return {"t": t, "kind": kind, "type": parts[1], "instance": parts[2], "state": state, "priority": prio}


class Node:
    """One container of a lab.

    Attributes:
        name: the topology's node name.
        kind: "keepalived" or "client".
        addresses: {interface name: IPv4Address} assigned by the lab.
    """

    def __init__(self, name: str, kind: str, container: "Container", addresses: dict[str, ipaddress.IPv4Address],
                 history: "History"):
        self.name, self.kind, self.addresses = name, kind, addresses
        self._container = container
        self._history = history
        self._lines_seen = 0
        self._stream_thread: Optional[threading.Thread] = None
        self._stream_lock = threading.Lock()
        #: True while the lab (or a fault) is stopping the node on purpose: its exit is not a death
        self.expect_exit = False
        #: wall-clock time (s) just before the current run was started; None: the first run
        self.run_started_wall: Optional[float] = None

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.kind})"

    @property
    def container(self) -> "Container":
        return self._container

    @property
    def address(self) -> ipaddress.IPv4Address:
        """The node's first interface address."""
        return next(iter(self.addresses.values()))

    # ---------------------------------------------------------------- commands
    def exec(self, cmd: str | list[str], check: bool = False, user: str = "") -> ExecResult:
        """Run ``cmd`` (a shell string or argv list) in the node; return its exit code and output.

        Raises:
            RuntimeError: ``check`` is set and the command failed (message has its output).
        """
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else cmd
        r = self._container.exec_run(argv, user=user)
        res = ExecResult(r.exit_code if r.exit_code is not None else -1, r.output.decode(errors="replace"))
        if check and not res.ok:
            raise RuntimeError(f"{self.name}: `{cmd}` exited {res.exit_code}: {res.output.strip()[-500:]}")
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
        return self.exec(["cat", path], check=True).output

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
    def wait_for_log(self, pattern: str, timeout: float) -> Optional[float]:
        """Block until a line of the current run's log (keepalived's console) matches ``pattern``.

        Event driven: follows the engine's log stream (no polling). Args: ``pattern`` a regular
        expression, ``timeout`` seconds. Returns when the engine received the line, on the host's
        monotonic clock (s) (the engine's timestamp, mapped; never later than when it was read);
        None at the deadline or when the stream ends first (the container stopped).
        """
        import queue
        import re
        from datetime import datetime

        rx = re.compile(pattern)
        seen: "queue.Queue[Optional[float]]" = queue.Queue()
        kw = {"since": self.run_started_wall} if self.run_started_wall else {}
        stream = self._container.logs(stream=True, follow=True, timestamps=True, **kw)

        def read() -> None:
            try:
                for line in stream_lines(stream):
                    stamp, _, text = line.partition(" ")
                    if rx.search(text):
                        now_mono, now_wall = time.monotonic(), time.time()
                        try:       # RFC 3339 with nanoseconds: keep microseconds for fromisoformat
                            wall = datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", stamp.replace("Z", "+00:00")))
                            t = min(now_mono, now_mono - (now_wall - wall.timestamp()))
                        except ValueError:
                            t = now_mono
                        seen.put(t)
                        return
            except Exception:
                pass
            seen.put(None)                  # the stream ended (container stopped) or was closed

        threading.Thread(target=read, name=f"kalab-log-{self.name}", daemon=True).start()
        try:
            return seen.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        finally:
            stream.close()

    def _record(self, action: str, t_issued: float, **extra) -> float:
        t = time.monotonic()
        self._history.append("node", t=t, node=self.name, action=action, t_issued=t_issued, **extra)
        return t

    def kill(self, signal: str = "SIGKILL") -> float:
        """Send ``signal`` to PID 1 (keepalived). SIGKILL/SIGTERM end the container.

        Returns the history time (monotonic seconds) at which the signal had been delivered.
        """
        t0 = time.monotonic()
        if str(signal).upper().removeprefix("SIG") in ("KILL", "TERM", "INT", "QUIT", "9", "15", "2", "3"):
            self.expect_exit = True          # set before the signal: the engine's die event may come first
        self._container.kill(signal=signal)
        action = "kill" if signal in ("SIGKILL", "KILL", 9) else "signal"
        return self._record(action, t0, signal=str(signal))

    def stop(self, timeout: int = 10) -> float:
        """Graceful stop: SIGTERM, SIGKILL after ``timeout`` seconds. Returns the time the stop was issued."""
        t0 = time.monotonic()
        self.expect_exit = True
        self._history.append("node", t=t0, node=self.name, action="stop", t_issued=t0)
        self._container.stop(timeout=timeout)
        self._record("exited", t0)
        return t0

    def start(self) -> float:
        """Start a stopped/killed node again and resume reading its events. Returns the start time."""
        if self.expect_exit and self.status() == "running":
            # a graceful stop (SIGTERM) may still be running: `docker start` would be a no-op and the
            # exit would come later. Block until it has exited (docker wait, event driven).
            self._container.wait(timeout=60)
        t0 = time.monotonic()
        self.run_started_wall = time.time()
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

    def watch_ready(self) -> None:
        """Record a ``ready`` node event when keepalived's current run logs 'Startup complete' (in a
        daemon thread, event driven): the protocol's clocks of a new run start there (man 5
        keepalived.conf, ``state``), so the judge's start-up windows need no allowance once it is seen."""
        from ..timers import STARTUP_ALLOWANCE

        def run() -> None:
            t = self.wait_for_log(r"Startup complete", STARTUP_ALLOWANCE)
            if t is not None:
                mine = [e for e in self._history.events("node", node=self.name) if e["action"] in ("start", "ready")]
                if not (mine and mine[-1]["action"] == "ready"):
                    self._history.append("node", t=t, node=self.name, action="ready")

        threading.Thread(target=run, name=f"kalab-ready-{self.name}", daemon=True).start()

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

    # ---------------------------------------------------------------- observation
    def ipv4_addresses(self) -> dict[str, list[ipaddress.IPv4Interface]]:
        """``ip -j -4 addr`` as {ifname: [IPv4Interface, ...]}; {} if the node is not running."""
        r = self.exec(["ip", "-j", "-4", "addr", "show"])
        if not r.ok:
            return {}
        try:
            data = json.loads(r.output)
        except json.JSONDecodeError:
            return {}
        out: dict[str, list[ipaddress.IPv4Interface]] = {}
        for link in data:
            for a in link.get("addr_info", []):
                out.setdefault(link["ifname"], []).append(ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}"))
        return out

    def holds(self, address: ipaddress.IPv4Address | str) -> bool:
        """Whether ``address`` is configured on any interface of the node (the inside view)."""
        address = ipaddress.IPv4Address(str(address))
        return any(i.ip == address for l in self.ipv4_addresses().values() for i in l)

    def http_get(self, address: ipaddress.IPv4Address | str, timeout: float = 2.0) -> Optional[str]:
        """HTTP GET ``http://address/`` from this node; the body (a node name) or None on failure."""
        r = self.exec(["curl", "-s", "-m", f"{timeout:g}", f"http://{address}/"])
        return r.output.strip() if r.ok else None

    def arp_mac(self, address: ipaddress.IPv4Address | str, iface: str = "eth0") -> Optional[str]:
        """MAC address that answers ARP for ``address`` (one request, 2 s deadline) or None."""
        r = self.exec(["arping", "-c", "1", "-w", "2", "-I", iface, str(address)])
        import re
        m = re.search(r"\[([0-9A-Fa-f:]{17})\]", r.output) or re.search(r"from ([0-9A-Fa-f:]{17})", r.output)
        return m.group(1).lower() if m else None

    def mac(self, iface: str = "eth0") -> Optional[str]:
        r = self.exec(["cat", f"/sys/class/net/{iface}/address"])
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

    def load_events(self) -> int:
        """Read the whole events log once into the history (for a lab attached later). Returns lines read."""
        text = self.read_file_any_state(EVENTS_LOG) or ""
        n = 0
        for line in text.splitlines():
            n += 1
            self._record_fifo_line(line)
        self._lines_seen = n
        return n

    def _record_fifo_line(self, line: str) -> None:
        """Append one events-log line to the history as a ``state`` or ``priority`` event (see parse_fifo_line)."""
        ev = parse_fifo_line(line)
        if ev:
            self._history.append(ev["kind"], t=ev["t"], node=self.name, instance=ev["instance"],
                                 state=ev["state"], priority=ev["priority"], type=ev["type"])

    def follow_events(self) -> None:
        """Stream the node's notify_fifo log into the history (a daemon thread, until the container stops)."""
        if self.kind != "keepalived":
            return
        with self._stream_lock:
            if self._stream_thread and self._stream_thread.is_alive():
                return
            self._stream_thread = threading.Thread(target=self._stream, name=f"kalab-events-{self.name}", daemon=True)
            self._stream_thread.start()

    def _stream(self) -> None:
        """Follow the events log; if the follow ends while the container still runs (an engine
        hiccup), say so in the history and resume after the last line read (at most 3 times)."""
        try:
            for attempt in range(4):
                problem = self._follow_once()
                try:
                    self._container.reload()
                except (APIError, NotFound):
                    return
                if self._container.status != "running" or self.expect_exit:
                    return
                self._history.append("note", text=f"{self.name}: events follow ended ({problem or 'stream closed'}); "
                                                  f"{'resuming' if attempt < 3 else 'giving up'}")
        finally:
            self._note_unexpected_exit()
            self._history.notify()

    def _follow_once(self) -> Optional[str]:
        """One ``tail -F`` of the events log from the first unread line. Returns a problem or None."""
        start = self._lines_seen + 1
        try:
            r = self._container.exec_run(["tail", "-n", f"+{start}", "-F", "-s", str(TAIL_POLL), EVENTS_LOG], stream=True)
            for text in stream_lines(r.output):
                if text.startswith("tail:"):
                    continue
                self._lines_seen += 1
                try:
                    self._record_fifo_line(text)
                except ValueError as e:          # a line shlex cannot split: keep following
                    self._history.append("note", text=f"{self.name}: unreadable events line {text!r}: {e}")
        except (APIError, NotFound, OSError) as e:
            return f"{type(e).__name__}: {e}"[:200]
        return None

    def _note_unexpected_exit(self) -> None:
        """If the container stopped and the lab did not stop it, record a ``died`` node event."""
        try:
            self._container.reload()
        except (APIError, NotFound):
            return
        if self.expect_exit or self._container.status not in ("exited", "dead"):
            return
        mine = [e for e in self._history.events("node", node=self.name) if e["action"] not in ("pause", "unpause", "ready")]
        if mine and node_effect(mine[-1]["action"], mine[-1].get("signal")) in ("down", "down-graceful"):
            return
        code = self._container.attrs.get("State", {}).get("ExitCode")
        self._history.append("node", node=self.name, action="died", exit_code=code,
                             log_tail=self.logs(tail=8).strip()[-1500:])
