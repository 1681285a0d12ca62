"""Run and stream commands in containers without losing their first output.

docker-py's exec output paths (``exec_run``, ``exec_start(stream=True)``, ``exec_start(socket=True)``)
read the upgraded connection from its raw socket (``APIClient._get_raw_response_socket``). The HTTP
reader in front of that socket has already read the response headers through a buffer, and when the
command's first output arrived in the same read as the headers (a busy client: another thread held the
interpreter, or the machine was loaded), those bytes sit in the buffer and are never seen. Measured here:
with four CPU-bound threads in the client, 25 of 100 ``echo first; ...`` execs lost ``first``; it cost the
lab a node's first notify_fifo line in CI (issue 13). A known docker-py bug (docker/docker-py issue 425,
pull request 2467, not merged).

:class:`ExecStream` reads the same connection through that buffer (buffered bytes first, then the socket),
so nothing is lost; :func:`run` is ``exec_run`` on top of it. Every exec of the lab goes through here.
"""
from __future__ import annotations

import io
import socket
import struct
from typing import Iterator, Optional

#: docker's stream ids in a multiplexed (non-TTY) exec stream
STDOUT, STDERR = 1, 2
_HEADER = struct.Struct(">BxxxL")


class ExecStream:
    """The output of a created exec, started here: iterate :meth:`frames` (or :meth:`chunks`), then
    :meth:`close` (which also ends a command that waits on its stdin).

    Args: ``api`` a docker ``APIClient``; ``exec_id`` from ``api.exec_create`` (with ``stdout``/``stderr``,
    and ``stdin=True`` to let :meth:`close` end the command); ``tty`` as created.
    Raises: ``docker.errors.APIError`` / ``NotFound`` if the engine refuses the start (the container
    stopped, the exec is unknown).
    """

    def __init__(self, api, exec_id: str, tty: bool = False):
        # what exec_start(..., stream=True) posts (docker/api/exec_api.py), keeping the response
        res = api._post_json(api._url("/exec/{0}/start", exec_id),
                             headers={"Connection": "Upgrade", "Upgrade": "tcp"},
                             data={"Tty": tty, "Detach": False}, stream=True)
        api._raise_for_status(res)
        self._res, self._tty = res, tty
        fp = getattr(getattr(res.raw, "_fp", None), "fp", None)
        if isinstance(fp, io.BufferedReader):
            self._fp, self._sock = fp, getattr(fp.raw, "_sock", None)
        else:   # transports without a buffered reader (ssh, named pipes): docker-py's own socket
            self._fp, self._sock = None, api._get_raw_response_socket(res)

    def _read1(self, n: int) -> bytes:
        try:
            if self._fp is not None:
                return self._fp.read1(n)
            from docker.utils.socket import read
            return read(self._sock, n) or b""
        except (OSError, ValueError):       # reset, or closed under us by close()
            return b""

    def _read_exactly(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self._read1(n - len(buf))
            if not chunk:
                break
            buf += chunk
        return buf

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """``(stream id, data)`` in the order the engine sent them (stream id 1 stdout, 2 stderr; a TTY
        exec has one stream, given as stdout). Ends at end of output or after :meth:`close`."""
        if self._tty:
            while chunk := self._read1(65536):
                yield STDOUT, chunk
            return
        while True:
            header = self._read_exactly(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            stream, length = _HEADER.unpack(header)
            if length:
                data = self._read_exactly(length)
                if not data:
                    return
                yield stream, data

    def chunks(self, streams: tuple[int, ...] = (STDOUT, STDERR)) -> Iterator[bytes]:
        """The data of :meth:`frames` from ``streams`` only, in order."""
        for stream, data in self.frames():
            if stream in streams:
                yield data

    def send(self, data: bytes) -> None:
        """Write ``data`` to the command's stdin (created with ``stdin=True``). Raises OSError when closed."""
        if self._sock is None:
            raise OSError("this exec's connection has no socket to write to")
        self._sock.sendall(data)

    def close(self) -> None:
        """Close the connection: the engine closes the command's stdin (a guard waiting on it ends)."""
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
        try:
            self._res.close()
        except Exception:
            pass


def start(api, container_id: str, argv: list[str], user: str = "", stdin: bool = False,
          tty: bool = False) -> tuple[str, ExecStream]:
    """Create and start ``argv`` in the container: ``(exec id, ExecStream)``.

    Raises: ``docker.errors.APIError`` (409 when the container is not running) / ``NotFound``."""
    exec_id = api.exec_create(container_id, argv, stdin=stdin, stdout=True, stderr=True, tty=tty, user=user)["Id"]
    return exec_id, ExecStream(api, exec_id, tty=tty)


def run(api, container_id: str, argv: list[str], user: str = "") -> tuple[Optional[int], bytes]:
    """``exec_run`` without the lost output: ``(exit code, stdout and stderr interleaved as sent)``.
    The exit code is None if the engine has none (the command still runs).

    Raises: ``docker.errors.APIError`` (409 when the container is not running) / ``NotFound``."""
    exec_id, stream = start(api, container_id, argv, user=user)
    try:
        out = b"".join(data for _, data in stream.frames())
    finally:
        stream.close()
    return api.exec_inspect(exec_id).get("ExitCode"), out
