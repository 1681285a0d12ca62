"""A VIP's outages from a client's probes (lab.availability, pure)."""
import pytest

from lab.availability import Availability, Probe, parse_probe_log


def probes(seq, period=0.05):
    a = Availability("10.0.0.200", period)
    a.probes = [Probe(round(i * period, 3), "10.0.0.200", who) for i, who in enumerate(seq)]
    return a


def test_an_outage_runs_from_the_first_unanswered_probe_to_the_next_answered_one():
    a = probes(["a", "a", "", "", "", "b", "b"])
    (o,) = a.outages()
    assert (o.start, o.end, o.before, o.after) == (0.1, 0.25, "a", "b")
    assert a.downtime == pytest.approx(0.15)
    assert a.answered_by() == [(0.0, "a"), (0.1, ""), (0.25, "b")]


def test_no_outage_when_every_probe_is_answered_even_across_a_handover():
    a = probes(["a", "a", "b", "b"])
    assert a.outages() == [] and a.downtime == 0.0
    assert [w for _, w in a.answered_by()] == ["a", "b"]


def test_an_outage_still_open_when_probing_stopped_counts_to_the_last_probe():
    a = probes(["a", "", "", ""])
    (o,) = a.outages()
    assert o.end is None and o.length is None and o.after == ""
    assert a.downtime == pytest.approx(0.1)


def test_two_outages_add_up():
    a = probes(["a", "", "a", "", "", "b"])
    assert [round(o.length, 3) for o in a.outages()] == [0.05, 0.1]
    assert a.downtime == pytest.approx(0.15)


def test_the_prober_log_is_parsed_per_vip_on_the_hosts_clock():
    text = "# period 0.05\n100.0 10.0.0.200 a\n100.0 2001:db8::10 -\n100.05 10.0.0.200 -\n\n"
    got = parse_probe_log(text, to_host=lambda t: t - 100)
    assert set(got) == {"10.0.0.200", "2001:db8::10"}
    assert got["10.0.0.200"].period == 0.05
    assert [(p.t, p.who) for p in got["10.0.0.200"].probes] == [(0.0, "a"), (pytest.approx(0.05), "")]
    with pytest.raises(ValueError, match=r"line 2: '100.0 oops' is not"):
        parse_probe_log("# period 0.05\n100.0 oops\n")
