#!/usr/bin/python3
"""kalab-nfq-delay: hold packets of a netfilter queue for a fixed delay (+ jitter), then accept.

The lab's delay fault where the kernel has no sch_netem: an iptables rule sends the chosen
packets (e.g. ``-p vrrp``) to ``NFQUEUE --queue-num N --queue-bypass``; this helper binds
queue N with the NetfilterQueue binding and gives each packet its verdict (accept) ``delay``
seconds after it arrived, plus a uniform random variation in [-jitter, +jitter] (netem's
default jitter distribution), never less than zero.

    kalab-nfq-delay --queue 17 --delay 0.2 --jitter 0.05 --pidfile /run/kalab/faults/x.pid --daemon

--daemon: fork, bind the queue in the child, and exit 0 only once the child is bound (so the
caller's iptables rule never queues packets to nobody). SIGTERM: accept every held packet at
once, unbind, remove the pid file, exit 0.
"""
import argparse
import heapq
import itertools
import os
import random
import select
import signal
import sys
import time


class Stop(Exception):
    pass


def serve(args, ready_fd=None):
    from netfilterqueue import NetfilterQueue

    held = []                      # heap of (due, seq, packet)
    seq = itertools.count()

    def on_packet(pkt):
        d = args.delay + (random.uniform(-args.jitter, args.jitter) if args.jitter else 0.0)
        heapq.heappush(held, (time.monotonic() + max(0.0, d), next(seq), pkt))

    def on_term(signum, frame):
        raise Stop()

    q = NetfilterQueue()
    q.bind(args.queue, on_packet, max_len=4096)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    if ready_fd is not None:
        os.write(ready_fd, b"ok")
        os.close(ready_fd)
    fd = q.get_fd()
    try:
        while True:
            now = time.monotonic()
            while held and held[0][0] <= now:
                heapq.heappop(held)[2].accept()
            timeout = (held[0][0] - now) if held else None
            r, _, _ = select.select([fd], [], [], timeout)
            if r:
                q.run(block=False)
    except Stop:
        pass
    finally:
        while held:
            heapq.heappop(held)[2].accept()
        q.unbind()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--queue", type=int, required=True, help="netfilter queue number (0..65535)")
    p.add_argument("--delay", type=float, required=True, help="seconds to hold each packet")
    p.add_argument("--jitter", type=float, default=0.0, help="seconds of uniform variation (+/-)")
    p.add_argument("--pidfile")
    p.add_argument("--daemon", action="store_true")
    args = p.parse_args()
    if not args.daemon:
        serve(args)
        return 0
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        try:
            serve(args, wfd)
        finally:
            os._exit(0)
    os.close(wfd)
    r, _, _ = select.select([rfd], [], [], 5.0)
    msg = os.read(rfd, 16) if r else b""
    if msg != b"ok":
        print(f"kalab-nfq-delay: queue {args.queue} could not be bound (is nfnetlink_queue available?)",
              file=sys.stderr)
        return 1
    print(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
