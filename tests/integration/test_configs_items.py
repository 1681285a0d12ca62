"""``pytest --lab-configs`` in a user's repository (issue 14): kalab check's battery as test items.

A two-node pair of the user's own files on their own subnet 10.77.9.0/24 (not the lab's pool). Two items
run at once on two workers (``-n 2``): both labs need that subnet, which an engine gives one network at
a time, so the second waits for the first to release it (lab.runtime.network) instead of failing.
Expected from the files: a (150) is master after start-up; killed, b (100) takes over (RFC 3768 §6.4.2).
"""
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

CONF = """vrrp_instance VI_1 {{
    state BACKUP
    interface ens192
    virtual_router_id 91
    priority {prio}
    advert_int 1
    virtual_ipaddress {{
        10.77.9.100/24
    }}
}}
"""


def test_the_battery_runs_as_items_and_labs_of_one_subnet_take_turns(tmp_path):
    (tmp_path / "a.conf").write_text(CONF.format(prio=150))
    (tmp_path / "b.conf").write_text(CONF.format(prio=100))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lab-configs",
            str(tmp_path / "a.conf"), str(tmp_path / "b.conf")]
    listed = subprocess.run(args + ["--co"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "kalab-check::start-up election" in listed.stdout and "kalab-check::SIGKILL a" in listed.stdout
    assert "kalab-check::SIGKILL b" not in listed.stdout          # b is no master after start-up
    assert "7 tests collected" in listed.stdout, listed.stdout    # start-up, SIGKILL/SIGTERM/VRRP a, 2 SIGHUP, rolling
    r = subprocess.run(args + ["-n", "2", "-k", "start-up or SIGKILL"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0 and "2 passed" in r.stdout, (r.stdout + r.stderr)[-4000:]
