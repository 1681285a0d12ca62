"""Owner identity and the reaper's rule (lab.runtime.owner): only a provably gone owner's lab is reaped."""
import os

import pytest

from lab.runtime import labels as L
from lab.runtime.choose import choose_lab
from lab.runtime.network import host_routes
from lab.runtime.owner import Owner, liveness, me, start_ticks
from lab.errors import LabError

NS, BOOT = "pid:[4026531836]", "b0"


def caller(ns=NS, boot=BOOT):
    return Owner("h", 1, ns, boot, "1", "")


def never(cid):
    raise AssertionError("no container lookup expected")


def test_me_records_namespace_boot_and_start():
    o = me()
    assert o.pid == os.getpid()
    assert o.pidns == os.readlink("/proc/self/ns/pid")
    assert o.boot and o.start == start_ticks(os.getpid()) and o.start.isdigit()
    assert Owner.from_labels(o.labels()) == o


def test_start_ticks_of_a_missing_process_is_empty():
    assert start_ticks(2 ** 22 + 7) == ""      # above pid_max's ceiling: never a process


def test_same_namespace_live_process_is_alive():
    o = me()
    assert liveness(o, o, never) == "alive"


def test_same_namespace_reused_pid_is_gone():
    # the PID is alive (this process) but started at another time: another process owns it now
    o = me()
    reused = Owner(o.host, o.pid, o.pidns, o.boot, str(int(o.start) + 1))
    assert liveness(reused, o, never) == "gone"


def test_same_namespace_dead_pid_is_gone():
    o = me()
    assert liveness(Owner(o.host, 2 ** 22 + 7, o.pidns, o.boot, "5"), o, never) == "gone"


@pytest.mark.parametrize("other", [caller(ns="pid:[4026532999]"), caller(boot="b1")])
def test_other_namespace_or_boot_is_unknown_even_with_a_dead_looking_pid(other):
    # same host name, a PID this process cannot see: it may be alive in its own namespace
    owner = Owner("h", 2 ** 22 + 7, other.pidns, other.boot, "5")
    assert liveness(owner, caller(), never) == "unknown"


def test_legacy_owner_without_identity_is_unknown():
    assert liveness(Owner.from_labels({L.OWNER: f"h:{2 ** 22 + 7}"}), caller(), never) == "unknown"
    assert liveness(None, caller(), never) == "unknown"


@pytest.mark.parametrize("state, expect", [(None, "gone"), (False, "gone"), (True, "unknown")])
def test_owner_container_decides_across_namespaces(state, expect):
    owner = Owner("h", 7, "pid:[4026532999]", BOOT, "5", "c" * 64)
    assert liveness(owner, caller(), lambda cid: state if cid == "c" * 64 else None) == expect


def _lab(user="0", project="/p", keep="1"):
    return {L.USER: user, L.PROJECT: project, L.KEEP: keep, L.TOPOLOGY: "t"}


def test_choose_prefers_own_lab_in_this_project():
    ids = {"a": _lab(project="/other"), "b": _lab(), "c": _lab(user="1000")}
    assert choose_lab(ids, "0", "/p")[0] == "b"


def test_choose_own_only_lab_elsewhere_and_says_where():
    lab, why = choose_lab({"a": _lab(project="/other"), "c": _lab(user="1000", project="/p")}, "0", "/p")
    assert lab == "a" and "/other" in why


@pytest.mark.parametrize("ids, needle", [
    ({"c": _lab(user="1000")}, "other users' labs (c)"),               # never another user's lab
    ({"t": _lab(keep="0")}, "no lab started by `kalab up`"),           # never a test's lab
    ({"a": _lab(), "b": _lab()}, "2 of your labs"),
    ({"a": _lab(project="/x"), "b": _lab(project="/y")}, "2 of your labs"),
])
def test_choose_refuses_without_lab(ids, needle):
    with pytest.raises(LabError, match="--lab ID|kalab up") as e:
        choose_lab(ids, "0", "/p")
    assert needle in str(e.value)


def test_host_routes_parse_proc_net_route(tmp_path):
    f = tmp_path / "route"
    f.write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
                 "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
                 "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
                 "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    got = [(str(n), d) for n, d in host_routes(str(f))]
    assert got == [("0.0.0.0/0", "eth0"), ("192.168.0.0/24", "eth0")]


A = "a" * 64
B = "b" * 64
#: a Docker host's own mountinfo: every running container's shm and overlay, but this process is on the host
HOST_MOUNTINFO = f"""\
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
812 22 0:63 / /var/lib/docker/containers/{B}/mounts/shm rw,nosuid,nodev,noexec,relatime shared:400 - tmpfs shm rw,size=65536k
830 22 0:64 / /var/lib/docker/overlay2/0123/merged rw,relatime shared:410 - overlay overlay rw
831 830 254:1 /var/lib/docker/containers/{B}/hostname /var/lib/docker/overlay2/0123/merged/etc/hostname rw - ext4 /dev/vda1 rw
"""
#: inside container A: the engine's bind mounts of its own files
CONTAINER_MOUNTINFO = f"""\
600 550 0:70 / / rw,relatime master:300 - overlay overlay rw
611 600 254:1 /var/lib/docker/containers/{A}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw
612 600 254:1 /var/lib/docker/containers/{A}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw
613 600 254:1 /var/lib/docker/containers/{A}/hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw
"""


def test_a_host_that_sees_other_containers_mounts_is_in_no_container():
    # before: the first "/containers/<id>/" anywhere was taken as this process's container, so a lab
    # owned by a process on the host looked gone when that other container was removed, and was reaped
    # (found under -n 4: an xdist worker's live lab recorded a 27-s container as its owner's and was
    # reaped by a `kalab` start 2 s after that container ended)
    from lab.runtime.owner import own_container_id
    assert own_container_id(HOST_MOUNTINFO) == ""
    assert own_container_id(CONTAINER_MOUNTINFO) == A
    assert own_container_id(HOST_MOUNTINFO + CONTAINER_MOUNTINFO) == A
