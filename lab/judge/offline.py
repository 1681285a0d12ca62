"""Judge a self-contained history (its meta record carries the topology, the node addresses and the
lab's allowances): what ``kalab judge`` and the mutation corpus use (pure)."""
from __future__ import annotations

import copy

from ipaddress import IPv4Address
from typing import Any, Optional, Sequence

from ..election.specs import specs_from_running
from ..errors import LabError
from ..history import History
from ..timers import MARGIN, STARTUP_ALLOWANCE
from ..topology import validate
from .judge import ModelReport, judge


def history_topology(h: History, source: str = "<history>") -> Any:
    """The topology a history's meta record carries. Raises LabError when it has none or it is invalid."""
    if "topology" not in h.meta:
        raise LabError(f"{source}: its meta record carries no topology; give one with --topology NAME")
    data = copy.deepcopy(h.meta["topology"])
    for spec in (data.get("nodes") or {}).values() if isinstance(data, dict) else ():
        if isinstance(spec, dict) and spec.get("config_file") and spec.get("vrrp_instances"):
            # a node that ran a user's own file: the record carries what the lab read from it (the file need
            # not exist where the history is judged), so judge that
            spec.pop("config_file")
            spec.pop("config_id", None)
    return validate(data, f"{source} (meta record)")


def judge_history(h: History, topology: Optional[Any] = None, *, allow: Optional[Sequence[str]] = None,
                  source: str = "<history>") -> ModelReport:
    """Judge ``h`` with its own topology (or ``topology``), addresses and allowances; ``allow`` defaults
    to what the test that recorded it allowed (its meta record's ``allow``), and judging ends where the
    live judge ended (``judged_until``: the lab fixture's teardown heals come after it).

    Raises LabError (no topology), ValueError / TypeError (meta fields of the wrong shape).
    """
    topo = topology if topology is not None else history_topology(h, source)
    addrs = {n: {i: IPv4Address(a) for i, a in itfs.items()} for n, itfs in (h.meta.get("addresses") or {}).items()}
    return judge(h, specs_from_running(topo, h.meta.get("configs"), addrs or None), margin=float(h.meta.get("margin", MARGIN)),
                 startup=float(h.meta.get("startup_allowance", STARTUP_ALLOWANCE)),
                 allow=list(h.meta.get("allow") or ()) if allow is None else allow,
                 until=h.meta.get("judged_until"))
