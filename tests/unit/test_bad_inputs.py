"""The bad-input corpus (issue 18): every hostile or mistaken input is one clear error (pure, no Docker).

Each ``tests/unit/bad_inputs/NAME.{yaml,conf}`` has ``NAME.expected`` (see the folder's README): the
kalab command to run and a regular expression of the message. Required: exit code 1 or 2, the message,
no Python traceback, and an end within the hang guard (a separate process, killed at the guard: a hang
or an unbounded expansion fails here instead of hanging the suite; speed is measured in bench/).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DIR = Path(__file__).resolve().parent / "bad_inputs"
INPUTS = sorted(p for p in DIR.iterdir() if p.suffix in (".yaml", ".conf"))
#: seconds after which a run counts as hung (the guard, not a performance figure)
HANG_GUARD = 30.0


def expectation(p: Path) -> tuple[list[str], str]:
    spec = dict(line.split(": ", 1) for line in (DIR / f"{p.name}.expected").read_text().splitlines() if ": " in line)
    default = "predict {}" if p.suffix == ".yaml" else "lint --no-keepalived {}"
    return spec.get("command", default).replace("{}", p.name).split(), spec["error"]


def run(p: Path) -> tuple[int, str]:
    args, _ = expectation(p)
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}
    try:
        r = subprocess.run([sys.executable, "-c", "from lab.cli import main; main()", *args], cwd=DIR, env=env,
                           capture_output=True, text=True, timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        return -1, f"no answer within the {HANG_GUARD:.0f} s hang guard"
    return r.returncode, r.stdout + r.stderr


def test_every_input_has_an_expectation():
    assert INPUTS, "the corpus is empty"
    missing = [p.name for p in INPUTS if not (DIR / f"{p.name}.expected").exists()]
    assert not missing, f"inputs without NAME.expected: {missing}"


@pytest.mark.parametrize("name", [p.name for p in INPUTS])
def test_a_bad_input_is_one_clear_error(name):
    code, out = run(DIR / name)        # one process per input: xdist spreads them (a module-wide batch ran
                                       # the whole corpus again on every worker that got one of its tests)
    _, want = expectation(DIR / name)
    assert code in (1, 2), f"{name}: exit {code} (1 or 2 wanted):\n{out}"
    assert "Traceback" not in out, f"{name}: a traceback:\n{out}"
    flat = " ".join(out.split())
    assert re.search(want, flat), f"{name}: {want!r} not in the output:\n{out}"
