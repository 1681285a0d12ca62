"""keepalived-lab installed like a library (issue 14): the built wheel, not the checkout, in a fresh
virtualenv in a folder outside this repository, gives a working ``kalab check`` and ``lab`` fixture.

The wheel is built here (``pip wheel --no-deps``) and installed with ``--no-deps`` into a new venv; its
dependencies come from this project's own venv through a ``.pth`` line (the test is about what the
wheel carries, not about downloading its dependencies again). What must hold, from the packaging alone:
- the image recipe and the stock topologies are package data: ``kalab build`` finds the recipe and gets
  the same tag as the checkout (the same recipe), and the ``lab`` fixture finds ``two_node``;
- ``lab`` is imported from the wheel, not from the checkout;
- ``kalab check`` runs a scenario of the example pair live there and it holds.
"""
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from lab.runtime.images import node_image_tag

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PAIR = ROOT / "topologies" / "configs" / "prod_pair"

USER_TEST = '''
import pytest


@pytest.mark.topology("two_node")
def test_two_node_from_the_wheel(lab):
    import lab as pkg
    assert "site-packages" in pkg.__file__, pkg.__file__
    assert lab.wait_for_master("VI_1").name == "a"
'''


def test_the_wheel_installs_outside_the_repo_and_runs(tmp_path, lab_docker):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=300)
    (whl,) = wheels.glob("keepalived_lab-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(whl)], check=True, capture_output=True,
                   text=True, timeout=300)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "kalab-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "user"
    work.mkdir()
    kalab = env_dir / "bin" / "kalab"

    where = subprocess.run([str(py), "-c", "import lab.paths as p; print(p.bundled('images'))"], cwd=work,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(site), f"the recipe is read from {where}, not from the wheel"
    built = subprocess.run([str(kalab), "build"], cwd=work, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0 and node_image_tag() in built.stdout, built.stdout + built.stderr

    (work / "test_mine.py").write_text(USER_TEST)
    r = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"], cwd=work,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "1 passed" in r.stdout, (r.stdout + r.stderr)[-3000:]

    r = subprocess.run([str(kalab), "check", str(PAIR / "lb1.conf"), str(PAIR / "lb2.conf"), "--only", "SIGKILL lb1",
                        "--report", str(work / "check")], cwd=work, capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "SIGKILL lb1" in out and "verdict: holds" in out, out[-3000:]
    assert (work / "check" / "junit.xml").exists()
