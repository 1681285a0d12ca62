#!/usr/bin/python3
"""Copy keepalived's notify_fifo lines to a log, each prefixed with CLOCK_MONOTONIC.

Containers share the host kernel's monotonic clock, so the lab on the host can
place these lines on its own timeline exactly, however late it reads them.
"""
import sys
import time

fifo, out = sys.argv[1], sys.argv[2]
with open(out, "a", buffering=1) as log:
    while True:
        with open(fifo, "r") as f:          # blocks until keepalived opens the fifo
            for line in f:
                log.write(f"{time.monotonic():.6f} {line.rstrip()}\n")
