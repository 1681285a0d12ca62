"""Labels on every container and network the lab creates (the only way the lab finds its things).

``io.kalab.lab``       lab id (unique per Lab)
``io.kalab.owner*``    the process that owns the lab (:mod:`lab.runtime.owner`: host:pid, PID namespace,
                       boot id, start time, container)
``io.kalab.keep``      "1" on the marker volume ``kalab-<id>-keep`` of a lab that outlives its process
                       (``kalab up`` creates it once the lab is up); "0" on every other object
``io.kalab.user``      uid of the owner; ``io.kalab.project`` the directory it ran in (which labs a
                       command without ``--lab`` may pick)
``io.kalab.topology``  topology name; ``io.kalab.node`` node name; ``io.kalab.role`` keepalived|client
``io.kalab.created``   unix time of creation
``io.kalab.t0`` (networks) the lab's start on the host monotonic clock (history time origin)
``io.kalab.topology-json`` (networks) the validated topology, so a later command can attach
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

from .owner import Owner, me

PREFIX = "io.kalab"
LAB = f"{PREFIX}.lab"
OWNER = f"{PREFIX}.owner"
USER = f"{PREFIX}.user"
PROJECT = f"{PREFIX}.project"
KEEP = f"{PREFIX}.keep"
TOPOLOGY = f"{PREFIX}.topology"
NODE = f"{PREFIX}.node"
ROLE = f"{PREFIX}.role"
CREATED = f"{PREFIX}.created"
SUBNET = f"{PREFIX}.subnet"
SUBNET6 = f"{PREFIX}.subnet6"
NETWORK = f"{PREFIX}.network"
TOPOLOGY_JSON = f"{PREFIX}.topology-json"
T0 = f"{PREFIX}.t0"
TOPOLOGY_SOURCE = f"{PREFIX}.topology-source"


def project() -> str:
    """The project a command runs for: the current directory, resolved."""
    return str(Path.cwd().resolve())


def lab_labels(lab_id: str, topology: str, owner: Optional[Owner] = None) -> dict[str, str]:
    """Labels common to everything of one lab (``owner``: default this process, :func:`lab.runtime.owner.me`).
    Every object says keep "0"; a kept lab has one more object, its keep marker (:func:`keep_labels`)."""
    return {LAB: lab_id, **(owner or me()).labels(), USER: str(os.getuid()), PROJECT: project(), KEEP: "0",
            TOPOLOGY: topology, CREATED: str(int(time.time()))}


def keep_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels of a lab's keep marker (the lab survives its owner process)."""
    return {**labels, KEEP: "1"}
