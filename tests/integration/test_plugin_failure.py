"""A failing lab test, as a user's CI sees it: history and logs in the report and the JUnit XML,
--lab-keep-on-failure keeps the containers and says how to inspect them."""
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_failed_lab_test_keeps_lab_and_reports(tmp_path, lab_docker):
    (tmp_path / "test_wrong.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.topology("two_node")
        def test_wrong_expectation(lab):
            assert lab.wait_for_master("VI_1").name == "b"     # deliberately wrong: a has priority 150
    '''))
    junit = tmp_path / "junit.xml"
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path / "test_wrong.py"),
                        f"--lab-topologies={ROOT / 'topologies'}", "--lab-keep-on-failure", f"--junitxml={junit}",
                        f"--lab-report={tmp_path / 'reports'}"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    kept = re.findall(r"lab (\w+) kept running", out)
    try:
        assert r.returncode == 1, out
        assert "a: VI_1 -> MASTER" in out, "the report shows the history"
        assert "Entering MASTER STATE" in out, "and the nodes' log tails"
        m = re.search(r"lab (\w+) kept running\. Inspect: `kalab status --lab \1`", out)
        assert m, out
        from lab.runtime import labels as L
        assert len(lab_docker.containers.list(filters={"label": f"{L.LAB}={m.group(1)}"})) == 3, "kept running"
        from lab.runtime.cleanup import reap_orphans
        assert m.group(1) not in reap_orphans(lab_docker), "a kept lab outlives its pytest run (keep marker)"
        props = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
        assert "a: VI_1 -> MASTER" in props.get("lab_history", "")
        assert "Entering MASTER STATE" in props.get("log_a", "")
        assert list((tmp_path / "reports").rglob("timeline.png"))
    finally:
        for lab_id in kept:
            subprocess.run([sys.executable, "-m", "lab.cli", "down", "--lab", lab_id], cwd=ROOT, capture_output=True)
