"""Where the files keepalived-lab ships beside its code are: the node image recipe (``images/``) and the
stock topologies (``topologies/``). In a checkout (or an editable install) they sit next to the ``lab``
package; an installed wheel carries them as package data in ``lab/_data/`` (setup.py copies them)."""
from __future__ import annotations

from pathlib import Path

__all__ = ["bundled"]

_PKG = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """``images`` or ``topologies``: the checkout's folder if there is one, else the wheel's copy."""
    checkout = _PKG.parent / name
    return checkout if checkout.is_dir() else _PKG / "_data" / name
