"""Build the node image without a registry.

Node image tag: ``kalab/node:<hash>`` where hash is the SHA-256 (12 hex digits)
of every file under ``images/node``, so an unchanged tree
is found with one ``image inspect`` (well under a second) and never rebuilt.

Base image, first that works:
1. ``$KALAB_BASE_IMAGE`` if set (must exist locally or be pullable);
2. a local ``debian:bookworm-slim`` / ``debian:bookworm``; 3. a pull of ``debian:bookworm-slim``;
4. ``kalab/base:bookworm``, made by ``debootstrap --variant=minbase bookworm`` from the
   Debian mirror in the host's apt sources, then ``docker import`` (root only).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import docker
from docker.errors import APIError, BuildError, ImageNotFound
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..errors import ImageError
from .engine import apt_install

NODE_REPO = "kalab/node"
BASE_TAG = "kalab/base:bookworm"
LOCAL_BASES = ("debian:bookworm-slim", "debian:bookworm")
console = Console(stderr=True)


def images_dir() -> Path:
    """The ``images/`` tree: ``$KALAB_IMAGES_DIR``, else the one keepalived-lab ships (:func:`lab.paths.bundled`:
    a checkout's, or an installed wheel's package data)."""
    from ..paths import bundled
    env = os.environ.get("KALAB_IMAGES_DIR")
    d = Path(env) if env else bundled("images")
    if not (d / "node" / "Dockerfile").is_file():
        raise ImageError(f"no node image recipe at {d}/node/Dockerfile; set KALAB_IMAGES_DIR to the images/ "
                         f"folder of a keepalived-lab checkout.")
    return d


def tree_hash(root: Path) -> str:
    """SHA-256 over relative paths and contents of every file under ``root`` (12 hex digits); Python's
    byte-code caches are no part of a recipe (pip writes them beside an installed wheel's copy)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.relative_to(root).parts and p.suffix != ".pyc":
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror URI from the host's apt sources (deb822 ``*.sources`` or ``sources.list``).

    Raises ImageError when no Debian (non-security) source is configured.
    """
    cands: list[str] = []
    for f in sorted((sources / "sources.list.d").glob("*.sources")):
        for para in f.read_text().split("\n\n"):
            if re.search(r"^Enabled:\s*no", para, re.M | re.I):
                continue
            m = re.search(r"^URIs:\s*(\S+)", para, re.M)
            s = re.search(r"^Suites:\s*(.+)$", para, re.M)
            if m and s and not any("security" in x for x in s.group(1).split()):
                cands.append(m.group(1))
    lst = sources / "sources.list"
    if lst.exists():
        for line in lst.read_text().splitlines():
            m = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and "security" not in m.group(2):
                cands.append(m.group(1))
    for c in cands:
        if "debian" in c and "security" not in c:
            return c
    if cands:
        return cands[0]
    raise ImageError("no Debian mirror found in /etc/apt/sources.list(.d); add one or set KALAB_BASE_IMAGE.")


def _exists(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except ImageNotFound:
        return False


def ensure_base(client: docker.DockerClient) -> str:
    """Return a usable base image reference, making one with debootstrap if needed."""
    configured = os.environ.get("KALAB_BASE_IMAGE")
    if configured:
        if _exists(client, configured):
            return configured
        try:
            client.images.pull(configured)
            return configured
        except APIError as e:
            raise ImageError(f"KALAB_BASE_IMAGE={configured} is not local and cannot be pulled: {e.explanation}") from None
    for ref in (BASE_TAG, *LOCAL_BASES):
        if _exists(client, ref):
            return ref
    try:
        client.images.pull(LOCAL_BASES[0])
        return LOCAL_BASES[0]
    except APIError:
        pass  # no registry reachable: build our own base
    return debootstrap_base(client)


def debootstrap_base(client: docker.DockerClient, suite: str = "bookworm") -> str:
    """Make ``kalab/base:<suite>`` with debootstrap (minbase) and docker import. Root only.

    Raises ImageError naming the failed step and its last output lines.
    """
    if os.geteuid() != 0:
        raise ImageError("no Debian base image is available and debootstrap needs root; run as root once, or "
                         "`docker load` a debian:bookworm-slim image, or set KALAB_BASE_IMAGE.")
    if shutil.which("debootstrap") is None:
        apt_install(["debootstrap"], say=lambda m: console.print(f"[dim]{m}[/]"))
    mirror = apt_mirror()
    with tempfile.TemporaryDirectory(prefix="kalab-base-") as tmp:
        root = Path(tmp) / "root"
        cmd = ["debootstrap", "--variant=minbase", suite, str(root), mirror]
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=False) as prog:
            task = prog.add_task(f"debootstrap {suite} (base image)", total=None)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            last: list[str] = []
            for line in proc.stdout:  # type: ignore[union-attr]
                last = (last + [line.rstrip()])[-5:]
                prog.update(task, description=f"debootstrap {suite}: {line.strip()[:60]}")
            if proc.wait() != 0:
                raise ImageError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n  " + "\n  ".join(last))
            prog.update(task, description="docker import (base image)")
            tar_path = Path(tmp) / "root.tar"
            with tarfile.open(tar_path, "w") as tar:
                tar.add(root, arcname=".")
            repo, tag = BASE_TAG.split(":")
            client.api.import_image_from_file(str(tar_path), repository=repo, tag=tag)
            prog.update(task, description=f"base image {BASE_TAG} ready")
    return BASE_TAG


def node_image_tag(client: docker.DockerClient | None = None) -> str:
    """The tag the current ``images/node`` tree builds to (no engine call needed)."""
    return f"{NODE_REPO}:{tree_hash(images_dir() / 'node')}"


def ensure_node_image(client: docker.DockerClient, quiet: bool = False) -> str:
    """Return the node image tag, building it (with progress) only if the tree changed.

    Raises ImageError with the failing build step's output.
    """
    tag = node_image_tag()
    if _exists(client, tag):
        return tag
    base = ensure_base(client)
    _build(client, tag, f"building {tag} from {base}", quiet, path=str(images_dir() / "node"),
           buildargs={"BASE": base}, labels={"io.kalab.image": "node"})
    return tag


#: a Debian package name (Debian Policy §5.6.1: lower case letters, digits, + - . ; at least two characters)
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def extra_image_tag(base_tag: str, packages: list[str]) -> str:
    """The tag of ``base_tag`` with ``packages`` installed: ``kalab/node-extra:<hash>``, the SHA-256 (12 hex
    digits) of the base tag and the sorted package names (one image per set, whatever the order given)."""
    digest = hashlib.sha256("\n".join([base_tag, *sorted(set(packages))]).encode()).hexdigest()[:12]
    return f"{NODE_REPO}-extra:{digest}"


def ensure_extra_image(client: docker.DockerClient, base_tag: str, packages: list[str], quiet: bool = False) -> str:
    """The node image ``base_tag`` with the Debian ``packages`` a user's scripts need (``apt-get install
    --no-install-recommends``, from the base image's own apt sources), built once per set and tagged by its
    hash (:func:`extra_image_tag`). ``packages`` empty: ``base_tag`` itself.

    Raises:
        ImageError: a name is not a Debian package name, or apt cannot install one (apt's last lines).
    """
    if not packages:
        return base_tag
    bad = [p for p in packages if not PACKAGE_NAME.match(p)]
    if bad:
        raise ImageError(f"packages: {', '.join(map(repr, bad))} is not a Debian package name (lower case letters, "
                         f"digits, + - .), e.g. haproxy")
    tag = extra_image_tag(base_tag, packages)
    if _exists(client, tag):
        return tag
    names = " ".join(sorted(set(packages)))
    dockerfile = (f"FROM {base_tag}\n"
                  f"RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                  f"{names} && apt-get clean && rm -rf /var/lib/apt/lists/*\n")
    import io
    _build(client, tag, f"building {tag}: {base_tag} + {names}", quiet, fileobj=io.BytesIO(dockerfile.encode()),
           labels={"io.kalab.image": "node-extra", "io.kalab.packages": names, "io.kalab.base": base_tag})
    return tag


def _build(client: docker.DockerClient, tag: str, what: str, quiet: bool, **kw) -> None:
    """``docker build`` with a progress line (its steps); ``kw``: ``path=`` or ``fileobj=``, ``buildargs=``,
    ``labels=``. Raises ImageError with the failing step's last lines."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, disable=quiet) as prog:
        task = prog.add_task(what, total=None)
        last: list[str] = []
        try:
            for chunk in client.api.build(tag=tag, decode=True, rm=True, forcerm=True, **kw):
                if "error" in chunk:
                    raise ImageError(f"building {tag} failed: {chunk['error'].strip()}\n  " + "\n  ".join(last))
                line = (chunk.get("stream") or "").strip()
                if not line:
                    continue
                last = (last + [line])[-8:]
                m = re.match(r"Step (\d+)/(\d+) : (.*)", line)
                if m:
                    prog.update(task, completed=int(m[1]) - 1, total=int(m[2]),
                                description=f"{tag}: {m[3][:50]}")
                else:
                    prog.update(task, description=f"{tag}: {line[:50]}")
        except (APIError, BuildError) as e:
            raise ImageError(f"building {tag} failed: {e}") from None
        prog.update(task, completed=prog.tasks[0].total or 1, description=f"{tag} built")


def main() -> int:
    """``python -m lab.runtime.images``: engine up, node image present; prints its tag."""
    from ..errors import LabError
    from .engine import ensure_engine
    try:
        print(ensure_node_image(ensure_engine()))
    except LabError as e:
        print(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
