"""An upgrade rehearsal: one node at a time from one keepalived release to another, judged at every step.

What an operator does in a rolling upgrade, on a started lab: for each keepalived node (backups first, the
MASTERs last, each by name), stop it gracefully (SIGTERM), wait for the election among the others, start it on
the new release's image (same addresses and configuration; lab.lab.Lab.replace_node), wait for the election
again. After each stop and each start the whole history so far is judged against the election model
(lab.judge: the VIP moves only where the rules say, one MASTER per instance). A client asks every VIP over HTTP
every 50 ms throughout (lab.runtime.prober), so the total VIP downtime is measured from outside.

Used by ``kalab upgrade TOPOLOGY --from 2.2.7 --to 2.3.4`` and from tests (:func:`rehearse` on a lab from
``lab_factory(topology, keepalived="2.2.7")``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from .availability import Availability
from .errors import LabError
from .releases import release


@dataclass
class Step:
    """One half of a node's upgrade: ``action`` "stop" (on the old release) or "start" (on the new one), at
    ``t`` (host monotonic s); the MASTER of each instance once the election settled; the judge's verdict on the
    history up to then and, unless it holds, why."""

    node: str
    action: str
    release: str
    t: float
    masters: dict[str, list[str]]
    verdict: str
    problem: str = ""


@dataclass
class UpgradeResult:
    """A whole rehearsal: its steps, the client's view of each VIP, the keepalived each node runs at the end
    (``keepalived --version`` in the node) and the overall verdict (holds only if every step held and every
    node runs the new release)."""

    from_version: str
    to_version: str
    steps: list[Step] = field(default_factory=list)
    availability: dict[str, Availability] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        for v in ("violated", "cannot judge"):
            if any(s.verdict == v for s in self.steps):
                return v
        if any(have != self.to_version for have in self.versions.values()):
            return "violated"
        return "holds" if self.steps else "cannot judge"

    @property
    def downtime(self) -> float:
        """Seconds some VIP had no answer, summed over VIPs (lab.availability: to the probe period)."""
        return sum(a.downtime for a in self.availability.values())

    def lines(self, t0: float) -> list[str]:
        """The rehearsal as text: one line per step, then each VIP's outages and the verdict."""
        out = [f"upgrade keepalived {self.from_version} -> {self.to_version}"]
        for s in self.steps:
            masters = ", ".join(f"{i}: {'+'.join(m) or 'none'}" for i, m in s.masters.items())
            out.append(f"  {s.t - t0:8.3f} s  {s.action:5} {s.node:10} ({s.release})  MASTER {masters}  "
                       f"[{s.verdict}]" + (f"  {s.problem.splitlines()[0]}" if s.problem else ""))
        for vip, a in self.availability.items():
            outs = a.outages()
            out.append(f"  VIP {vip}: {len(a.probes)} probes every {a.period * 1000:.0f} ms, downtime "
                       f"{a.downtime:.3f} s in {len(outs)} outage(s)"
                       + "".join(f"; {o.start - t0:.3f}-{'' if o.end is None else f'{o.end - t0:.3f}'} s "
                                 f"({o.before or '?'} -> {o.after or 'none'})" for o in outs))
        bad = {n: v for n, v in self.versions.items() if v != self.to_version}
        out.append(f"  every node runs keepalived {self.to_version}" if not bad else
                   f"  nodes not on {self.to_version}: {bad}")
        out.append(f"verdict: {self.verdict}, total VIP downtime {self.downtime:.3f} s")
        return out


def upgrade_order(lab) -> list[str]:
    """Keepalived nodes in the order a rolling upgrade takes them: those MASTER of no instance first, then the
    MASTERs (each group by name), so that the VIPs move as few times as the rules allow."""
    masters = {m for i in lab.topology.instance_names() for m in lab.history.masters(i)}
    nodes = sorted(n.name for n in lab.keepalived_nodes())
    return [n for n in nodes if n not in masters] + [n for n in nodes if n in masters]


def _judge(lab) -> tuple[str, str]:
    lab.check.settle()
    try:
        rep = lab.check.assert_matches_model(settle=False)
        return rep.verdict.value, ""
    except AssertionError as e:
        text = str(e)
        return ("violated" if "verdict: violated" in text else "cannot judge"), text


def rehearse(lab, to: str, *, say: Callable[[str], None] = lambda m: None, period: float = 0.05,
             order: Optional[list[str]] = None) -> UpgradeResult:
    """Upgrade every keepalived node of the started ``lab`` to release ``to``, one at a time (module docstring).

    Args:
        to: a keepalived version or Debian suite (lab.releases).
        period: the client's probe period, s (the downtime's resolution).
        order: the nodes to upgrade, in order (default :func:`upgrade_order`).
    Returns:
        UpgradeResult; its ``verdict`` is "holds" only if every step held and every node runs ``to``.
    Raises:
        LabError: the lab has no client node (the downtime is measured from one), or an unknown release.
    """
    from .runtime.prober import Prober
    target = release(to)
    if not lab.topology.client_nodes():
        raise LabError(f"topology {lab.topology.name} has no client node: the rehearsal measures the VIP downtime "
                       f"from one; add `client: {{kind: client, interfaces: {{eth0: {{network: ...}}}}}}`")
    instances = lab.topology.instance_names()
    start_versions = sorted({r.version for n, r in lab.releases.items() if n in lab.topology.keepalived_nodes()})
    result = UpgradeResult(", ".join(start_versions), target.version)
    for i in instances:
        lab.wait_for_master(i)
    vips = [str(lab.vip(i)) for i in instances]
    prober = Prober(lab.client.node, vips, period=period, to_host=lab._engine_clock().to_host_mono).start()
    try:
        for name in order or upgrade_order(lab):
            was = lab.releases[name].version
            say(f"{name}: stop (keepalived {was})")
            t = lab.node(name).stop()
            verdict, problem = _judge(lab)
            result.steps.append(Step(name, "stop", was, t, {i: lab.history.masters(i) for i in instances},
                                     verdict, problem))
            say(f"{name}: start on keepalived {target.version}")
            _, t = lab.replace_node(name, target.version)
            verdict, problem = _judge(lab)
            result.steps.append(Step(name, "start", target.version, t, {i: lab.history.masters(i) for i in instances},
                                     verdict, problem))
    finally:
        result.availability = prober.stop()
    for n in lab.keepalived_nodes():
        result.versions[n.name] = n.running_version()
    return result
