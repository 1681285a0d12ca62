"""Transitional alias (pure): keepalived -t's exit codes and output parser are :mod:`lab.kaconf.ktest_output`;
the Docker runner (``run_config_test``, ``lint_image``) is :mod:`lab.runtime.ktest`.

``from lab.kaconf.ktest import lint_image`` (tests/integration/test_samples_parse.py) keeps working
through a lazy forward: lab.runtime is imported only when such a name is asked for, never when
this module is imported. Remove this module once every caller imports the new paths.
"""
from .ktest_output import EXIT_MEANING, KMessage, KTestResult, parse_output

__all__ = ["EXIT_MEANING", "KMessage", "KTestResult", "parse_output"]


def __getattr__(name: str):
    if name in ("lint_image", "run_config_test"):
        from ..runtime import ktest as _runtime_ktest
        return getattr(_runtime_ktest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
