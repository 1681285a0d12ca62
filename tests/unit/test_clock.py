"""A node's stamps move onto this host's clocks by the measured offset (lab.runtime.clock)."""
import time
from datetime import datetime, timezone

from lab.runtime.clock import LOCAL, ClockOffset
from lab.runtime.node_events import log_stamp


def test_local_offset_changes_nothing():
    assert LOCAL.to_host_mono(123.5) == 123.5


def test_container_monotonic_moves_by_the_offset():
    assert ClockOffset(mono=1000.25, wall=0.0, uncertainty=0.01, samples=5).to_host_mono(1500.0) == 499.75


def test_engine_log_stamp_moves_by_the_wall_offset():
    # the engine host's wall clock runs 30 s ahead: a line it stamped 30 s "in the future" is now
    now_wall = time.time()
    stamp = datetime.fromtimestamp(now_wall + 30.0, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    t, text = log_stamp(f"{stamp} Startup complete", wall_offset=30.0)
    assert text == "Startup complete"
    assert abs(t - time.monotonic()) < 0.5
    stamp_past = datetime.fromtimestamp(now_wall - 5.0 + 30.0, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    t5, _ = log_stamp(f"{stamp_past} x", wall_offset=30.0)  # ... and 5 s ago stays 5 s ago once moved
    assert 4.5 < time.monotonic() - t5 < 5.5
