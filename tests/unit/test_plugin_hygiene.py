"""The lab leaves a user's other tests alone (issue 18): no global testcontainers setting (pure, no Docker)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading


def test_importing_the_lab_and_its_plugin_sets_no_global_testcontainers_switch():
    code = ("import os; import lab.pytest_plugin, lab.lab; "
            "from testcontainers.core.config import testcontainers_config as c; "
            "print(os.environ.get('TESTCONTAINERS_RYUK_DISABLED'), c.ryuk_disabled)")
    env = {k: v for k, v in os.environ.items() if k != "TESTCONTAINERS_RYUK_DISABLED"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["None", "False"], out


def test_the_reaper_is_off_only_while_lab_containers_start_and_restored_after():
    from testcontainers.core.config import testcontainers_config as c
    from lab.runtime.reaper import without_reaper

    before = c.ryuk_disabled
    inside = threading.Event()
    release = threading.Event()

    def other():
        with without_reaper():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    with without_reaper():
        assert c.ryuk_disabled is True
    assert c.ryuk_disabled is True, "another start is still in its block"
    release.set()
    t.join(5)
    assert c.ryuk_disabled == before
