"""The docs-vs-reality table: a pytest plugin for keepalived-lab's own suite (not a user's project).

Loaded by the repository's ``conftest.py`` (``pytest_plugins``), so ``--conformance-*`` options do not
appear in every user's ``pytest --help``; a user who wants the table for their own claims loads it with
``-p lab.conformance_plugin``.

Options:
    --conformance-out FILE      write the table of ``@pytest.mark.claim`` tests to FILE (markdown)
    --conformance-readme FILE   also put it into FILE between the conformance markers
    --conformance-check FILE    fail the run when its table is not the one published in FILE (a run that
                                checked every published claim on every published release; else: said, not compared)

Markers:
    claim(id, text, source='seed')      the documented claim a test checks; its verdict is kept per keepalived
                                        release (the test's ``lab_keepalived``, lab.pytest_plugin.item_release)
    differs(*releases, reason=...)      keepalived differs from the claim on these releases (versions or suites;
                                        none: every release): there the test is a strict xfail that must raise
                                        lab.conformance.ClaimDiffers; on the others the claim must hold
"""
from __future__ import annotations

from pathlib import Path

import pytest

_CLAIMS_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("keepalived-lab conformance")
    g.addoption("--conformance-out", default=None, metavar="FILE",
                help="write the docs-vs-reality table of @pytest.mark.claim tests to FILE (markdown)")
    g.addoption("--conformance-readme", default=None, metavar="FILE",
                help="also put the table into FILE between the conformance markers")
    g.addoption("--conformance-check", default=None, metavar="FILE",
                help="fail the run when it checked every claim of the table published in FILE (between the "
                     "conformance markers) on every release there, and its own table is not that one")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id, text, source='seed'): the documented claim a test checks "
                                       "(feeds the conformance table)")
    config.addinivalue_line("markers", "differs(*releases, reason): keepalived differs from the claim on these "
                                       "releases (none named: all); there the test is a strict xfail raising "
                                       "ClaimDiffers, elsewhere the claim must hold")
    config.stash[_CLAIMS_KEY] = {}
    config.pluginmanager.register(_Collector(config), "keepalived-lab-claims")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Turn each ``differs`` marker into a strict xfail on the releases it names (one marker per release set)."""
    from .conformance import ClaimDiffers
    from .pytest_plugin import item_release
    from .releases import UnknownRelease, release
    for item in items:
        for m in item.iter_markers("differs"):
            reason = m.kwargs.get("reason")
            if not reason:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.differs needs reason=... (the claim and what "
                                        f"keepalived does instead)")
            try:
                on = {release(r).version for r in m.args}
            except UnknownRelease as e:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.differs: {e}") from None
            if not on or item_release(item) in on:
                item.add_marker(pytest.mark.xfail(strict=True, raises=ClaimDiffers, reason=reason))


#: the name under which a claim's outcome travels in the test's report (xdist sends user_properties to the
#: controller, so the table is built where every worker's share arrives)
_PROP = "keepalived-lab-claim"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    rep = yield
    _attach_claim(item, rep)
    return rep


def _attach_claim(item: pytest.Item, rep) -> None:
    """Put the claim's outcome in the report: the call phase's (or a skip/error in setup, a teardown error)."""
    marker = item.get_closest_marker("claim")
    if marker is None or len(marker.args) < 2:
        return
    if rep.when == "setup" and rep.passed:
        return
    if rep.when == "teardown" and not rep.failed:
        return
    if hasattr(rep, "wasxfail"):
        outcome, reason = ("xfailed", rep.wasxfail) if rep.skipped else ("failed", f"XPASS(strict): {rep.wasxfail}")
    elif rep.skipped:
        outcome = "skipped"
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        reason = reason.removeprefix("Skipped: ")
    else:
        outcome, reason = rep.outcome, ""
    cid, text = marker.args[:2]
    from .pytest_plugin import item_release
    rep.user_properties.append((_PROP, {"id": str(cid), "text": str(text), "source": marker.kwargs.get("source", "seed"),
                                        "outcome": outcome, "reason": str(reason), "release": item_release(item)}))


class _Collector:
    """Builds the table from reports where the run is reported (this process, or the xdist controller)."""

    def __init__(self, config: pytest.Config):
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(self.config, "workerinput"):
            return
        for name, d in report.user_properties:
            if name == _PROP and isinstance(d, dict):
                record(self.config.stash[_CLAIMS_KEY], report.nodeid, d)


def record(claims: dict, nodeid: str, d: dict) -> None:
    """Add one test's outcome ``d`` (id, text, source, outcome, reason) to ``claims`` (id -> Claim); a later
    phase's outcome of the same test replaces an earlier one."""
    from .conformance import Claim
    c = claims.setdefault(d["id"], Claim(d["id"], d["text"], d.get("source", "seed")))
    from .releases import DEFAULT_VERSION
    c.outcomes = sorted([o for o in c.outcomes if o[0] != nodeid]
                        + [(nodeid, d["outcome"], d.get("reason", ""), d.get("release") or DEFAULT_VERSION)],
                        key=lambda o: _natural(o[0]))     # the same table whatever order workers finish in


def _natural(nodeid: str) -> list:
    import re
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", nodeid)]



def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the table if asked."""
    if hasattr(session.config, "workerinput"):      # the controller writes the whole table
        return
    out = session.config.getoption("--conformance-out")
    claims = session.config.stash.get(_CLAIMS_KEY, {})
    if out and claims:
        from .conformance import write
        readme = session.config.getoption("--conformance-readme")
        write(claims, Path(out), Path(readme) if readme else None,
              header="Generated by `pytest --conformance-out` from the test run itself; do not edit by hand.")
    check = session.config.getoption("--conformance-check")
    if check:
        from .conformance import compare
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        say = (lambda m: tr.write_line(m)) if tr else print
        try:
            status, message = compare(claims, Path(check))
        except (OSError, ValueError) as e:
            say(f"keepalived-lab conformance table: cannot compare with {check}: {e}")
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        if status == "same":
            say(f"keepalived-lab conformance table: this run's matches {check} ({message})")
        elif status == "not compared":
            say(f"keepalived-lab conformance table: not compared with {check}: {message}")
        else:
            say(f"keepalived-lab conformance table of this run differs from the one published in {check} (regenerate "
                f"it with --conformance-readme {check}, see the README):\n{message}")
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
