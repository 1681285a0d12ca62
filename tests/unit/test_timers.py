"""Timer formulas, each row from RFC 3768 / RFC 5798 §6.1 worked by hand."""
import pytest

from lab.timers import master_down_interval, skew_time


@pytest.mark.parametrize("priority, advert_int, version, skew, mdi", [
    (100, 1, 2, 156 / 256, 3 + 156 / 256),     # RFC 3768: (256-100)/256 s
    (150, 1, 2, 106 / 256, 3 + 106 / 256),
    (255, 1, 2, 1 / 256, 3 + 1 / 256),
    (1, 1, 2, 255 / 256, 3 + 255 / 256),
    (100, 2, 2, 156 / 256, 6 + 156 / 256),     # v2 skew does not scale with the interval
    (100, 1, 3, 0.60, 3.60),                   # RFC 5798: (156*100 cs)//256 = 60 cs
    (100, 0.1, 3, 0.06, 0.36),                 # (156*10)//256 = 6 cs
    (200, 0.5, 3, 0.10, 1.60),                 # (56*50)//256 = 10 cs
])
def test_skew_and_master_down_interval(priority, advert_int, version, skew, mdi):
    assert skew_time(priority, advert_int, version) == pytest.approx(skew)
    assert master_down_interval(priority, advert_int, version) == pytest.approx(mdi)


@pytest.mark.parametrize("args", [(0, 1, 2), (256, 1, 2), (100, 0, 2), (100, 1, 4)])
def test_out_of_range_is_rejected(args):
    with pytest.raises(ValueError):
        master_down_interval(*args)
