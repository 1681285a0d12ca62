"""The keepalived.conf reader follows keepalived 2.2.7's parser (lib/parser.c; man 5 keepalived.conf)."""
import ipaddress

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.kaconf.from_config import from_config, from_text
from lab.kaconf.parse import decomment, dump, parse_file, parse_text, qe_words, words
from lab.topology import validate
from lab.topology.render import render_node


def test_comments_start_anywhere_unquoted_and_can_be_escaped():
    # parser.c decomment(): an unquoted ! or # starts a comment anywhere; \# and \! escape
    assert decomment("  auth_pass abc#def  ! note") == ("auth_pass abc", False)
    assert decomment('script "echo a#b" # c') == ('script "echo a#b"', False)
    assert decomment(r"auth_pass ab\#cd") == ("auth_pass ab#cd", False)
    assert decomment("$X=a \\")[1] is True


def test_words_and_quoted_strings():
    assert words('script "killall -0 nginx"') == (["script", "killall -0 nginx"], None)
    # a bare word ends at a quote (alloc_strvec_r)
    assert words('script"/tools/x.sh"')[0] == ["script", "/tools/x.sh"]
    assert words('a "b')[1] and "unmatched" in words('a "b')[1]
    # quoted-escaped splitting (man 5 keepalived.conf, Quoted strings)
    assert qe_words('abcd" efg h jkl "mnop') == ["abcd efg h jkl mnop"]
    assert qe_words('abcd "efg h jkl" mnop') == ["abcd", "efg h jkl", "mnop"]
    assert qe_words(r'a\tb "c\"d"') == ["a\tb", 'c"d']


def test_braces_on_one_line_and_nested_blocks():
    c = parse_text("vrrp_instance VI_1 { state BACKUP\n track_script { chk weight -20 }\n}\n")
    assert not c.problems
    (vi,) = c.statements
    assert (vi.keyword, vi.name, vi.line, vi.end_line) == ("vrrp_instance", "VI_1", 1, 3)
    assert vi.value("state") == "BACKUP"
    (chk,) = vi.find("track_script").children
    assert chk.words == ["chk", "weight", "-20"]


def test_unbalanced_braces_are_problems_with_lines():
    c = parse_text("global_defs {\n router_id x\n}\n}\nvrrp_instance V {\n")
    msgs = {(p.line, p.message.split(" ")[0]) for p in c.problems}
    assert (4, "Extra") in msgs and any(p.line == 5 and "never closed" in p.message for p in c.problems)


def test_script_argv_like_keepalived():
    c = parse_text('vrrp_script a {\n script "killall -0 nginx"\n}\nvrrp_script b {\n script"/tools/x.sh"\n}\n')
    assert c.block("vrrp_script", "a").find("script").script_argv() == ["killall", "-0", "nginx"]
    assert c.block("vrrp_script", "b").find("script").script_argv() == []     # keepalived: "No script set"


def test_definitions_plain_braced_multiline_and_predefined():
    text = ("$IF=eth1\n$PRIO=150\n$VIPS=10.0.0.1 \\\n  10.0.0.2\n"
            "vrrp_instance V {\n interface $IF\n priority ${PRIO}\n virtual_ipaddress {\n  $VIPS\n }\n"
            " notify_master \"/bin/echo ${_HASH}\"\n}\n")
    c = parse_text(text)
    v = c.block("vrrp_instance", "V")
    assert v.value("interface") == "eth1" and v.value("priority") == "150"
    assert [x.keyword for x in v.find("virtual_ipaddress").children] == ["10.0.0.1", "10.0.0.2"]
    assert v.value("notify_master") == "/bin/echo #"
    assert c.definitions["PRIO"] == "150"


def test_conditional_lines_follow_the_config_id():
    text = "vrrp_instance V {\n@high priority 170\n@low priority 85\n@^high advert_int 3\n}\n"
    hi = parse_text(text, config_id="high").block("vrrp_instance", "V")
    lo = parse_text(text, config_id="low").block("vrrp_instance", "V")
    assert hi.value("priority") == "170" and hi.value("advert_int") is None
    assert lo.value("priority") == "85" and lo.value("advert_int") == "3"
    assert parse_text(text).block("vrrp_instance", "V").value("priority") is None


def test_include_with_glob_relative_to_the_including_file(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "10-a.conf").write_text("vrrp_instance A {\n priority 10\n}\n")
    (tmp_path / "conf.d" / "20-b.conf").write_text("vrrp_instance B {\n priority 20\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("global_defs {\n router_id r\n}\ninclude conf.d/*.conf\ninclude missing/*.conf\n")
    c = parse_file(main)
    assert [s.name for s in c.find_all("vrrp_instance")] == ["A", "B"]
    b = c.block("vrrp_instance", "B")
    assert b.file.endswith("20-b.conf") and b.find("priority").line == 2
    assert any(p.line == 5 and "missing" in p.message for p in c.problems)


def test_sequence_blocks():
    # man 5 keepalived.conf, Sequence blocks: ~SEQ(VAR, start, step, end) repeats the rest of the line
    c = parse_text("vrrp_instance V {\n virtual_ipaddress {\n~SEQ(i, 1, 2, 5) 10.0.0.$i/24\n }\n}\n")
    vips = c.block("vrrp_instance", "V").find("virtual_ipaddress").children
    assert [v.keyword for v in vips] == ["10.0.0.1/24", "10.0.0.3/24", "10.0.0.5/24"]


def test_at_finds_statement_or_closing_brace():
    c = parse_text("vrrp_script s {\n interval 1\n}\n")
    assert c.at("<text>", 2)[1].keyword == "interval"
    assert c.at("<text>", 3)[1].keyword == "vrrp_script"


# ------------------------------------------------------------------ property: render -> parse -> render
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)


@st.composite
def topologies(draw):
    prio_a = draw(st.integers(1, 255))
    version = draw(st.sampled_from([None, 2, 3]))
    inst = {
        "interface": "eth0", "virtual_router_id": draw(st.integers(1, 255)),
        "state": draw(st.sampled_from(["MASTER", "BACKUP"])),
        # VRRPv2 carries whole seconds (RFC 3768 §5.3.7): a fraction only with VRRPv3
        "advert_int": draw(st.sampled_from([1, 2, 0.5, 3] if version == 3 else [1, 2, 3])),
        "version": version,
        "nopreempt": draw(st.booleans()),
        "preempt_delay": draw(st.sampled_from([None, 0, 5, 2.5])),
        "virtual_ipaddress": draw(st.lists(st.sampled_from(
            ["lan+200", "lan+201/24", "lan+202/24 dev eth0", "lan+203/24 dev eth0 label eth0:1",
             "lan+204/32 brd lan+255 scope global"]), min_size=1, max_size=3, unique=True)),
        "track_script": draw(st.lists(st.sampled_from(["chk", {"chk2": {"weight": -30}}]), max_size=1)),
        "track_interface": draw(st.sampled_from([[], ["eth0"], [{"eth0": {"weight": 10, "reverse": True}}]])),
        "track_file": draw(st.sampled_from([[], ["tf"], [{"tf": {"weight": -5}}]])),
        "notify_master": draw(st.sampled_from([None, "/bin/true", "/usr/bin/logger -t ka master"])),
        "notify": draw(st.sampled_from([None, "/usr/local/bin/notify.sh"])),
        "smtp_alert": draw(st.booleans()),
    }
    if draw(st.booleans()):
        inst["authentication"] = {"auth_type": draw(st.sampled_from(["PASS", "AH"])),
                                  "auth_pass": draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True))}
    if draw(st.booleans()):
        inst["unicast_src_ip"] = "lan+11"
        inst["unicast_peer"] = ["lan+12"]
    gd = {"router_id": draw(names), "notification_email": draw(st.lists(st.sampled_from(
        ["a@x.org", "b@y.org"]), unique=True)), "vrrp_strict": draw(st.booleans()),
        "vrrp_skip_check_adv_addr": draw(st.booleans()), "enable_script_security": draw(st.booleans()),
        "vrrp_garp_interval": draw(st.sampled_from([None, 0.001, 1])),
        "smtp_connect_timeout": draw(st.sampled_from([None, 30])),
        "vrrp_iptables": draw(st.sampled_from([None, True, "keepalived_in keepalived_out"])),
        "script_user": draw(st.sampled_from([None, "root", "nobody nogroup"]))}
    return validate({
        "name": "p", "networks": {"lan": {}}, "global_defs": {k: v for k, v in gd.items() if v is not None},
        "vrrp_scripts": {"chk": {"script": "killall -0 nginx", "weight": draw(st.integers(-253, 253)),
                                 "reverse": draw(st.booleans()), "fall": draw(st.integers(1, 5)),
                                 "rise": draw(st.integers(1, 5)), "interval": draw(st.integers(1, 10)),
                                 "timeout": draw(st.sampled_from([None, 2])), "init_fail": draw(st.booleans()),
                                 "user": draw(st.sampled_from([None, "root"]))},
                         "chk2": {"script": "/bin/bash -c '</dev/tcp/127.0.0.1/80'"}},
        "vrrp_track_files": {"tf": {"file": "/run/kalab/tf", "weight": draw(st.integers(-254, 254)),
                                    "init_file": draw(st.booleans())}},
        "vrrp_instances": {"VI_1": {k: v for k, v in inst.items() if v is not None}},
        "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {"priority": prio_a}},
                        "vrrp_sync_groups": {"G": {"group": ["VI_1"]}} if draw(st.booleans()) else {}}},
    })


SUBNETS = {"lan": ipaddress.IPv4Network("10.213.4.0/24")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies())
def test_render_parse_render_is_stable(topo):
    text = render_node(topo, "a", SUBNETS)
    cfg = parse_text(text)
    assert not [p for p in cfg.problems if p.severity == "error"], cfg.problems
    kc = from_config(cfg)
    assert not kc.notes, kc.notes
    # every keyword came back as the schema holds it
    inst = topo.instances("a")["VI_1"]
    got = kc.instances["VI_1"]
    for f in ("state", "priority", "advert_int", "version", "nopreempt", "preempt_delay", "authentication",
              "track_script", "track_interface", "track_file", "notify_master", "notify", "smtp_alert",
              "virtual_router_id", "interface"):
        assert getattr(got, f) == getattr(inst, f), f
    assert len(got.virtual_ipaddress) == len(inst.virtual_ipaddress)
    assert kc.scripts == topo.scripts("a")
    assert kc.track_files == topo.track_files("a")
    gd = topo.global_defs_for("a")
    assert kc.global_defs == gd
    assert set(kc.sync_groups) == set(topo.sync_groups("a"))
    # text -> tree -> text is a fixed point
    once = dump(cfg)
    assert dump(parse_text(once)) == once


def test_parsed_user_file_feeds_the_models():
    kc = from_text("vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 9\n priority 300\n"
                   " virtual_ipaddress {\n 10.0.0.1/24 dev eth0\n }\n}\n")
    assert kc.instances["VI_1"].priority == 100                 # keepalived: "Using default 100"
    assert any("Priority not valid" in n.message and n.line == 5 for n in kc.notes)


@pytest.mark.parametrize("text,says", [
    ("$M=one \\\nm $M end\n$M\n", "more than 20000 lines"),       # a multi-line definition that refers to itself
    ("~SEQ(i, 1, 100000000) priority $i\n", "would generate 100000000 lines"),
])
def test_expansion_is_bounded_and_says_so(text, says):
    cfg = parse_text(text)                               # bounded by MAX_GENERATED_LINES, not a clock
    assert any(says in p.message for p in cfg.problems), [p.message for p in cfg.problems]
