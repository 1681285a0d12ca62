"""Run keepalived's own config test (``keepalived -t``) on files, inside the node image (Docker).

One throwaway container per call (labelled like a lab, so ``kalab prune`` and
the orphan reaper find it; removed afterwards): no network (``--network
none``), ``NET_ADMIN`` to create the interfaces the configs name (veth pairs;
the lab's nodes have ``eth0``), every file put at its own absolute path so
keepalived's messages name the user's paths and relative includes work. For
each file: ``keepalived -t -f FILE [-i CONFIG_ID]``, its exit code and
stderr (:class:`KTestRun`). What the exit codes and messages mean is pure and
lives in :mod:`lab.kaconf.ktest_output`.

:func:`run_config_test` is the runner :func:`lab.kaconf.lint.lint_files` takes
as ``keepalived_test``; :func:`lint_files` here wires the two together (what
``kalab lint`` runs).
"""
from __future__ import annotations

import io
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

__all__ = ["KTestRun", "lint_image", "run_config_test", "lint_files"]


@dataclass
class KTestRun:
    """keepalived -t on one file: the absolute path it ran on, its exit code (-1: none recorded), its stderr."""

    file: str
    exit_code: int
    stderr: str = ""


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


def _script(targets: list[str], interfaces: Iterable[str], config_id: "Optional[str] | list[Optional[str]]") -> str:
    lines = ["mkdir -p /kalab-lint/out"]
    for i, itf in enumerate(sorted(set(interfaces))):
        if itf == "lo":
            continue
        q = _sh(itf)
        lines.append(f"ip link add {q} type veth peer name kalabp{i} 2>/dev/null && ip link set {q} up")
    ids = config_id if isinstance(config_id, list) else [config_id] * len(targets)
    for i, t in enumerate(targets):
        idopt = f" -i {_sh(ids[i])}" if ids[i] else ""
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

    from .images import ensure_node_image, node_image_tag

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
                    client=None, image: Optional[str] = None, timeout: float = 120) -> list[KTestRun]:
    """Run ``keepalived -t`` on each of ``files`` in one throwaway node-image container.

    Args:
        files: keepalived.conf paths on this machine (made absolute); each is put
            at the same path in the container, with ``extra_files`` (absolute path
            -> bytes, e.g. included files).
        interfaces: interface names to create (veth) so ``interface eth0`` exists.
        config_id: keepalived's ``-i`` for ``@ID`` lines (default: the container's host name); a list gives
            one per file.
        client: docker-py client (default: a running engine, see lab.runtime.engine).
        image: image tag (default: :func:`lint_image`).
        timeout: seconds to wait for the container to finish.
    Returns:
        one :class:`KTestRun` per file, in order (parse its stderr with
        :func:`lab.kaconf.ktest_output.parse_output`).
    Raises:
        lab.errors.LabError: no engine / image; the container did not finish in time.
    """
    from docker.errors import NotFound

    from ..errors import LabError
    from . import labels as L

    if client is None:
        from .engine import ensure_engine
        client = ensure_engine(install=False)
    if image is None:
        image = lint_image(client)
    targets = [str(Path(f).resolve()) for f in files]
    payload = dict(extra_files or {})
    for t in targets:
        payload.setdefault(t, Path(t).read_bytes())
    payload["/kalab-lint/run.sh"] = _script(targets, interfaces, config_id).encode()
    from .cleanup import reap_orphans
    reap_orphans(client)        # a killed lint's container: its owner is gone
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
        results.append(KTestRun(t, rc, err))
    return results


def lint_files(files: list[str | Path], *, keepalived_test: bool = True, subnets: Iterable[str] = (),
               interfaces: Iterable[str] = ("eth0",), config_id: Optional[str] = None, client=None):
    """:func:`lab.kaconf.lint.lint_files` with this module's keepalived -t runner (what ``kalab lint`` runs).

    Args:
        files: keepalived.conf paths, one per node of one cluster.
        keepalived_test: run ``keepalived -t`` in the node image (needs Docker); False: semantic rules only.
        subnets, interfaces, config_id: as :func:`lab.kaconf.lint.lint_files`.
        client: docker-py client (default: a running engine, see lab.runtime.engine).
    Returns:
        lab.kaconf.lint.LintResult.
    Raises:
        lab.errors.ConfigError: a file cannot be read. LabError: Docker problems during keepalived -t.
    """
    from ..kaconf.lint import lint_files as _lint_files   # the pure lint; imported here, at the composition

    runner = None
    if keepalived_test:
        def runner(targets, **kw):
            return run_config_test(targets, client=client, **kw)
    return _lint_files(files, keepalived_test=runner, subnets=subnets, interfaces=interfaces, config_id=config_id)
