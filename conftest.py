"""Repository-level pytest configuration.

The lab's fixtures come from the installed plugin (``pytest11`` entry point
``keepalived_lab``), exactly as in a user's own repository. Here we only mark
everything under tests/integration as ``integration`` (needs a Docker engine),
so ``pytest -m "not integration"`` runs the fast pure tests alone, and load the
project-only conformance table plugin (``--conformance-out``; not in users' ``pytest --help``).

``-n auto`` (the README's test command passes it) means :func:`lab.workers.lab_workers` workers here:
lab tests wait on timers with idle CPUs, so more workers than cores pay (measured: lab/workers.py).
Tests that run whole pytest sessions or many labs go first, so that none of them starts last and
leaves the other workers idle while it finishes.
"""
from pathlib import Path

import pytest

pytest_plugins = ["lab.conformance_plugin"]

INTEGRATION = Path(__file__).parent / "tests" / "integration"


#: the longest tests (each a minute or more with workers: --durations), started first
FIRST = ("test_remote_engine.py", "test_record_complete.py", "test_xdist_summary.py", "test_exec_complete.py",
         "test_signals.py", "test_cli.py", "test_plugin_failure.py", "test_engine_gone.py", "test_faults_probe.py")


@pytest.hookimpl(optionalhook=True)    # xdist's hook: `./run test -p no:xdist` must still collect
def pytest_xdist_auto_num_workers(config):
    from lab.workers import lab_workers, machine
    try:
        return lab_workers(*machine())
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if INTEGRATION in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)

    def order(item):
        path = Path(str(item.fspath))
        return 0 if path.name in FIRST else 1 if INTEGRATION in path.parents else 2
    items.sort(key=order)        # stable: the order within each group is pytest's
