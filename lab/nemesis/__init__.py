"""The lab's nemesis: faults with ``apply()`` / ``heal()``, each recorded in the history with its
meaning for the election model.

    f = make_fault(lab, "drop-vrrp", "b", ["direction=in"])     # or DropVrrp(lab, "b", direction="in")
    with f:                                                      # apply ... heal (heal is idempotent)
        ...
    lab.heal_all()                                               # the pytest fixture does this at teardown

:mod:`~lab.nemesis.base` has the Fault class, its target protocol and the registry; each other
module is one fault kind, except :mod:`~lab.nemesis.rules` (pure builders of the network faults'
iptables / tc / ip commands: argv lists, no exec), ``_exec`` (the exec step: runs those argv lists in
a node, reads tagged rules back) and :mod:`~lab.nemesis.recorded` (heals faults another process applied).
"""
from .base import (COMMENT_PREFIX, MARKER_DIR, REGISTRY, Fault, FaultTarget, _convert, _jsonable, kinds, make_fault,
                   register)
from .recorded import heal_recorded, read_markers, recorded_faults, sweep

__all__ = ["COMMENT_PREFIX", "MARKER_DIR", "REGISTRY", "Fault", "FaultTarget", "kinds", "make_fault", "register",
           "heal_recorded", "read_markers", "recorded_faults", "sweep"]
