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

    def flush_journal(self) -> None:
        """Write the journal lines still waiting (recorded while no node ran, or when every write failed), so a lab
        that outlives this process keeps its whole record: a later ``kalab judge`` of a record without the nodes'
        starts would not know they were up, and an input that needs them (a kill) would go unjudged.

        Raises LabError naming each node's answer when no running node takes them."""
        from .errors import LabError
        with self._journal_lock:
            if not self._journal_pending:
                return
            text = "\n".join(self._journal_pending)
            answers = []
            for n in list(self.nodes.values()):
                try:
                    if n.status() != "running":
                        answers.append(f"{n.name}: not running")
                        continue
                    r = n.exec(f"printf '%s\\n' {shlex.quote(text)} >> {JOURNAL}")
                except (DockerException, OSError) as e:
                    answers.append(f"{n.name}: {e}")
                    continue
                if r.ok:
                    self._journal_pending.clear()
                    return
                answers.append(f"{n.name}: exit {r.exit_code}: {r.output.strip()[-200:]}")
            raise LabError(f"lab {self.id}: {len(self._journal_pending)} line(s) of its journal could not be written to "
                           f"{JOURNAL} on any node ({'; '.join(answers)}); later kalab commands would judge a record "
                           f"without them")

    def follow_journal(self) -> None:
        """Stream the shared journal (faults and node events written by other processes) into the history.

        Read through the container most likely to outlive the others (the capture sidecar, then clients,
        then keepalived nodes: a fault may kill any of those); when that container stops, the follow moves
        to another running one and goes on from the first line it has not read (a daemon thread)."""
        from docker.errors import DockerException

        from .runtime.follow import Follow
        from .runtime.node import stream_lines

        if not hasattr(self, "_journal_lines"):          # nothing loaded (None): follow from the end
            self._journal_lines = None

        def containers():
            docker = getattr(self, "docker", None)
            out = []
            if docker is not None:
                from .runtime import labels as L
                try:
                    out += docker.containers.list(filters={"label": [f"{L.LAB}={self.id}", f"{L.ROLE}=capture"]})
                except DockerException:
                    pass
            nodes = sorted(self.nodes.values(), key=lambda n: n.kind == "keepalived")    # clients first
            return out + [n.container for n in nodes]

        def running(c) -> bool:
            try:
                c.reload()
                return c.status == "running"
            except (DockerException, OSError):
                return False

        def pump():
            failures = 0
            while failures < 3:
                live = [c for c in containers() if running(c)]
                if not live:
                    return                              # the lab is stopped
                try:
                    follow(live[0])                     # until that container stops (or the engine fails)
                except (DockerException, OSError, ValueError):
                    failures += 1
                    continue
                if running(live[0]):                    # ended while it runs: an engine hiccup
                    failures += 1

        def follow(container):
            n = self._journal_lines
            start = ["-n", "0"] if n is None else ["-n", f"+{n + 1}"]
            for line in stream_lines(Follow(container, [*start, "-F", "-s", "0.05", JOURNAL])):
                self._journal_lines = (self._journal_lines or 0) + 1 if n is not None else None
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                self._replaying.on = True        # do not write it back (this thread only)
                try:
                    self.history.append(d["kind"], t=d["t"], **d["data"])
                finally:
                    self._replaying.on = False

        threading.Thread(target=pump, daemon=True, name="kalab-journal").start()

    def _load_journal(self) -> None:
        self._journal_lines = 0                 # no journal yet: a follower starts at its first line
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

