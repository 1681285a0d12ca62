"""The keepalived releases the lab runs, each from Debian's own package (PURE: data and lookup only).

A release is named by its keepalived version (``2.3.4``) or its Debian suite (``sid``); both name the
same image. The node image of a release is ``images/node`` built on that suite's base
(:mod:`lab.runtime.images`); its tag says the version and the suite, and the build checks that the
keepalived inside is the version this table promises (a suite that moved on is an error naming the
version it has now and this file).

Sources: the versions are those of Debian's archive on 2026-12-02 (packages.debian.org/keepalived):
bullseye 1:2.1.5-0.2+deb11u1, bookworm 1:2.2.7-1+b2, trixie 1:2.3.3-1, sid 1:2.3.4-1.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import LabError


@dataclass(frozen=True)
class Release:
    """One keepalived release as Debian ships it.

    ``version``: keepalived's own (``keepalived --version`` says ``Keepalived v<version>``);
    ``suite``: the Debian suite whose package it is; ``python``: that suite's python3 (major, minor),
    which decides what the image's tools can import (``smtpd`` left the standard library in 3.12).
    """

    version: str
    suite: str
    python: tuple[int, int]

    @property
    def key(self) -> tuple[int, ...]:
        """The version as integers, for ordering (``2.2.7`` -> ``(2, 2, 7)``)."""
        return version_key(self.version)

    @property
    def logs_startup_complete(self) -> bool:
        """Whether keepalived logs 'Startup complete' / 'Reload complete' (core/config_notify.c, commit e00141a8
        'systemd: Use an eventfd to notify parent of reload completion', first in v2.2.2). Before it, the first
        instance's '(NAME) Entering <STATE> STATE' line of a run is the nearest mark of a finished start."""
        return self.key >= (2, 2, 2)


def version_key(version: str) -> tuple[int, ...]:
    """A keepalived version as integers, for ordering (``"2.3.4"`` -> ``(2, 3, 4)``). Raises ValueError on a
    part that is not a number."""
    return tuple(int(x) for x in version.split("."))


#: oldest first; the default is the one every lab test runs on unless told otherwise
RELEASES: tuple[Release, ...] = (
    Release("2.1.5", "bullseye", (3, 9)),
    Release("2.2.7", "bookworm", (3, 11)),
    Release("2.3.3", "trixie", (3, 13)),
    Release("2.3.4", "sid", (3, 13)),
)
DEFAULT_VERSION = "2.2.7"


class UnknownRelease(LabError):
    """A ``keepalived:`` value that names no release the lab builds."""


def release(name: str | None = None) -> Release:
    """The release named by a keepalived version (``"2.3.4"``, also ``"v2.3.4"``) or a Debian suite
    (``"sid"``); ``None`` or ``""``: the default (2.2.7, bookworm).

    Raises:
        UnknownRelease: no release has that version or suite; the message lists those that do.
    """
    if not name:
        name = DEFAULT_VERSION
    want = str(name).strip().lower().removeprefix("v")
    for r in RELEASES:
        if want in (r.version, r.suite):
            return r
    raise UnknownRelease(f"keepalived {name!r} is not a release the lab builds; use one of "
                         f"{', '.join(f'{r.version} ({r.suite})' for r in RELEASES)}")


def default_release() -> Release:
    """The release a node runs when nothing names one."""
    return release(DEFAULT_VERSION)


def releases(spec: str) -> list[Release]:
    """A comma-separated list of releases (``"2.2.7,2.3.4"``, ``"all"`` for every one), in the order
    given, without repeats. Raises UnknownRelease on a name no release has."""
    if spec.strip().lower() == "all":
        return list(RELEASES)
    out: list[Release] = []
    for part in spec.split(","):
        if part.strip():
            r = release(part)
            if r not in out:
                out.append(r)
    if not out:
        raise UnknownRelease(f"no keepalived release named in {spec!r}; use e.g. 2.2.7,2.3.4 or all")
    return out
