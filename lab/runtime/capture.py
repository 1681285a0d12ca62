"""VRRP advert capture on the lab networks (scapy), recorded as ``advert`` events.

Two paths, chosen per lab network by :func:`start_capture`:

* ``host``: scapy ``AsyncSniffer`` on the host side of the lab bridge (``br-<network id[:12]>``)
  with the BPF filter ``ip proto 112``. Needs root and a local engine (the bridge must be one
  of this host's interfaces).
* ``container``: ``tcpdump -U -w - ip proto 112`` inside a lab container (the first of the nodes
  on that network the caller lists: the lab lists a client first, as it runs no keepalived), the
  pcap stream read through ``docker exec`` and decoded with scapy. Works with a remote engine
  (``DOCKER_HOST``).

The capture is given what it needs (a history, the network, nodes on it), never the lab.

Each advert becomes ``history.append("advert", t=..., src, vrid, priority, advert_int,
version, auth, addresses, network, path)``; ``advert_int`` is in seconds (VRRPv2 carries whole
seconds, VRRPv3 centiseconds: RFC 3768 §5.3.7, RFC 5798 §5.2.7); ``auth`` is None or
``{"type": "PASS"|"AH"|int, "pass": str}`` (RFC 2338 §5.3.6 / keepalived's PASS, 8 characters).
Timestamps: the packet's capture time moved onto the host's monotonic clock (containers share
the host kernel's clock when the engine is local; a remote engine's offset is measured, lab.runtime.clock).
"""
from __future__ import annotations

import io
import os
import threading
import time
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from docker.models.networks import Network

    from ..history import History
    from .node import Node

from .vrrp_decode import AUTH_TYPES, decode_vrrp  # noqa: F401  (re-exported)


def engine_is_local() -> bool:
    """Whether the Docker engine runs on this host (no DOCKER_HOST, or a unix socket)."""
    host = os.environ.get("DOCKER_HOST", "")
    return not host or host.startswith("unix://")


def host_path_possible() -> bool:
    """Whether the host path can capture here (root and a local engine): it needs no lab node."""
    return os.geteuid() == 0 and engine_is_local()


def _as_ether(pkt):
    """Re-dissect a frame scapy could not type (a bridge without libpcap reports an odd link type)."""
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether

    if IP in pkt:
        return pkt
    try:
        e = Ether(bytes(pkt))
        e.time = pkt.time
        return e
    except Exception:
        return pkt


def _is_vrrp(pkt) -> bool:
    from scapy.layers.inet import IP
    pkt = _as_ether(pkt)
    return IP in pkt and pkt[IP].proto == 112


class _StreamReader(io.RawIOBase):
    """A file-like view of an exec's output chunks (lab.runtime.exec_io; for scapy's PcapReader)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._buf = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n], self._buf = self._buf[:n], self._buf[n:]
        return n


class Capture:
    """A running capture on one lab network. Stop it with :meth:`stop` (idempotent).

    Attributes:
        network: the topology's network name; path: "host" or "container"; where: the bridge
        interface or the container's node name and interface.
    """

    def __init__(self, history: "History", network: str):
        self.history, self.network = history, network
        self.path = ""
        self.where = ""
        self.count = 0
        self._sniffer = None
        self._thread: Optional[threading.Thread] = None
        self._exec_id: Optional[str] = None
        self._node = None
        self._stopped = threading.Event()
        self._wall_to_mono = time.time() - time.monotonic()
        #: host monotonic s from which every advert on the network is recorded (None until it captures)
        self.started_at: Optional[float] = None

    def _record(self, pkt, t: Optional[float] = None) -> None:
        pkt = _as_ether(pkt)
        d = decode_vrrp(pkt)
        if d is None:
            return
        if t is None:
            t = float(pkt.time) - self._wall_to_mono
        self.count += 1
        self.history.append("advert", t=t, network=self.network, path=self.path, **d)

    # ---------------------------------------------------------------- host path
    def start_host(self, iface: str) -> "Capture":
        """Sniff on host interface ``iface``. Raises OSError/RuntimeError when it cannot."""
        import logging

        from scapy.sendrecv import AsyncSniffer
        logging.getLogger("scapy.runtime").setLevel(logging.ERROR)   # "Unable to guess type" on a bridge

        self.path, self.where = "host", iface
        try:
            return self._sniff(AsyncSniffer, iface, dict(filter="ip proto 112"))
        except RuntimeError as e:
            if "filter" not in str(e).lower():
                raise
        # no libpcap/tcpdump on the host to compile the BPF filter: filter in Python instead
        self.where = f"{iface} (python filter)"
        return self._sniff(AsyncSniffer, iface, dict(lfilter=_is_vrrp))

    def _sniff(self, AsyncSniffer, iface: str, kw: dict) -> "Capture":
        started = threading.Event()
        self._sniffer = AsyncSniffer(iface=iface, store=False, prn=self._record, started_callback=started.set, **kw)
        self._sniffer.start()
        deadline = time.monotonic() + 10
        while not started.is_set() and time.monotonic() < deadline:
            # the sniffer thread dies at once on a bad filter; its error is on the sniffer
            if self._sniffer.thread is not None and not self._sniffer.thread.is_alive():
                break
            started.wait(0.05)
        if not started.is_set():
            err = getattr(self._sniffer, "exception", None)
            self._sniffer = None
            raise RuntimeError(f"capture on {iface} did not start: {err}")
        self.started_at = time.monotonic()
        return self

    # ---------------------------------------------------------------- container path
    def start_container(self, node: "Node", iface: str, wall_offset: float = 0.0) -> "Capture":
        """Stream ``tcpdump -U -w -`` from ``node`` (a running lab Node) on ``iface`` and decode it.
        ``wall_offset``: the engine host's wall clock minus this host's (s; lab.runtime.clock, 0 when local):
        tcpdump stamps each packet with the engine host's clock, moved here by it."""
        self.path, self.where, self._node = "container", f"{node.name}:{iface}", node
        from .exec_io import STDOUT, start
        self._exec_id, stream = start(node.container.client.api, node.container.id,
                                      ["sh", "-c", f"exec tcpdump -U -n -s 0 -i {iface} -w - 'ip proto 112' 2>/dev/null"])
        ready = threading.Event()

        def run():
            from scapy.utils import PcapReader
            try:
                reader = PcapReader(io.BufferedReader(_StreamReader(stream.chunks((STDOUT,)))))
                ready.set()
                for pkt in reader:
                    if self._stopped.is_set():
                        break
                    self._record(pkt, float(pkt.time) - wall_offset - self._wall_to_mono)
            except Exception:
                pass
            finally:
                ready.set()
                self.history.notify()

        self._thread = threading.Thread(target=run, name=f"kalab-capture-{self.network}", daemon=True)
        self._thread.start()
        # the pcap header arrives as soon as tcpdump has opened the interface
        if ready.wait(10):
            self.started_at = time.monotonic()
        return self

    def stop(self) -> None:
        """Stop capturing (the container path ends with its tcpdump or its container)."""
        self._stopped.set()
        if self._sniffer is not None:
            try:
                if getattr(self._sniffer, "running", False):
                    self._sniffer.stop(join=True)
            except Exception:
                pass
            self._sniffer = None
        if self._node is not None:
            try:
                self._node.exec(["sh", "-c", "pkill -x tcpdump || true"])
            except Exception:
                pass
            self._node = None


def start_capture(history: "History", network_name: str, docker_network: "Network",
                  nodes_on_it: Sequence[tuple["Node", str]], path: str = "auto",
                  wall_offset: float = 0.0) -> Capture:
    """Start capturing VRRP adverts on one lab network; stop it with :meth:`Capture.stop`.

    Args:
        history: where each advert is appended (``advert`` events).
        network_name: the topology's name of the network (recorded in each event).
        docker_network: the engine's network object (its id names the host bridge ``br-<id[:12]>``).
        nodes_on_it: (node, interface name) of running lab nodes attached to that network, in order
            of preference: the container path captures in the first (a lab puts clients first, as
            they run no keepalived).
        path: "host" (root + local engine), "container", or "auto" (host when possible, else container).
        wall_offset: the engine host's wall clock minus this host's (s), for the container path's stamps.
    Returns:
        The running :class:`Capture` (``path`` and ``where`` say which way it captures).
    Raises:
        RuntimeError: the requested path is impossible (says why), or ``nodes_on_it`` is empty
            when the container path is needed.
    """
    from .network import bridge_name

    cap = Capture(history, network_name)
    if path in ("auto", "host") and host_path_possible():
        iface = bridge_name(docker_network)
        try:
            return cap.start_host(iface)
        except Exception as e:
            if path == "host":
                raise RuntimeError(f"host capture on {iface} failed: {e}") from None
    elif path == "host":
        raise RuntimeError("host-side capture needs root and a local Docker engine; use path='container'")
    if not nodes_on_it:
        raise RuntimeError(f"no container on network {network_name!r} to capture from")
    node, itf = nodes_on_it[0]
    return cap.start_container(node, itf, wall_offset=wall_offset)
