"""An exec's output is whole or said not to be (lab.runtime.exec_io.wrap / unwrap), without Docker: the
wrapped command runs in a local ``sh`` and its streams are cut where an engine could cut them.

Found in CI: ``cat`` of a node's 2 KB keepalived.conf exited 0 and returned '' (the engine closed the exec's
streams early: moby issue 27289, docker-py issue 2042). An empty VIP listing read that way is a wrong verdict."""
import subprocess

import pytest

from lab.runtime.exec_io import STDERR, STDOUT, ExecOutputLost, unwrap, wrap
from lab.runtime.node import ExecResult


def frames_of(argv: list[str]) -> list[tuple[int, bytes]]:
    """The wrapped command run here, its streams as engine frames (stdout first, then stderr)."""
    p = subprocess.run(wrap(argv), capture_output=True)
    return [(STDOUT, p.stdout), (STDERR, p.stderr)]


@pytest.mark.parametrize("argv, code, out", [
    (["printf", "a\\nb\\n"], 0, b"a\nb\n"),
    (["printf", "no newline"], 0, b"no newline"),
    (["sh", "-c", "echo oops >&2; exit 3"], 3, b"oops\n"),
    (["true"], 0, b""),
    (["sh", "-c", "printf '\\n\\n'"], 0, b"\n\n"),
])
def test_a_whole_output_comes_back_unchanged_with_its_exit_status(argv, code, out):
    got_code, got, complete = unwrap(frames_of(argv))
    assert (got_code, got, complete) == (code, out, True)


def test_the_command_keeps_its_own_arguments():
    _, got, complete = unwrap(frames_of(["printf", "%s|", "a b", "$HOME", "'q'"]))
    assert complete and got == b"a b|$HOME|'q'|"


@pytest.mark.parametrize("cut", ["everything", "stdout", "stderr", "stdout tail", "one byte"])
def test_output_cut_anywhere_is_reported_incomplete(cut):
    f = frames_of(["sh", "-c", "cat /etc/passwd; echo warn >&2"])
    out, err = f[0][1], f[1][1]
    frames = {"everything": [],
              "stdout": [(STDERR, err)],
              "stderr": [(STDOUT, out)],
              "stdout tail": [(STDOUT, out[:len(out) // 2]), (STDERR, err)],
              "one byte": [(STDOUT, out[:-1]), (STDERR, err)]}[cut]
    code, got, complete = unwrap(frames)
    assert complete is False
    assert code == (0 if cut == "stderr" else None), "the exit status is read only from a whole stdout"


def test_trailers_split_across_frames_are_found():
    f = frames_of(["echo", "x"])
    out = f[0][1]
    frames = [(STDOUT, out[:3]), (STDERR, f[1][1][:2]), (STDOUT, out[3:]), (STDERR, f[1][1][2:])]
    assert unwrap(frames) == (0, b"x\n", True)


def test_an_incomplete_result_refuses_to_give_its_output():
    r = ExecResult(0, "", complete=False, cmd="cat /etc/keepalived/keepalived.conf")
    assert r.ok and r.exit_code == 0
    with pytest.raises(ExecOutputLost, match="cat /etc/keepalived/keepalived.conf"):
        r.output
    assert ExecResult(0, "x").output == "x"
