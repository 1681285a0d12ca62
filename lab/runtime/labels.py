"""Labels on every container and network the lab creates (the only way the lab finds its things).

``io.kalab.lab``       lab id (unique per Lab)
``io.kalab.owner``     "<hostname>:<pid>" of the process that owns the lab
``io.kalab.keep``      "1" for labs started by ``kalab up`` (survive their process)
``io.kalab.topology``  topology name; ``io.kalab.node`` node name; ``io.kalab.role`` keepalived|client
``io.kalab.created``   unix time of creation
``io.kalab.t0`` (networks) the lab's start on the host monotonic clock (history time origin)
``io.kalab.topology-json`` (networks) the validated topology, so a later command can attach
"""
from __future__ import annotations

import os
import socket
import time

PREFIX = "io.kalab"
LAB = f"{PREFIX}.lab"
OWNER = f"{PREFIX}.owner"
KEEP = f"{PREFIX}.keep"
TOPOLOGY = f"{PREFIX}.topology"
NODE = f"{PREFIX}.node"
ROLE = f"{PREFIX}.role"
CREATED = f"{PREFIX}.created"
SUBNET = f"{PREFIX}.subnet"
NETWORK = f"{PREFIX}.network"
TOPOLOGY_JSON = f"{PREFIX}.topology-json"
T0 = f"{PREFIX}.t0"
TOPOLOGY_SOURCE = f"{PREFIX}.topology-source"


def owner_id() -> str:
    """This process as an owner string: ``hostname:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lab_labels(lab_id: str, topology: str, keep: bool = False) -> dict[str, str]:
    """Labels common to everything of one lab."""
    return {LAB: lab_id, OWNER: owner_id(), KEEP: "1" if keep else "0",
            TOPOLOGY: topology, CREATED: str(int(time.time()))}
