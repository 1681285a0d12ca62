"""pytest plugin (registered through the ``pytest11`` entry point ``keepalived_lab``).

Fixtures:
    lab          a started :class:`lab.lab.Lab` for the test's ``@pytest.mark.topology(NAME_OR_PATH)``;
                 removed after the test (kept with ``--lab-keep-on-failure`` when the test failed).
    lab_factory  ``lab_factory(topology, **kw) -> Lab`` for tests that build topologies in Python
                 or need several labs; all are removed after the test.
    lab_docker   a docker-py client for a running engine with the node image built (session scope).

Options:
    --lab-topologies DIR     where topology names are looked up (default: <rootdir>/topologies)
    --lab-keep-on-failure    leave a failed test's containers running and print how to inspect them
    --lab-report DIR         write each lab test's history (JSON lines) and HTML report to DIR
    --lab-timing FILE        write the time accounting (JSON): each lab test's duration and the
                             protocol waits it needed (see lab.history.Wait); the terminal summary
                             prints the totals and their ratio either way
    --lab-keepalived LIST    run every lab test once per keepalived release (``2.2.7,2.3.4`` or ``all``;
                             lab.releases); the test ids carry it (``[ka2.3.4]``). Without it a test marked
                             ``@pytest.mark.every_release`` runs on every release and the others on 2.2.7.
                             A topology or node that names its ``keepalived`` keeps it.

On failure the test report gets two sections: the lab's history tail and each node's log tail.
At session end the plugin checks that no container or network of this process's labs remains.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import pytest

from .errors import LabError
from .paths import bundled

_PHASE_KEY = pytest.StashKey[dict]()
_LABS_KEY = pytest.StashKey[list]()
_TIMING_KEY = pytest.StashKey[dict]()
#: one test's time accounting and cross-check counts, in the process that ran it (an xdist worker or this one)
_ITEM_KEY = pytest.StashKey[dict]()
#: the name under which a test's accounting travels in its teardown report's user_properties (xdist
#: serialises them to the controller, which sums them: lab.pytest_plugin.pytest_runtest_logreport)
_PROP = "keepalived-lab"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("keepalived-lab")
    g.addoption("--lab-topologies", default=None, help="directory of topology YAML files (default: <rootdir>/topologies)")
    g.addoption("--lab-keep-on-failure", action="store_true", help="keep a failed test's lab running for inspection")
    g.addoption("--lab-report", default=None, metavar="DIR", help="write each lab test's history and report to DIR")
    g.addoption("--lab-timing", default=None, metavar="FILE",
                help="write each lab test's duration and the protocol waits it needed to FILE (JSON)")
    g.addoption("--lab-keepalived", default=None, metavar="LIST",
                help="run every lab test on each of these keepalived releases: versions or Debian suites, "
                     "comma-separated (2.2.7,2.3.4), or all")
    g.addoption("--lab-configs", nargs="+", default=None, metavar="FILE[@ID]",
                help="keepalived.conf files (one per node, run unchanged): add kalab check's failover battery "
                     "as test items, one per scenario (lab.pytest_configs)")
    g.addoption("--lab-package", action="append", default=[], metavar="NAME",
                help="with --lab-configs: a Debian package the configs' scripts need, installed in every node "
                     "(repeatable)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _asyncio_loop_scope_default(config)
    config.addinivalue_line("markers", "topology(name_or_path): the topology the `lab` fixture starts")
    config.addinivalue_line("markers", "integration: needs a Docker engine (real keepalived in containers)")
    config.addinivalue_line("markers", "judge(enabled=True, *, allow=(), reason=''): after a passing lab test the "
                                       "judge checks the whole history against the election model (default on); "
                                       "allow=[fault kinds] accepts inputs without a rule; judge(False, reason=...) "
                                       "turns it off and must say why")
    config.addinivalue_line("markers", "every_release: the lab test runs once per keepalived release "
                                       "(lab.releases), unless --lab-keepalived names the releases of the run")
    if config.getoption("--lab-keepalived", None) is not None:       # an empty value names nothing: an error
        from .releases import UnknownRelease, releases
        try:
            releases(config.getoption("--lab-keepalived"))
        except UnknownRelease as e:
            raise pytest.UsageError(f"--lab-keepalived: {e}") from None
    config.stash[_LABS_KEY] = []
    config.stash[_TIMING_KEY] = {"session_start": time.monotonic(), "tests": {},
                                 "crosscheck": {"labs": 0, "compared": 0, "mismatches": 0, "skipped": 0}}
    _install_signal_handlers(config)
    config.pluginmanager.register(_Summer(config), "keepalived-lab-summer")
    if config.getoption("--lab-configs", None):
        from .pytest_configs import ConfigsPlugin
        config.pluginmanager.register(ConfigsPlugin(config.getoption("--lab-configs"),
                                                    config.getoption("--lab-package", None) or []),
                                      "keepalived-lab-configs")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """``*.scenario.yaml`` files are test files (lab.pytest_scenarios): one item per scenario and release."""
    from .pytest_scenarios import ScenarioFile, is_scenario
    if not is_scenario(file_path):
        return None
    config = parent.config

    def build_configs(configs):
        from .pytest_configs import _topology
        from .topology.from_configs import topology_from_configs
        return _topology(topology_from_configs, configs, config.getoption("--lab-package", None) or [])

    return ScenarioFile.from_parent(parent, path=file_path, search_dirs=_search_dirs(config),
                                    versions=lambda: run_releases(config, False), build_configs=build_configs)


def _asyncio_loop_scope_default(config: pytest.Config) -> None:
    """keepalived-lab depends on pytest-asyncio, which warns in every project that has not set
    ``asyncio_default_fixture_loop_scope``. Unset, it gets "function", the default pytest-asyncio
    announces; a project's own setting is left as it is. (Before pytest-asyncio's pytest_configure.)"""
    name = "asyncio_default_fixture_loop_scope"
    try:
        if config.pluginmanager.has_plugin("asyncio") and config.getini(name) is None:
            config._inicache[name] = "function"
    except (ValueError, AttributeError, KeyError):
        pass


#: signals that end a run without a traceback in CI (a job timeout or cancel sends SIGTERM, a closed
#: terminal SIGHUP). By default they kill pytest before any teardown, leaking every running lab.
_END_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")
_SAVED_KEY = pytest.StashKey[dict]()


def _install_signal_handlers(config: pytest.Config) -> None:
    """Turn SIGTERM/SIGHUP into an interrupt like Ctrl-C (pytest then tears every fixture down, so the
    labs are removed); a second signal of any of them (a second Ctrl-C) while the teardown runs is
    ignored with a note instead of breaking the teardown with a traceback (Ctrl-\\ or SIGKILL still
    end the run at once; the next start reaps what is left). Only where the signal still has its
    default action (a user's own handler is left alone) and only in the main thread (the only place
    Python runs handlers)."""
    import signal
    import sys
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    state = {"got": None}

    def handler(signum, frame):
        name = signal.Signals(signum).name
        if state["got"]:
            sys.stderr.write(f"\nkeepalived-lab: {name} again; still removing the labs after {state['got']} "
                             f"(Ctrl-\\ quits at once; the next start reaps what is left)\n")
            return
        state["got"] = name
        sys.stderr.write(f"\nkeepalived-lab: {name}: stopping the run and removing its labs\n")
        raise KeyboardInterrupt(name)

    saved = {}
    for name in _END_SIGNALS:
        sig = getattr(signal, name, None)
        default = signal.default_int_handler if name == "SIGINT" else signal.SIG_DFL
        if sig is not None and signal.getsignal(sig) in (default, None):
            saved[sig] = signal.signal(sig, handler)
    config.stash[_SAVED_KEY] = saved


def pytest_unconfigure(config: pytest.Config) -> None:
    import signal
    for sig, old in config.stash.get(_SAVED_KEY, {}).items():
        signal.signal(sig, old)


#: the topologies shipped with keepalived-lab (a checkout, an editable install, or a wheel's package data)
BUNDLED = bundled("topologies")


def _search_dirs(config: pytest.Config) -> list[Path]:
    """--lab-topologies, then <rootdir>/topologies, ./topologies, and the bundled ones (deduplicated)."""
    opt = config.getoption("--lab-topologies")
    dirs = ([Path(opt)] if opt else []) + [Path(config.rootpath) / "topologies", Path.cwd() / "topologies", BUNDLED]
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in [x.resolve() for x in out]:
            out.append(d)
    return out


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    rep = yield
    item.stash.setdefault(_PHASE_KEY, {})[rep.when] = rep
    if "lab_factory" in getattr(item, "fixturenames", ()):
        entry = _timing_entry(item)
        entry["duration"] += rep.duration
        if rep.when == "setup":             # when and where it ran: how the run's concurrency played out
            import os
            entry["started"] = round(rep.start, 3)
            entry["worker"] = os.environ.get("PYTEST_XDIST_WORKER", "main")
        if rep.failed and call.excinfo is not None:
            from .runtime.engine import engine_unreachable
            if engine_unreachable(call.excinfo.value):    # one line instead of urllib3's chained tracebacks
                rep.longrepr = _engine_gone(call.excinfo.value)
        if rep.when == "teardown":          # the whole accounting of this test, to whoever sums it
            rep.user_properties.append((_PROP, json.loads(json.dumps(_item_accounting(item)))))
    return rep


class _Summer:
    """Sums each lab test's accounting once, where the run is reported: in this process without xdist,
    on the controller with it (a worker's own sums would hold only its share). Registered by configure."""

    def __init__(self, config: pytest.Config):
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(self.config, "workerinput") or report.when != "teardown":
            return
        for name, data in report.user_properties:
            if name != _PROP or not isinstance(data, dict):
                continue
            agg = self.config.stash[_TIMING_KEY]
            agg["tests"][report.nodeid] = data["timing"]
            for k, v in data.get("crosscheck", {}).items():
                agg["crosscheck"][k] = agg["crosscheck"].get(k, 0) + v


def _engine_gone(e: BaseException) -> str:
    import os
    where = os.environ.get("DOCKER_HOST") or "the local socket"
    return (f"keepalived-lab: the Docker engine ({where}) stopped answering: {type(e).__name__}: {str(e)[:300]}. "
            f"Start it again (`./run test` or `kalab engine`); what this run left is reaped by the next lab start.")


def _item_accounting(item: pytest.Item) -> dict:
    return item.stash.setdefault(_ITEM_KEY, {"timing": {"duration": 0.0, "protocol": 0.0, "labs": 0},
                                             "crosscheck": {"labs": 0, "compared": 0, "mismatches": 0, "skipped": 0}})


def _timing_entry(item: pytest.Item) -> dict:
    """This test's time accounting: summed phase durations, protocol waits of its labs (s), lab count."""
    return _item_accounting(item)["timing"]


@pytest.fixture(scope="session")
def lab_docker():
    """docker-py client for a running engine, node image present (built once per session, with progress)."""
    from .runtime.engine import ensure_engine
    from .runtime.images import ensure_node_image

    try:
        client = ensure_engine(install=False)
        ensure_node_image(client)
    except LabError as e:
        pytest.fail(str(e), pytrace=False)
    return client


def _judge(request: pytest.FixtureRequest, lab) -> Optional[str]:
    """The judge's verdict on a passing lab test's history: None when it holds (or the test opted out
    with a reason), else the failure text. Faults still applied are judged as the test left them."""
    phases = request.node.stash.get(_PHASE_KEY, {})
    call = phases.get("call")
    if call is None or not call.passed or request.node.get_closest_marker("xfail") is not None:
        return None
    if lab.docker is None or not lab.nodes:
        return None
    m = request.node.get_closest_marker("judge")
    if m is not None and m.args and m.args[0] is False:
        if not m.kwargs.get("reason"):
            return "@pytest.mark.judge(False) needs reason=...: say why this history cannot be judged"
        return None
    allow = list(m.kwargs.get("allow", ())) if m is not None else []
    lab.history.meta["allow"] = allow            # judged again offline (kalab judge), the same way
    try:
        rep = lab.check.assert_matches_model(allow=allow)
    except AssertionError as e:
        lab.history.meta["verdict"] = "violated" if "verdict: violated" in str(e) else "cannot judge"
        return f"the judge (lab teardown, @pytest.mark.judge): {e}"
    lab.history.meta["verdict"] = rep.verdict.value
    # the fixture heals what the test left applied after this: a re-judge (kalab judge) stops here too
    lab.history.meta["judged_until"] = lab.history.events()[-1].t
    return None


def _cross_check(request: pytest.FixtureRequest, lab) -> Optional[str]:
    """The record against keepalived's own dumps (lab.crosscheck), before anything is healed: None when
    every compared figure agrees, else the failure text with both figures. Counted for the summary."""
    if lab.docker is None or not lab.nodes:
        return None
    from .crosscheck import summary
    try:
        findings = lab.cross_check()
    except Exception as e:
        from .runtime.engine import engine_unreachable
        if engine_unreachable(e):
            return None                 # the engine's loss is reported once, by the lab's stop
        raise
    counts = summary(findings)
    tot = _item_accounting(request.node)["crosscheck"]
    tot["labs"] += 1
    for k in ("compared", "mismatches", "skipped"):
        tot[k] += counts[k]
    bad = [f.text() for f in findings if f.ok is False]
    if not bad:
        return None
    return ("the lab's record disagrees with keepalived's own dump (a lab defect: lab.crosscheck):\n  "
            + "\n  ".join(bad))


def _capture_holes(lab) -> Optional[str]:
    """None when the advert capture recorded everything it received, else the failure text: a test whose
    adverts may be incomplete cannot be judged on them (lab.runtime.capture records each hole)."""
    holes = lab.history.capture_holes(float("-inf"), float("inf"))
    if not holes:
        return None
    return ("cannot judge: the advert capture may have missed adverts during this test (lab.runtime.capture):\n  "
            + "\n  ".join(holes))


def _finish(request: pytest.FixtureRequest, lab, judge: bool = True) -> None:
    """Judge a passing test's history, cross-check the record with keepalived's dumps, attach history and
    logs on failure, write the report if asked, then remove (or keep) the lab."""
    problem = _judge(request, lab) if judge else None
    problem = "\n".join(filter(None, [problem, _cross_check(request, lab), _capture_holes(lab)])) or None
    try:
        lab.heal_all()
    except Exception:
        pass
    t = _timing_entry(request.node)
    t["protocol"] += lab.history.protocol_seconds()
    t["labs"] += 1
    phases = request.node.stash.get(_PHASE_KEY, {})
    failed = any(r.failed for r in phases.values()) or problem is not None
    report_dir = request.config.getoption("--lab-report")
    if failed or report_dir:
        try:
            from .report import attach_to_item, write_report
            if failed:
                attach_to_item(request.node, lab)
            if report_dir:
                write_report(lab, Path(report_dir) / _safe(request.node.nodeid))
        except Exception as e:  # a report problem must not hide the test's own result
            request.node.add_report_section("teardown", "lab report", f"could not write report: {e}")
    if failed and lab.keep:
        lab.mark_kept()
        request.node.add_report_section(
            "teardown", "lab kept",
            f"lab {lab.id} kept running. Inspect: `kalab status --lab {lab.id}`, `kalab logs NODE --lab {lab.id}`, "
            f"`kalab shell NODE --lab {lab.id}`; remove: `kalab down --lab {lab.id}`.")
    else:
        try:
            lab.stop()
        except Exception as e:
            from .runtime.engine import engine_unreachable
            if not engine_unreachable(e):
                raise
            problem = "\n".join(filter(None, [problem, f"lab {lab.id} could not be removed: {_engine_gone(e)}"]))
    if problem:
        pytest.fail(problem, pytrace=False)


def _safe(nodeid: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in nodeid)[-120:]


def run_releases(config: pytest.Config, marked_every_release: bool) -> list[str]:
    """The keepalived versions a lab test runs on: ``--lab-keepalived``'s, else every release for a test marked
    ``every_release``, else none (the test is not parametrized: the default release, or its topology's)."""
    from .releases import RELEASES, releases
    opt = config.getoption("--lab-keepalived", None)
    if opt:
        return [r.version for r in releases(opt)]
    return [r.version for r in RELEASES] if marked_every_release else []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that starts labs (it uses ``lab_factory``, also through ``lab``) by the keepalived
    releases of the run (:func:`run_releases`); ids ``ka<version>``."""
    if "lab_keepalived" not in metafunc.fixturenames:
        return
    versions = run_releases(metafunc.config, metafunc.definition.get_closest_marker("every_release") is not None)
    if versions:
        metafunc.parametrize("lab_keepalived", versions, indirect=True, ids=[f"ka{v}" for v in versions])


def item_release(item: pytest.Item) -> str:
    """The keepalived version a collected test runs on: its ``lab_keepalived`` parameter, else the default
    (lab.releases.DEFAULT_VERSION)."""
    from .releases import DEFAULT_VERSION
    callspec = getattr(item, "callspec", None)
    return (callspec.params.get("lab_keepalived") if callspec else None) or DEFAULT_VERSION


@pytest.fixture
def lab_keepalived(request: pytest.FixtureRequest) -> Optional[str]:
    """The keepalived release this test's labs run (a version, lab.releases), or None: the default (2.2.7), or
    what the topology names. Parametrized by ``--lab-keepalived`` and ``@pytest.mark.every_release``."""
    return getattr(request, "param", None)


@pytest.fixture
def lab_factory(request: pytest.FixtureRequest, lab_docker, lab_keepalived):
    """Start labs from a Topology, a YAML path or a topology name; all are removed after the test. A lab gets the
    test's keepalived release (``lab_keepalived``) unless the call names one (``keepalived=``)."""
    from .lab import Lab
    from .topology import Topology, find

    made = []

    def make(topology, **kw):
        problem = None
        try:
            if not isinstance(topology, Topology):
                p = Path(str(topology))
                topology = p if p.suffix in (".yaml", ".yml") else find(str(topology), _search_dirs(request.config))
            kw.setdefault("keep", bool(request.config.getoption("--lab-keep-on-failure")))
            kw.setdefault("keepalived", lab_keepalived)
            lab = Lab(topology, **kw)
            made.append(lab)
            request.config.stash[_LABS_KEY].append(lab.id)
            lab.start()
        except LabError as e:
            problem = str(e)
        if problem:                      # outside the except block: one message, no chained traceback
            pytest.fail(problem, pytrace=False)
        return lab

    yield make
    problems = []
    for lab in made:
        try:
            _finish(request, lab)
        except pytest.fail.Exception as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_factory):
    """The lab for the test's ``@pytest.mark.topology(...)`` marker, started and converging."""
    marker = request.node.get_closest_marker("topology")
    if marker is None or not marker.args:
        pytest.fail("the `lab` fixture needs @pytest.mark.topology(\"NAME_OR_PATH\") on the test", pytrace=False)
    return lab_factory(marker.args[0], **marker.kwargs)


def _timing_totals(config: pytest.Config) -> dict:
    """Session wall time, lab tests' summed durations and the protocol waits they needed (seconds)."""
    tm = config.stash.get(_TIMING_KEY, None)
    if not tm or not tm["tests"]:
        return {}
    tests = tm["tests"]
    out = {"session_wall": time.monotonic() - tm["session_start"],
           "lab_tests": len(tests), "labs": sum(t["labs"] for t in tests.values()),
           "lab_tests_duration": sum(t["duration"] for t in tests.values()),
           "protocol_waits": sum(t["protocol"] for t in tests.values()),
           "workers": len({t.get("worker", "main") for t in tests.values()})}
    p = out["protocol_waits"]          # None: no protocol wait to compare with (a lab test that waited on none)
    out["wall_per_protocol"] = out["session_wall"] / p if p else None
    out["lab_tests_per_protocol"] = out["lab_tests_duration"] / p if p else None
    return out


def _ratio(r: Optional[float]) -> str:
    return f"{r:.2f}" if r is not None else "n/a: no protocol waits"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line: how much of the run the protocol itself required (lab.history.Wait)."""
    tot = _timing_totals(config)
    if not tot or hasattr(config, "workerinput"):
        return
    terminalreporter.write_line(
        f"keepalived-lab time: {tot['lab_tests']} lab tests ({tot['labs']} labs) took {tot['lab_tests_duration']:.1f} s; "
        f"the protocol waits they needed {tot['protocol_waits']:.1f} s (ratio {_ratio(tot['lab_tests_per_protocol'])}); "
        f"session wall {tot['session_wall']:.1f} s, lab tests on {tot['workers']} worker(s) (ratio {_ratio(tot['wall_per_protocol'])})")
    cc = config.stash[_TIMING_KEY].get("crosscheck")
    if cc and cc["labs"]:
        terminalreporter.write_line(
            f"keepalived-lab cross-checks: {cc['labs']} labs against keepalived's own dumps: {cc['compared']} figures "
            f"compared, {cc['mismatches']} mismatches, {cc['skipped']} not comparable (reasons in each history)")
        tot["crosscheck"] = cc
    out = config.getoption("--lab-timing")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({**tot, "tests": config.stash[_TIMING_KEY]["tests"]}, indent=1) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    """Fail the session if a lab of this process left anything behind. A wrapper: the check runs after pytest's own session teardown (after Ctrl-C, the
    interrupted test's fixtures are torn down there; checking before it reported labs that were
    about to be removed)."""
    res = yield
    _sessionfinish(session)
    return res


def _sessionfinish(session: pytest.Session) -> None:
    ids = session.config.stash.get(_LABS_KEY, [])
    if not ids:
        return
    try:
        from .runtime.cleanup import lab_ids
        from .runtime.engine import client_if_up
        client = client_if_up()
        if client is None:
            return
        left = [i for i in lab_ids(client) if i in set(ids)]
    except Exception:
        return
    kept = session.config.getoption("--lab-keep-on-failure")
    if left and not kept:
        session.config.get_terminal_writer().line(
            f"keepalived-lab: {len(left)} lab(s) left containers or networks behind: {', '.join(left)}", red=True)
        if session.exitstatus == pytest.ExitCode.OK:     # an interrupted run keeps its own exit status
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
