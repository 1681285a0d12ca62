"""Seed §5 global_defs: router_id, email alerts, vrrp_strict (refusals and firewall), vrrp_iptables,
vrrp_garp_interval. The seed's own explanations are the expected values."""
import re

import pytest

from lab.conformance import expect_claim
from lab.timers import MARGIN
from lab.topology import validate

from .builders import Tcpdump, master_after_start, mdi

#: a conformance claim is checked on every keepalived release (lab.releases): one column each
pytestmark = pytest.mark.every_release





def conf(global_defs: str, instance_extra: str = "", vips: str = "{{ instances.VI_1.vips[0] }}") -> str:
    return f"""global_defs {{
    router_id RID_{{{{ node }}}}
{global_defs}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority {{{{ 150 if node == 's1' else 100 }}}}
    advert_int 1
{instance_extra}
    virtual_ipaddress {{
        {vips}
    }}
}}
"""


def topo(tmp_path, text: str, nodes=("s1", "s2")):
    (tmp_path / "k.conf.j2").write_text(text)
    ns = {n: {"interfaces": {"eth0": {"network": "lan"}}, "config_template": "k.conf.j2"} for n in nodes}
    ns["client"] = {"kind": "client", "interfaces": {"eth0": {"network": "lan", "host": 99}}}
    inst = {"interface": "eth0", "virtual_router_id": 52, "virtual_ipaddress": ["lan+200"]}
    return validate({"name": "seed_s5g", "networks": {"lan": {}}, "vrrp_instances": {"VI_1": inst}, "nodes": ns},
                    str(tmp_path / "t.yaml"))


def start_smtp_sink(client):
    """An SMTP server in the client container that prints every mail to /tmp/mail.log: aiosmtpd's Debugging
    handler, else Python's smtpd DebuggingServer (gone from Python 3.12's standard library), as the image's
    build found them (/etc/kalab/features)."""
    have = client.features()
    if have.get("aiosmtpd") == "1":
        server = "python3 -W ignore -u -m aiosmtpd -n -l 0.0.0.0:25"
    elif have.get("python_smtpd") == "1":
        server = "python3 -W ignore -u -m smtpd -n -c DebuggingServer 0.0.0.0:25"
    else:
        pytest.fail(f"the client's image has no SMTP server to receive keepalived's mail: {have}", pytrace=False)
    client.container.exec_run(["sh", "-c", f"{server} > /tmp/mail.log 2>&1"], detach=True)
    # ready when port 25 answers (bounded, event driven: bash's connect attempt blocks until it can)
    client.exec("timeout 10 sh -c 'until bash -c \"</dev/tcp/127.0.0.1/25\" 2>/dev/null; do sleep 0.1; done'", check=True)


def wait_for_mail(client, pattern: str, timeout: float) -> str:
    """Block until /tmp/mail.log has a line matching ``pattern`` (grep -m1 on a follow); '' at the deadline."""
    r = client.exec(f"timeout {timeout:g} tail -n +1 -F /tmp/mail.log | grep -m1 -E {pattern!r}")
    return r.output.strip() if r.ok else ""


EMAIL = """    notification_email {
        acassen@firewall.loc
        failover@firewall.loc
    }
    notification_email_from Alexandre.Cassen@firewall.loc
    smtp_server {{ peers_client }}
    smtp_connect_timeout 30"""


def email_conf(extra=""):
    return conf(EMAIL.replace("{{ peers_client }}", "SMTP_ADDR") + extra)


@pytest.mark.claim("5-email", "§5 notification_email + smtp_server (the seed's global_defs): a state change "
                   "sends a mail to the listed addresses")
@pytest.mark.differs(reason="seed: notification_email and smtp_server are enough "
                   "for alerts; keepalived sends none unless `smtp_alert` is set (globally or in the "
                   "instance): man 5 keepalived.conf, smtp_alert")
def test_email_with_seed_global_defs(lab_factory, tmp_path):
    text = email_conf().replace("SMTP_ADDR", "{{ '%s' }}")
    t = topo(tmp_path, text)
    _email_case(lab_factory, tmp_path, t, text, expect_claim_mode=True)


@pytest.mark.claim("5-email-smtp-alert", "§5 email alerts with smtp_alert: the mail's subject names the "
                   "router_id, the instance and the new state")
def test_email_with_smtp_alert(lab_factory, tmp_path):
    text = email_conf("\n    smtp_alert").replace("SMTP_ADDR", "{{ '%s' }}")
    _email_case(lab_factory, tmp_path, topo(tmp_path, text), text, expect_claim_mode=False)


def _email_case(lab_factory, tmp_path, t, text, expect_claim_mode):
    # the SMTP server is the client node: its address is lan+99, known once the lab allocates the subnet;
    # keepalived reads the config at start, so the template resolves it through the lab's facts
    (tmp_path / "k.conf.j2").write_text(text.replace("{{ '%s' }}", "{{ subnets.lan.split('/')[0].rsplit('.', 1)[0] }}.99"))
    lab = lab_factory(t)
    start_smtp_sink(lab.node("client"))
    assert lab.wait_for_master("VI_1").name == "s1"
    t_kill = lab.node("s1").kill()                  # a state change after the sink is up: s2 -> MASTER
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t_kill, timeout=mdi(100) + MARGIN)
    subject = wait_for_mail(lab.node("client"), r"Subject:.*RID_s2.*VI_1.*MASTER", 10)
    if expect_claim_mode:
        expect_claim(bool(subject), "no mail arrived at the SMTP server")
    else:
        assert re.search(r"\[RID_s2\] VRRP Instance VI_1 - Entering MASTER state", subject, re.I), subject
        assert wait_for_mail(lab.node("client"), "acassen@firewall.loc", 5)


@pytest.mark.claim("5-strict-firewall", "§5 vrrp_strict without vrrp_iptables adds firewall rules that make the "
                   "VIP unreachable")
def test_vrrp_strict_blocks_vip(lab_factory, tmp_path):
    lab = lab_factory(topo(tmp_path, conf("    vrrp_strict")))
    assert lab.wait_for_master("VI_1").name == "s1"
    assert lab.vip_holders("VI_1") == ["s1"]
    assert lab.client.http_get_vip("VI_1") is None, "the VIP answers although vrrp_strict should block it"


@pytest.mark.claim("5-strict-iptables", "§5 vrrp_iptables with vrrp_strict: no firewall rules are added, "
                   "the VIP answers")
@pytest.mark.differs(reason="seed: vrrp_iptables stops vrrp_strict from adding "
                   "firewall rules; Debian's keepalived is built without iptables support, logs 'iptables not "
                   "supported, using nftables instead' and installs the nftables table that drops VIP traffic")
def test_vrrp_strict_with_vrrp_iptables(lab_factory, tmp_path):
    lab = lab_factory(topo(tmp_path, conf("    vrrp_strict\n    vrrp_iptables")))
    assert lab.wait_for_master("VI_1").name == "s1"
    expect_claim(lab.client.http_get_vip("VI_1") == "s1", "the VIP does not answer")


REFUSALS = {
    "no-vip": ("", "# no VIP"),
    "unicast-peer": ("    unicast_peer {\n        {{ peers.values() | map(attribute='eth0') | first }}\n    }",
                     "{{ instances.VI_1.vips[0] }}"),
    "ipv6-in-v2": ("", "{{ instances.VI_1.vips[0] }}\n        2001:db8::1/64"),
}


def _differs(reason, *releases):
    return pytest.mark.differs(*releases, reason=reason)


@pytest.mark.claim("5-strict-refusals", "§5 vrrp_strict refuses to start the service with (1) no VIP, "
                   "(2) unicast peers, (3) IPv6 addresses in VRRPv2")
@pytest.mark.parametrize("case", [
    "no-vip",
    pytest.param("unicast-peer", marks=_differs(
        "seed: vrrp_strict refuses unicast peers (keepalived 2.1.5 does: 'Unicast peers are not supported in strict "
        "mode', exit CONFIG); keepalived 2.2.7 and later run the instance in unicast anyway "
        "(sockpool 'unicast', the node becomes MASTER) and only installs its nftables VIP filter", "2.2.7", "2.3.3", "2.3.4")),
    pytest.param("ipv6-in-v2", marks=_differs(
        "seed: vrrp_strict refuses IPv6 addresses in VRRPv2; keepalived drops the IPv6 VIP with "
        "'address family must match VRRP instance - ignoring' (with or without strict) and runs the instance")),
])
def test_vrrp_strict_refusals(lab_factory, tmp_path, case):
    extra, vips = REFUSALS[case]
    lab = lab_factory(topo(tmp_path, conf("    vrrp_strict", extra, vips)))
    # a started instance of the only priority-150 node would be MASTER within its master down interval
    became = master_after_start(lab, "s1", 150)
    expect_claim(not became, f"vrrp_strict let the instance run with {case}: s1 became MASTER")
    if case == "no-vip":
        assert "No VIP specified; at least one is required" in lab.node("s1").logs(60)


@pytest.mark.claim("5-garp-interval", "§5 vrrp_garp_interval: the delay between gratuitous ARPs; 0 means no delay")
@pytest.mark.parametrize("interval", [0, 0.5])
def test_garp_interval(lab_factory, tmp_path, interval):
    lab = lab_factory(topo(tmp_path, conf(f"    vrrp_garp_interval {interval}")))
    assert lab.wait_for_master("VI_1").name == "s1"
    client, s2 = lab.node("client"), lab.node("s2")
    mac = s2.mac()
    # s2's gratuitous ARPs when it takes over: the first three
    dump = Tcpdump(client, f"arp and ether src {mac}", count=3)
    t = lab.node("s1").kill()
    lab.wait_for_transition("VI_1", "MASTER", node="s2", since=t, timeout=mdi(100) + MARGIN)
    times = [float(l.split()[0]) for l in dump.lines(timeout=10)]
    assert len(times) == 3, times
    gaps = [b - a for a, b in zip(times, times[1:])]
    if interval == 0:
        assert max(gaps) < 0.1, f"0 means no delay between gratuitous ARPs: gaps {gaps}"
    else:
        assert min(gaps) >= interval - 0.05, f"gaps {gaps} shorter than vrrp_garp_interval {interval}"


@pytest.mark.claim("5-garp-zero", "§5 the seed's `vrrp_garp_interval 0` and `vrrp_gna_interval 0` are valid settings")
@pytest.mark.differs(reason="seed sets vrrp_garp_interval 0 and vrrp_gna_interval 0; "
                   "keepalived rejects 0 (\"number '0' outside range [0.000001, 4294.967295]\", \"'0' is invalid\") "
                   "and keeps its default, which also sends without delay (see the garp-interval claim)")
def test_garp_zero_is_accepted(lab_factory, tmp_path):
    lab = lab_factory(topo(tmp_path, conf("    vrrp_garp_interval 0\n    vrrp_gna_interval 0")))
    assert lab.wait_for_master("VI_1").name == "s1"
    log = lab.node("s1").logs(300)
    expect_claim("is invalid" not in log and "outside range" not in log,
                 "keepalived rejected the value: " + next(l for l in log.splitlines() if "invalid" in l or "range" in l))
