"""VRRP priority arithmetic of keepalived (pure; the bottom layer, imports nothing of the lab).

One place for the rules that both the election model (:mod:`lab.election`) and the
lint (:mod:`lab.kaconf.lint`) use. Sources (``man 5 keepalived.conf`` of
keepalived 2.2.7):

* VRRP script(s), ``weight``: a positive weight means that <rise> successes add
  <weight> to the priority; a negative weight is subtracted from the initial
  priority after <fall> failures; the default weight 0 puts the instance in
  FAULT after <fall> failures instead.
* vrrp_instance ``track_script`` / ``track_interface`` / ``track_file``:
  ``reverse`` causes the direction of the adjustment of the priority to be
  reversed (with weight 0: the instance goes down when the tracker is up).
* vrrp_instance ``priority``: valid range 1..255; trackers cannot raise a
  priority to 255 (the effective priority stays in 1..254), and an instance
  configured with 255 (the address owner) is never changed by trackers.
"""
from __future__ import annotations

from typing import Iterable, Optional

OWNER = 255                 # the address owner's priority (man 5 keepalived.conf, priority)
LOWEST, HIGHEST = 1, 254    # range of an adjusted (effective) priority

__all__ = ["OWNER", "LOWEST", "HIGHEST", "effective_priority", "tracker_adjustment", "tracker_faults", "track_file_status"]


def effective_priority(priority: int, adjustments: Iterable[int] = ()) -> int:
    """``priority`` + sum(``adjustments``), clamped to 1..254; an address owner (255) is never adjusted.

    Args:
        priority: the configured priority, 1..255.
        adjustments: each tracker's current adjustment (see :func:`tracker_adjustment`).
    Returns:
        the effective priority, 1..255 (255 only when configured 255).
    Raises:
        ValueError: ``priority`` outside 1..255.
    Source: man 5 keepalived.conf, vrrp_instance ``priority``.
    """
    if not 1 <= priority <= OWNER:
        raise ValueError(f"priority must be 1..255, got {priority}")
    if priority == OWNER:
        return OWNER
    return max(LOWEST, min(HIGHEST, priority + sum(adjustments)))


def tracker_adjustment(weight: int, reverse: bool, ok: bool) -> int:
    """A tracker's priority adjustment while it is ``ok`` (True) or failing (False).

    Positive weight: +weight while OK, 0 while failing; negative weight: 0 while
    OK, -|weight| while failing; ``reverse`` flips the sign. Weight 0 adjusts
    nothing (it faults instead, see :func:`tracker_faults`).

    Args:
        weight: the tracker's weight (vrrp_script: -253..253; track_file: any int).
        reverse: the ``reverse`` keyword.
        ok: the tracker's current result (script exit 0, interface up, file value 0 ...).
    Returns:
        the adjustment in priority points.
    Source: man 5 keepalived.conf, VRRP script(s) ``weight``; vrrp_instance ``track_script ... reverse``.
    """
    if weight == 0:
        return 0
    sign = -1 if reverse else 1
    if weight > 0:
        return sign * weight if ok else 0
    return 0 if ok else sign * weight


def tracker_faults(weight: int, reverse: bool, ok: bool) -> bool:
    """Whether a tracker puts its instance in FAULT: weight 0 and failing (or, with ``reverse``, OK).

    Source: man 5 keepalived.conf, VRRP script(s): "the default weight 0 means the instance
    transitions to FAULT after <fall> consecutive failures"; ``weight 0 reverse``: down when up.
    """
    return weight == 0 and (ok if reverse else not ok)


#: a track_file result at or below this puts the instance in FAULT (man 5 keepalived.conf, Track files:
#: "if the result is less than -253 anything monitoring [it] will transition to the fault state")
FILE_FAULT = -254


def track_file_status(weight: int, reverse: bool, value: int) -> Optional[int]:
    """A tracked file's effect: the priority adjustment, or None when it puts the instance in FAULT.

    Weight 0: a non-zero value is a failure (FAULT), 0 is OK (adjusts nothing); ``reverse`` swaps
    them. Otherwise ``value`` x ``weight`` (negated with ``reverse``), kept in -254..253; -254 or
    less is FAULT, anything else is added to the priority (then clamped by :func:`effective_priority`).

    Args:
        weight: the tracker's weight (-254..254); reverse: the ``reverse`` keyword;
        value: the number in the file (a missing, empty or non-numeric file reads as 0).
    Source: man 5 keepalived.conf, Track files; the -254..253 bounds and the reading of a missing or
    non-numeric file are keepalived 2.2.7's own (trackers/track_file.c update_track_file_status,
    process_track_file), where the man page is silent.
    """
    if weight == 0:
        failing = value != 0
        return None if failing != reverse else 0
    status = max(FILE_FAULT, min(253, value * weight * (-1 if reverse else 1)))
    return None if status <= FILE_FAULT else status
