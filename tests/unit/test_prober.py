"""The client prober's program (lab.runtime.prober), run here on loopback against a local HTTP server.

No Docker: the program is plain Python that the lab runs in a client container; here it asks 127.0.0.1 on a
free port. What it must get right: a slow answer is an answer (CI-17: a 2 core machine under load answered
in more than the 50 ms probe period and the rehearsal saw an outage while a held the VIP throughout), and a
request that is never answered does not stop the probes that follow it (the period stays the resolution).
"""
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.availability import SLOW_ANSWER, parse_probe_log
from lab.runtime.prober import TIMEOUT, program_args


class _Server(ThreadingHTTPServer):
    # handler threads are joined by server_close(): one still answering a prober the test killed would
    # otherwise outlive the test and print its BrokenPipe traceback while the worker runs the next test
    # (Python 3.11 parses source with ast to print a traceback; two threads doing that at once raised
    # "SystemError: AST constructor recursion depth mismatch" in test_scenario_collect's in-process pytest)
    daemon_threads = False
    block_on_close = True
    delay = 0.0
    name = "a"

    def handle_error(self, request, client_address):
        import sys
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)     # a prober killed mid-answer is expected


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        time.sleep(self.server.delay)
        body = f"{self.server.name}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _lines(text):
    """The probe lines of a prober log written so far (a last line still being written is left out)."""
    return [x for x in text.splitlines(keepends=True) if x.endswith("\n") and x.strip() and not x.startswith("#")]


def _run(log, period, port, vips, until):
    """Run the prober program on this host for as long as ``until()`` is false (polled on the log), then stop."""
    proc = subprocess.Popen([sys.executable, "-c", *program_args(period, vips, port=port, log=str(log))])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = log.read_text() if log.exists() else ""
            if until(text):
                break
            time.sleep(0.02)
        else:
            pytest.fail(f"the prober's log never got there:\n{text}")
    finally:
        proc.kill()
        proc.wait()
    return parse_probe_log(log.read_text())


def test_the_timeout_is_below_tcps_first_syn_retransmission():
    # RFC 6298 §2.1: the initial RTO is 1 s. A probe whose SYN was lost (the VIP was nowhere) cannot be
    # answered before that retransmission, so an answer inside TIMEOUT came from the first SYN.
    assert SLOW_ANSWER < TIMEOUT < 1.0


def test_an_answer_slower_than_the_period_is_an_answer_not_an_outage(server, tmp_path):
    server.delay = 0.1  # two probe periods, inside SLOW_ANSWER (lab.availability) and TIMEOUT
    port = server.server_address[1]
    got = _run(tmp_path / "log", 0.05, port, ["127.0.0.1"],
               until=lambda t: sum(1 for x in _lines(t) if x.split()[2] == "a") >= 10)
    avail = got["127.0.0.1"]
    answered = [p for p in avail.probes if p.who]
    assert len(answered) >= 10 and all(p.who == "a" for p in answered)
    assert avail.outages() == [], avail.outages()
    assert all(p.latency >= 0.1 for p in answered), [p.latency for p in answered]


def test_an_unanswered_probe_does_not_hold_up_the_next_ones(server, tmp_path):
    # a server that accepts and never answers in time: every probe times out, yet they go out every period
    server.delay = 3.0
    port = server.server_address[1]
    got = _run(tmp_path / "log", 0.05, port, ["127.0.0.1"],
               until=lambda t: len(_lines(t)) >= 8)
    probes = sorted(got["127.0.0.1"].probes, key=lambda p: p.t)
    assert all(p.who == "" for p in probes)
    # sent on the period's grid, not one per TIMEOUT: 8 probes written within about TIMEOUT + 8 periods
    gaps = [b.t - a.t for a, b in zip(probes, probes[1:])]
    assert max(gaps) < TIMEOUT / 2, gaps


def test_a_refused_connection_is_no_answer(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: the connection is refused at once
    got = _run(tmp_path / "log", 0.05, port, ["127.0.0.1"],
               until=lambda t: len(_lines(t)) >= 3)
    assert all(p.who == "" for p in got["127.0.0.1"].probes)
    (o,) = got["127.0.0.1"].outages()
    assert o.end is None
