"""How many lab tests to run at once (pytest-xdist workers) on this machine.

A lab test spends most of its time waiting on VRRP timers (the master down interval, advert
intervals) with idle CPUs, so more workers than cores pay until the engine and the containers
saturate the CPUs. Measured with the whole suite (about 770 tests, 126 lab tests whose protocol
waits add up to about 900 s) on the project's CI kind of machine (2 cores, 24 GiB), 2026-12-03:

=========  ==========  ===================  =============================================
workers    wall        wall / protocol      what went wrong
=========  ==========  ===================  =============================================
serial     1740 s      1.95                 nothing
4          565 s       0.60                 nothing the load caused (one judge defect, fixed)
6          486 s       0.51                 load average 16: a keepalived that missed its own
                                            advert timing (judged violated), a start race lost
                                            by 0.7 s, an inner pytest run too slow
=========  ==========  ===================  =============================================

So :data:`PER_CORE` is 2: at 3 per core the CPUs, not the timers, set the pace, and keepalived on a
starved node stops behaving as the rules say (a test of the machine, not of the config).

Memory bounds it too: a worker holds its Python process (~150 MB) and up to a few labs of three
containers (~17 MB each, engine stats), so :data:`MIB_PER_WORKER` is a generous budget per worker.

``KALAB_WORKERS=N`` overrides the choice (``1`` runs one worker).
"""
from __future__ import annotations

import os
from typing import Mapping, Optional

#: workers per CPU core that gave the shortest suite on 2 cores (measured, see the module docstring)
PER_CORE = 2
#: memory budget per worker (MiB)
MIB_PER_WORKER = 1024
#: never more than this many workers, whatever the machine (the engine's own work grows with each)
MAX_WORKERS = 16


def lab_workers(cores: int, mem_mib: int, env: Optional[Mapping[str, str]] = None) -> int:
    """The number of xdist workers for the lab suite.

    Args:
        cores: usable CPU cores (``len(os.sched_getaffinity(0))``); mem_mib: total memory in MiB.
        env: the environment (default ``os.environ``); ``KALAB_WORKERS`` there wins when it is a
            positive integer.
    Returns: at least 1.
    Raises:
        ValueError: ``KALAB_WORKERS`` is set but not a positive integer (the message names it).
    """
    env = os.environ if env is None else env
    forced = env.get("KALAB_WORKERS", "").strip()
    if forced:
        if not forced.isdigit() or int(forced) < 1:
            raise ValueError(f"KALAB_WORKERS={forced!r}: use a whole number of workers, 1 or more (1 runs serially)")
        return int(forced)
    by_cpu = max(1, cores) * PER_CORE
    by_mem = max(1, mem_mib // MIB_PER_WORKER)
    return max(1, min(by_cpu, by_mem, MAX_WORKERS))


def machine() -> tuple[int, int]:
    """(usable cores, total memory MiB) of this machine (Linux: sched_getaffinity, /proc/meminfo)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024
                    break
    except OSError:
        pass
    return cores, mem or 4096
