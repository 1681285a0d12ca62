"""Three verdicts, never a silent pass (pure).

``holds`` < ``cannot judge`` < ``violated``: merging several verdicts keeps the worst (Jepsen's
``merge-valid``: false beats unknown beats true). A check that could not judge is never "holds".
"""
from __future__ import annotations

from enum import Enum
from typing import Iterable


class Verdict(str, Enum):
    HOLDS = "holds"
    CANNOT_JUDGE = "cannot judge"
    VIOLATED = "violated"

    @property
    def rank(self) -> int:
        return {"holds": 0, "cannot judge": 1, "violated": 2}[self.value]

    @property
    def exit_code(self) -> int:
        """``kalab judge``'s exit code: 0 holds, 1 violated, 2 cannot judge."""
        return {"holds": 0, "violated": 1, "cannot judge": 2}[self.value]


def merge(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of ``verdicts``; no verdict at all is CANNOT_JUDGE (nothing was judged)."""
    out = None
    for v in verdicts:
        if out is None or v.rank > out.rank:
            out = v
    return out or Verdict.CANNOT_JUDGE
