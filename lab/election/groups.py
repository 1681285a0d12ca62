"""What the model can follow of instances that affect each other beyond their own name (pure).

Post-processing of :func:`lab.election.specs.specs_from_topology`'s ``{instance: {node: InstanceSpec}}``
(duck-typed: frozen dataclasses with the InstanceSpec fields): each function adds to a spec's
``unmodelled`` the sentences the judge reports as *cannot judge*.

* :func:`vrid_sharing`: keepalived matches adverts by interface and VRID, the model by instance name.
* :func:`sync_congruence`: the model follows a ``vrrp_sync_group`` while its members elect alike
  (R_SYNC_FAULT couples their FAULT states); a group whose members differ is beyond it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from ..kaconf.schema import LAB_REF
from .rules import R_ADDR_LIST, applies


def _segment(topo: Any, node: str, interface: Optional[str]) -> str:
    """The lab network ``node``'s ``interface`` is on (the topology's interfaces), else the interface name."""
    t = getattr(topo, "topo", topo)            # a RunningView wraps the topology
    try:
        return t.nodes[node].interfaces[interface].network
    except (AttributeError, KeyError, TypeError):
        return str(interface)


def vrid_sharing(specs: dict[str, dict[str, Any]], topo: Any) -> dict[str, dict[str, Any]]:
    """Mark what the model cannot judge about VRID reuse (keepalived matches adverts by interface and
    VRID, the model by instance name):

    * instances of different names sharing one VRID on one segment with the same VIPs form one virtual
      router in keepalived (the model would judge them apart); with different VIPs they discard each
      other's adverts (R_ADDR_LIST), which judging them apart gets right, up to keepalived 2.3.2: from
      2.3.3 on they hear each other (R_ADDR_LIST_ACCEPTED), one virtual router again;
    * VIP sets written one as the lab's ``net+host`` and one as an address cannot be compared.
    """
    by_key: dict[tuple, list[tuple[str, str]]] = {}
    for inst, nodes in specs.items():
        for node, sp in nodes.items():
            if sp.vrid is not None:
                # one VRID in IPv4 and in IPv6 is two virtual routers (RFC 5798 §5.2.3)
                key = (_segment(topo, node, sp.interface), sp.vrid, sp.version, getattr(sp, "family", 4))
                by_key.setdefault(key, []).append((inst, node))
    notes: dict[tuple[str, str], list[str]] = {}
    for (seg, vrid, _, _family), members in by_key.items():
        for inst, node in members:
            mine = specs[inst][node]
            for other, onode in members:
                theirs = specs[other][onode]
                refs = any(LAB_REF.match(a) for a in (mine.vips or ())) != any(LAB_REF.match(a) for a in (theirs.vips or ()))
                if other != inst and mine.vips == theirs.vips:
                    notes.setdefault((inst, node), []).append(
                        f"VRID {vrid} on {seg} is shared by instance {inst} ({node}) and {other} ({onode}) with the "
                        f"same VIPs: keepalived treats them as one virtual router, the model judges instances by name")
                elif other != inst and mine.vips != theirs.vips and not applies(R_ADDR_LIST, mine.release):
                    notes.setdefault((inst, node), []).append(
                        f"VRID {vrid} on {seg} is shared by instance {inst} ({node}) and {other} ({onode}) with other "
                        f"VIPs: keepalived {mine.release} processes adverts with another address list "
                        f"(R_ADDR_LIST_ACCEPTED), so they are one virtual router; the model judges instances by name")
                elif refs and mine.vips != theirs.vips:
                    notes.setdefault((inst, node), []).append(
                        f"VRID {vrid} on {seg}: the VIPs of {inst} ({node}) and {other} ({onode}) are written one as "
                        f"<network>+<host> and one as an address, so the model cannot compare them (R_ADDR_LIST)")
    _add(specs, notes)
    return specs


def _add(specs: dict, notes: dict[tuple[str, str], list[str]]) -> None:
    for (inst, node), extra in notes.items():
        sp = specs[inst][node]
        specs[inst][node] = replace(sp, unmodelled=sp.unmodelled + tuple(dict.fromkeys(extra)))


def _election(sp: Any) -> tuple:
    """What decides an instance's elections apart from its trackers (which a sync group shares)."""
    return (sp.priority, sp.preempts, sp.effective_preempt_delay, sp.advert_int, sp.version)


def sync_congruence(specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mark the members of a vrrp_sync_group the model cannot follow.

    keepalived moves a group to MASTER only when every member wants MASTER and pulls every member to
    BACKUP when one steps down (vrrp_sync.c vrrp_sync_can_goto_master, vrrp_sync_master, vrrp_sync_backup):
    the model, which elects each instance apart and couples only FAULT (R_SYNC_FAULT), is right exactly
    when the members elect alike. So each member must run on the same nodes, in the same group on each,
    with the same priority, preemption, advert_int and version as the other members on that node.
    """
    groups: dict[str, dict[str, list[str]]] = {}          # group -> node -> members
    for inst, nodes in specs.items():
        for node, sp in nodes.items():
            if sp.sync_group:
                groups.setdefault(sp.sync_group, {}).setdefault(node, []).append(inst)
    notes: dict[tuple[str, str], list[str]] = {}
    for g, per_node in groups.items():
        why: Optional[str] = None
        members = {frozenset(m) for m in per_node.values()}
        if len(members) > 1:
            why = "its members differ between nodes (" + "; ".join(
                f"{n}: {', '.join(sorted(m))}" for n, m in sorted(per_node.items())) + ")"
        else:
            insts = sorted(next(iter(members)))
            node_sets = {i: frozenset(specs[i]) for i in insts}
            if len(set(node_sets.values())) > 1 or any(node_sets[i] != frozenset(per_node) for i in insts):
                why = "its members run on different nodes (" + "; ".join(
                    f"{i}: {', '.join(sorted(node_sets[i]))}" for i in insts) + ")"
            for node in sorted(per_node):
                if why:
                    break
                seen = {i: _election(specs[i][node]) for i in insts}
                if len(set(seen.values())) > 1:
                    why = (f"on {node} its members elect differently (priority, preempt, preempt_delay, advert_int, "
                           f"version: " + "; ".join(f"{i} {v}" for i, v in seen.items()) + ")")
        if why:
            for node, insts in per_node.items():
                for i in insts:
                    notes.setdefault((i, node), []).append(
                        f"vrrp_sync_group {g}: {why}: keepalived holds a group BACKUP until every member wants "
                        f"MASTER, the model follows a group only while its members elect alike")
    _add(specs, notes)
    return specs
