"""The rules the election model applies, each with its source (pure constants).

``man 5 keepalived.conf`` of keepalived 2.2.7, RFC 3768 (VRRPv2), RFC 5798 (VRRPv3). Where the
documents are silent and the rule is keepalived's own observed behaviour, the text says so.
Every expectation of :mod:`lab.election.model` names the rules that decided it.
"""
from __future__ import annotations

R_WEIGHT_POS = ("man 5 keepalived.conf, VRRP script(s): a positive weight means that <rise> successes "
                "will add <weight> to the priority")
R_WEIGHT_NEG = ("man 5 keepalived.conf, VRRP script(s): a negative weight will be subtracted from the "
                "initial priority in case of <fall> failures")
R_REVERSE = ("man 5 keepalived.conf, vrrp_instance track_script/track_interface: reverse causes the "
             "direction of the adjustment of the priority to be reversed")
R_CLAMP = ("man 5 keepalived.conf, vrrp_instance priority: track_scripts etc cannot increase the priority "
           "to 255 if the configured priority is not 255 (valid range 1..255); effective priority is kept in 1..254")
R_OWNER = ("man 5 keepalived.conf, vrrp_instance priority: if an instance has priority 255 configured, the "
           "priority cannot be reduced by track_scripts")
R_WEIGHT0 = ("man 5 keepalived.conf, VRRP script(s): the default weight 0 means the instance transitions to "
             "FAULT after <fall> consecutive failures; <rise> consecutive successes leave FAULT")
R_WEIGHT0_REVERSE = "man 5 keepalived.conf, vrrp_script weight: 'weight 0 reverse' puts the instance down when the script is up"
R_HIGHEST = "RFC 3768/5798 §6.4.3 and man 5 keepalived.conf priority: for electing MASTER, highest priority wins"
R_PREEMPT = ("man 5 keepalived.conf nopreempt: a higher priority instance normally preempts a lower priority "
             "one; RFC 3768 §6.4.2: a preempting backup discards lower-priority adverts, so it becomes MASTER "
             "when its Master_Down_Timer fires")
R_NOPREEMPT = ("man 5 keepalived.conf nopreempt: stops the higher priority machine taking over the master role "
               "(NOTE: the initial state must not be MASTER)")
R_PREEMPT_DELAY = ("man 5 keepalived.conf preempt_delay: seconds of delay until preemption after the advert "
                   "timeout at startup or when seeing a lower priority master (initial state must not be MASTER)")
R_EQUAL_BACKUP = ("RFC 3768 §6.4.2: a backup resets its Master_Down_Timer on an advert whose priority is greater "
                  "than or equal to its own, so it does not preempt an equal-priority master")
R_EQUAL_MASTERS = ("RFC 3768 §6.4.3: between masters of equal priority, the one with the greater primary IP "
                   "address stays MASTER, the other transitions to BACKUP")
R_MDI = ("RFC 3768 §6.1 / RFC 5798 §6.1: Master_Down_Interval = 3 x Advertisement_Interval + Skew_Time, "
         "Skew_Time = (256 - Priority)/256 s (v2) or (256 - Priority) x Advert_Interval/256 (v3, centiseconds)")
R_PRIO0 = ("RFC 3768 §6.4.3 (Shutdown: send an advert with priority 0) and §6.4.2 (a priority-0 advert sets "
           "the Master_Down_Timer to Skew_Time)")
R_BLOCKED = ("RFC 3768 §6.4.2: a backup that hears no advert for Master_Down_Interval becomes MASTER, so a node "
             "whose adverts are blocked becomes a second MASTER")
R_MASTERS_MEET = ("RFC 3768 §6.4.3: a master that hears a higher-priority advert (or equal priority from a greater "
                  "primary IP) transitions to BACKUP at once")
R_IFACE = ("man 5 keepalived.conf track_interface / dont_track_primary: an unweighted tracked interface (the "
           "instance's own interface is tracked by default) going down puts the instance in FAULT")
R_FAULT_LEAVE = ("keepalived leaves MASTER when entering FAULT; RFC 3768 defines no FAULT state, so the backup "
                 "takes over no later than its Master_Down_Interval after the master's last advert")
R_STARTUP = ("man 5 keepalived.conf state: an instance not at priority 255 waits between 3 and 4 advert intervals "
             "(its Master_Down_Interval) before it can become MASTER")
R_DOWN = "a node that is down or paused sends no adverts and takes part in no election"
R_HEARING = ("RFC 3768 §6.4.2/§6.4.3 applied per pair: a node acts only on the adverts it receives; a backup that "
             "receives no acceptable advert for Master_Down_Interval becomes MASTER even if the master still "
             "sends, and a master steps down only for a higher-priority advert it receives")
R_BACKUP_ACCEPTS = ("RFC 3768 §6.4.2: a backup resets its Master_Down_Timer on an advert if Preempt_Mode is False or "
                    "the advert's priority is greater than or equal to its own; otherwise it discards the advert")
R_DISCARD = ("RFC 3768 §7.1: a receiver MUST discard an advert whose version is not its own, whose authentication "
             "does not match its configuration (keepalived compares the first 8 characters of auth_pass), or whose "
             "Adver Int differs from its own (VRRPv2); RFC 5798 §6.4.2: a VRRPv3 backup takes the master's interval "
             "instead, so an interval mismatch is no discard there")
R_VRID = ("RFC 3768 §7.1 / RFC 5798 §7.1: a receiver MUST verify that the VRID is configured on the receiving "
          "interface, else it discards the advert: instances with different virtual_router_id are separate virtual "
          "routers and never hear each other")
R_ADDR_LIST = ("RFC 3768 §7.1: a receiver MAY verify the IP address(es) associated with the VRID and MUST discard the "
               "advert if a check fails; keepalived up to 2.3.2 does (2.1.5 and 2.2.7 vrrp.c vrrp_check_packet: an advert "
               "whose address count or any address differs from the receiver's own virtual_ipaddress set is dropped, "
               "addr_list_err), so instances reusing one VRID with different VIPs on one segment do not hear each other "
               "and each is MASTER")
R_ADDR_LIST_ACCEPTED = ("keepalived 2.3.3 and later count and log an advert whose address count or addresses differ "
                        "(addr_list_err; the log line once until the state changes) and then process it like any other "
                        "(vrrp.c vrrp_check_packet, commit 90555872 'vrrp: check TTL/HL and unicast source ip even when "
                        "not checking VIPs', first in v2.3.3; RFC 3768 §7.1 makes the check a MAY): instances reusing "
                        "one VRID with different VIPs on one segment hear each other and elect one MASTER")

#: the keepalived releases a version-dependent rule applies to: rule -> (first version it holds for, first version it
#: no longer holds for), None for open; the rule text names the change (changelog or source) that bounds it
RELEASE_RANGES: dict[str, tuple[str | None, str | None]] = {
    R_ADDR_LIST: (None, "2.3.3"),
    R_ADDR_LIST_ACCEPTED: ("2.3.3", None),
}


def applies(rule: str, version: str) -> bool:
    """Whether ``rule`` holds for keepalived ``version`` (``"2.3.4"``): always, unless RELEASE_RANGES bounds it."""
    from ..releases import version_key
    lo, hi = RELEASE_RANGES.get(rule, (None, None))
    key = version_key(version)
    return (lo is None or key >= version_key(lo)) and (hi is None or key < version_key(hi))
R_TRACK_FILE = ("man 5 keepalived.conf, Track files: the file is read whenever it is modified; with weight 0 a non-zero "
                "value is a failure (FAULT) and 0 is OK; otherwise value x weight is added to the priority (effective "
                "priority kept in 1..254) and a result below -253 is FAULT; reverse inverts it. keepalived 2.2.7's own, "
                "where the man page is silent (trackers/track_file.c): a missing, empty or non-numeric file reads as 0, "
                "the product is kept in -254..253, the file is read when its writer closes it")
R_SYNC_FAULT = ("man 5 keepalived.conf, VRRP synchronization group(s): the instances of a group are synchronized so that a "
                "transition of one is reflected to the others: a member in FAULT puts every member on that node in FAULT "
                "(keepalived 2.2.7 vrrp_sync.c vrrp_sync_fault; a MASTER member sends priority 0 as it leaves) and they "
                "leave FAULT together when no member is faulted (vrrp_scheduler.c try_up_instance)")
R_SYNC_MASTER = ("man 5 keepalived.conf, VRRP synchronization group(s): a group's instances transition together; "
                 "keepalived 2.2.7 moves a group to MASTER only when every member wants MASTER (vrrp_sync.c "
                 "vrrp_sync_can_goto_master, vrrp_sync_master), so members taken over together all wait for the "
                 "slowest member's timer")
R_SYNC_WEIGHTS = ("man 5 keepalived.conf, VRRP synchronization group(s) and Track files: a member instance's own trackers "
                  "lose their weights (keepalived 2.2.7 vrrp.c vrrp_complete_instance: a track_file with the default "
                  "weight 1 becomes weight 0, with another weight it is ignored; the same for an address owner); the "
                  "group's own track_script/track_interface/track_file apply to every member with their weights")
R_SCRIPT_DISABLED = ("keepalived 2.2.7's own, where the man page is silent (vrrp.c check_track_script_secure, lib/notify.c): "
                     "a tracked script whose command is not found or not executable is disabled ('Disabling track "
                     "script'), never runs, and never changes the priority or the state")
R_ROGUE = ("RFC 3768 §6.4.2/§6.4.3 applied to a forged advert that a receiver accepts (same VRID, version, "
           "authentication and interval): a master that hears a higher priority steps down, a backup resets its timer on "
           "a priority at least its own; the forger is a master that never steps down; priority 0 tells backups the "
           "master stopped (their timer becomes the skew time) and the real master answers at once (§6.4.3)")
R_GRACEFUL_SIGNAL = ("keepalived shuts down gracefully on SIGTERM/SIGINT (sends priority-0 adverts and removes its VIPs; "
                     "keepalived(8), SIGNALS), as RFC 3768 §6.4.3 Shutdown requires")

#: every rule constant: name -> text
RULES = {k: v for k, v in sorted(globals().items()) if k.startswith("R_")}


STATES = ("MASTER", "BACKUP", "FAULT", "DOWN", "PAUSED")


