"""Find and remove what labs left behind, by labels only (never by name patterns).

* ``remove_lab(client, lab_id)``: every container and network of one lab.
* ``reap_orphans(client)``: labs whose owning process on this host is gone
  (a crashed or SIGKILLed run) and that were not started with keep (``kalab up``).
* ``prune(client)``: everything carrying the lab label (``kalab prune``).
"""
from __future__ import annotations

import os
import socket
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
    """Every lab id on the engine with the labels of one of its objects."""
    out: dict[str, dict[str, str]] = {}
    for c in client.containers.list(all=True, filters={"label": L.LAB}):
        out.setdefault(c.labels[L.LAB], c.labels)
    for n in client.networks.list(filters={"label": L.LAB}):
        out.setdefault(n.attrs["Labels"][L.LAB], n.attrs["Labels"])
    for v in client.volumes.list(filters={"label": L.LAB}):
        out.setdefault(v.attrs["Labels"][L.LAB], v.attrs["Labels"])
    return out


def remove_lab(client: docker.DockerClient, lab_id: str) -> tuple[int, int]:
    """Remove one lab's containers (force, with volumes) and networks. Returns (containers, networks) removed."""
    nc = nn = 0
    for c in client.containers.list(all=True, filters={"label": f"{L.LAB}={lab_id}"}):
        try:
            c.remove(force=True, v=True)
            nc += 1
        except NotFound:
            pass
        except APIError as e:
            if "paused" in str(e).lower():     # older engines refuse to remove a paused container
                c.unpause()
                c.remove(force=True, v=True)
                nc += 1
            elif "in progress" not in str(e):
                raise
    for n in client.networks.list(filters={"label": f"{L.LAB}={lab_id}"}):
        try:
            n.remove()
            nn += 1
        except NotFound:
            pass
    for v in client.volumes.list(filters={"label": f"{L.LAB}={lab_id}"}):
        try:
            v.remove(force=True)
        except (NotFound, APIError):
            pass
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
