"""Find and remove what labs left behind, by labels only (never by name patterns).

* ``remove_lab(client, lab_id)``: every container and network of one lab.
* ``reap_orphans(client)``: labs whose owning process on this host is gone
  (a crashed or SIGKILLed run) and that were not started with keep (``kalab up``).
* ``prune(client)``: everything carrying the lab label (``kalab prune``).
"""
from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

import docker
from docker.errors import APIError, NotFound

from . import labels as L


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True             # another host's lab: not ours to judge
    try:
        os.kill(int(pid), 0)
        return True
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True


def lab_ids(client: docker.DockerClient) -> dict[str, dict[str, str]]:
    """Every lab id on the engine with the labels of one of its objects.

    Uses the engine's list calls only (no per-object inspect), so a parallel lab being
    removed meanwhile cannot make this fail.
    """
    out: dict[str, dict[str, str]] = {}
    for c in client.api.containers(all=True, filters={"label": L.LAB}):
        out.setdefault(c["Labels"][L.LAB], c["Labels"])
    for n in client.api.networks(filters={"label": L.LAB}):
        out.setdefault(n["Labels"][L.LAB], n["Labels"])
    for v in (client.api.volumes(filters={"label": L.LAB}) or {}).get("Volumes") or []:
        out.setdefault(v["Labels"][L.LAB], v["Labels"])
    return out


def _gone_or_busy(e: APIError) -> bool:
    """Errors that mean someone else is removing the same object (or already did)."""
    msg = str(e).lower()
    return e.status_code in (404, 409) or "no such" in msg or "in progress" in msg or "not found" in msg


def remove_lab(client: docker.DockerClient, lab_id: str) -> tuple[int, int]:
    """Remove one lab's containers (force, with volumes), networks and volumes.

    Safe to run from two processes at once (objects that vanish meanwhile are skipped).
    Returns (containers, networks) removed by this call.
    """
    f = {"label": f"{L.LAB}={lab_id}"}

    def remove(c: dict) -> int:
        try:
            if c.get("State") == "paused":          # older engines refuse to remove a paused container
                client.api.unpause(c["Id"])
            client.api.remove_container(c["Id"], force=True, v=True)
            return 1
        except APIError as e:
            if not _gone_or_busy(e):
                raise
            return 0

    containers = client.api.containers(all=True, filters=f)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(containers)))) as pool:   # the engine stops them in parallel
        nc = sum(pool.map(remove, containers))
    nn = 0
    for n in client.api.networks(filters=f):
        try:
            client.api.remove_network(n["Id"])
            nn += 1
        except APIError as e:
            if not (_gone_or_busy(e) or "active endpoints" in str(e)):
                raise
    for v in (client.api.volumes(filters=f) or {}).get("Volumes") or []:
        try:
            client.api.remove_volume(v["Name"], force=True)
        except APIError as e:
            if not (_gone_or_busy(e) or "in use" in str(e)):
                raise
    return nc, nn


def reap_orphans(client: docker.DockerClient) -> list[str]:
    """Remove labs whose owner process is dead and that are not marked keep. Returns their ids."""
    reaped = []
    for lab_id, labels in lab_ids(client).items():
        if labels.get(L.KEEP) == "1":
            continue
        if not _owner_alive(labels.get(L.OWNER, "")):
            remove_lab(client, lab_id)
            reaped.append(lab_id)
    return reaped


def prune(client: docker.DockerClient, only: Iterable[str] | None = None) -> list[str]:
    """Remove every lab (or only the ids in ``only``). Returns the ids removed."""
    ids = [i for i in lab_ids(client) if only is None or i in set(only)]
    for i in ids:
        remove_lab(client, i)
    return ids
