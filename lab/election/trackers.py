"""The trackers of one node's VRRP instance, as the election model needs them (pure).

:class:`TrackSpec` is one tracker: a ``vrrp_script``, a tracked interface (``iface:NAME``, its result
"the link is up") or a ``track_file`` (``file:NAME``, its result the number in the file).
:func:`instance_tracks` builds an instance's trackers from its config, with keepalived's rules for
members of a ``vrrp_sync_group`` and for address owners (R_SYNC_WEIGHTS), and says what the model
cannot follow (each a sentence, which the judge reports as *cannot judge*).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from ..priority import OWNER, track_file_status, tracker_adjustment, tracker_faults

#: the tracker name prefix of a tracked interface (``track_interface``): its result is "the link is up"
IFACE_TRACK = "iface:"
#: the tracker name prefix of a ``track_file``: its result is the number in the file
FILE_TRACK = "file:"


@dataclass(frozen=True)
class TrackSpec:
    """One tracked vrrp_script of an instance.

    weight: -253..253 (0 = FAULT on failure); reverse: invert the adjustment;
    rise/fall: consecutive results needed; interval: seconds between runs; timeout: seconds after
    which a run that has not returned counts as failed (man 5 keepalived.conf, vrrp_script timeout).
    """

    script: str
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    interval: float = 1.0
    init_fail: bool = False
    timeout: float = 0.0
    #: the script's result before anything was done to it, when known (the lab's convention: a command
    #: that tests ``/run/kalab/ok-NAME`` fails until the file exists); None: OK unless ``init_fail``
    initially_ok: Optional[bool] = None
    #: a track_file (``script`` is ``file:NAME``): its result is the number in the file, not OK/failing
    file: bool = False
    #: a track_file's value before any input changed it (init_file VALUE, else a missing file: 0)
    initial_value: int = 0

    def initial(self) -> Union[bool, int]:
        """The result the model assumes before any input changed it (a track_file: its value)."""
        if self.file:
            return self.initial_value
        return (not self.init_fail) if self.initially_ok is None else self.initially_ok

    def adjustment(self, ok: Union[bool, int, None]) -> int:
        """Priority adjustment while the script is ``ok`` (True) or failing (False): lab.priority's
        tracker_adjustment (R_WEIGHT_POS, R_WEIGHT_NEG, R_REVERSE); weight 0 adjusts nothing. A
        track_file's ``ok`` is its value: track_file_status (R_TRACK_FILE)."""
        if ok is None:                     # disabled by keepalived: never run, no effect
            return 0
        if self.file:
            return track_file_status(self.weight, self.reverse, int(ok)) or 0
        return tracker_adjustment(self.weight, self.reverse, ok)

    def faults(self, ok: Union[bool, int, None]) -> bool:
        """Whether this tracker puts the instance in FAULT (weight 0; reversed when ``reverse``; R_WEIGHT0;
        a track_file: R_TRACK_FILE)."""
        if ok is None:
            return False
        if self.file:
            return track_file_status(self.weight, self.reverse, int(ok)) is None
        return tracker_faults(self.weight, self.reverse, ok)

    def detection(self, ok: Union[bool, int]) -> tuple[float, float]:
        """Seconds from a persistent change of the script's result until keepalived acts on it.

        ``fall`` (to failing) or ``rise`` (to OK) consecutive runs, one every ``interval``:
        between (n - 1) x interval and n x interval (the first run comes within one interval); a
        failing run may take up to ``timeout`` more (a hung check is cut off then). A track_file is
        read when the writer closes it (inotify): at once.
        """
        if self.file:
            return (0.0, 0.0)
        n = self.rise if ok else self.fall
        return ((n - 1) * self.interval, n * self.interval + (0.0 if ok else self.timeout))


def _initially_ok(name: str, command: Optional[str]) -> Optional[bool]:
    """The lab's script convention (lab.observe.ObserveMixin.set_script): ``/run/kalab/ok-NAME`` in the
    command fails until the lab creates the file; ``/run/kalab/fail-NAME`` succeeds until it does."""
    if command and f"/run/kalab/ok-{name}" in command:
        return False
    if command and f"/run/kalab/fail-{name}" in command:
        return True
    return None


def _file_weight(block_weight: int) -> Optional[int]:
    """A track_file block's weight as keepalived 2.2.7 takes it, or None when it is outside -254..254
    (the man page allows -2147483647..2147483647; track_file.c takes such a weight as 1)."""
    return block_weight if -254 <= block_weight <= 254 else None


def instance_tracks(name: str, inst: Any, scripts: Mapping[str, Any], files: Mapping[str, Any],
                    group: Optional[tuple[str, Any]] = None, owner_in_group: bool = False
                    ) -> tuple[list[TrackSpec], list[str]]:
    """The trackers of instance ``name`` (a kaconf VrrpInstance) and what the model cannot follow.

    Args:
        scripts, files: the node's vrrp_script and track_file blocks by name.
        group: (name, VrrpSyncGroup) when the instance is a member of a vrrp_sync_group.
        owner_in_group: some member of that group has priority 255 (the group's weights are cleared).
    Returns (tracks, unmodelled sentences).
    Rules (R_SYNC_WEIGHTS; keepalived 2.2.7 vrrp.c vrrp_complete_instance, sync_group_tracking_init):
    a member's or an address owner's weighted script is dropped (an owner's priority never moves, R_OWNER);
    its track_file with weight 1 becomes weight 0, with another weight it is dropped; the group's own
    trackers join every member with their weights (0 when a member is the address owner).
    """
    owner = inst.priority == OWNER
    tracks: dict[str, TrackSpec] = {}
    unmodelled: list[str] = []
    gname = group[0] if group else None
    for tr in inst.track_script:
        s = scripts.get(tr.name)
        if s is None:
            continue
        weight = s.weight if tr.weight is None else tr.weight
        if gname and weight:
            unmodelled.append(
                f"vrrp_sync_group {gname}: {name}'s weighted track_script {tr.name}: man 5 keepalived.conf sets a "
                f"member's tracking weight to zero (its failure would put the group in FAULT), keepalived 2.2.7 "
                f"ignores the script instead (vrrp.c vrrp_complete_instance); the model judges neither")
            continue
        tracks[tr.name] = TrackSpec(tr.name, weight, tr.reverse if tr.weight is not None else s.reverse,
                                    s.rise, s.fall, s.interval, s.init_fail, float(s.timeout or 0),
                                    _initially_ok(tr.name, s.script))
    for tr in inst.track_interface:
        if gname and tr.weight:
            unmodelled.append(
                f"vrrp_sync_group {gname}: {name}'s weighted track_interface {tr.name}: keepalived 2.2.7 logs that "
                f"it ignores the weight but tracks the interface with it already (vrrp.c); the model has no rule")
            continue
        tracks[IFACE_TRACK + tr.name] = TrackSpec(IFACE_TRACK + tr.name, tr.weight or 0, tr.reverse, 1, 1, 0.0)
    for tr in inst.track_file:
        t = _file_track(tr, files, unmodelled)
        if t is None:
            continue
        if (gname or owner) and t.weight:
            if t.weight != 1:
                continue                                 # dropped (R_SYNC_WEIGHTS)
            t = TrackSpec(t.script, 0, t.reverse, file=True, initial_value=t.initial_value)
        tracks[t.script] = t
    if group:
        g = group[1]
        for tr in g.track_script:
            s = scripts.get(tr.name)
            if s is None:
                continue
            weight = 0 if owner_in_group else (s.weight if tr.weight is None else tr.weight)
            if tr.name in tracks and tracks[tr.name].weight == 0:
                continue                                 # the instance's own weight 0 wins
            tracks[tr.name] = TrackSpec(tr.name, weight, tr.reverse if tr.weight is not None else s.reverse,
                                        s.rise, s.fall, s.interval, s.init_fail, float(s.timeout or 0),
                                        _initially_ok(tr.name, s.script))
        for tr in g.track_interface:
            key = IFACE_TRACK + tr.name
            if key in tracks and tracks[key].weight == 0:
                continue
            tracks[key] = TrackSpec(key, 0 if owner_in_group else (tr.weight or 0), tr.reverse, 1, 1, 0.0)
        for tr in g.track_file:
            t = _file_track(tr, files, unmodelled)
            if t is None or (t.script in tracks and tracks[t.script].weight == 0):
                continue
            tracks[t.script] = t if not owner_in_group else TrackSpec(t.script, 0, t.reverse, file=True,
                                                                      initial_value=t.initial_value)
    return list(tracks.values()), unmodelled


def _file_track(tr: Any, files: Mapping[str, Any], unmodelled: list[str]) -> Optional[TrackSpec]:
    """The TrackSpec of one track_file entry (``tr``: name, weight override, reverse), None when the
    block is missing or its weight is one the model does not follow (a sentence added to ``unmodelled``)."""
    f = files.get(tr.name)
    if f is None:
        return None
    if tr.weight is None and _file_weight(f.weight) is None:
        unmodelled.append(f"track_file {tr.name} weight {f.weight}: the man page allows -2147483647..2147483647, "
                          f"keepalived 2.2.7 takes a weight outside -254..254 as 1 (track_file.c); the model follows neither")
        return None
    weight = f.weight if tr.weight is None else tr.weight
    reverse = f.reverse if tr.weight is None else tr.reverse
    initial = (f.init_value or 0) if f.init_file else 0       # init_file VALUE (default 0); a missing file reads 0
    return TrackSpec(FILE_TRACK + tr.name, weight, reverse, file=True, initial_value=initial)
