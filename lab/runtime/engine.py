"""Find or start a Docker engine.

``ensure_engine()`` returns a docker-py client that answers. If none answers
and we are root on Debian with no DOCKER_HOST set, it installs Debian's
``docker.io`` (apt-get) and starts ``dockerd`` in the background, logging to
``/var/log/kalab-dockerd.log``, then waits (deadline 60 s) until it answers.
Otherwise it raises :class:`lab.errors.EngineError` with one sentence that says
how to start Docker.

Copes with a stale ``/var/run/docker.pid`` left by a killed dockerd.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
from docker.errors import DockerException

from ..errors import EngineError

DOCKERD_LOG = Path("/var/log/kalab-dockerd.log")
PIDFILE = Path("/var/run/docker.pid")
START_DEADLINE = 60.0


def transient_start_failure(exc: BaseException) -> bool:
    """Whether a container start failed only because the loaded engine timed out wiring it up, so starting
    the same (created) container again is sound: containerd's shim or its stdio pipes not ready within its
    own deadline (CI: 500 "failed to create shim task: failed to start io pipe copy: ... opening w/o fifo
    ... context deadline exceeded"). Nothing of the container ran."""
    text = str(exc)
    return (isinstance(exc, docker.errors.APIError) and "context deadline exceeded" in text
            and ("failed to create shim" in text or "io pipe copy" in text))


def engine_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means the Docker engine stopped answering: a
    refused or reset connection, a closed socket, a timeout (requests/urllib3 under docker-py)."""
    import requests
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 10:
        if isinstance(e, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError)):
            return True
        if isinstance(e, docker.errors.DockerException) and "connection" in str(e).lower():
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


#: seconds an engine call may take once the engine answered a ping (docker-py's own default): 16 labs
#: starting at once made network creation take over 10 s (bench/ scale curve), a client error then
OPERATION_TIMEOUT = 60.0


def client_if_up(timeout: float = 10) -> docker.DockerClient | None:
    """A client whose ping succeeds within ``timeout`` s, or None; its later calls may take up to
    :data:`OPERATION_TIMEOUT` s (a loaded engine is slow, not gone)."""
    try:
        c = docker.from_env(timeout=timeout)
        c.ping()
        c.api.timeout = max(timeout, OPERATION_TIMEOUT)
        return c
    except (DockerException, OSError, Exception):  # docker-py raises several kinds on no socket
        return None


def _is_debian() -> bool:
    return Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def apt_install(packages: list[str], say=print, recommends: bool = False) -> None:
    """Install Debian packages with apt-get (root only). Raises EngineError with apt's last lines."""
    say(f"installing {' '.join(packages)} with apt-get ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    extra = [] if recommends else ["--no-install-recommends"]
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *extra, *packages]):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-5:])
            raise EngineError(f"`{' '.join(cmd)}` failed (exit {r.returncode}):\n{tail}")


def _clear_stale_pidfile() -> None:
    if not PIDFILE.exists():
        return
    try:
        pid = int(PIDFILE.read_text().strip() or "0")
        comm = Path(f"/proc/{pid}/comm").read_text().strip() if pid else ""
    except (ValueError, OSError):
        comm = ""
    if comm != "dockerd":
        PIDFILE.unlink(missing_ok=True)


def ensure_engine(install: bool = True, say=print) -> docker.DockerClient:
    """Return a docker-py client for a running engine, starting one if allowed.

    Args:
        install: allow apt-get install of docker.io and starting dockerd (root on Debian only).
        say: where progress lines go.
    Raises:
        EngineError: no engine and we cannot (or may not) start one; the message says what to do.
    """
    c = client_if_up()
    if c is not None:
        return c
    if os.environ.get("DOCKER_HOST"):
        raise EngineError(f"The Docker engine at DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer; "
                          f"start it or unset DOCKER_HOST to use the local engine.")
    sock = Path("/var/run/docker.sock")
    if sock.exists() and not os.access(sock, os.R_OK | os.W_OK):
        raise EngineError(f"{sock} exists but this user may not use it; run as root or add the user to the "
                          f"`docker` group (`sudo usermod -aG docker $USER`, then log in again).")
    if not install or os.geteuid() != 0 or not _is_debian():
        raise EngineError("No Docker engine answers at /var/run/docker.sock; start one "
                          "(`sudo systemctl start docker`, or as root `dockerd &`) and run again.")
    if shutil.which("dockerd") is None:
        apt_install(["docker.io"], say, recommends=True)   # as measured: docker.io with its recommends
    _clear_stale_pidfile()
    say(f"starting dockerd (log: {DOCKERD_LOG}) ...")
    log = open(DOCKERD_LOG, "ab")
    proc = subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + START_DEADLINE
    delay = 0.05
    while time.monotonic() < deadline:       # readiness probe with a deadline, backing off
        c = client_if_up(timeout=5)
        if c is not None:
            say(f"dockerd answers (pid {proc.pid})")
            return c
        if proc.poll() is not None:
            tail = DOCKERD_LOG.read_text(errors="replace").strip().splitlines()[-3:]
            raise EngineError(f"dockerd exited with code {proc.returncode}; last log lines:\n  " + "\n  ".join(tail))
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    raise EngineError(f"dockerd did not answer within {START_DEADLINE:.0f} s; see {DOCKERD_LOG}.")


def main() -> int:
    """``python -m lab.runtime.engine``: make sure an engine runs; print one line; exit 0/1."""
    try:
        c = ensure_engine()
    except EngineError as e:
        print(f"error: {e}")
        return 1
    print(f"Docker engine {c.version().get('Version')} is up")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
