"""keepalived-lab: real keepalived and nginx on Docker networks, faults, and a judge of what
happened against keepalived's documented rules.

The layers (each imports only those below it; docs/ARCHITECTURE.md draws them):
errors / timers / events -> history -> kaconf -> topology -> election -> judge | runtime ->
nemesis -> checks / waits / observe / journal -> lab -> report / status / demo -> pytest_plugin / cli.

Names here load their module on first use, so ``import lab.kaconf`` loads nothing above it.
"""
import importlib

#: public name -> (module, attribute)
_EXPORTS = {
    "LabError": ("lab.errors", "LabError"),
    "Event": ("lab.events", "Event"),
    "History": ("lab.history", "History"),
    "master_down_interval": ("lab.timers", "master_down_interval"),
    "skew_time": ("lab.timers", "skew_time"),
    "Topology": ("lab.topology", "Topology"),
    "load_topology": ("lab.topology", "load"),
    "Lab": ("lab.lab", "Lab"),
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        mod, attr = _EXPORTS[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'lab' has no attribute {name!r}")
