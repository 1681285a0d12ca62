"""Scenario files as pytest items: every ``*.scenario.yaml`` under the paths pytest collects (a user's
``incidents/`` folder, say) is a test file; each scenario runs on its own lab through the plugin's
``lab_factory`` fixture, so it is judged, cross-checked, reported and timed like any lab test.

One item per keepalived release of the run: ``--lab-keepalived``'s, else the file's ``keepalived:``,
else one item on the topology's (or the default) release. The file's ``allow:`` is the item's
``@pytest.mark.judge(allow=...)``; its ``xfail:`` a strict xfail (both what the docs say and what the
daemon does go in its reason). A file that cannot be read is a collection error naming the line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import pytest

from .errors import LabError

__all__ = ["ScenarioFile", "is_scenario"]


def is_scenario(path: Path) -> bool:
    from .scenario import SUFFIX
    return path.name.endswith(SUFFIX)


class _Unreadable(Exception):
    """A scenario file with problems (the text names each line)."""


class ScenarioFile(pytest.File):
    """A ``*.scenario.yaml`` file. ``search_dirs``: folders of named topologies; ``versions``: the releases
    of the run (lab.pytest_plugin.run_releases) -> [version]; ``build_configs``: the topology of ``configs:``."""

    def __init__(self, *, search_dirs: list[Path], versions: Callable[[], list[str]],
                 build_configs: Optional[Callable] = None, **kw):
        super().__init__(**kw)
        self.search_dirs, self.versions, self.build_configs = search_dirs, versions, build_configs

    def collect(self):
        from .scenario import SUFFIX, load
        try:
            sc = load(self.path, self.search_dirs, self.build_configs)
        except LabError as e:
            raise _Unreadable(str(e)) from None
        versions = self.versions() or sc.keepalived or [None]
        stem = self.path.name.removesuffix(SUFFIX)          # the item's id (the scenario's name is its doc)
        for v in versions:
            name = stem if len(versions) == 1 and v is None else f"{stem}[ka{v}]"
            item = pytest.Function.from_parent(self, name=name, callobj=_runner(sc, v))
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.judge(False, reason=sc.unjudged) if sc.unjudged else
                            pytest.mark.judge(allow=list(sc.allow)))
            reason = sc.xfail_reason(v)
            if reason:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
            yield item

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, _Unreadable):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


def _runner(sc, version: Optional[str]):
    """The test function of one scenario item (a closure: pytest sees its ``lab_factory`` argument)."""

    def run_scenario_file(lab_factory):
        from .scenario.run import run_scenario
        lab = lab_factory(sc.topology, **({"keepalived": version} if version else {}))
        print(f"scenario {sc.name} ({sc.path}) on lab {lab.id}")
        result = run_scenario(lab, sc, say=print, judge=False)     # the fixture's teardown judges the lab
        bad = result.step_failures()
        if bad:
            pytest.fail("\n".join(bad), pytrace=False)

    run_scenario_file.__doc__ = sc.documented or sc.description or sc.name
    return run_scenario_file
