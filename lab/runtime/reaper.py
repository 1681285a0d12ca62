"""testcontainers' reaper (Ryuk) off for the lab's own containers only.

The lab removes its own containers and networks by their labels (:mod:`lab.runtime.cleanup`, owner
identity), and Ryuk's image cannot be pulled where there is no registry. Setting the global
``TESTCONTAINERS_RYUK_DISABLED`` would switch the reaper off for every other testcontainers user in the
same process (a user's own tests); :func:`without_reaper` switches it off only while a lab container
starts and restores the setting after the last concurrent start.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_active = 0
_saved: bool = False


@contextmanager
def without_reaper() -> Iterator[None]:
    """Within the block, testcontainers starts no reaper; the user's setting is restored after it (and
    after every other concurrent block, so parallel node starts need no serialising)."""
    from testcontainers.core.config import testcontainers_config as c

    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = c.ryuk_disabled
            c.ryuk_disabled = True
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                c.ryuk_disabled = _saved
