"""The follower's stream (lab.runtime.follow): a file's lines come out whole, whatever tail says on
stderr meanwhile. Replays the race behind issue 13's lost first notify line: the engine delivered
"tail: " (stderr), then the first line (stdout), then the rest of the notice (stderr)."""
from lab.runtime.follow import stdout_only
from lab.runtime.node_events import parse_fifo_line, stream_lines

FIRST = b'26406.610000 INSTANCE "VI_1" BACKUP 100\n'


def test_a_notice_split_around_the_first_line_does_not_swallow_it():
    frames = [(2, b"tail: cannot open '/var/lib/kalab/events.log' for reading: No such file or directory\n"),
              (2, b"tail: "),
              (1, FIRST),
              (2, b"'/var/lib/kalab/events.log' has appeared;  following new file\n"),
              (1, b'26410.068000 INSTANCE "VI_1" MASTER 100\n')]
    lines = list(stream_lines(stdout_only(iter(frames))))
    assert lines == [FIRST.decode().rstrip("\n"), '26410.068000 INSTANCE "VI_1" MASTER 100']
    assert parse_fifo_line(lines[0])["state"] == "BACKUP"


def test_the_merged_stream_lost_it():
    # what the follower did before: both streams in one buffer, lines starting "tail:" skipped
    frames = [(2, b"tail: "), (1, FIRST), (2, b"'x' has appeared;  following new file\n")]
    merged = [t for t in stream_lines(d for _, d in frames) if not t.startswith("tail:")]
    assert not any(parse_fifo_line(t) for t in merged)


def test_lines_split_across_stdout_frames_are_joined():
    frames = [(1, FIRST[:10]), (2, b"tail: noise\n"), (1, FIRST[10:])]
    assert list(stream_lines(stdout_only(iter(frames)))) == [FIRST.decode().rstrip("\n")]
