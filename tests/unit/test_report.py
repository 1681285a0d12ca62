"""The timeline picture is checked by opening it: lanes, colours and annotations are there."""
import matplotlib.image as mpimg
import numpy as np

from lab.history import History
from lab.report import COLORS, draw_timeline, fault_windows, render_html, segments, takeovers


def sample_history() -> History:
    h = History()
    h.t0 = 0.0
    h.append("state", t=0.5, node="a", instance="VI_1", state="BACKUP", priority=150)
    h.append("state", t=0.6, node="b", instance="VI_1", state="BACKUP", priority=100)
    h.append("state", t=3.9, node="a", instance="VI_1", state="MASTER", priority=150)
    h.append("node", t=5.0, node="a", action="kill")
    h.append("state", t=8.2, node="b", instance="VI_1", state="MASTER", priority=100)
    h.append("vip", t=8.5, instance="VI_1", holders=["b"], view="outside")
    h.append("node", t=9.0, node="a", action="start")
    return h


def test_segments_and_windows():
    h = sample_history()
    assert segments(h, "a", "VI_1", 10) == [(0.5, 3.9, "BACKUP"), (3.9, 5.0, "MASTER"), (5.0, 9.0, "DOWN")]
    assert fault_windows(h, 10) == [(5.0, 9.0, "a: kill")]
    (f, m), = takeovers(h)
    assert (f.t, m["node"], round(m.t - f.t, 2)) == (5.0, "b", 3.2)


def test_one_window_and_one_takeover_per_cause():
    h = sample_history()
    # `kalab fault client kill`: the nemesis fault and the node event describe one window; a fault on
    # the client cannot cause a takeover, and a takeover is paired with its nearest cause
    h.append("fault", t=4.0, name="kill", action="apply", target="client")
    h.append("node", t=4.01, node="client", action="kill")
    h.append("fault", t=4.5, name="kill", action="heal", target="client")
    h.append("node", t=4.51, node="client", action="start")
    assert [w[2] for w in fault_windows(h, 10)] == ["kill on client", "a: kill"]
    (f, m), = takeovers(h)
    assert f["node"] == "a" and m["node"] == "b"


def test_label_rows_never_overlap():
    from lab.report import label_levels
    assert label_levels([0, 1, 5, 1.5], [2, 2, 1, 10]) == [0, 1, 0, 2]


def _has_colour(img: np.ndarray, hex_colour: str, tol: float = 0.02) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(img[..., :3] - rgb).max(axis=-1) < tol).sum())


def test_picture_shows_master_lanes_and_fault(tmp_path):
    png, svg = draw_timeline(sample_history(), tmp_path / "timeline", "t")
    img = mpimg.imread(png)
    assert img.shape[0] > 100 and img.shape[1] > 600
    assert _has_colour(img, COLORS["MASTER"]) > 500, "MASTER bars are drawn"
    assert _has_colour(img, COLORS["BACKUP"]) > 500, "BACKUP bars are drawn"
    text = svg.read_text()
    for label in ("a / VI_1", "b / VI_1", "b MASTER +3.20s", "a: kill", "client sees VIP on"):
        assert label in text, label


def test_html_is_self_contained(tmp_path):
    h = sample_history()
    png, _ = draw_timeline(h, tmp_path / "timeline", "t")
    page = render_html(h, png, {"a": "log line <x>"}, "title")
    assert "<svg" in page and "log line &lt;x&gt;" in page and "a: kill" in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page, "the inline SVG has no prolog"
