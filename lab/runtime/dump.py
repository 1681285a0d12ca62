"""keepalived's own view: the JSON dump (``kill -s $(keepalived --signum=JSON) 1``).

keepalived (built with JSON, as Debian's 2.2.7 is) writes ``/tmp/keepalived.json`` when it
gets the signal ``keepalived --signum=JSON`` names: a list of ``{"data": {...}, "stats": {...}}``,
one per VRRP instance, with ``iname``, ``vrid``, ``base_priority``, ``effective_priority``,
``state`` (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT; keepalived's vrrp.h), ``master_priority``, ...
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

JSON_PATH = "/tmp/keepalived.json"
STATE_NAMES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}

# Remove the old dump, signal keepalived (PID 1 in a lab node), then wait (bounded, 5 s) for the
# new file to be complete: keepalived writes it asynchronously from its main loop.
_DUMP_CMD = (f"rm -f {JSON_PATH}; kill -s $(keepalived --signum=JSON) 1 || exit 2; "
             f"i=0; until [ -s {JSON_PATH} ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' {JSON_PATH} "
             f"2>/dev/null; do i=$((i+1)); [ $i -le 100 ] || exit 3; sleep 0.05; done; cat {JSON_PATH}")


@dataclass(frozen=True)
class InstanceDump:
    """One VRRP instance as keepalived reports it. ``raw`` holds the whole ``data`` object."""

    instance: str
    vrid: int
    state: str
    base_priority: int
    effective_priority: int
    master_priority: int
    raw: dict[str, Any]
    stats: dict[str, Any]


def parse_json_dump(text: str) -> dict[str, InstanceDump]:
    """Parse ``/tmp/keepalived.json`` into ``{instance name: InstanceDump}``.

    Raises ValueError (with the start of the text) if it is not keepalived's JSON dump.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"keepalived JSON dump is not JSON ({e}): {text[:200]!r}") from None
    out = {}
    for item in data if isinstance(data, list) else []:
        d = item.get("data", {})
        if "iname" not in d:
            continue
        out[d["iname"]] = InstanceDump(
            instance=d["iname"], vrid=int(d.get("vrid", 0)), state=STATE_NAMES.get(d.get("state"), str(d.get("state"))),
            base_priority=int(d.get("base_priority", 0)), effective_priority=int(d.get("effective_priority", 0)),
            master_priority=int(d.get("master_priority", 0)), raw=d, stats=item.get("stats", {}))
    if not out and text.strip():
        raise ValueError(f"keepalived JSON dump has no vrrp instance: {text[:200]!r}")
    return out


def dump_json(node) -> dict[str, InstanceDump]:
    """Ask keepalived on ``node`` (a lab Node) for its JSON dump and parse it.

    Raises RuntimeError naming the node when keepalived is not running or writes no dump.
    """
    t0 = time.monotonic()
    r = node.exec(_DUMP_CMD)
    if not r.ok:
        why = {2: "keepalived is not running (no PID 1 to signal)",
               3: f"keepalived wrote no complete {JSON_PATH} within 5 s (built without JSON?)"}.get(r.exit_code, r.output)
        raise RuntimeError(f"{node.name}: JSON dump failed: {why}")
    out = parse_json_dump(r.output)
    node._history.append("dump", node=node.name, t_issued=t0,
                         instances={k: {"state": v.state, "effective_priority": v.effective_priority,
                                        "base_priority": v.base_priority} for k, v in out.items()})
    return out
