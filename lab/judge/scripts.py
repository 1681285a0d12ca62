"""The judge's check of keepalived's own script reports (pure).

A ``script`` event is keepalived's log of a vrrp_script result (``VRRP_Script(NAME) succeeded``). The
model takes it as what the script saw (:func:`lab.judge.inputs.model_inputs`); what the rules say of
*when* keepalived may report it is checked here, so trusting the report does not pass a wrong count:

* ``init_fail`` (man 5 keepalived.conf, vrrp_script: "assume script initially is in failed state"): a
  script starts failing and needs ``rise`` successes, one every ``interval``, so its first OK after a
  start comes no sooner than (rise - 1) x interval after keepalived started (less the margin).
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional

from ..history import History

R_INIT_FAIL = ("man 5 keepalived.conf, vrrp_script init_fail: assume script initially is in failed state; "
               "rise: required number of successes for OK transition")


def judge_script_reports(history: History, specs: Mapping[str, Mapping[str, object]], horizon: float, margin: float,
                         owner_at: Callable[[str, float], Optional[object]]) -> None:
    """Add a problem to the judgement in force (``owner_at(instance, t)``) for every first OK report of an
    init_fail script after a node's start that comes sooner than its rise runs allow (R_INIT_FAIL)."""
    started: dict[str, float] = {}
    first_seen: set[tuple[str, str]] = set()
    for e in history.events():
        if e.t > horizon:
            break
        if e.kind == "node" and e.get("action") in ("start", "restart", "ready"):
            started[e["node"]] = e.t if e["action"] != "ready" else max(started.get(e["node"], e.t), e.t)
            first_seen = {k for k in first_seen if k[0] != e["node"]}
        elif e.kind == "script" and e["node"] in started and (e["node"], e["script"]) not in first_seen:
            first_seen.add((e["node"], e["script"]))
            for inst, nodes in specs.items():
                sp = nodes.get(e["node"])
                track = next((t for t in getattr(sp, "tracks", ()) if t.script == e["script"]), None)
                if track is None or not track.init_fail or not e["ok"]:
                    continue
                earliest = started[e["node"]] + (track.rise - 1) * track.interval - margin
                j = owner_at(inst, e.t)
                if e.t < earliest and j is not None:
                    j.add_problem(f"{e['node']}: keepalived reported vrrp_script {e['script']} OK "
                                  f"{e.t - started[e['node']]:.3f} s after it started; with init_fail it needs "
                                  f"rise ({track.rise}) successes one every {track.interval:g} s, so no sooner than "
                                  f"{(track.rise - 1) * track.interval:g} s less the margin (R_INIT_FAIL)")
                break
