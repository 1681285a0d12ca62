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

The engine can lose output too: moby issue 27289 / docker-py issue 2042, and once in this lab's CI a
``cat`` of a 2 KB file that exited 0 returned nothing. :func:`run` therefore has the shell print a trailer
on each stream after the command (:func:`wrap`); output without both trailers is reported incomplete,
never passed on as if whole.
"""
from __future__ import annotations

import io
import re
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


#: what :func:`run` has the shell print after the command, on stdout (with the exit status) and on stderr:
#: a stream that does not end with it did not arrive whole
TRAILER = b"\x1ekalab-exec-end"
_OUT_TRAILER = re.compile(rb"\n\x1ekalab-exec-end (\d+)\n\Z")
_ERR_TRAILER = b"\n" + TRAILER + b"\n"
_WRAP = ('"$@"; s=$?; printf "\\n\\036kalab-exec-end %d\\n" "$s"; printf "\\n\\036kalab-exec-end\\n" >&2; '
         'exit "$s"')


class ExecOutputLost(RuntimeError):
    """A command's output did not arrive whole: the engine closed its streams before the end (moby issue
    27289, docker-py issue 2042: 1 exec in tens of thousands on a loaded CI machine returned nothing)."""


def wrap(argv: list[str]) -> list[str]:
    """``argv`` run by ``sh``, which then prints :data:`TRAILER` on stdout (with the exit status) and on
    stderr: the proof that each stream arrived to its end. The command's own argv, exit status and
    streams are unchanged."""
    return ["sh", "-c", _WRAP, "kalab-exec", *argv]


def _cut_tail(frames: list[tuple[int, bytes]], stream: int, n: int) -> None:
    """Remove the last ``n`` bytes of ``stream`` from ``frames`` (in place)."""
    for i in range(len(frames) - 1, -1, -1):
        if n <= 0:
            return
        sid, data = frames[i]
        if sid == stream:
            cut = min(n, len(data))
            frames[i] = (sid, data[:len(data) - cut])
            n -= cut


def unwrap(frames: list[tuple[int, bytes]]) -> tuple[Optional[int], bytes, bool]:
    """The frames of a :func:`wrap` command: ``(exit status from the trailer or None, stdout and stderr
    interleaved as sent without the trailers, whether both streams arrived whole)``."""
    frames = list(frames)
    out = b"".join(d for sid, d in frames if sid == STDOUT)
    err = b"".join(d for sid, d in frames if sid == STDERR)
    m = _OUT_TRAILER.search(out)
    code = int(m.group(1)) if m else None
    if m:
        _cut_tail(frames, STDOUT, len(m.group(0)))
    err_ok = err.endswith(_ERR_TRAILER)
    if err_ok:
        _cut_tail(frames, STDERR, len(_ERR_TRAILER))
    return code, b"".join(d for _, d in frames), bool(m) and err_ok


def run(api, container_id: str, argv: list[str], user: str = "") -> tuple[Optional[int], bytes, bool]:
    """``exec_run`` without the lost output, and knowing when the engine lost some: ``(exit code, stdout
    and stderr interleaved as sent, complete)``. ``complete`` False: the streams ended before the
    :func:`wrap` trailers (the engine dropped output, or the container stopped under the command); the
    exit code is then the engine's, None if it has none (the command still runs).

    Raises: ``docker.errors.APIError`` (409 when the container is not running) / ``NotFound``."""
    exec_id, stream = start(api, container_id, wrap(argv), user=user)
    try:
        frames = list(stream.frames())
    finally:
        stream.close()
    code, out, complete = unwrap(frames)
    if not complete:
        code = api.exec_inspect(exec_id).get("ExitCode")
    return code, out, complete
