"""The record against keepalived's own books (pure: events in, findings out).

At the end of a lab, every running keepalived node is asked for its JSON dump (``lab.runtime.dump``:
state, effective priority and the counters ``stats.advert_sent`` / ``advert_rcvd`` per instance), and
the lab's record must agree with it. A disagreement is a defect of the lab (a lost notify line, a hole
in the capture), never of keepalived, and fails the test with both figures.

What is compared, per node and VRRP instance (a :class:`Finding` each):

* ``state``: the dump's state is the state the history gives the node at the moment the dump was asked
  for, or one it recorded while the dump was being taken (keepalived may move meanwhile). No report
  yet in this run is INIT.
* ``effective_priority``: the same, with the priorities of notify_fifo lines (state lines and the
  ``*_PRIORITY`` lines of ``vrrp_notify_priority_changes``, keepalived 2.2.7 vrrp_notify.c).
* ``advert_sent``: keepalived counts every advert it sends (vrrp.c ``vrrp_send_adv``: ``++advert_sent``
  after the send, even a failed one), from its VRRP process's start (a new process, a restarted VRRP
  child: new counters; a reload keeps them, vrrp.c ``clear_diff_vrrp`` copies the old stats). The lab
  must have captured as many adverts from the node's addresses with the instance's vrid since the
  process's first report: at least as many as were captured before the dump was asked for, at most as
  many as were captured by the time it was answered.

Skipped, with the reason (never silently): nodes that are not running or are paused, instances with
unicast peers (a capture on the bridge sees multicast only), the adverts of a run in which a fault may
have kept adverts off the wire or changed them (:data:`WIRE_FAULTS`), and labs without a capture.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from .events import Event, advert_family, node_effect
from .history import capture_holes

#: fault kinds during which a node's adverts may not reach the capture as keepalived counted them
#: (dropped on egress, delayed, lost, link down, or an arbitrary command), or that add adverts with
#: another node's source address. Every registered fault kind is in exactly one of the two sets
#: (tests/unit/test_crosscheck.py).
WIRE_FAULTS = frozenset({"drop-vrrp", "delay", "loss", "link-down", "one-way", "partition", "rogue", "command"})
#: fault kinds that leave what a node sends on the wire as keepalived counts it
OFF_WIRE_FAULTS = frozenset({"sigterm", "sigkill", "reload", "kill-vrrp-child", "kill", "stop", "pause", "restart",
                             "nginx-stop", "script", "track-file"})
#: faults after which the node's VRRP process (and its counters) is new
NEW_PROCESS_FAULTS = frozenset({"kill-vrrp-child"})
#: keepalived's states in a dump that notify_fifo reports (INIT is never reported)
_REPORTED = frozenset({"MASTER", "BACKUP", "FAULT", "STOP", "DELETED"})


@dataclass(frozen=True)
class Finding:
    """One comparison. ``ok``: True agree, False a lab defect, None skipped (``why`` says why).
    ``lab``: the record's figure (a value, or the allowed values / range as text); ``keepalived``: the dump's."""

    node: str
    instance: str
    item: str
    ok: Optional[bool]
    lab: Any = None
    keepalived: Any = None
    why: str = ""

    def as_data(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "") or k == "ok"}

    def text(self) -> str:
        head = f"{self.node} {self.instance} {self.item}"
        if self.ok is None:
            return f"{head}: not cross-checked ({self.why})"
        verdict = "agrees" if self.ok else "DISAGREES"
        return f"{head}: lab {self.lab}, keepalived {self.keepalived} ({verdict}{'; ' + self.why if self.why else ''})"


def run_start(events: Sequence[Event], node: str, until: float) -> float:
    """When the node's current VRRP process began (host s): its last start or restart (or a fault that
    restarts its VRRP child) at or before ``until``; -inf if none is recorded."""
    t = float("-inf")
    for e in events:
        if e.t > until:
            break
        if e.kind == "node" and e.get("node") == node and node_effect(e["action"], e.get("signal")) in ("up", "restart"):
            t = e.t
        elif (e.kind == "fault" and e.get("action") == "apply" and e.get("fault_kind") in NEW_PROCESS_FAULTS
              and node in _targets(e)):
            t = min(e.t, e.get("t_issued") or e.t)     # the old process died when the fault was issued
    return t


def _restarted_in_one_call(events: Sequence[Event], node: str, start: float) -> bool:
    return any(e.t == start and e.kind == "node" and e.get("node") == node
               and node_effect(e["action"], e.get("signal")) == "restart" for e in events)


def _targets(e: Event) -> list[str]:
    target = e.get("target")
    if isinstance(target, str):
        return [target]
    if isinstance(target, (list, tuple)):
        return [str(x) for x in target]
    if isinstance(target, dict):
        return [str(x) for v in target.values() for x in (v if isinstance(v, (list, tuple)) else [v])]
    return []


def _reports(events: Sequence[Event], node: str, instance: str, since: float) -> list[Event]:
    return [e for e in events if e.t >= since and e.kind in ("state", "priority") and e.get("node") == node
            and e.get("instance") == instance and e.get("type", "INSTANCE") == "INSTANCE"]


def _allowed(reports: Sequence[Event], t_issued: float, t_done: float, field: str, initial: Any) -> list[Any]:
    """The values of ``field`` the record allows at the dump: the one in force at ``t_issued``, then any
    recorded while the dump was taken (up to ``t_done``)."""
    current = initial
    later = []
    for e in reports:
        value = e.get(field)
        if field == "state" and (e.kind != "state" or value not in _REPORTED):
            continue
        if value is None:
            continue
        if e.t < t_issued:
            current = value
        elif e.t <= t_done:
            later.append(value)
    out = [current] + [v for v in later if v != current]
    return [v for v in out if v is not None]


def compare_node(events: Sequence[Event], node: str, addresses: Iterable[str], dump: Mapping[str, Any],
                 t_issued: float, t_done: float, *, captured_from: Optional[float], unicast: Mapping[str, bool],
                 vrids: Optional[Mapping[str, int]] = None, families: Optional[Mapping[str, int]] = None) -> list[Finding]:
    """Compare one node's record with its dump.

    Args:
        events: the lab's history, in time order (``History.events()``).
        node: the node's name; addresses: its interface addresses (strings), the source of its adverts.
        dump: instance name -> an object with ``state``, ``effective_priority``, ``vrid``, ``stats``
            (``lab.runtime.dump.InstanceDump``).
        t_issued, t_done: host monotonic seconds just before the dump was asked for and once it was read.
        captured_from: since when (host s) the lab has captured adverts on all of the node's networks
            (``-inf``: since before any keepalived started; None: no capture). A capture that began after
            the node's process started may have missed its first adverts: not comparable, said so.
        unicast: instance -> True when it has unicast peers; vrids: instance -> vrid (default: the dump's).
        families: instance -> 4 or 6, the family of its VIPs (default 4): one VRID in the two families is two
            virtual routers (RFC 5798 §5.2.3), so only adverts of the instance's family count.
    """
    addrs = {str(a) for a in addresses}
    start = run_start(events, node, t_done)
    out: list[Finding] = []
    wire = sorted({e.get("fault_kind") or "?" for e in events if e.kind == "fault" and e.get("action") == "apply"
                   and e.t >= start and e.get("fault_kind") not in OFF_WIRE_FAULTS})
    holes = capture_holes(events, start, t_done)
    for name, d in sorted(dump.items()):
        reports = _reports(events, node, name, start)
        states = _allowed(reports, t_issued, t_done, "state", "INIT")
        out.append(Finding(node, name, "state", d.state in states, " or ".join(states), d.state))
        prios = _allowed(reports, t_issued, t_done, "priority", None)
        if not prios:
            out.append(Finding(node, name, "effective_priority", None, keepalived=d.effective_priority,
                               why="keepalived has reported no priority in this run yet"))
        else:
            out.append(Finding(node, name, "effective_priority", d.effective_priority in prios,
                               " or ".join(map(str, prios)), d.effective_priority))
        sent = (d.stats or {}).get("advert_sent")
        vrid = (vrids or {}).get(name, d.vrid)
        silent = _silent_until(reports, start)
        why = ("the lab captured no adverts" if captured_from is None
               else f"the capture began {captured_from - start:.2f} s after this run of keepalived started "
                    f"(its first adverts may be missing)" if captured_from > silent
               else "the capture missed adverts in this run: " + "; ".join(holes) if holes
               else "unicast peers: the capture sees multicast adverts only" if unicast.get(name)
               else f"fault(s) {', '.join(wire)} in this run may keep adverts off the wire or add some" if wire
               else "keepalived's dump has no advert_sent counter" if sent is None else "")
        if why:
            out.append(Finding(node, name, "advert_sent", None, keepalived=sent, why=why))
            continue
        # from the start of the process: its first advert (on becoming MASTER) precedes its notify_fifo line;
        # a run that began in BACKUP sent nothing before that report, while the process it replaced (a VRRP
        # child killed after the fault was issued) may still have sent one
        first = silent
        if _restarted_in_one_call(events, node, start):     # the old process's last adverts come after the event
            first = next((e.t for e in reports if e.kind == "state" and e.get("state") not in ("STOP", "DELETED")), start)
        fam = (families or {}).get(name, 4)
        mine = [e.t for e in events if e.kind == "advert" and e.get("src") in addrs and e.get("vrid") == vrid
                and advert_family(e) == fam and e.t >= first]
        lo = sum(1 for t in mine if t < t_issued)
        hi = sum(1 for t in mine if t <= t_done)
        out.append(Finding(node, name, "advert_sent", lo <= sent <= hi, str(lo) if lo == hi else f"{lo}..{hi}", sent,
                           "" if lo <= sent <= hi else
                           f"adverts from {'/'.join(sorted(addrs))} vrid {vrid} captured since the run's first report"))
    return out


def _silent_until(reports: Sequence[Event], start: float) -> float:
    """Until when the run certainly sent no advert: its first report, when that is BACKUP (a backup sends
    none, RFC 3768 §6.4.2; the first advert comes with the move to MASTER); otherwise its start."""
    first = next((e for e in reports if e.kind == "state"), None)
    return first.t if first is not None and first.get("state") == "BACKUP" else start


def summary(findings: Sequence[Finding]) -> dict[str, int]:
    """Counts: ``compared``, ``agree``, ``mismatches``, ``skipped``."""
    return {"compared": sum(f.ok is not None for f in findings), "agree": sum(f.ok is True for f in findings),
            "mismatches": sum(f.ok is False for f in findings), "skipped": sum(f.ok is None for f in findings)}
