"""The journal writer (lab.journal) survives a node that stops between the status check and the write.

Seen in CI: the lab's events thread wrote a note through a node that had just stopped; the engine
answered 409 ("is not running") and the thread died with a traceback. The writer must try the next
node, and keep the lines for later when no node takes them."""
import threading

from docker.errors import APIError

from lab.events import make
from lab.journal import JournalMixin
from lab.runtime.node import ExecResult


class _Node:
    def __init__(self, fails: bool):
        self.fails, self.written = fails, []

    def status(self):
        return "running"

    def exec(self, cmd):
        if self.fails:
            raise APIError("409 Client Error: Conflict (container is not running)")
        self.written.append(cmd)
        return ExecResult(0, "")


class _Lab(JournalMixin):
    def __init__(self, nodes):
        self.nodes = nodes
        self._journal_lock = threading.Lock()
        self._journal_pending = []
        self._replaying = threading.local()


def test_a_node_that_stopped_meanwhile_is_skipped():
    a, b = _Node(fails=True), _Node(fails=False)
    lab = _Lab({"a": a, "b": b})
    lab._journal(make("note", 1.0, {"text": "hello"}))
    assert len(b.written) == 1 and "hello" in b.written[0]
    assert lab._journal_pending == []


def test_lines_wait_when_no_node_takes_them():
    a = _Node(fails=True)
    lab = _Lab({"a": a})
    lab._journal(make("note", 1.0, {"text": "first"}))
    assert len(lab._journal_pending) == 1
    a.fails = False
    lab._journal(make("note", 2.0, {"text": "second"}))
    assert "first" in a.written[0] and "second" in a.written[0]
    assert lab._journal_pending == []
