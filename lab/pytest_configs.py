"""``pytest --lab-configs lb1.conf lb2.conf``: the failover battery of ``kalab check`` as test items of a
user's own repository (one per scenario, each on its own lab, so pytest-xdist may run them anywhere; labs
of the same configs share their production subnet and so take turns, lab.runtime.network).

Items are named ``kalab-check::<scenario>`` and listed from the model's expected masters after
start-up (as ``kalab check --plan``). Each starts the lab, judges the start-up election and its
scenario (:mod:`lab.battery`), and fails with the verdict's reasons unless both hold; a scenario the
battery does not run is skipped with its reason.
"""
from __future__ import annotations

import pytest

from .errors import LabError

__all__ = ["ScenarioItem", "ConfigsCollector", "ConfigsPlugin"]


class ScenarioItem(pytest.Item):
    """One battery scenario on its own lab of ``configs`` [(path, config id)]."""

    def __init__(self, *, configs, scenario: str, skip: str = "", packages=(), **kw):
        super().__init__(**kw)
        self.configs, self.scenario, self.skip_reason, self.packages = configs, scenario, skip, list(packages)
        self.add_marker(pytest.mark.integration)

    def runtest(self) -> None:
        from .battery import run_battery
        from .lab import Lab
        from .topology.from_configs import topology_from_configs

        if self.skip_reason:
            pytest.skip(self.skip_reason)
        topo = _topology(topology_from_configs, self.configs, self.packages)
        names = [] if self.scenario == "start-up election" else [self.scenario]
        with Lab(topo) as lab:
            results = run_battery(lab, names, exact=True)
        bad = [r for r in results if r.verdict is None or r.verdict.value != "holds"]
        if self.scenario not in [r.name for r in results]:
            raise ScenarioFailed(f"{self.scenario!r} is not in the battery of this run (the start-up masters "
                                 f"differ from the model's): " + "; ".join(f"{r.name}: {r.observed}" for r in results))
        if bad:
            raise ScenarioFailed("\n".join(
                f"{r.name}: {r.verdict.value if r.verdict else 'not run'}; expected {r.expected}, observed "
                f"{r.observed} {r.timing}".rstrip() + "".join(f"\n  {p}" for p in r.problems) for r in bad))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (ScenarioFailed, LabError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"kalab-check::{self.scenario}"


class ConfigsCollector(pytest.Collector):
    """The battery's items (``kalab-check::SIGKILL lb1``, ...), collected like any test file's."""

    def __init__(self, *, configs, topo, packages=(), **kw):
        super().__init__(**kw)
        self.configs, self.topo, self.packages = configs, topo, list(packages)

    def collect(self):
        from .battery import predicted_masters, scenarios

        masters = predicted_masters(self.topo)
        yield ScenarioItem.from_parent(self, name="start-up election", configs=self.configs, scenario="start-up election",
                                       packages=self.packages)
        for sc in scenarios(self.topo, masters):
            yield ScenarioItem.from_parent(self, name=sc.name, configs=self.configs, scenario=sc.name, skip=sc.skip,
                                           packages=self.packages)


def _topology(build, configs, packages):
    """The topology of ``configs`` as ``kalab check`` makes it: a production subnet this host cannot give a lab
    is moved to a lab subnet (lab.topology.subnet_map), every node gets ``packages``."""
    from .runtime.network import pool, unavailable_subnets
    return build(configs, "configs", unavailable=unavailable_subnets(), pool=pool(), packages=packages)


class ScenarioFailed(AssertionError):
    """A scenario's verdict was not "holds" (the text has each reason)."""


class ConfigsPlugin:
    """Adds the items of ``--lab-configs`` to the collection."""

    def __init__(self, args: list[str], packages: list[str] = ()):
        self.args, self.packages = args, list(packages)

    @pytest.hookimpl(tryfirst=True)            # before -k / -m deselect, so they select these items too
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        from _pytest.runner import collect_one_node      # runs the collect protocol (pytest's own helper)

        from .topology.from_configs import parse_config_arg, topology_from_configs

        try:
            configs = [parse_config_arg(a) for a in self.args]
            topo = _topology(topology_from_configs, configs, self.packages)
        except LabError as e:
            raise pytest.UsageError(f"--lab-configs: {e}") from None
        col = ConfigsCollector.from_parent(session, name="kalab-check", nodeid="kalab-check", configs=configs, topo=topo,
                                           packages=self.packages)
        rep = collect_one_node(col)
        config.hook.pytest_collectreport(report=rep)      # counted and shown like a file's items
        if rep.failed:
            raise pytest.UsageError(f"--lab-configs: {rep.longreprtext}")
        items.extend(rep.result)
