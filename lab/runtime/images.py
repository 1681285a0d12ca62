"""Build the node images, one per keepalived release (lab.releases), without a registry.

Node image tag: ``kalab/node:<version>-<suite>-<hash>`` (``kalab/node:2.2.7-bookworm-1a2b3c4d5e6f``): the
keepalived version, the Debian suite it comes from, and the SHA-256 (12 hex digits) of every file under
``images/node`` with the release, so an unchanged tree is found with one ``image inspect`` (well under a
second) and never rebuilt. The build probes what the release can do (``images/node/kalab-features.sh``:
the JSON dump, ``--signum``, ``vrrp_notify_priority_changes``, Python's ``smtpd``) into
``/etc/kalab/features`` and fails when the suite's keepalived is not the version the tag promises
(:func:`image_features` reads the file back).

Base image of a suite, first that works:
1. ``$KALAB_BASE_IMAGE`` if set (bookworm, the default release, only; must exist locally or be pullable);
2. ``kalab/base:<suite>`` or a local ``debian:<suite>-slim`` / ``debian:<suite>``; 3. a pull of
   ``debian:<suite>-slim``;
4. ``kalab/base:<suite>``, made by ``debootstrap --variant=minbase <suite>`` from the
   Debian mirror in the host's apt sources, then ``docker import`` (root only).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
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
from ..releases import RELEASES, Release, default_release, release as find_release
from .engine import apt_install

NODE_REPO = "kalab/node"
BASE_REPO = "kalab/base"
#: where the build writes what the release can do (images/node/kalab-features.sh)
FEATURES_PATH = "/etc/kalab/features"
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


def ensure_base(client: docker.DockerClient, suite: str = "bookworm") -> str:
    """Return a usable base image reference for Debian ``suite``, making one with debootstrap if needed
    (module docstring: the order tried). Raises ImageError when none can be had."""
    configured = os.environ.get("KALAB_BASE_IMAGE")
    if configured and suite == default_release().suite:
        if _exists(client, configured):
            return configured
        try:
            client.images.pull(configured)
            return configured
        except APIError as e:
            raise ImageError(f"KALAB_BASE_IMAGE={configured} is not local and cannot be pulled: {e.explanation}") from None
    locals_ = (f"{BASE_REPO}:{suite}", f"debian:{suite}-slim", f"debian:{suite}")
    for ref in locals_:
        if _exists(client, ref):
            return ref
    try:
        client.images.pull(locals_[1])
        return locals_[1]
    except APIError:
        pass  # no registry reachable: build our own base
    return debootstrap_base(client, suite)


def debootstrap_base(client: docker.DockerClient, suite: str = "bookworm") -> str:
    """Make ``kalab/base:<suite>`` with debootstrap (minbase) and docker import. Root only.

    Raises ImageError naming the failed step and its last output lines.
    """
    if os.geteuid() != 0:
        raise ImageError(f"no Debian {suite} base image is available and debootstrap needs root; run as root once, "
                         f"or `docker load` a debian:{suite}-slim image (bookworm: or set KALAB_BASE_IMAGE).")
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
            client.api.import_image_from_file(str(tar_path), repository=BASE_REPO, tag=suite)
            prog.update(task, description=f"base image {BASE_REPO}:{suite} ready")
    return f"{BASE_REPO}:{suite}"


def node_image_tag(client: docker.DockerClient | None = None, release: Release | str | None = None) -> str:
    """The tag the current ``images/node`` tree builds to for ``release`` (a lab.releases.Release, a version or
    suite; None: the default), ``kalab/node:<version>-<suite>-<hash>`` (no engine call needed).
    Raises lab.releases.UnknownRelease on a name no release has."""
    r = release if isinstance(release, Release) else find_release(release)
    digest = hashlib.sha256(f"{tree_hash(images_dir() / 'node')}\n{r.version}\n{r.suite}".encode()).hexdigest()[:12]
    return f"{NODE_REPO}:{r.version}-{r.suite}-{digest}"


def ensure_node_image(client: docker.DockerClient, quiet: bool = False, release: Release | str | None = None) -> str:
    """Return the node image tag of ``release`` (None: the default, 2.2.7), building it (with progress) only if
    the tree changed.

    Raises ImageError with the failing build step's output (also when the suite's keepalived is not the
    release's version: lab/releases.py is then out of date).
    """
    r = release if isinstance(release, Release) else find_release(release)
    tag = node_image_tag(release=r)
    if _exists(client, tag):
        return tag
    with _build_lock(tag):               # pytest-xdist workers and parallel kalab commands: one build per tag
        if _exists(client, tag):
            return tag
        base = ensure_base(client, r.suite)
        _build(client, tag, f"building {tag} from {base}", quiet, path=str(images_dir() / "node"),
               buildargs={"BASE": base, "KALAB_RELEASE": r.version},
               labels={"io.kalab.image": "node", "io.kalab.keepalived": r.version, "io.kalab.suite": r.suite})
    return tag


@contextlib.contextmanager
def _build_lock(tag: str):
    """An exclusive lock (flock) on a file named after ``tag`` in the temp folder, held while the image (and
    its base) is made, so that concurrent processes of this host build it once; the others wait and find it."""
    path = Path(tempfile.gettempdir()) / ("kalab-build-" + re.sub(r"[^A-Za-z0-9_.-]", "_", tag) + ".lock")
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_features: dict[str, dict[str, str]] = {}


def image_features(client: docker.DockerClient, tag: str) -> dict[str, str]:
    """What the image's keepalived and tools can do, as its build probed them (``/etc/kalab/features``):
    ``{"version": "2.2.7", "json": "1", "signum": "1", "notify_priority_changes": "1", "python_smtpd": "1",
    "aiosmtpd": "1", ...}``. Read once per tag from a created (never started) container.

    Raises ImageError when the image has no such file (built by an older recipe: rebuild it).
    """
    if tag in _features:
        return _features[tag]
    c = client.containers.create(tag, command=["true"], labels={"io.kalab.image-probe": "1"})
    try:
        try:
            stream, _ = c.get_archive(FEATURES_PATH)
        except docker.errors.NotFound:
            raise ImageError(f"{tag} has no {FEATURES_PATH}: it was built by an older recipe; remove it "
                             f"(docker rmi {tag}) and the lab builds it again") from None
        buf = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=buf) as tar:
            member = tar.getmembers()[0]
            text = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
    finally:
        c.remove(force=True)
    out = dict(line.split(None, 1) for line in text.splitlines() if len(line.split(None, 1)) == 2)
    _features[tag] = out
    return out


def built_releases(client: docker.DockerClient) -> dict[str, str | None]:
    """{version: the current tree's node image tag if built, else None} for every release (``kalab versions``)."""
    return {r.version: (t if _exists(client, t := node_image_tag(release=r)) else None) for r in RELEASES}


#: terminal colour codes apt and docker put in a build's output (an error message is plain text)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

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
    with _build_lock(tag):
        if not _exists(client, tag):
            _build_extra(client, tag, base_tag, packages, quiet)
    return tag


def _build_extra(client: docker.DockerClient, tag: str, base_tag: str, packages: list[str], quiet: bool) -> None:
    names = " ".join(sorted(set(packages)))
    dockerfile = (f"FROM {base_tag}\n"
                  f"RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                  f"{names} && apt-get clean && rm -rf /var/lib/apt/lists/*\n")
    _build(client, tag, f"building {tag}: {base_tag} + {names}", quiet, fileobj=io.BytesIO(dockerfile.encode()),
           labels={"io.kalab.image": "node-extra", "io.kalab.packages": names, "io.kalab.base": base_tag})


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
                    raise ImageError(f"building {tag} failed: {_ANSI.sub('', chunk['error']).strip()}\n  "
                                     + "\n  ".join(last))
                line = _ANSI.sub("", chunk.get("stream") or "").strip()
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
