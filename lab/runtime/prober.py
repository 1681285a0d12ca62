"""A client that asks VIPs over HTTP at a fixed period, inside a client node, for as long as the lab needs.

The prober is a short Python program run in the client container (every node image has python3): each
``period`` seconds it GETs ``http://<vip>/`` of every VIP (timeout: the period) and writes one line per probe,
``<CLOCK_MONOTONIC send time> <vip> <answering node or ->``, to a log in the container. nginx on each node
answers with the node's name, so the log says who held each VIP, probe by probe. The period is the
measurement's resolution (lab.availability), not a wait: nothing is decided on it.
"""
from __future__ import annotations

import ipaddress
from typing import Callable, Iterable

from ..availability import Availability, parse_probe_log

LOG = "/tmp/kalab-prober.log"
PID = "/tmp/kalab-prober.pid"

_PROGRAM = r"""
import sys, time, urllib.request
period = float(sys.argv[1]); vips = sys.argv[2:]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
out = open("%(log)s", "w", buffering=1)
out.write("# period %%g\n" %% period)
due = time.monotonic()
while True:
    for vip in vips:
        host = "[%%s]" %% vip if ":" in vip else vip
        t = time.monotonic()
        try:
            who = opener.open("http://%%s/" %% host, timeout=period).read().decode().strip() or "-"
        except Exception:
            who = "-"
        out.write("%%.6f %%s %%s\n" %% (t, vip, who.split()[0] if who.split() else "-"))
    due += period
    time.sleep(max(0.0, due - time.monotonic()))
""" % {"log": LOG}


class Prober:
    """HTTP probes of ``vips`` from ``node`` (a lab.runtime.node.Node of a client) every ``period`` s.

    ``to_host`` maps the container's CLOCK_MONOTONIC to this host's (identity on a local engine: one kernel).
    Use: ``p = Prober(client, vips).start(); ...; result = p.stop()``.
    """

    def __init__(self, node, vips: Iterable[ipaddress._BaseAddress | str], period: float = 0.05,
                 to_host: Callable[[float], float] = lambda t: t):
        if not 0.01 <= period <= 5:
            raise ValueError(f"prober period {period} s: use 0.01 to 5 s")
        self.node, self.vips, self.period, self.to_host = node, [str(v) for v in vips], period, to_host

    def start(self) -> "Prober":
        """Start probing (returns at once; the first probe follows within a period). Raises LabError when the
        program cannot start."""
        import shlex
        args = " ".join(shlex.quote(a) for a in [f"{self.period:g}", *self.vips])
        self.node.exec(f"rm -f {LOG}; python3 -c {shlex.quote(_PROGRAM)} {args} >/dev/null 2>&1 & echo $! > {PID}",
                       check=True)
        return self

    def stop(self) -> dict[str, Availability]:
        """Stop probing; what the client saw, per VIP (lab.availability.Availability)."""
        self.node.exec(f"kill $(cat {PID}) 2>/dev/null; rm -f {PID}")
        text = self.node.exec(f"cat {LOG}", check=True).output
        return parse_probe_log(text, self.to_host)
