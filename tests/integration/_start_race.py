"""The start-up election when the higher-priority node has ``nopreempt``: a race the rules decide by time.

Both nodes start BACKUP; each becomes MASTER when its master down interval runs out without an advert
(RFC 3768 §6.4.2). A ``nopreempt`` node that then hears a lower-priority master stays BACKUP (man 5
keepalived.conf ``nopreempt``). So the lower-priority node wins the start if it started earlier by more
than the difference of the two intervals (0.195 s for 150 vs 100 at advert_int 1): seen in CI, where s2
started 0.2 s first and timed out 3 ms before s1. Tests about what the higher-priority master does next
first make it the master the rules' way."""


def make_master(lab, instance: str, want: str) -> None:
    """Settle the start election on ``want``: if another node won it, that node goes away (``want`` takes
    over after its master down interval) and comes back as BACKUP."""
    won = lab.wait_for_master(instance).name
    if won == want:
        return
    t = lab.node(won).kill()
    assert lab.wait_for_transition(instance, "MASTER", since=t)["node"] == want
    t = lab.node(won).start()
    lab.wait_for_transition(instance, "BACKUP", node=won, since=t, timeout=lab.convergence_deadline(instance))
    assert lab.wait_for_master(instance).name == want
