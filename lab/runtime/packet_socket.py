"""A packet socket that receives VRRP and nothing else, stamps each frame in the kernel and counts what the
kernel dropped. Standard library only (Linux, root): the host capture (:mod:`lab.runtime.capture`) reads
the lab bridge through it.

Why not scapy's sniffer: without libpcap on the host, scapy filters in Python, so every frame on the bridge
(nginx traffic too) crosses the interpreter; a frame the kernel drops because the socket's buffer was full
is never reported; and an exception in a socket read or in the callback closes the socket with a warning
only, so the capture ends silently (lab CI: 1 of 3 adverts recorded, then none). Here the kernel keeps
everything but ``ip proto 112`` out (the classic BPF program ``tcpdump -d 'ip proto 112'`` prints), the
kernel's receive time rides along with each frame (``SO_TIMESTAMPNS``), drops are read from
``PACKET_STATISTICS``, and errors are raised to the caller.

Linux ABI numbers: ``include/uapi/asm-generic/socket.h`` (SO_ATTACH_FILTER 26, SO_TIMESTAMPNS_OLD 35),
``include/linux/socket.h`` (SOL_PACKET 263), ``include/uapi/linux/if_packet.h`` (PACKET_STATISTICS 6,
``struct tpacket_stats {unsigned int tp_packets, tp_drops}``), ``include/uapi/linux/filter.h``
(``struct sock_filter {u16 code; u8 jt, jf; u32 k}``, ``struct sock_fprog {unsigned short len; filter *}``).
"""
from __future__ import annotations

import ctypes
import errno
import socket
import struct
from typing import Optional

SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SOL_PACKET = 263
PACKET_STATISTICS = 6
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

#: ``tcpdump -d 'ip proto 112'`` on an Ethernet link, after a test of the packet type: frames this host
#: sends (``PACKET_OUTGOING``, loaded from the ancillary offset SKF_AD_OFF + SKF_AD_PKTTYPE) never queue
#: and never count as drops. ld pkttype; jeq #4 -> ret 0; ldh [12]; jeq #0x800; ldb [23]; jeq #112; ret all
VRRP_FILTER: tuple[tuple[int, int, int, int], ...] = (
    (0x20, 0, 0, 0xFFFFF004),
    (0x15, 5, 0, PACKET_OUTGOING),
    (0x28, 0, 0, 12),
    (0x15, 0, 3, 0x0800),
    (0x30, 0, 0, 23),
    (0x15, 0, 1, 112),
    (0x06, 0, 0, 0x40000),
    (0x06, 0, 0, 0),
)

#: receive buffer asked for (bytes): the kernel caps it at net.core.rmem_max unless root forces it
RCVBUF = 4 << 20
SO_RCVBUFFORCE = 33
_TIMESPEC = struct.Struct("@qq")
_STATS = struct.Struct("@II")


def _attach(sock: socket.socket, program=VRRP_FILTER) -> None:
    code = b"".join(struct.pack("@HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HL", len(program), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class PacketSocket:
    """The VRRP frames received on interface ``iface``, from the moment of construction.

    Args: ``iface`` an interface name of this host (a lab bridge ``br-...``, or ``lo`` in tests);
    ``rcvbuf`` the receive buffer to ask for (bytes).
    Raises: ``OSError`` (EPERM without root, ENODEV for an unknown interface).

    The socket is opened with protocol 0 (it receives nothing), the filter attached, then bound to the
    interface with ETH_P_ALL: no frame of another interface or protocol is ever queued.
    """

    def __init__(self, iface: str, rcvbuf: int = RCVBUF):
        self.iface = iface
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            _attach(self._sock)
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            except OSError:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self._sock.bind((iface, ETH_P_ALL))
            self._sock.setblocking(False)
            self.drops()                    # start the statistics from the bind
        except BaseException:
            self._sock.close()
            raise

    def fileno(self) -> int:
        return self._sock.fileno()

    def drain(self, limit: int = 10000) -> list[tuple[Optional[float], bytes]]:
        """Every frame queued now (at most ``limit``), oldest first: ``[(kernel receive time, wall clock s
        or None if the kernel gave none, frame bytes from the Ethernet header)]``. Frames this host sent
        itself are left out. Never blocks.

        Raises: ``OSError`` other than EAGAIN/EINTR (the interface is gone: ENETDOWN, ENXIO)."""
        out: list[tuple[Optional[float], bytes]] = []
        while len(out) < limit:
            try:
                data, anc, _flags, addr = self._sock.recvmsg(65536, socket.CMSG_SPACE(_TIMESPEC.size))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EINTR):
                    break
                raise
            if len(addr) > 2 and addr[2] == PACKET_OUTGOING:
                continue
            t = None
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
                    sec, nsec = _TIMESPEC.unpack_from(value)
                    t = sec + nsec / 1e9
            out.append((t, data))
        return out

    def drops(self) -> int:
        """Frames that passed the filter but were dropped (receive buffer full) since the last call."""
        raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
        return _STATS.unpack(raw)[1]

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
