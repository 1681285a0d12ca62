"""The wheel carries the node image recipe and the stock topologies as package data (lab/_data/), so an
installed keepalived-lab builds its image and finds its topologies outside a checkout (lab.paths).
Everything else is in pyproject.toml; an editable install reads both folders from the checkout."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        root = Path(__file__).resolve().parent
        for name in ("images", "topologies"):
            shutil.copytree(root / name, Path(self.build_lib) / "lab" / "_data" / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithData})
