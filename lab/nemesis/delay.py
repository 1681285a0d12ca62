"""Delay (and jitter) of packets on one node: tc netem where the kernel has it, NFQUEUE where not.

* ``netem`` backend: ``tc qdisc add dev IF root netem delay Dms Jms`` on each of the node's
  interfaces: egress only, every protocol (``direction=out proto=all``).
* ``nfqueue`` backend (kernels without sch_netem, e.g. this project's machines): an iptables rule
  ``-p <proto> -j NFQUEUE --queue-num N --queue-bypass`` in INPUT and/or OUTPUT, and the node's
  ``kalab-nfq-delay`` helper (images/node/nfq-delay.py, NetfilterQueue binding) holding each
  packet ``ms`` milliseconds +/- a uniform ``jitter_ms`` before accepting it. ``--queue-bypass``
  lets packets through unharmed if the helper is gone. Heal removes the rule first, then stops
  the helper, which releases every held packet at once.

``backend=auto`` picks netem when the probe found it and the request fits it, else nfqueue.
Documented effect on VRRP: a constant delay shifts every advert equally, so the backup sees no
gap except once, at the start: a delay longer than master_down_interval - advert_int makes the
backup time out and become MASTER until the delayed higher-priority adverts arrive (RFC 3768 §6.4.2/3).
"""
from __future__ import annotations

import zlib

from ..errors import LabError
from .base import MARKER_DIR, Fault, register
from ._net import add_rule, chains, proto_args, remove_tagged_rules

BACKENDS = ("auto", "netem", "nfqueue")


@register
class Delay(Fault):
    kind = "delay"
    summary = "delay ms=D [jitter_ms=J] [direction=in|out|both] [proto=vrrp|icmp|all] [backend=auto|netem|nfqueue]"

    def __init__(self, lab, target, *, ms: float, jitter_ms: float = 0.0, direction: str = "in",
                 proto: str = "vrrp", backend: str = "auto", **kw):
        if float(ms) < 0 or float(jitter_ms) < 0:
            raise LabError("delay: ms and jitter_ms must be >= 0")
        if backend not in BACKENDS:
            raise LabError(f"delay: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        chains(direction)
        proto_args(proto)
        super().__init__(lab, target, ms=float(ms), jitter_ms=float(jitter_ms), direction=direction,
                         proto=proto, backend=backend, **kw)
        self.chosen: str = ""

    def model_inputs(self, action: str):
        """A delay of VRRP shorter than every backup's slack (master down interval - advert interval)
        changes nothing: adverts still arrive before any timer runs out. A longer or jittered delay
        has no rule in the model (a backup may time out, then yield when the late advert arrives)."""
        p = self.params
        if p["proto"] not in ("all", "vrrp"):
            return []
        topo = self.lab.topology
        slack = []
        for n in topo.keepalived_nodes():
            for inst in topo.instances(n).values():
                from ..timers import master_down_interval
                slack.append(master_down_interval(inst.priority, inst.advert_int, inst.version or 2) - inst.advert_int)
        worst = (p["ms"] + p["jitter_ms"]) / 1000.0
        return [] if slack and worst < min(slack) - 0.5 else None

    def unmodelled(self, action: str) -> str:
        return (f"a delay of {self.params['ms']:g} ms +/- {self.params['jitter_ms']:g} ms reaches a backup's "
                f"master down interval: whether and when it takes over and yields has no rule in the model")

    @property
    def queue_num(self) -> int:
        """A netfilter queue number derived from the fault's name (1000..60999)."""
        return 1000 + zlib.crc32(f"{self.lab.id}/{self.name}".encode()) % 60000

    @property
    def _pidfile(self) -> str:
        return f"{MARKER_DIR}/{self.name}.pid"

    def choose_backend(self) -> str:
        """The backend ``apply`` will use. Raises Unsupported when the kernel offers neither."""
        caps = self.lab.capabilities
        p = self.params
        fits_netem = p["direction"] == "out" and p["proto"] == "all"
        if p["backend"] == "netem":
            caps.require("netem")
            if not fits_netem:
                raise LabError("delay backend=netem delays every egress packet: use direction=out proto=all")
            return "netem"
        if p["backend"] == "auto" and caps.has("netem") and fits_netem:
            return "netem"
        caps.require("nfqueue")
        return "nfqueue"

    def _apply(self) -> str:
        node, p = self.node(), self.params
        self.chosen = self.choose_backend()
        if self.chosen == "netem":
            for itf in node.addresses:
                node.exec(["tc", "qdisc", "add", "dev", itf, "root", "netem", "delay", f"{p['ms']:g}ms",
                           *([f"{p['jitter_ms']:g}ms"] if p["jitter_ms"] else [])], check=True)
            return f"netem delay {p['ms']:g} ms +/- {p['jitter_ms']:g} ms on egress"
        node.exec(["kalab-nfq-delay", "--queue", str(self.queue_num), "--delay", f"{p['ms'] / 1000:.6f}",
                   "--jitter", f"{p['jitter_ms'] / 1000:.6f}", "--pidfile", self._pidfile, "--daemon"], check=True)
        try:
            for chain in chains(p["direction"]):
                # Untracked: while the first packet of a flow waits in the queue its conntrack entry is
                # unconfirmed, and later packets of the flow would be dropped as clashes on confirm.
                add_rule(node, "PREROUTING" if chain == "INPUT" else "OUTPUT", proto_args(p["proto"]),
                         self.comment, ["CT", "--notrack"], table="raw")
                add_rule(node, chain, proto_args(p["proto"]), self.comment,
                         ["NFQUEUE", "--queue-num", str(self.queue_num), "--queue-bypass"])
        except BaseException:
            remove_tagged_rules(node, self.comment)
            node.exec(f"kill $(cat {self._pidfile})")
            raise
        return (f"NFQUEUE {self.queue_num} delay {p['ms']:g} ms +/- {p['jitter_ms']:g} ms "
                f"of {p['proto']} {p['direction']}")

    def _heal(self) -> str:
        node = self.node()
        if node.status() != "running":
            return "node not running"
        n = remove_tagged_rules(node, self.comment)
        node.exec(f"[ -e {self._pidfile} ] && kill $(cat {self._pidfile}); true")
        q = 0
        for itf in node.addresses:
            if "netem" in node.exec(["tc", "qdisc", "show", "dev", itf]).output:
                node.exec(["tc", "qdisc", "del", "dev", itf, "root"])
                q += 1
        return f"{n} rule(s), helper and {q} netem qdisc(s) removed"
