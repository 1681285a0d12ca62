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

from ..errors import LabError
from .base import MARKER_DIR, Fault, register
from ._exec import remove_tagged_rules, run_all
from .rules import (chains, netem_delay_argv, nfq_helper_argv, nfqueue_delay_rules, proto_args, qdisc_delete_argv,
                    qdisc_show_argv, queue_number, stop_helper_cmd)

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
        return queue_number(self.lab.id, self.name)

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
            run_all(node, [netem_delay_argv(itf, p["ms"], p["jitter_ms"]) for itf in node.addresses])
            return f"netem delay {p['ms']:g} ms +/- {p['jitter_ms']:g} ms on egress"
        run_all(node, [nfq_helper_argv(self.queue_num, p["ms"], p["jitter_ms"], self._pidfile)])
        try:
            # raw-table NOTRACK before each NFQUEUE rule (rules.nfqueue_delay_rules says why)
            run_all(node, nfqueue_delay_rules(p["direction"], p["proto"], self.queue_num, self.comment))
        except BaseException:
            remove_tagged_rules(node, self.comment)
            node.exec(stop_helper_cmd(self._pidfile, if_running=False))
            raise
        return (f"NFQUEUE {self.queue_num} delay {p['ms']:g} ms +/- {p['jitter_ms']:g} ms "
                f"of {p['proto']} {p['direction']}")

    def _heal(self) -> str:
        node = self.node()
        if node.status() != "running":
            return "node not running"
        n = remove_tagged_rules(node, self.comment)
        node.exec(stop_helper_cmd(self._pidfile))
        q = 0
        for itf in node.addresses:
            if "netem" in node.exec(qdisc_show_argv(itf), idempotent=True).output:
                node.exec(qdisc_delete_argv(itf))
                q += 1
        return f"{n} rule(s), helper and {q} netem qdisc(s) removed"
