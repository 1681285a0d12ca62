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


def test_a_verdict_per_release_and_differs_only_where_marked(pytester):
    """`--lab-keepalived` runs a claim's test per release; `differs(releases, reason=...)` makes it a strict xfail
    on those releases only (a pass there fails the run: XPASS strict), and the table has a column each."""
    pytester.makepyfile(textwrap.dedent('''
        import pytest
        from lab.conformance import expect_claim

        @pytest.mark.claim("1.1", "old releases differ")
        @pytest.mark.differs("2.1.5", reason="2.1.5 does Y")
        def test_varies(lab_keepalived):
            expect_claim(lab_keepalived != "2.1.5", "Y")

        @pytest.mark.claim("1.2", "holds everywhere")
        def test_holds(lab_keepalived):
            assert lab_keepalived in ("2.1.5", "2.3.4")

        @pytest.mark.claim("1.3", "marked but holds")
        @pytest.mark.differs("sid", reason="sid said to differ")
        def test_wrongly_marked(lab_keepalived):
            expect_claim(True, "never")
    '''))
    out = pytester.path / "conf.md"
    r = pytester.runpytest("-p", "lab.conformance_plugin", "--lab-keepalived=2.1.5,sid", f"--conformance-out={out}", "-v")
    r.assert_outcomes(passed=4, xfailed=1, failed=1)
    r.stdout.fnmatch_lines(["*test_varies?ka2.1.5? XFAIL*", "*test_varies?ka2.3.4? PASSED*",
                            "*test_wrongly_marked?ka2.3.4? FAILED*"])
    text = out.read_text()
    assert "| claim | source | keepalived 2.1.5 | keepalived 2.3.4 |" in text
    assert "| old releases differ | seed | **differs** | **holds** | 2.1.5 does Y | `test_varies` |" in text
    assert "| holds everywhere | seed | **holds** | **holds** |" in text
    assert "Where the releases differ:" in text and "- **old releases differ**: 2.1.5 differs, 2.3.4 holds." in text
    assert "keepalived 2.1.5: 1 differs, 2 holds; keepalived 2.3.4: 1 FAILING, 2 holds" in text


def test_differs_without_a_reason_or_with_an_unknown_release_stops_the_run(pytester):
    pytester.makepyfile(textwrap.dedent('''
        import pytest

        @pytest.mark.differs("2.1.5")
        def test_a():
            pass
    '''))
    r = pytester.runpytest("-p", "lab.conformance_plugin")
    assert r.ret != 0 and "needs reason=" in r.stdout.str() + r.stderr.str()
    pytester.makepyfile(test_a='import pytest\n@pytest.mark.differs("2.9.9", reason="x")\ndef test_a():\n    pass\n')
    r = pytester.runpytest("-p", "lab.conformance_plugin", "test_a.py")
    assert r.ret != 0 and "'2.9.9' is not a release" in r.stdout.str() + r.stderr.str()


def test_the_published_table_is_checked_against_the_run(pytester):
    """`--conformance-check README.md`: a run that checked every claim of the published table on every release
    in it fails when its table is not the one published (the README's table must be what the tests find), and
    says which lines differ; a run that checked only some claims says it did not compare."""
    pytester.makepyfile(textwrap.dedent('''
        import pytest

        @pytest.mark.claim("1.1", "one holds")
        def test_holds():
            assert True

        @pytest.mark.claim("1.2", "two differs")
        @pytest.mark.xfail(strict=True, reason="keepalived does Y")
        def test_differs():
            assert False
    '''))
    readme = pytester.path / "README.md"
    readme.write_text("x\n<!-- conformance:start -->\nold\n<!-- conformance:end -->\ny\n")
    pytester.runpytest("-p", "lab.conformance_plugin", f"--conformance-readme={readme}",
                       f"--conformance-out={pytester.path / 'c.md'}").assert_outcomes(passed=1, xfailed=1)
    published = readme.read_text()
    r = pytester.runpytest("-p", "lab.conformance_plugin", f"--conformance-check={readme}")
    assert r.ret == 0, r.stdout.str()
    r.stdout.fnmatch_lines(["*conformance table*matches*README.md*"])
    # the published table says 'holds' where the run finds 'differs': the run fails and shows the line
    readme.write_text(published.replace("| two differs | seed | **differs** |", "| two differs | seed | **holds** |"))
    r = pytester.runpytest("-p", "lab.conformance_plugin", f"--conformance-check={readme}")
    assert r.ret != 0
    r.stdout.fnmatch_lines(["*conformance table of this run differs from*README.md*", "*two differs*"])
    # a run of one claim only: not compared, and said so
    r = pytester.runpytest("-p", "lab.conformance_plugin", f"--conformance-check={readme}", "-k", "holds")
    assert r.ret == 0
    r.stdout.fnmatch_lines(["*conformance table*not compared*1 of 2 claims*"])
