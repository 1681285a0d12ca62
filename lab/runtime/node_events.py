"""A lab node's own record (pure parsing plus the engine's streams): keepalived's notify_fifo lines
as ``state`` / ``priority`` events, keepalived's log for 'Startup complete' (``ready``), and the
engine's report of an exit nobody asked for (``died``). A mixin of :class:`lab.runtime.node.Node`."""
from __future__ import annotations

import re
import shlex
import threading
import time
from typing import TYPE_CHECKING, Iterator, Optional

from docker.errors import APIError, DockerException, NotFound

from ..events import node_effect
from .follow import Follow

if TYPE_CHECKING:  # pragma: no cover
    from ..history import History

#: the node image's events log: notify_fifo lines stamped on the kernel's monotonic clock
EVENTS_LOG = "/var/lib/kalab/events.log"
#: tail -F polls the events log (inotify does not reach it through the container's overlay
#: filesystem): measured arrival latency up to 1 s with the default interval; 20 ms costs little
TAIL_POLL = 0.02


def stream_lines(chunks) -> "Iterator[str]":
    """Decoded lines from a streaming ``exec_run(..., stream=True)`` output (chunks split anywhere)."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode(errors="replace")




_SOCKET_ERROR = re.compile(r"cant open raw socket\. errno=(\d+)")


def parse_socket_error(text: str) -> Optional[int]:
    """The errno of keepalived's "cant open raw socket. errno=N" log line (keepalived 2.2.7
    keepalived/vrrp/vrrp.c, open_vrrp_read_socket / open_vrrp_send_socket), else None."""
    m = _SOCKET_ERROR.search(text)
    return int(m.group(1)) if m else None


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


def log_stamp(line: str, wall_offset: float = 0.0) -> tuple[float, str]:
    """(host monotonic s, text) of one engine log line ``<RFC 3339 stamp> <text>``: the engine's stamp
    mapped onto the host's monotonic clock, never later than now (when it was read). ``wall_offset``:
    the engine host's wall clock minus this host's (s; :mod:`lab.runtime.clock`, 0 for a local engine)."""
    import re
    from datetime import datetime

    stamp, _, text = line.partition(" ")
    now_mono, now_wall = time.monotonic(), time.time()
    try:       # RFC 3339 with nanoseconds: keep microseconds for fromisoformat
        wall = datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", stamp.replace("Z", "+00:00")))
        return min(now_mono, now_mono - (now_wall - (wall.timestamp() - wall_offset))), text
    except ValueError:
        return now_mono, text


_SCRIPT_LINE = None


def parse_script_line(text: str) -> Optional[tuple[str, Optional[bool]]]:
    """(script, ok) from a log line about a vrrp_script's result, else None; ok None: keepalived does not
    run the script at all (disabled), so it never changes the priority or the state.

    keepalived 2.2.7 logs ``VRRP_Script(NAME) succeeded`` when a script becomes OK and
    ``VRRP_Script(NAME) failed`` / ``timed_out`` (with a reason) when it becomes failing
    (vrrp_scheduler.c vrrp_script_child_thread), including its first result after a start, and
    ``Disabling track script NAME since not found/accessible`` (or ``due to insecure``) for a script it
    will not run (vrrp.c check_track_script_secure). The node's entrypoint says ``kalab: vrrp_script NAME
    runs unwrapped`` for a command keepalived cannot execute (it disables it, silently when the file
    exists but is not executable).
    """
    import re

    global _SCRIPT_LINE
    if _SCRIPT_LINE is None:
        _SCRIPT_LINE = re.compile(r"VRRP_Script\((?P<name>[^)\s]+)\) (?P<what>succeeded|failed|timed_out)\b"
                                  r"|Disabling track script (?P<off>\S+) (?:since|due)"
                                  r"|kalab: vrrp_script (?P<unwrapped>\S+) runs unwrapped")
    m = _SCRIPT_LINE.search(text)
    if not m:
        return None
    if m["name"]:
        return m["name"], m["what"] == "succeeded"
    return m["off"] or m["unwrapped"], None


class NodeEventsMixin:
    """Streams of :class:`lab.runtime.node.Node` (uses ``name``, ``kind``, ``_container``, ``_history``,
    ``run_started_wall``, ``expect_exit``, ``logs()``, ``read_file_any_state()``, ``status()``)."""

    def _log_stream(self):
        """The engine's log stream of the current run (keepalived's console), with timestamps."""
        # the engine filters by its own wall clock: move this host's stamp there (and back by the uncertainty)
        kw = {"since": self.run_started_wall + self.clock.wall - self.clock.uncertainty} if self.run_started_wall else {}
        return self._container.logs(stream=True, follow=True, timestamps=True, **kw)

    def wait_for_log(self, pattern: str, timeout: float) -> Optional[float]:
        """Block until a line of the current run's log (keepalived's console) matches ``pattern``.

        Event driven: follows the engine's log stream (no polling). Args: ``pattern`` a regular
        expression, ``timeout`` seconds. Returns when the engine received the line, on the host's
        monotonic clock (s) (the engine's timestamp, mapped; never later than when it was read);
        None at the deadline or when the stream ends first (the container stopped).
        """
        import queue
        import re

        rx = re.compile(pattern)
        seen: "queue.Queue[Optional[float]]" = queue.Queue()
        stream = self._log_stream()

        def read() -> None:
            try:
                for line in stream_lines(stream):
                    t, text = log_stamp(line, self.clock.wall)
                    if rx.search(text):
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

    def startup_pattern(self) -> str:
        """The regular expression of the log line that ends a keepalived start on this node's release:
        'Startup complete' (2.2.2 on), else the first instance's entry into its initial state."""
        return r"Startup complete" if self._logs_startup_complete() else r"\) Entering \w+ STATE"

    def _logs_startup_complete(self) -> bool:
        """Whether this node's keepalived release logs 'Startup complete' (its image's probed version)."""
        from ..errors import LabError
        from ..releases import UnknownRelease, release
        try:
            return release(self.features().get("version")).logs_startup_complete
        except (UnknownRelease, LabError):      # an image the lab did not build: as the default release
            return True

    def reported_ready(self, history) -> bool:
        """Whether ``history`` (a lab.history.History) records a ``ready`` for this node's latest start (True
        when it records no start: nothing is starting)."""
        mine = [e for e in history.events("node", node=self.name) if e["action"] in ("start", "ready")]
        return not mine or mine[-1]["action"] == "ready"

    def watch_ready(self) -> None:
        """Follow keepalived's log for this run (a daemon thread, event driven, until the container stops):
        record a ``ready`` node event at 'Startup complete' (the protocol's clocks of a new run start there,
        man 5 keepalived.conf ``state``, so the judge's start-up windows need no allowance once it is
        seen), a ``reloaded`` one at 'Reload complete' (the end of a SIGHUP reload) and a ``script`` event for every vrrp_script result keepalived logs (see :func:`parse_script_line`)."""
        stream = self._log_stream()
        # keepalived before 2.2.2 logs no 'Startup complete' (lab.releases.Release.logs_startup_complete): there
        # the first instance's entry into its initial state ends the start
        marker = re.compile(self.startup_pattern())

        def run() -> None:
            ready = socket_error = False
            try:
                for line in stream_lines(stream):
                    t, text = log_stamp(line, self.clock.wall)
                    if not ready and marker.search(text):
                        ready = True
                        if not self.reported_ready(self._history):
                            self._history.append("node", t=t, node=self.name, action="ready")
                        continue
                    if "Reload complete" in text:    # the end of a SIGHUP reload (lab.judge.inputs: one in flight)
                        self._history.append("node", t=t, node=self.name, action="reloaded")
                        continue
                    errno = parse_socket_error(text)
                    if errno is not None and not socket_error:
                        socket_error = True         # once per run: every instance logs it
                        self._history.append("node", t=t, node=self.name, action="socket_error", errno=errno)
                        continue
                    res = parse_script_line(text)
                    if res is not None:
                        self._history.append("script", t=t, node=self.name, script=res[0], ok=res[1], detail=text.strip())
            except Exception:
                pass                        # the stream ended: the container stopped or was removed
            finally:
                stream.close()

        threading.Thread(target=run, name=f"kalab-log-{self.name}", daemon=True).start()

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
            self._history.append(ev["kind"], t=self.clock.to_host_mono(ev["t"]), node=self.name, instance=ev["instance"],
                                 state=ev["state"], priority=ev["priority"], type=ev["type"])

    def follow_events(self) -> None:
        """Stream the node's notify_fifo log into the history (a daemon thread, until the container stops)."""
        if self.kind != "keepalived":
            return
        with self._stream_lock:
            if self._stream_thread and self._stream_thread.is_alive() and self._stream_run == self._run:
                return
            self._stream_run = self._run
            self._stream_thread = threading.Thread(target=self._stream, args=(self._run,),
                                                   name=f"kalab-events-{self.name}", daemon=True)
            self._stream_thread.start()

    def end_follow(self, timeout: float = 10.0) -> None:
        """Before a new run of the container: wait (at most ``timeout`` s) for the follower of the last run to
        end (it ends once its container stopped), so that one follower reads each line of the events log once.
        A follower still alive after that sees that its run is over and stops before it could resume."""
        t = self._stream_thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            t.join(timeout)
        self._run += 1

    def _stream(self, run: int = 0) -> None:
        """Follow the events log; if the follow ends while the container still runs (an engine
        hiccup), say so in the history and resume after the last line read (at most 3 times). A follower
        whose run of the container is over (``run`` != the node's current run) ends: the new run has its own."""
        try:
            for attempt in range(4):
                problem = self._follow_once()
                if run != self._run:
                    return
                try:
                    self._container.reload()
                except (DockerException, OSError):      # gone, or the engine stopped answering
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
            follow = Follow(self._container, ["-n", f"+{start}", "-F", "-s", str(TAIL_POLL), EVENTS_LOG])
            for text in stream_lines(follow):
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
        except (DockerException, OSError):              # gone, or the engine stopped answering
            return
        if self.expect_exit or self._container.status not in ("exited", "dead"):
            return
        mine = [e for e in self._history.events("node", node=self.name) if e["action"] not in ("pause", "unpause", "ready")]
        if mine and node_effect(mine[-1]["action"], mine[-1].get("signal")) in ("down", "down-graceful"):
            return
        code = self._container.attrs.get("State", {}).get("ExitCode")
        self._history.append("node", node=self.name, action="died", exit_code=code,
                             log_tail=self.logs(tail=8).strip()[-1500:])
