"""Durations in scenario files, written in seconds or in the protocol's own timers (pure).

Grammar (terms added with ``+``)::

    20s   500ms   1.5s                      plain time (a unit is required)
    advert_int[(INSTANCE)]                  the instance's advertisement interval
    master_down_interval(NODE[, INSTANCE])  3 x advert_int + skew_time of NODE's priority
    skew_time(NODE[, INSTANCE])             (256 - priority) / 256 s (x advert_int in VRRPv3)
    3 x advert_int    2 * master_down_interval(b)    FACTOR times a timer

INSTANCE may be left out when the topology has one VRRP instance. A timer uses the node's configured
``priority`` and the instance's ``advert_int`` and ``version`` (VRRPv2 runs whole seconds:
lab.timers.effective_advert_int). Sources: RFC 3768 §6.1 and RFC 5798 §6.1 (lab.timers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..timers import effective_advert_int, master_down_interval, skew_time

__all__ = ["Duration", "parse_duration", "TIMERS"]

#: the timer names a duration may use
TIMERS = ("advert_int", "master_down_interval", "skew_time")

_PLAIN = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s)$")
_TIMER = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*[x*×]\s*)?([a-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?$")


@dataclass(frozen=True)
class Duration:
    """A parsed duration: ``text`` as written and ``seconds`` on the scenario's topology."""

    text: str
    seconds: float

    def __str__(self) -> str:
        return self.text if self.text.endswith(("s", "ms")) and _PLAIN.match(self.text) else \
            f"{self.text} = {self.seconds:.3f} s"


def _instance(topo, name: Optional[str], term: str) -> str:
    names = topo.instance_names()
    if name:
        if name not in names:
            raise ValueError(f"{term!r}: no VRRP instance {name!r} (instances: {', '.join(names)})")
        return name
    if len(names) != 1:
        raise ValueError(f"{term!r}: name the instance, e.g. {term.split('(')[0]}(NODE, {names[0] if names else 'VI_1'}) "
                         f"(this topology has {len(names)}: {', '.join(names)})")
    return names[0]


def _timer(topo, name: str, args: list[str], term: str) -> float:
    if name == "advert_int":
        if len(args) > 1:
            raise ValueError(f"{term!r}: advert_int takes at most an instance, e.g. advert_int(VI_1)")
        inst = _instance(topo, args[0] if args else None, term)
        node = next(n for n in topo.keepalived_nodes() if inst in topo.instances(n))
        spec = topo.instances(node)[inst]
        return effective_advert_int(spec.advert_int, spec.version or 2)
    if not args or len(args) > 2:
        raise ValueError(f"{term!r}: {name} needs the backup node, e.g. {name}(b) or {name}(b, VI_1)")
    node = args[0]
    if node not in topo.keepalived_nodes():
        raise ValueError(f"{term!r}: no keepalived node {node!r} (nodes: {', '.join(topo.keepalived_nodes())})")
    inst = _instance(topo, args[1] if len(args) > 1 else None, term)
    if inst not in topo.instances(node):
        raise ValueError(f"{term!r}: node {node} has no instance {inst}")
    spec = topo.instances(node)[inst]
    version = spec.version or 2
    fn = master_down_interval if name == "master_down_interval" else skew_time
    return fn(spec.priority, effective_advert_int(spec.advert_int, version), version)


def parse_duration(value, topo) -> Duration:
    """``value`` (a string such as ``"3 x advert_int + 1s"``) as seconds on ``topo`` (a Topology).

    Raises ValueError with the term it could not read and what is allowed. A bare number is refused:
    write its unit (``20s``), so that nobody reads seconds as milliseconds or advert intervals."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a duration; write e.g. 20s, 500ms, master_down_interval(b) "
                         f"or 3 x advert_int")
    if isinstance(value, (int, float)):
        raise ValueError(f"{value!r} has no unit; write {value}s (or a protocol timer such as 3 x advert_int)")
    text = str(value).strip()
    total = 0.0
    for term in (t.strip() for t in text.split("+")):
        m = _PLAIN.match(term)
        if m:
            total += float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
            continue
        m = _TIMER.match(term)
        if not m or m.group(2) not in TIMERS:
            raise ValueError(f"{term!r} is not a duration; write e.g. 20s, 500ms, or [N x] one of "
                             f"{', '.join(TIMERS)} (master_down_interval and skew_time name the backup node)")
        factor = float(m.group(1)) if m.group(1) else 1.0
        args = [a.strip() for a in m.group(3).split(",")] if m.group(3) else []
        total += factor * _timer(topo, m.group(2), args, term)
    return Duration(text, total)
