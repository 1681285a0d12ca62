"""Synthetic histories of topologies/two_node.yaml for the judge's unit tests (not a test module).

a (150) and b (100), advert_int 1 s, VRRPv2: MDI(a) = 3 + 106/256 s, MDI(b) = 3 + 156/256 s
(RFC 3768 §6.1). ``START`` is both nodes started 0.1 s apart, each ready, a elected after its master
down interval; ``END`` a note at 30 s.
"""
from __future__ import annotations

import json
from pathlib import Path

from lab.history import History
from lab.topology import load

TOPO = load(Path(__file__).resolve().parents[2] / "topologies" / "two_node.yaml")
MDI_A, MDI_B = 3 + 106 / 256, 3 + 156 / 256


def hist(*rows, with_topology: bool = False) -> History:
    """A History of ``(t, kind, data)`` rows with t0 = 0; ``with_topology``: its meta record carries TOPO."""
    h = History()
    for t, kind, data in rows:
        h.append(kind, t=t, **data)
    h.t0 = 0.0
    if with_topology:
        h.meta["topology"] = json.loads(TOPO.model_dump_json(exclude_none=True))
    return h


def st(t, node, state, prio=None):
    return (t, "state", dict(node=node, instance="VI_1", state=state, priority=prio))


def nd(t, node, action, **kw):
    return (t, "node", dict(node=node, action=action, **kw))


START = [nd(0.0, "a", "start"), nd(0.1, "b", "start"), nd(0.3, "a", "ready"), nd(0.4, "b", "ready"),
         st(0.4, "a", "BACKUP", 150), st(0.5, "b", "BACKUP", 100), st(0.3 + MDI_A, "a", "MASTER", 150)]
END = (30.0, "note", dict(text="end"))
