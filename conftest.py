"""Repository-level pytest configuration.

The lab's fixtures come from the installed plugin (``pytest11`` entry point
``keepalived_lab``), exactly as in a user's own repository. Here we only mark
everything under tests/integration as ``integration`` (needs a Docker engine),
so ``pytest -m "not integration"`` runs the fast pure tests alone, and load the
project-only conformance table plugin (``--conformance-out``; not in users' ``pytest --help``).
"""
from pathlib import Path

import pytest

pytest_plugins = ["lab.conformance_plugin"]

INTEGRATION = Path(__file__).parent / "tests" / "integration"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if INTEGRATION in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
