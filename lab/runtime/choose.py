"""Which lab a command without ``--lab`` acts on: only the caller's own kept labs, never another's.

Rules (:func:`choose_lab`): among labs with a keep marker (``kalab up``) started by the same user
(uid), the one started in the current project directory; failing that, the user's only kept lab.
Another user's lab, a test's lab, or one of several candidates needs ``--lab ID``.
"""
from __future__ import annotations

from ..errors import LabError
from . import labels as L


def choose_lab(ids: dict[str, dict[str, str]], uid: str, project: str) -> tuple[str, str]:
    """The lab to act on and why it was chosen.

    Args:
        ids: ``{lab id: labels}`` (:func:`lab.runtime.cleanup.lab_ids`).
        uid: the caller's user id (string); project: the caller's directory (:func:`lab.runtime.labels.project`).
    Raises:
        LabError: no candidate, or more than one (names them and says ``--lab ID``).
    """
    kept = {i: lb for i, lb in ids.items() if lb.get(L.KEEP) == "1"}
    mine = {i: lb for i, lb in kept.items() if lb.get(L.USER) == uid}
    here = [i for i, lb in mine.items() if lb.get(L.PROJECT) == project]
    if len(here) == 1:
        return here[0], "your only lab started in this directory"
    if not here and len(mine) == 1:
        i = next(iter(mine))
        return i, f"your only lab, started in {mine[i].get(L.PROJECT) or '?'}"
    if len(here) > 1 or len(mine) > 1:
        many = here if len(here) > 1 else list(mine)
        raise LabError(f"{len(many)} of your labs are running ({', '.join(sorted(many))}); choose one with --lab ID "
                       f"(`kalab list` shows them)")
    others = sorted(set(kept) - set(mine))
    if others:
        raise LabError(f"no lab of yours started by `kalab up` is running; other users' labs "
                       f"({', '.join(others)}) are used only with --lab ID")
    raise LabError("no lab started by `kalab up` is running; start one with `kalab up TOPOLOGY`")
