"""stdout carries a command's output, stderr its errors (issue 18: scripts drive the CLI).

A newcomer ran `kalab render bad.yaml a > a.conf` and got the error message in a.conf."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kalab(*args):
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_an_error_goes_to_stderr_only(tmp_path):
    # a long path (xdist's temporary folders are): the message is not wrapped, so the path stays one piece
    d = tmp_path / ("deep-" * 20)
    d.mkdir()
    bad = d / "bad.yaml"
    bad.write_text("name: bad\nnetworks:\n  lan: {}\nnodes:\n  a:\n    interfaces: {eth0: {network: lan}}\n"
                   "    advert_intt: 1\n")
    r = kalab("render", str(bad), "a")
    assert r.returncode == 1
    assert r.stdout == "", f"stdout must stay clean for redirection: {r.stdout!r}"
    assert "error:" in r.stderr and f"{bad}:7" in r.stderr


def test_output_goes_to_stdout_only():
    r = kalab("render", str(ROOT / "topologies" / "two_node.yaml"), "a")
    assert r.returncode == 0 and "vrrp_instance VI_1" in r.stdout and "error" not in r.stderr
