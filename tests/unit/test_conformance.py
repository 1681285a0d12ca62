"""The conformance table is produced from test outcomes (here a real inner pytest run)."""
import textwrap

pytest_plugins = ["pytester"]


def test_table_from_a_run(pytester):
    pytester.makepyfile(textwrap.dedent('''
        import pytest

        @pytest.mark.claim("1.1", "one holds")
        def test_holds():
            assert 1 + 1 == 2

        @pytest.mark.claim("1.2", "two differs")
        @pytest.mark.xfail(strict=True, reason="seed says X; keepalived does Y")
        def test_differs():
            assert False

        @pytest.mark.claim("1.3", "three not testable")
        def test_skip():
            pytest.skip("kernel has no ip_vs")

        @pytest.mark.claim("1.4", "four fails")
        def test_fails():
            assert False
    '''))
    out = pytester.path / "conf.md"
    readme = pytester.path / "README.md"
    readme.write_text("x\n<!-- conformance:start -->\nold\n<!-- conformance:end -->\ny\n")
    r = pytester.runpytest("-p", "lab.conformance_plugin", f"--conformance-out={out}", f"--conformance-readme={readme}")
    r.assert_outcomes(passed=1, xfailed=1, skipped=1, failed=1)
    text = out.read_text()
    assert "| one holds | seed | **holds** |" in text
    assert "| two differs | seed | **differs** | seed says X; keepalived does Y |" in text
    assert "| three not testable | seed | **not testable here** | kernel has no ip_vs |" in text
    assert "**FAILING**" in text
    new = readme.read_text()
    assert "\nold\n" not in new and "**differs**" in new and new.startswith("x\n") and new.endswith("y\n")
