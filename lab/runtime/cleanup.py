"""Find and remove what labs left behind, by labels only (never by name patterns).

* ``remove_lab(client, lab_id)``: every container and network of one lab.
* ``reap_orphans(client)``: labs whose owner is provably gone (a crashed or SIGKILLed run;
  :mod:`lab.runtime.owner`) and that have no keep marker (``kalab up`` once the lab is up).
* ``prune(client)``: everything carrying the lab label (``kalab prune``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

import docker
from docker.errors import APIError, NotFound

from . import labels as L
from .owner import Liveness, Owner, liveness, me


def lab_ids(client: docker.DockerClient) -> dict[str, dict[str, str]]:
    """Every lab id on the engine with the labels of one of its objects; ``io.kalab.keep`` is "1" when
    any object of the lab (its keep marker) says so.

    Uses the engine's list calls only (no per-object inspect), so a parallel lab being
    removed meanwhile cannot make this fail.
    """
    out: dict[str, dict[str, str]] = {}

    def add(labels: dict[str, str]) -> None:
        merged = out.setdefault(labels[L.LAB], dict(labels))
        if labels.get(L.KEEP) == "1":
            merged[L.KEEP] = "1"

    for c in client.api.containers(all=True, filters={"label": L.LAB}):
        add(c["Labels"])
    for n in client.api.networks(filters={"label": L.LAB}):
        add(n["Labels"])
    for v in (client.api.volumes(filters={"label": L.LAB}) or {}).get("Volumes") or []:
        add(v["Labels"])
    return out


def container_running(client: docker.DockerClient):
    """``id -> True/False/None`` (running, stopped, no such container) on ``client``'s engine."""
    def running(cid: str):
        try:
            return bool(client.api.inspect_container(cid)["State"]["Running"])
        except NotFound:
            return None
    return running


def owner_liveness(client: docker.DockerClient, labels: dict[str, str]) -> Liveness:
    """Whether the owner of a lab (its labels) is alive, provably gone, or unknown from here."""
    known = container_running(client)
    return liveness(Owner.from_labels(labels), me(lambda cid: known(cid) is not None), known)


def _gone_or_busy(e: APIError) -> bool:
    """Errors that mean someone else is removing the same object (or already did)."""
    msg = str(e).lower()
    return e.status_code in (404, 409) or "no such" in msg or "in progress" in msg or "not found" in msg


def remove_lab(client: docker.DockerClient, lab_id: str, *, wait_s: float = 60.0) -> tuple[int, int]:
    """Remove one lab's containers (force, with volumes), networks and volumes.

    Safe to run from two processes at once: objects that vanish meanwhile are skipped, and a container
    another process is removing is waited for (the engine's ``wait`` until ``removed``, at most ``wait_s``
    seconds), so when this returns the lab is gone whoever removed it. Before, two reapers racing on one
    orphan made the loser return while the winner was still removing it (its networks still had
    endpoints), and a start that "reaped before it made its networks" left the orphan standing.
    Returns (containers, networks) removed by this call.
    """
    f = {"label": f"{L.LAB}={lab_id}"}
    busy: list[str] = []

    def remove(c: dict) -> int:
        try:
            if c.get("State") == "paused":          # older engines refuse to remove a paused container
                client.api.unpause(c["Id"])
            client.api.remove_container(c["Id"], force=True, v=True)
            return 1
        except APIError as e:
            if not _gone_or_busy(e):
                raise
            if e.status_code != 404:
                busy.append(c["Id"])
            return 0

    def removed_by_someone_else(cid: str) -> None:
        try:
            client.api.wait(cid, timeout=wait_s, condition="removed")
        except NotFound:
            pass
        except Exception:       # the wait's own timeout: the engine is stuck; the network step says so
            pass

    containers = client.api.containers(all=True, filters=f)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(containers)))) as pool:   # the engine stops them in parallel
        nc = sum(pool.map(remove, containers))
        list(pool.map(removed_by_someone_else, busy))
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
    """Remove labs whose owner is provably gone (:func:`lab.runtime.owner.liveness` says ``gone``) and
    that have no keep marker. A lab whose owner might be alive is never removed. Returns their ids."""
    reaped = []
    for lab_id, labels in lab_ids(client).items():
        if labels.get(L.KEEP) == "1":
            continue
        if owner_liveness(client, labels) == "gone":
            remove_lab(client, lab_id)
            reaped.append(lab_id)
    return reaped


def prune(client: docker.DockerClient, only: Iterable[str] | None = None) -> list[str]:
    """Remove every lab (or only the ids in ``only``). Returns the ids removed."""
    ids = [i for i in lab_ids(client) if only is None or i in set(only)]
    for i in ids:
        remove_lab(client, i)
    return ids
