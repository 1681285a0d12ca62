"""VRRP advert capture on the lab networks (scapy), recorded as ``advert`` events.

Two paths, chosen per lab network by :func:`start_capture`:

* ``host``: a packet socket on the host side of the lab bridge (``br-<network id[:12]>``) with the
  kernel filter ``ip proto 112 or ip6 proto 112``, kernel timestamps and counted drops
  (:mod:`lab.runtime.packet_socket`). Needs root and a local engine (the bridge must be one of this
  host's interfaces).
* ``container``: ``tcpdump -U -w - 'ip proto 112 or ip6 proto 112'`` inside a lab container (the first
  of the nodes on that network the caller lists: the lab lists a client first, as it runs no keepalived),
  the pcap stream read through ``docker exec`` and decoded with scapy. Works with a remote engine
  (``DOCKER_HOST``).

The capture is given what it needs (a history, the network, nodes on it), never the lab.

Each advert, IPv4 (VRRPv2, VRRPv3) or IPv6 (VRRPv3, RFC 5798), becomes ``history.append("advert",
t=..., src, dst, ttl, vrid, priority, advert_int, version, auth, addresses, family, checksum_ok, network,
path)`` (:func:`lab.runtime.vrrp_decode.decode_vrrp`): ``family`` 4 or 6; an IPv6 advert's ``src`` is the
sender's link-local address, its ``addresses`` IPv6 strings and its ``ttl`` the hop limit. ``advert_int``
is in seconds (VRRPv2 carries whole seconds, VRRPv3 centiseconds: RFC 3768 §5.3.7, RFC 5798 §5.2.7);
``auth`` is None or ``{"type": "PASS"|"AH"|int, "pass": str}`` (RFC 2338 §5.3.6 / keepalived's PASS, 8
characters).
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

#: the container path's tcpdump filter (quoted for sh): VRRP over IPv4 and over IPv6. libpcap's ``ip6 proto``
#: reads the IPv6 header's next header (and one fragment header's); the decoder takes the first only
#: (RFC 5798 §5.1.2), like the host path's kernel filter (lab.runtime.packet_socket.VRRP_FILTER)
TCPDUMP_FILTER = "'ip proto 112 or ip6 proto 112'"


def host_path_possible() -> bool:
    """Whether the host path can capture here (root and a local engine): it needs no lab node."""
    from .network import engine_is_local
    return os.geteuid() == 0 and engine_is_local()


def _as_ether(pkt):
    """Re-dissect a frame scapy could not type (a bridge without libpcap reports an odd link type)."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    if IP in pkt or IPv6 in pkt:
        return pkt
    try:
        e = Ether(bytes(pkt))
        e.time = pkt.time
        return e
    except Exception:
        return pkt


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
        self._psock = None
        self._wake_r = self._wake_w = -1
        self._drained = threading.Condition()
        #: host monotonic s before which every frame the kernel received is recorded (host path)
        self.drained_at = float("-inf")
        self._thread: Optional[threading.Thread] = None
        self._exec_id: Optional[str] = None
        self._node = None
        self._stopped = threading.Event()
        from .clock import WallToMono
        #: kernel / tcpdump wall-clock stamps onto the history's clock, read again on every drain
        self._clock = WallToMono()
        #: host monotonic s from which every advert on the network is recorded (None until it captures)
        self.started_at: Optional[float] = None

    def _record(self, pkt, t: Optional[float] = None) -> None:
        """Record one captured frame (the kernel or tcpdump passed it as IP protocol 112) as an ``advert``;
        one the decoder cannot read is a hole (``capture`` ``lost`` from its time), never dropped silently."""
        pkt = _as_ether(pkt)
        if t is None:
            t = self._clock.to_mono(float(pkt.time))
        d = decode_vrrp(pkt)
        if d is None:
            head = bytes(pkt)[:64].hex()
            self._lost(t, f"a frame of IP protocol 112 could not be decoded as a VRRP advert (first bytes {head})")
            return
        self.count += 1
        self.history.append("advert", t=t, network=self.network, path=self.path, **d)

    # ---------------------------------------------------------------- host path
    def start_host(self, iface: str, rcvbuf: Optional[int] = None) -> "Capture":
        """Read VRRP frames on host interface ``iface`` (:class:`lab.runtime.packet_socket.PacketSocket`:
        filtered and stamped by the kernel, drops counted). Raises OSError when it cannot open it.

        What the capture could not record is an event, never a silence: ``capture`` ``lost`` with
        ``since`` (host s) and the reason when the kernel dropped frames or a frame could not be recorded,
        ``capture`` ``stopped`` with the reason when the socket failed (lab.crosscheck and the checks do not
        judge adverts across either). ``rcvbuf``: the socket's receive buffer in bytes (default
        :data:`lab.runtime.packet_socket.RCVBUF`)."""
        from .packet_socket import RCVBUF, PacketSocket

        self.path, self.where = "host", iface
        self._psock = PacketSocket(iface, rcvbuf or RCVBUF)
        self.started_at = self.drained_at = time.monotonic()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._read_host, name=f"kalab-capture-{self.network}", daemon=True)
        self._thread.start()
        return self

    def _lost(self, since: float, reason: str, **extra) -> None:
        self.history.append("capture", network=self.network, action="lost", since=since, reason=reason, **extra)

    def _read_host(self) -> None:
        import select

        from scapy.layers.l2 import Ether
        sock, last = self._psock, self.started_at
        # poll, not select: a busy test process holds more than FD_SETSIZE (1024) descriptors, and select()
        # then refuses the socket (CI: "filedescriptor out of range in select()")
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        try:
            while not self._stopped.is_set():
                poller.poll(200)
                step = self._clock.resample()
                t_check = time.monotonic()
                try:
                    frames = sock.drain()
                    dropped = sock.drops()
                except OSError as e:
                    if not self._stopped.is_set():
                        self.history.append("capture", network=self.network, action="stopped", since=last,
                                            reason=f"the packet socket on {self.where} failed: {e}")
                    return
                after = self._clock.resample()
                if step is not None or after is not None:
                    # frames stamped before the step and read after it are misdated by the step: a hole
                    self._lost(last, f"this host's wall clock was stepped by {(step or 0) + (after or 0):+.3f} s: "
                                     "adverts received around then may be misdated by that much")
                for wall, data in frames:
                    try:
                        pkt = Ether(data)
                        if wall is not None:
                            pkt.time = wall
                        self._record(pkt)
                    except Exception as e:      # a frame that cannot be recorded is a hole in the record
                        self._lost(last, f"an advert could not be recorded: {type(e).__name__}: {e}")
                if dropped:
                    self._lost(last, f"the kernel dropped {dropped} VRRP frame(s) on {self.where} "
                                     "(the capture's receive buffer was full)", dropped=dropped)
                last = t_check
                with self._drained:
                    self.drained_at = t_check
                    self._drained.notify_all()
        finally:
            sock.close()

    def flush(self, t: float, timeout: float = 5.0) -> bool:
        """Wait until every frame the kernel received before host time ``t`` (s) is in the history.
        Returns False if it is not after ``timeout`` s (the capture is stopped or stalled), or if this
        capture cannot tell (the container path)."""
        if self.path != "host" or self._thread is None:
            return False
        deadline = time.monotonic() + timeout
        with self._drained:
            while self.drained_at < t and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._drained.wait(min(left, 0.25))
            return self.drained_at >= t

    # ---------------------------------------------------------------- container path
    def start_container(self, node: "Node", iface: str, wall_offset: float = 0.0) -> "Capture":
        """Stream ``tcpdump -U -w -`` from ``node`` (a running lab Node) on ``iface`` and decode it.
        ``wall_offset``: the engine host's wall clock minus this host's (s; lab.runtime.clock, 0 when local):
        tcpdump stamps each packet with the engine host's clock, moved here by it."""
        self.path, self.where, self._node = "container", f"{node.name}:{iface}", node
        from .exec_io import STDOUT, start
        self._exec_id, stream = start(node.container.client.api, node.container.id,
                                      ["sh", "-c", f"exec tcpdump -U -n -s 0 -i {iface} -w - {TCPDUMP_FILTER} "
                                                   "2>/dev/null"])
        ready = threading.Event()

        def run():
            from scapy.utils import PcapReader
            why = f"tcpdump in {self.where} ended"
            last_read = time.monotonic()
            try:
                reader = PcapReader(io.BufferedReader(_StreamReader(stream.chunks((STDOUT,)))))
                ready.set()
                for pkt in reader:
                    if self._stopped.is_set():
                        break
                    if self._clock.resample() is not None:
                        self._lost(last_read, "this host's wall clock was stepped: adverts tcpdump stamped around "
                                              "then may be misdated by the step")
                    last_read = time.monotonic()
                    self._record(pkt, self._clock.to_mono(float(pkt.time) - wall_offset))
            except Exception as e:
                why = f"the capture in {self.where} failed: {type(e).__name__}: {e}"
            finally:
                if not self._stopped.is_set() and self.started_at is not None:
                    # the node stopped, or the stream broke: from here on adverts are not recorded
                    self.history.append("capture", network=self.network, action="stopped",
                                        since=time.monotonic(), reason=why)
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
        if self._psock is not None:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
            if self._thread is not None:
                self._thread.join(5)
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._psock = None
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
