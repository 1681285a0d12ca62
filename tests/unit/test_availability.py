"""A VIP's outages from a client's probes (lab.availability, pure)."""
import pytest

from lab.availability import SLOW_ANSWER, Availability, Probe, parse_probe_log


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
    text = "# period 0.05 timeout 0.8\n100.0 10.0.0.200 a 0.002\n100.0 2001:db8::10 - 0.8\n100.05 10.0.0.200 - 0.8\n\n"
    got = parse_probe_log(text, to_host=lambda t: t - 100)
    assert set(got) == {"10.0.0.200", "2001:db8::10"}
    assert got["10.0.0.200"].period == 0.05
    assert [(p.t, p.who, p.latency) for p in got["10.0.0.200"].probes] == [(0.0, "a", 0.002),
                                                                            (pytest.approx(0.05), "", 0.8)]
    with pytest.raises(ValueError, match=r"line 2: '100.0 oops' is not"):
        parse_probe_log("# period 0.05\n100.0 oops\n")
    with pytest.raises(ValueError, match=r"line 2: '100.0 10.0.0.200 a x' is not"):
        parse_probe_log("# period 0.05\n100.0 10.0.0.200 a x\n")


def timed(rows, period=0.05):
    """Probes from (send time, who, latency) rows."""
    a = Availability("10.0.0.200", period)
    a.probes = [Probe(t, "10.0.0.200", who, lat) for t, who, lat in rows]
    return a


def test_answers_later_than_the_period_but_not_slow_are_no_outage():
    # a loaded machine: every answer takes 2-4 periods (CI-17 read such answers as an outage)
    a = timed([(round(i * 0.05, 2), "a", 0.1 + 0.05 * (i % 3)) for i in range(20)])
    assert SLOW_ANSWER > 0.2
    assert a.outages() == [] and a.downtime == 0.0


def test_probes_held_until_the_vip_came_back_are_an_outage_to_their_first_answer():
    # the client's ARP entry was gone with a: its SYNs waited for b's gratuitous ARP at 1.6 s, then all were
    # answered at once (measured in a rolling upgrade: latencies 0.595, 0.543, ... falling by the period)
    rows = [(0.9, "a", 0.002), (0.95, "a", 0.002)]
    rows += [(round(1.0 + 0.05 * i, 2), "b", round(1.6 - (1.0 + 0.05 * i), 3)) for i in range(12)]
    rows += [(1.6, "b", 0.002), (1.65, "b", 0.002)]
    (o,) = timed(rows).outages()
    assert (o.start, o.before, o.after) == (1.0, "a", "b")
    assert o.end == pytest.approx(1.6) and o.length == pytest.approx(0.6)


def test_an_outage_ends_at_the_first_answer_that_arrives_even_from_a_probe_sent_earlier():
    rows = [(0.0, "a", 0.001), (0.05, "", 0.8), (0.1, "b", 0.5), (0.15, "b", 0.44), (0.6, "b", 0.001)]
    (o,) = timed(rows).outages()
    assert (o.start, o.after) == (0.05, "b") and o.end == pytest.approx(0.59)


def test_an_outage_shorter_than_a_slow_answer_is_not_told_from_one():
    # the resolution: a probe held less than SLOW_ANSWER is an answer (documented in lab.availability)
    rows = [(0.0, "a", 0.001), (0.05, "b", SLOW_ANSWER - 0.01), (0.1, "b", 0.001)]
    assert timed(rows).outages() == []
