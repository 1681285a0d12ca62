"""Follow a file inside a container; the follower ends when its reader goes away.

A plain ``docker exec tail -F`` outlives the process that started it: the engine keeps the exec running
after the client disconnects, so every ``kalab watch`` (and every killed one) left a ``tail -F`` per node
running in the containers. Here ``tail`` runs under a shell that holds the exec's stdin open: when the
reader's connection closes (it exits, is killed, or closes the stream), the engine closes that stdin,
``cat`` sees end of file, and the shell kills ``tail``.
"""
from __future__ import annotations

from typing import Iterator

from .exec_io import STDOUT, ExecStream

#: ``sh -c`` body: tail in the background, wait for stdin to close, stop tail
_GUARD = 'tail "$@" & t=$!; cat >/dev/null; kill $t 2>/dev/null; wait $t 2>/dev/null'


class Follow:
    """``tail ARGS`` in ``container`` as a stream of the bytes ``tail`` writes to its stdout. Iterate it;
    call :meth:`close` (or drop the process) to end it, and the ``tail`` in the container with it.

    Only stdout: the engine reads a process's stdout and stderr in two separate readers, so their
    pieces reach the client in any order. ``tail -F`` writes "tail: " and the rest of a notice such as
    "'...' has appeared;  following new file" to stderr in separate writes, right before the file's
    first line on stdout; merged, that first line came out glued behind "tail: " and was dropped as a
    notice (the lost first notify line of issue 13)."""

    def __init__(self, container, tail_args: list[str]):
        api = container.client.api
        self._exec = api.exec_create(container.id, ["sh", "-c", _GUARD, "sh", *tail_args],
                                     stdin=True, stdout=True, stderr=True)["Id"]
        self._stream = ExecStream(api, self._exec)      # nothing of tail's first output lost (exec_io)

    def __iter__(self) -> Iterator[bytes]:
        return stdout_only(self._stream.frames())

    def close(self) -> None:
        self._stream.close()


def stdout_only(frames) -> Iterator[bytes]:
    """The stdout data of docker's multiplexed ``(stream id, data)`` frames, in order; stderr is left out."""
    for stream, data in frames:
        if stream == STDOUT:
            yield data
