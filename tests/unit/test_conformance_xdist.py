"""The conformance table under pytest-xdist (issue 17): every worker's claims reach one table.

Before: each worker wrote --conformance-out with only its own share, the last writer won (the README's
table fell from 44 rows to 3). Now outcomes travel in the reports to the controller. A small suite of
claim tests (no Docker) is run serially and with two workers; the tables must be the same."""
import subprocess
import sys
import textwrap
from pathlib import Path

SUITE = textwrap.dedent('''
    import pytest

    @pytest.mark.claim("c1", "one holds", source="seed")
    def test_one():
        assert True

    @pytest.mark.claim("c2", "two differs")
    @pytest.mark.xfail(strict=True, reason="docs say X, daemon does Y")
    def test_two():
        assert False

    @pytest.mark.claim("c3", "three is untestable here")
    def test_three():
        pytest.skip("no ip_vs")

    @pytest.mark.parametrize("i", range(6))
    @pytest.mark.claim("c4", "four holds for all six")
    def test_four(i):
        assert i >= 0
''')


def run(tmp_path: Path, name: str, *extra: str) -> str:
    out = tmp_path / f"{name}.md"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "lab.conformance_plugin",
                        "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path / "test_claims.py"),
                        f"--conformance-out={out}", *extra], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return out.read_text()


def test_the_table_with_workers_is_the_serial_table(tmp_path):
    (tmp_path / "test_claims.py").write_text(SUITE)
    serial = run(tmp_path, "serial")
    assert "1 differs, 2 holds, 1 not testable here" in serial
    assert "`test_four[0]`<br>`test_four[1]`<br>`test_four[2]`<br>`test_four[3]`<br>`test_four[4]`<br>`test_four[5]`" in serial
    assert run(tmp_path, "xdist", "-n", "2") == serial
