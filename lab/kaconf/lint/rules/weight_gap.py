"""Lint rule ``weight-gap``: a tracker's weight cannot move the VIP (arithmetic shown).

Source: man 5 keepalived.conf, VRRP script(s) weight and vrrp_instance priority; RFC 3768 §6.4.2.
"""
from __future__ import annotations

from pathlib import Path

from ....priority import effective_priority, tracker_adjustment
from ...schema import VrrpInstance
from ..base import Diagnostic, Member, diag, peer_groups, register, sync_group_member, where


def _trackers(m: Member, inst: VrrpInstance) -> list[tuple[str, str, int, bool]]:
    """(kind, name, weight, reverse) of every weighted tracker of an instance (script weight as default)."""
    out = []
    for t in inst.track_script:
        s = m.kc.scripts.get(t.name)
        if s is None:
            continue
        w = t.weight if t.weight is not None else s.weight
        rev = t.reverse if t.weight is not None else s.reverse
        out.append(("track_script", t.name, w, rev))
    for t in inst.track_interface:
        out.append(("track_interface", t.name, t.weight or 0, t.reverse))
    # track_file is no single step: the file's value x weight is added (man 5 keepalived.conf, track_file),
    # so whether it can move the VIP depends on the value written; it is not judged here
    return out


@register("weight-gap",
          summary="a tracker's weight cannot move the VIP (arithmetic shown)",
          source="man 5 keepalived.conf, VRRP script(s) weight and vrrp_instance priority; RFC 3768 §6.4.2")
def rule_weight_gap(members: list[Member]) -> list[Diagnostic]:
    """A tracker on the would-be master whose failure can never move the VIP.

    man 5 keepalived.conf, VRRP script(s) / track_script: a positive weight is
    added while the check succeeds, a negative one subtracted after ``fall``
    failures; the effective priority stays in 1..254 and a priority of 255 is
    never changed by trackers. A backup only takes over when the master's
    priority drops *below* its own (RFC 3768 §6.4.2: an advert with priority
    greater than or equal to the local one resets the Master_Down_Timer).
    So with master M and best backup B (both with every check passing), a
    failure of tracker t on M moves the VIP only if
    ``M_ok - |w_t| < B_ok``. Weight 0 (FAULT) and ``reverse`` trackers are skipped, and so is track_file
    (its value times its weight is added: any value large enough moves the VIP),
    and so are sync-group members (keepalived zeroes their weights). The
    arithmetic is :mod:`lab.priority`'s, the same the election model uses.
    """
    out = []
    for (_itf, vrid, _family), peers in peer_groups(members).items():
        if len(peers) < 2:
            continue
        ok = {}
        for m, name, inst in peers:
            ok[id(m), name] = effective_priority(inst.priority, [tracker_adjustment(w, rev, ok=True)
                                                                 for _k, _n, w, rev in _trackers(m, inst) if not rev])
        for m, name, inst in peers:
            if sync_group_member(m, name):
                continue
            others = [(om, on, oi) for om, on, oi in peers if om is not m]
            if not others:
                continue
            b_ok = max(ok[id(om), on] for om, on, _ in others)
            m_ok = ok[id(m), name]
            if m_ok <= b_ok:
                continue      # not the expected master
            best = next(f"{Path(om.file).name}:{on}" for om, on, _ in others if ok[id(om), on] == b_ok)
            for kind, tname, w, rev in _trackers(m, inst):
                if w == 0 or rev:
                    continue
                if inst.priority == 255:
                    fail = 255
                    why = "priority 255 (address owner) is never changed by trackers"
                else:
                    fail = effective_priority(m_ok, [-abs(w)])
                    sign = "-" if w < 0 else "+"
                    why = (f"{m_ok} - {abs(w)} = {fail}" + (f" (clamped to 1..254)" if fail != m_ok - abs(w) else "")
                           + (f"; the +{w} is lost when it fails" if sign == "+" else ""))
                if fail >= b_ok:
                    stmt = where(m, name, kind)
                    out.append(diag(stmt, m, kind, "error",
                                    f"({name}, VRID {vrid}) a failure of {tname} (weight {w}) can never move the VIP: "
                                    f"master priority with every check passing {m_ok}, after the failure {why}, which is "
                                    f"not below the best backup's {b_ok} ({best}); make |weight| > {m_ok - b_ok}",
                                    "weight-gap"))
    return out
