"""The worker count for the lab suite (lab.workers): cores x the measured factor, bounded by memory."""
import pytest

from lab.workers import MAX_WORKERS, MIB_PER_WORKER, PER_CORE, lab_workers, machine


def test_cores_times_the_measured_factor():
    assert lab_workers(2, 24 * 1024, env={}) == 2 * PER_CORE
    assert lab_workers(1, 24 * 1024, env={}) == PER_CORE


def test_memory_and_the_ceiling_bound_it():
    assert lab_workers(2, 2 * MIB_PER_WORKER, env={}) == min(2, 2 * PER_CORE)
    assert lab_workers(2, 100, env={}) == 1, "too little memory for one worker's budget still runs one"
    assert lab_workers(64, 1024 * 1024, env={}) == MAX_WORKERS


def test_the_environment_overrides_and_bad_values_are_named():
    assert lab_workers(2, 24 * 1024, env={"KALAB_WORKERS": "1"}) == 1
    assert lab_workers(2, 24 * 1024, env={"KALAB_WORKERS": " 9 "}) == 9
    for bad in ("0", "-2", "four", "2.5"):
        with pytest.raises(ValueError, match="KALAB_WORKERS"):
            lab_workers(2, 24 * 1024, env={"KALAB_WORKERS": bad})


def test_this_machine_is_read():
    cores, mem = machine()
    assert cores >= 1 and mem > 0


def test_the_suite_collects_without_xdist():
    # the README's `./run test -p no:xdist` (one process): conftest's xdist hook is optional, not an
    # INTERNALERROR "unknown hook" (found by running it, session 10)
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "--collect-only",
                        "-q", "tests/unit/test_workers.py"], cwd=root, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "test_cores_times_the_measured_factor" in r.stdout
