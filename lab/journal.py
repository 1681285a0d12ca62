"""The journal of a lab that outlives its process (``kalab up``): lab-level events (node lifecycle,
faults, notes) appended to a file on a labelled volume every node mounts, so a later ``kalab``
command sees what an earlier one did. Written by a history listener, read back by ``attach``.
"""
from __future__ import annotations

import json
import shlex
import threading
from typing import TYPE_CHECKING

from docker.errors import DockerException

from .events import Event

if TYPE_CHECKING:  # pragma: no cover
    from .history import History

#: where the labelled volume is mounted in every node, and the journal file in it
JOURNAL_DIR = "/var/lib/kalab/shared"
JOURNAL = f"{JOURNAL_DIR}/journal.jsonl"
#: event kinds the journal keeps (the rest each node records itself, or is taken off the wire)
JOURNAL_KINDS = ("node", "fault", "note")


class JournalMixin:
    """Journal methods of :class:`lab.lab.Lab` (uses ``self.history``, ``self.nodes``)."""

    history: "History"
    nodes: dict

    def _journal(self, ev: Event) -> None:
        """Append a lab-level event to the shared journal (through any running node)."""
        if ev.kind not in JOURNAL_KINDS or getattr(self._replaying, "on", False):
            return
        # one writer at a time: nodes start in parallel threads, and two writers flushing the same pending
        # lines wrote every start twice (seen as duplicate start/ready records in `kalab report`)
        with self._journal_lock:
            self._journal_pending.append(json.dumps({"t": ev.t, "kind": ev.kind, "data": ev.data}, default=str))
            text = "\n".join(self._journal_pending)
            for n in list(self.nodes.values()):          # before any node runs, lines wait in the buffer
                try:
                    if n.status() == "running" and n.exec(f"printf '%s\\n' {shlex.quote(text)} >> {JOURNAL}").ok:
                        self._journal_pending.clear()
                        return
                except (DockerException, OSError):  # it stopped between the two calls: try the next node
                    continue

    def follow_journal(self) -> None:
        """Stream the shared journal (faults and node events written by other processes) into the history."""

        from .runtime.follow import Follow
        from .runtime.node import stream_lines

        def pump(node):
            try:
                follow(node)
            except Exception as e:       # the node stopped, or the engine stopped answering
                try:
                    self.history.append("note", text=f"journal follow ended: {type(e).__name__}: {str(e)[:200]}")
                except Exception:
                    pass

        def follow(node):
            # from the first line the attach did not read: nothing written in between is lost
            start = ["-n", f"+{getattr(self, '_journal_lines', 0) + 1}"] if hasattr(self, "_journal_lines") else ["-n", "0"]
            for line in stream_lines(Follow(node.container, [*start, "-F", "-s", "0.05", JOURNAL])):
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                self._replaying.on = True        # do not write it back (this thread only)
                try:
                    self.history.append(d["kind"], t=d["t"], **d["data"])
                finally:
                    self._replaying.on = False

        for n in self.nodes.values():
            if n.status() == "running":
                threading.Thread(target=pump, args=(n,), daemon=True, name="kalab-journal").start()
                return

    def _load_journal(self) -> None:
        for n in self.nodes.values():
            text = n.read_file_any_state(JOURNAL)
            if text is None:
                continue
            complete = text[:text.rfind("\n") + 1]          # a line still being written is read by the follower
            self._journal_lines = complete.count("\n")
            for line in complete.splitlines():
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                self.history.append(d["kind"], t=d["t"], **d["data"])
            return

