"""The one timeline-tail text and the one failure text every check and wait uses (pure)."""
from __future__ import annotations

from typing import Iterable, Optional

from ..history import History


def timeline_tail(history: History, n: int = 25) -> str:
    """The last ``n`` events as text, leaving out adverts that repeat their sender's previous one."""
    keep, last = [], {}
    for e in history.events():
        if e.kind == "advert":
            key = (e.get("src"), e.get("vrid"))
            sig = (e.get("priority"), e.get("advert_int"), tuple(e.get("addresses") or ()))
            if last.get(key) == sig:
                continue
            last[key] = sig
        keep.append(e)
    return "\n".join(e.describe(history.t0) for e in keep[-n:])


def failure_text(message: str, history: History, log_tails: Optional[Iterable[tuple[str, str]]] = None,
                 n: int = 25) -> str:
    """``message``, the last ``n`` history events, then each ``(node, log tail)``."""
    parts = [message, "", f"timeline (last {n} events, seconds since lab start; repeated adverts omitted):",
             timeline_tail(history, n)]
    for name, tail in log_tails or ():
        parts += ["", f"--- {name} log tail ---", tail.rstrip()]
    return "\n".join(parts)
