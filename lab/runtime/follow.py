"""Follow a file inside a container; the follower ends when its reader goes away.

A plain ``docker exec tail -F`` outlives the process that started it: the engine keeps the exec running
after the client disconnects, so every ``kalab watch`` (and every killed one) left a ``tail -F`` per node
running in the containers. Here ``tail`` runs under a shell that holds the exec's stdin open: when the
reader's connection closes (it exits, is killed, or closes the stream), the engine closes that stdin,
``cat`` sees end of file, and the shell kills ``tail``.
"""
from __future__ import annotations

from typing import Iterator

from docker.utils.socket import frames_iter

#: ``sh -c`` body: tail in the background, wait for stdin to close, stop tail
_GUARD = 'tail "$@" & t=$!; cat >/dev/null; kill $t 2>/dev/null; wait $t 2>/dev/null'


class Follow:
    """``tail ARGS`` in ``container`` as a stream of output bytes (stdout and stderr). Iterate it; call
    :meth:`close` (or drop the process) to end it, and the ``tail`` in the container with it."""

    def __init__(self, container, tail_args: list[str]):
        api = container.client.api
        self._exec = api.exec_create(container.id, ["sh", "-c", _GUARD, "sh", *tail_args],
                                     stdin=True, stdout=True, stderr=True)["Id"]
        self._sock = api.exec_start(self._exec, socket=True)

    def __iter__(self) -> Iterator[bytes]:
        for _stream, data in frames_iter(self._sock, tty=False):
            yield data

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
