"""A client that asks VIPs over HTTP at a fixed period, inside a client node, for as long as the lab needs.

The prober is a short Python program run in the client container (every node image has python3): each
``period`` seconds it starts one GET of ``http://<vip>/`` per VIP, each in its own thread so that a request
left unanswered never delays the next probe, and writes one line per probe,
``<CLOCK_MONOTONIC send time> <vip> <answering node or -> <latency s>``, to a log in the container. nginx on
each node answers with the node's name, so the log says who held each VIP, probe by probe.

A probe counts as answered when the whole answer came within :data:`TIMEOUT` of its send. That is below
TCP's initial retransmission timeout of 1 s (RFC 6298 §2.1): a SYN lost because no node held the VIP (or the
client's ARP entry still named the node that gave it up) is sent again only after 1 s, so an answer inside
TIMEOUT came from the first SYN and the VIP answered when the probe was sent. It is well above the period so
that a machine under load, which answers late, is not read as an outage (CI-17: answers later than a 50 ms
period were). The period is the measurement's resolution (lab.availability), not a wait: nothing is decided
on it.
"""
from __future__ import annotations

import ipaddress
from typing import Callable, Iterable

from ..availability import Availability, parse_probe_log

LOG = "/tmp/kalab-prober.log"
PID = "/tmp/kalab-prober.pid"
TIMEOUT = 0.8
"""s: a probe answered later than this counts as unanswered (module docstring: why below 1 s)."""

_PROGRAM = r"""
import sys, threading, time, urllib.request
period, timeout, port, log = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
vips = sys.argv[5:]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
out = open(log, "w", buffering=1)
lock = threading.Lock()
out.write("# period %g timeout %g\n" % (period, timeout))
def probe(vip):
    host = "[%s]" % vip if ":" in vip else vip
    t = time.monotonic()
    try:
        words = opener.open("http://%s:%d/" % (host, port), timeout=timeout).read().decode().split()
        who = words[0] if words else "-"
    except Exception:
        who = "-"
    took = time.monotonic() - t
    if took > timeout:
        who = "-"
    with lock:
        out.write("%.6f %s %s %.6f\n" % (t, vip, who, took))
due = time.monotonic()
while True:
    for vip in vips:
        threading.Thread(target=probe, args=(vip,), daemon=True).start()
    due += period
    time.sleep(max(0.0, due - time.monotonic()))
"""


def program_args(period: float, vips: Iterable[str], *, port: int = 80, log: str = LOG,
                 timeout: float = TIMEOUT) -> list[str]:
    """``python3 -c`` arguments that run the prober: the program, then period (s), timeout (s), port, log path
    and the VIPs (strings)."""
    return [_PROGRAM, f"{period:g}", f"{timeout:g}", str(port), log, *[str(v) for v in vips]]


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
        args = " ".join(shlex.quote(a) for a in program_args(self.period, self.vips))
        self.node.exec(f"rm -f {LOG}; python3 -c {args} >/dev/null 2>&1 & echo $! > {PID}", check=True)
        return self

    def stop(self) -> dict[str, Availability]:
        """Stop probing; what the client saw, per VIP (lab.availability.Availability)."""
        self.node.exec(f"kill $(cat {PID}) 2>/dev/null; rm -f {PID}")
        text = self.node.exec(f"cat {LOG}", check=True).output
        return parse_probe_log(text, self.to_host)
