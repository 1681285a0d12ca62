"""keepalived-lab: real keepalived and nginx on Docker networks, faults, and checks against the documented rules.

Pure core: :mod:`lab.topology`, :mod:`lab.kaconf`, :mod:`lab.timers`, :mod:`lab.history`.
Docker side: :mod:`lab.runtime`, :class:`lab.lab.Lab`. On top: :mod:`lab.pytest_plugin`, :mod:`lab.cli`.
"""
from .errors import LabError
from .history import Event, History
from .timers import master_down_interval, skew_time
from .topology import Topology, load as load_topology

__all__ = ["LabError", "Event", "History", "Topology", "load_topology", "master_down_interval", "skew_time", "Lab"]


def __getattr__(name):  # Lab imports Docker libraries: load it only when asked for
    if name == "Lab":
        from .lab import Lab
        return Lab
    raise AttributeError(name)
