"""Faults applied by another process: find them from the containers' markers and heal them
(``kalab heal`` in a new process), and sweep whatever any fault may have left."""
from __future__ import annotations

from typing import Any, Optional

from ..errors import LabError
from .base import MARKER_DIR, FaultTarget, kinds

def read_markers(node) -> list[dict[str, Any]]:
    """Fault markers stored in one node (any state: works on stopped and paused containers)."""
    return node.json_files(MARKER_DIR)


def recorded_faults(lab: FaultTarget) -> dict[str, dict[str, Any]]:
    """Faults applied and not healed, found from the markers in the lab's containers: {name: spec}."""
    out: dict[str, dict[str, Any]] = {}
    for node in lab.nodes.values():
        for spec in read_markers(node):
            out.setdefault(spec["name"], spec)
    return out


def heal_recorded(lab: FaultTarget, name: Optional[str] = None) -> list[str]:
    """Heal faults found in the containers themselves (for ``kalab heal`` in a new process).

    Args:
        lab: a Lab, typically from :meth:`Lab.attach`.
        name: one fault's name, or None for all of them plus a sweep: every iptables rule
            tagged ``kalab:``, every NFQUEUE delay / rogue sender process, paused nodes
            (unpaused) and exited keepalived nodes (started).
    Returns:
        The names healed (sweep actions appear as ``unpause-<node>``, ``start-<node>``, ...).
    Raises:
        LabError: ``name`` is not a recorded fault (lists those that are).
    """
    ks = kinds()
    recorded = recorded_faults(lab)
    if name is not None and name not in recorded:
        raise LabError(f"no applied fault {name!r} in lab {lab.id}; applied: {', '.join(recorded) or 'none'}")
    healed: list[str] = []
    # in-process faults first (they know more), then markers
    for f in list(reversed(lab.faults)):
        if name is None or f.name == name:
            f.heal()
            healed.append(f.name)
            recorded.pop(f.name, None)
    # unfreeze first: the other heals exec into the nodes
    for n, spec in sorted(recorded.items(), key=lambda kv: kv[1].get("kind") != "pause"):
        if name is not None and n != name:
            continue
        cls = ks.get(spec["kind"])
        if cls is None:
            continue
        try:
            f = cls(lab, spec["target"], _name=n, **spec.get("params", {}))
        except (KeyError, TypeError, LabError) as e:
            lab.history.append("note", text=f"cannot rebuild fault {n}: {e}")
            continue
        f._applied = True
        f.heal()
        healed.append(n)
    if name is None:
        healed += sweep(lab)
    return healed


def sweep(lab: FaultTarget) -> list[str]:
    """Remove whatever any fault may have left: tagged iptables rules, helpers, pauses, stops."""
    from ._exec import remove_tagged_rules

    done = []
    for node in lab.nodes.values():
        st = node.status()
        if st == "paused":
            node.unpause()
            done.append(f"unpause-{node.name}")
            st = "running"
        if st in ("exited", "created") and node.kind == "keepalived":
            node.start()
            done.append(f"start-{node.name}")
            continue
        if st != "running":
            continue
        if remove_tagged_rules(node):
            done.append(f"iptables-{node.name}")
        r = node.exec("for p in /run/kalab/faults/*.pid; do [ -e \"$p\" ] && kill $(cat \"$p\") && rm -f \"$p\" "
                      "&& echo x; done; rm -f /run/kalab/faults/*.json /run/kalab/scripts/*.force")
        if r.output.strip():
            done.append(f"helpers-{node.name}")
    return done
