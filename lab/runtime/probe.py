"""Capability probe: what the host kernel and the engine let a lab node do.

The node image's ``kalab-probe`` (images/node/kalab-probe.sh) tries each capability for real
inside a lab node (with the lab's capabilities: NET_ADMIN, NET_RAW, NET_BROADCAST) and undoes
it: an iptables rule in a scratch chain (``iptables``), the ``statistic`` match (random loss),
an NFQUEUE rule plus binding a queue with NetfilterQueue (``nfqueue``, delay where netem is
missing), an nft table (``nftables``, needed by ``vrrp_strict``), a netem qdisc on ``lo``
(``netem``), ``/proc/net/ip_vs`` (``ip_vs``, LVS virtual servers), a raw IP socket for protocol
112 (``raw_sockets``, rogue adverts). Containers share the host kernel, so the answer holds for
every lab on that engine; it is cached per engine and image for the process.

    caps = lab.capabilities             # probe_lab(client, image, nodes): once, lazily, in a running node
    caps.require("netem")               # raises Unsupported("kernel has no sch_netem: ...")
    skip_unless(caps, "ip_vs")          # in a test: pytest.skip with that one sentence
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Optional

from ..errors import LabError

if TYPE_CHECKING:  # pragma: no cover
    import docker

    from ..runtime.node import Node

NAMES = ("iptables", "statistic", "nfqueue", "nftables", "netem", "ip_vs", "raw_sockets")

#: One sentence per missing capability: what is missing and which faults or features that costs.
REASONS = {
    "iptables": "iptables cannot add rules in a lab container: VRRP drop, one-way loss and partition faults unavailable",
    "statistic": "kernel has no iptables statistic match: random loss faults unavailable",
    "nfqueue": "kernel has no nfnetlink_queue (NFQUEUE): delay faults without netem unavailable",
    "nftables": "nftables is unusable in a lab container: vrrp_strict configurations cannot run",
    "netem": "kernel has no sch_netem: netem delay faults unavailable",
    "ip_vs": "kernel has no ip_vs: LVS virtual_server tests unavailable",
    "raw_sockets": "raw IP sockets are refused in lab containers: rogue advert faults unavailable",
}


class Unsupported(LabError):
    """A capability the request needs is missing on this host; the message is one sentence."""


@dataclass(frozen=True)
class Capabilities:
    """Probe results: ``available`` maps each name of :data:`NAMES` to True/False."""

    available: dict[str, bool] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        if name not in NAMES:
            raise KeyError(f"no capability {name!r}; known: {', '.join(NAMES)}")
        return bool(self.available.get(name))

    def reason(self, name: str) -> str:
        """The one-sentence reason ``name`` is unavailable ('' when it is available)."""
        return "" if self.has(name) else REASONS[name]

    def require(self, *names: str) -> None:
        """Raise :class:`Unsupported` with the first missing capability's reason."""
        for n in names:
            if not self.has(n):
                raise Unsupported(REASONS[n])

    def missing(self) -> list[str]:
        return [n for n in NAMES if not self.has(n)]

    def summary(self) -> str:
        return ", ".join(f"{n} {'yes' if self.has(n) else 'no'}" for n in NAMES)


def parse(output: str) -> Capabilities:
    """Parse ``kalab-probe`` output (``NAME 1|0`` lines). Unknown lines are ignored."""
    got = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in NAMES and parts[1] in ("0", "1"):
            got[parts[0]] = parts[1] == "1"
    return Capabilities({n: got.get(n, False) for n in NAMES})


_CACHE: dict[tuple[str, str], Capabilities] = {}


def _key(client, image: Optional[str]) -> tuple[str, str]:
    try:
        base = client.api.base_url
    except AttributeError:
        base = "?"
    return (base, image or "?")


def probe_node(node: "Node") -> Capabilities:
    """Run the probe in a running lab node. Raises LabError if the node cannot run it."""
    r = node.exec(["kalab-probe"], idempotent=True)
    if not r.ok:
        raise LabError(f"capability probe failed in node {node.name}: {r.output.strip()[-300:]}")
    return parse(r.output)


def probe_engine(client: "docker.DockerClient", image: str) -> Capabilities:
    """Probe in a throwaway container of ``image`` (with the lab's capabilities), cached per engine+image.

    For deciding to skip before starting a lab. The container carries the ``io.kalab.probe``
    label and is removed when done.
    """
    from .node import CAPS

    key = _key(client, image)
    if key in _CACHE:
        return _CACHE[key]
    out = client.containers.run(image, entrypoint=["kalab-probe"], cap_add=CAPS, remove=True,
                                network_mode="none", labels={"io.kalab.probe": "1"})
    caps = parse(out.decode(errors="replace"))
    _CACHE[key] = caps
    return caps


def probe_lab(client: Optional["docker.DockerClient"], image: Optional[str], nodes: Iterable["Node"]) -> Capabilities:
    """A lab's capabilities, cached per engine+image: probed in the first running node of ``nodes``,
    else (no node running) in a throwaway container (:func:`probe_engine`).

    Args:
        client: the lab's engine (None before the lab started); image: the lab's node image tag
        (None before it started); nodes: the lab's nodes (their status is asked only on a cache miss).
    Raises:
        LabError: no node is running and ``client`` or ``image`` is None (the lab is not started),
            or the probe cannot run in the node.
    """
    key = _key(client, image)
    if key in _CACHE:
        return _CACHE[key]
    node = next((n for n in nodes if n.status() == "running"), None)
    if node is None:
        if client is None or image is None:
            raise LabError("the lab is not started; capabilities are probed in a running node")
        return probe_engine(client, image)
    caps = probe_node(node)
    _CACHE[key] = caps
    return caps


def skip_unless(caps: Capabilities, *names: str) -> None:
    """In a pytest test: skip with the one-sentence reason if any of ``names`` is missing."""
    import pytest

    for n in names:
        if not caps.has(n):
            pytest.skip(REASONS[n])
