"""Run keepalived's own config test (``keepalived -t``) on files, inside the node image.

One throwaway container per call (labelled like a lab, so ``kalab prune`` and
the orphan reaper find it; removed afterwards): no network (``--network
none``), ``NET_ADMIN`` to create the interfaces the configs name (veth pairs;
the lab's nodes have ``eth0``), every file put at its own absolute path so
keepalived's messages name the user's paths and relative includes work. For
each file: ``keepalived -t -f FILE [-i CONFIG_ID]``, its exit code and
stderr.

Exit codes, measured on keepalived 2.2.7 (``enum exit_code`` in its
``lib/scheduler.h``); ``man 8 keepalived`` (Exit status) numbers them one
lower because it predates ``KEEPALIVED_EXIT_PROGRAM_ERROR``:

==  =================================================================
0   OK
1   out of memory
2   program error (cannot initialise subsystems)
3   fatal error
4   configuration cannot be run (file not found, bad interface, fatal)
5   configuration errors; keepalived would run, ignoring or replacing the bad parts
6   scripts are configured but script security is not enabled (SECURITY VIOLATION)
7   no configuration
==  =================================================================

The output parser (:func:`parse_output`) is pure and unit tested; only
:func:`run_config_test` needs Docker.
"""
from __future__ import annotations

import io
import re
import tarfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

EXIT_MEANING = {
    0: "OK",
    1: "keepalived ran out of memory",
    2: "program error: keepalived cannot initialise its subsystems",
    3: "fatal error",
    4: "the configuration cannot be run (file not found, bad interface or fatal error)",
    5: "configuration errors: keepalived would run, ignoring or replacing the bad parts",
    6: "SECURITY VIOLATION: scripts are configured but enable_script_security is not set",
    7: "no configuration",
}

_LOC = re.compile(r"^\((?:(?P<file>.+?): )?Line (?P<line>\d+)\) (?P<msg>.*)$")
_INST = re.compile(r"^\((?P<name>[^)\s]+)\):? ")
_WARN = re.compile(r"^WARNING|probably isn't what you want|^Ignoring|ignoring\b|Ignoring\b", re.I)

# words in keepalived's messages -> the keyword they are about (for messages without a line)
_PHRASES = [
    (re.compile(r"State MASTER", re.I), "state"),
    (re.compile(r"authentication", re.I), "authentication"),
    (re.compile(r"preempt.delay", re.I), "preempt_delay"),
    (re.compile(r"nopreempt|no_preempt", re.I), "nopreempt"),
    (re.compile(r"unicast", re.I), "unicast_peer"),
    (re.compile(r"virtual router id", re.I), "virtual_router_id"),
    (re.compile(r"track_interface", re.I), "track_interface"),
    (re.compile(r"track(ed)? script", re.I), "track_script"),
    (re.compile(r"track(ed)? file", re.I), "track_file"),
    (re.compile(r"priority", re.I), "priority"),
    (re.compile(r"advert", re.I), "advert_int"),
    (re.compile(r"VIP|virtual.ip", re.I), "virtual_ipaddress"),
    (re.compile(r"script_security|SECURITY VIOLATION", re.I), "enable_script_security"),
    (re.compile(r"Sync group", re.I), "vrrp_sync_group"),
    (re.compile(r"interface", re.I), "interface"),
]


@dataclass
class KMessage:
    """One line keepalived -t printed: file and line when it said them."""

    text: str
    file: Optional[str] = None
    line: Optional[int] = None
    message: str = ""
    block: Optional[str] = None        # "(VI_1) ..." -> "VI_1"
    keyword: Optional[str] = None
    severity: str = "error"


@dataclass
class KTestResult:
    """keepalived -t on one file: exit code, its meaning, the messages."""

    file: str
    exit_code: int
    messages: list[KMessage] = field(default_factory=list)
    stderr: str = ""

    @property
    def meaning(self) -> str:
        return EXIT_MEANING.get(self.exit_code, f"unknown exit code {self.exit_code}")


def parse_output(stderr: str, main_file: str, exit_code: int) -> list[KMessage]:
    """Split keepalived -t output into messages with file, line, block and keyword.

    ``(FILE: Line N) msg`` and ``(Line N) msg`` (keepalived omits the file for
    some messages; the main file is assumed) carry a location; other lines
    (``(VI_1) State MASTER must match being address owner``) carry at most
    the instance or script name, and the keyword is guessed from the words.
    Severity: "warning" for messages keepalived words as warnings or when the
    exit code is 0, else "error".
    """
    out = []
    for raw in stderr.splitlines():
        text = raw.strip()
        if not text:
            continue
        m = _LOC.match(text)
        km = KMessage(text=text, message=text)
        if m:
            km.file = m["file"] or main_file
            km.line = int(m["line"])
            km.message = m["msg"]
        b = _INST.match(km.message)
        if b:
            km.block = b["name"]
        km.keyword = _keyword_of(km.message)
        km.severity = "warning" if exit_code == 0 or _WARN.search(km.message) else "error"
        out.append(km)
    return out


def _keyword_of(msg: str) -> Optional[str]:
    m = re.search(r"Unknown keyword '([^']+)'", msg)
    if m:
        return m.group(1)
    m = re.search(r"^(?:\([^)]*\):? )?([a-z][a-z0-9_]+) '[^']*' (?:is )?invalid", msg)
    if m:
        return m.group(1)
    for rx, kw in _PHRASES:
        if rx.search(msg):
            return kw
    return None


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data in files.items():
            ti = tarfile.TarInfo(path.lstrip("/"))
            ti.size = len(data)
            ti.mode = 0o644
            tar.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf.read()


def _script(targets: list[str], interfaces: Iterable[str], config_id: Optional[str]) -> str:
    lines = ["mkdir -p /kalab-lint/out"]
    for i, itf in enumerate(sorted(set(interfaces))):
        if itf == "lo":
            continue
        q = _sh(itf)
        lines.append(f"ip link add {q} type veth peer name kalabp{i} 2>/dev/null && ip link set {q} up")
    idopt = f" -i {_sh(config_id)}" if config_id else ""
    for i, t in enumerate(targets):
        lines.append(f"keepalived -t -f {_sh(t)}{idopt} 2>/kalab-lint/out/{i}.err >/dev/null; "
                     f"echo $? >/kalab-lint/out/{i}.rc")
    return "\n".join(lines) + "\n"


def _sh(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def lint_image(client) -> str:
    """The image to run keepalived -t in: ``$KALAB_LINT_IMAGE``, else the current node image if it
    exists, else the newest existing node image (same Debian keepalived), else build the node image."""
    import os

    from docker.errors import ImageNotFound

    from ..runtime.images import ensure_node_image, node_image_tag

    env = os.environ.get("KALAB_LINT_IMAGE")
    if env:
        return env
    tag = node_image_tag()
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    olds = [i for i in client.images.list(filters={"label": "io.kalab.image=node"}) if i.tags]
    if olds:
        olds.sort(key=lambda i: i.attrs.get("Created", ""), reverse=True)
        return olds[0].tags[0]
    return ensure_node_image(client, quiet=True)


def run_config_test(files: list[str | Path], *, extra_files: Optional[dict[str, bytes]] = None,
                    interfaces: Iterable[str] = ("eth0",), config_id: Optional[str] = None,
                    client=None, image: Optional[str] = None, timeout: float = 120) -> list[KTestResult]:
    """Run ``keepalived -t`` on each of ``files`` in one throwaway node-image container.

    Args:
        files: keepalived.conf paths on this machine (made absolute); each is put
            at the same path in the container, with ``extra_files`` (absolute path
            -> bytes, e.g. included files).
        interfaces: interface names to create (veth) so ``interface eth0`` exists.
        config_id: keepalived's ``-i`` for ``@ID`` lines (default: the container's host name).
        client: docker-py client (default: a running engine, see lab.runtime.engine).
        image: image tag (default: :func:`lint_image`).
        timeout: seconds to wait for the container to finish.
    Returns:
        one :class:`KTestResult` per file, in order.
    Raises:
        lab.errors.LabError: no engine / image; the container did not finish in time.
    """
    from docker.errors import NotFound

    from ..errors import LabError
    from ..runtime import labels as L

    if client is None:
        from ..runtime.engine import ensure_engine
        client = ensure_engine(install=False)
    if image is None:
        image = lint_image(client)
    targets = [str(Path(f).resolve()) for f in files]
    payload = dict(extra_files or {})
    for t in targets:
        payload.setdefault(t, Path(t).read_bytes())
    payload["/kalab-lint/run.sh"] = _script(targets, interfaces, config_id).encode()
    lab_id = f"lint-{uuid.uuid4().hex[:8]}"
    labels = {**L.lab_labels(lab_id, "lint"), L.NODE: "lint", L.ROLE: "lint"}
    c = client.containers.create(image, entrypoint=["sh", "/kalab-lint/run.sh"], network_mode="none",
                                 cap_add=["NET_ADMIN"], labels=labels, hostname="kalab-lint", detach=True)
    try:
        c.put_archive("/", _tar(payload))
        c.start()
        try:
            c.wait(timeout=timeout)
        except Exception as e:   # requests' ReadTimeout / ConnectionError
            raise LabError(f"keepalived -t did not finish within {timeout:.0f} s ({type(e).__name__})") from None
        bits, _ = c.get_archive("/kalab-lint/out")
        data = b"".join(bits)
        got: dict[str, str] = {}
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for m in tar.getmembers():
                if m.isfile():
                    got[Path(m.name).name] = tar.extractfile(m).read().decode(errors="replace")  # type: ignore[union-attr]
    finally:
        try:
            c.remove(force=True, v=True)
        except NotFound:
            pass
    results = []
    for i, t in enumerate(targets):
        rc_text = got.get(f"{i}.rc", "").strip()
        rc = int(rc_text) if rc_text.isdigit() else -1
        err = got.get(f"{i}.err", "")
        results.append(KTestResult(t, rc, parse_output(err, t, rc), err))
    return results
