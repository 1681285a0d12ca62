"""The run's summary under pytest-xdist (issue 17): the time accounting and the cross-check counts of
every worker reach the controller. Before, each worker kept its own share, the summary line was not
printed and --lab-timing held nothing."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_two_workers_report_every_lab_test(tmp_path, lab_docker):
    timing = tmp_path / "timing.json"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                        "tests/integration/test_two_node.py", f"--lab-timing={timing}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=900, env=dict(os.environ))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    n = len(re.findall(r"^def test_", (ROOT / "tests/integration/test_two_node.py").read_text(), re.M))
    assert re.search(rf"keepalived-lab time: {n} lab tests \({n} labs\)", out), out[-2000:]
    m = re.search(r"cross-checks: (\d+) labs .*?(\d+) figures compared, (\d+) mismatches", out)
    assert m and int(m.group(1)) == n and int(m.group(2)) >= 3 * n and m.group(3) == "0", out[-2000:]
    doc = json.loads(timing.read_text())
    assert len(doc["tests"]) == n and doc["protocol_waits"] > 0 and doc["crosscheck"]["labs"] == n
