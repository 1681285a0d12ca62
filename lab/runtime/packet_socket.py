"""A packet socket that receives VRRP and nothing else, stamps each frame in the kernel and counts what the
kernel dropped. Standard library only (Linux, root): the host capture (:mod:`lab.runtime.capture`) reads
the lab bridge through it.

Why not scapy's sniffer: without libpcap on the host, scapy filters in Python, so every frame on the bridge
(nginx traffic too) crosses the interpreter; a frame the kernel drops because the socket's buffer was full
is never reported; and an exception in a socket read or in the callback closes the socket with a warning
only, so the capture ends silently (lab CI: 1 of 3 adverts recorded, then none). Here the kernel keeps
everything but VRRP out (:data:`VRRP_FILTER`: IPv4 protocol 112, VRRPv2 and VRRPv3, and IPv6 next header
112, VRRPv3 over IPv6, RFC 5798), the kernel's receive time rides along with each frame
(``SO_TIMESTAMPNS``), drops are read from ``PACKET_STATISTICS``, and errors are raised to the caller.

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

#: The classic BPF program the socket runs on each frame (from the Ethernet header; ``(code, jt, jf, k)``, a jump
#: counts instructions from the next one): accept IPv4 protocol 112 and IPv6 next header 112, drop the rest.
#: It is ``tcpdump -d 'ip proto 112 or ip6 proto 112'`` on an Ethernet link with two changes:
#:
#: * a test of the packet type comes first: frames this host sends (``PACKET_OUTGOING``, loaded from the
#:   ancillary offset SKF_AD_OFF + SKF_AD_PKTTYPE = 0xFFFFF004) never queue and never count as drops;
#: * the IPv6 half reads the next header of the fixed IPv6 header only (frame byte 14 + 6 = 20): no extension
#:   header is walked. libpcap's ``ip6 proto 112`` also takes 112 behind one fragment header (byte 20 = 44,
#:   byte 54 = 112); this program does not. None is needed: a VRRPv3 advert's IPv6 header itself carries next
#:   header 112 (RFC 5798 §5.1.2), so an advert carries no extension header, and the decoder
#:   (:func:`lab.runtime.vrrp_decode.decode_vrrp`) takes nothing else either.
#:
#: ==  ==================  =================================================================
#:  0  ld pkttype          A = the frame's packet type
#:  1  jeq #4, 8, 0        PACKET_OUTGOING: to 10 (drop); else on to 2
#:  2  ldh [12]            A = the EtherType
#:  3  jeq #0x0800, 0, 2   IPv4: on to 4; else to 6
#:  4  ldb [23]            A = the IPv4 protocol (frame byte 14 + 9)
#:  5  jeq #112, 3, 4      112: to 9 (accept); else to 10 (drop)
#:  6  jeq #0x86dd, 0, 3   IPv6 (A still holds the EtherType): on to 7; else to 10 (drop)
#:  7  ldb [20]            A = the IPv6 next header (frame byte 14 + 6)
#:  8  jeq #112, 0, 1      112: on to 9 (accept); else to 10 (drop)
#:  9  ret #0x40000        accept the frame (up to 262144 bytes: tcpdump's snap length)
#: 10  ret #0              drop it
#: ==  ==================  =================================================================
VRRP_FILTER: tuple[tuple[int, int, int, int], ...] = (
    (0x20, 0, 0, 0xFFFFF004),       # 0  ld pkttype
    (0x15, 8, 0, PACKET_OUTGOING),  # 1  jeq #4
    (0x28, 0, 0, 12),               # 2  ldh [12]
    (0x15, 0, 2, 0x0800),           # 3  jeq #0x800
    (0x30, 0, 0, 23),               # 4  ldb [23]
    (0x15, 3, 4, 112),              # 5  jeq #112
    (0x15, 0, 3, 0x86DD),           # 6  jeq #0x86dd
    (0x30, 0, 0, 20),               # 7  ldb [20]
    (0x15, 0, 1, 112),              # 8  jeq #112
    (0x06, 0, 0, 0x40000),          # 9  ret #262144
    (0x06, 0, 0, 0),                # 10 ret #0
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
