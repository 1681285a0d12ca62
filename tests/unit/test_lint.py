"""Each lint rule fires on the mistake it names and stays quiet on the fixed config (no Docker).

The registry tests at the end walk :data:`RULES`: every registered rule has a test here named
``..._fire...`` that runs it and asserts it fires, and docs/lint-rules.md matches the registry.
"""
import ast
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

from lab.kaconf.ktest_output import EXIT_MEANING, parse_output
from lab.kaconf import lint as lint_pkg
from lab.kaconf.lint import (RULE_INFO, RULES, discover_rules, exit_code, format_json, format_text, lint_files,
                             lint_texts, rules_markdown)

ROOT = Path(__file__).resolve().parents[2]


def inst(name="VI_1", *, state="BACKUP", prio=100, vrid=51, itf="eth0", extra="", vips="10.0.0.200/24"):
    return (f"vrrp_instance {name} {{\n    state {state}\n    interface {itf}\n    virtual_router_id {vrid}\n"
            f"    priority {prio}\n    advert_int 1\n{extra}    virtual_ipaddress {{\n        {vips}\n    }}\n}}\n")


def run(rule, texts, **kw):
    return lint_texts(texts, rules=[rule], **kw).by_rule(rule)


def test_every_rule_has_a_docstring_citing_its_source():
    for name, fn in RULES.items():
        doc = fn.__doc__ or ""
        assert "man 5" in doc or "RFC" in doc or "measured" in doc, name


# ---- nopreempt-master
def test_nopreempt_with_master_fires_with_line():
    d = run("nopreempt-master", {"a": inst(state="MASTER", extra="    nopreempt\n")})
    assert len(d) == 1 and d[0].line == 7 and d[0].keyword == "nopreempt" and d[0].severity == "error"


def test_nopreempt_with_backup_is_quiet():
    assert not run("nopreempt-master", {"a": inst(state="BACKUP", extra="    nopreempt\n")})


def test_preempt_delay_with_master_fires():
    assert run("nopreempt-master", {"a": inst(state="MASTER", extra="    preempt_delay 5\n")})


# ---- weight-gap
SCRIPT = "vrrp_script chk {\n    script \"killall -0 nginx\"\n    weight %d\n}\n"
TRACK = "    track_script {\n        chk\n    }\n"


def test_weight_smaller_than_gap_fires_and_shows_the_arithmetic():
    a = SCRIPT % -10 + inst(prio=150, extra=TRACK)
    b = SCRIPT % -10 + inst(prio=100, extra=TRACK)
    (d,) = run("weight-gap", {"a": a, "b": b})
    assert d.file == "a" and d.keyword == "track_script"
    assert "150 - 10 = 140" in d.message and "100" in d.message and "|weight| > 50" in d.message


def test_weight_larger_than_gap_is_quiet():
    a = SCRIPT % -60 + inst(prio=150, extra=TRACK)
    b = SCRIPT % -60 + inst(prio=100, extra=TRACK)
    assert not run("weight-gap", {"a": a, "b": b})


def test_positive_weight_the_seeds_way():
    # seed section 4: master fails when master priority < backup priority + weight
    ok = {"a": SCRIPT % 20 + inst(prio=100, extra=TRACK), "b": SCRIPT % 20 + inst(prio=90, extra=TRACK)}
    assert not run("weight-gap", ok)                                    # 100 < 90 + 20
    bad = {"a": SCRIPT % 5 + inst(prio=100, extra=TRACK), "b": SCRIPT % 5 + inst(prio=90, extra=TRACK)}
    (d,) = run("weight-gap", bad)                                       # 100 >= 90 + 5
    assert "105 - 5 = 100" in d.message


def test_equal_priority_after_failure_does_not_move_the_vip():
    # RFC 3768 6.4.2: a backup does not preempt an advert with priority equal to its own
    d = run("weight-gap", {"a": SCRIPT % -50 + inst(prio=150, extra=TRACK), "b": inst(prio=100)})
    assert d and "150 - 50 = 100" in d[0].message


def test_address_owner_priority_is_never_lowered():
    d = run("weight-gap", {"a": SCRIPT % -100 + inst(prio=255, extra=TRACK), "b": inst(prio=100)})
    assert d and "255" in d[0].message


def test_a_track_file_is_not_a_single_step_and_is_not_flagged():
    # man 5 keepalived.conf, track_file: the file's value x weight is added, so a value of 6 with weight -10
    # gives -60 and moves the VIP here (150 - 60 < 100); "can never move" would be false (a newcomer saw it)
    tf = "vrrp_track_file flag {\n    file /tmp/flag\n    weight -10\n}\n"
    track = "    track_file {\n        flag\n    }\n"
    assert not run("weight-gap", {"a": tf + inst(prio=150, extra=track), "b": tf + inst(prio=100, extra=track)})


# ---- auth-pass-length
AUTH = "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n"


def test_long_auth_pass_fires():
    (d,) = run("auth-pass-length", {"a": inst(extra=AUTH % "secret123456")})
    assert "'secret12'" in d.message and d.line == 7


def test_eight_character_auth_pass_is_quiet():
    assert not run("auth-pass-length", {"a": inst(extra=AUTH % "secret12")})


# ---- auth-mismatch
def test_auth_mismatch_between_peers_fires_on_both():
    d = run("auth-mismatch", {"a": inst(extra=AUTH % "one"), "b": inst(extra=AUTH % "two")})
    assert {x.file for x in d} == {"a", "b"}


def test_auth_missing_on_one_peer_fires():
    assert run("auth-mismatch", {"a": inst(extra=AUTH % "one"), "b": inst()})


def test_auth_equal_after_truncation_is_quiet():
    assert not run("auth-mismatch", {"a": inst(extra=AUTH % "secret12AAA"), "b": inst(extra=AUTH % "secret12BBB")})


# ---- advert-mismatch
def test_advert_int_mismatch_v2_fires():
    b = inst().replace("advert_int 1", "advert_int 2")
    d = run("advert-mismatch", {"a": inst(), "b": b})
    assert len(d) == 2 and "a:VI_1=1s" in d[0].message and "b:VI_1=2s" in d[0].message


def test_advert_int_mismatch_v3_is_quiet_and_equal_v2_is_quiet():
    v3 = "    version 3\n"
    b = inst(extra=v3).replace("advert_int 1", "advert_int 2")
    assert not run("advert-mismatch", {"a": inst(extra=v3), "b": b})
    assert not run("advert-mismatch", {"a": inst(), "b": inst(prio=90)})
    # keepalived 2.2.7 rounds a VRRPv2 0.5 s to 1 s (vrrp.c "must be an integer. rounding"): they agree
    assert not run("advert-mismatch", {"a": inst(), "b": inst().replace("advert_int 1", "advert_int 0.5")})


# ---- vrid-reuse
def test_vrid_reused_with_different_vips_fires():
    d = run("vrid-reuse", {"a": inst("VI_1") + inst("VI_2", vips="10.0.0.201/24")})
    assert len(d) == 2 and "VRID 51" in d[0].message


def test_vrid_same_vips_across_peers_or_other_interface_is_quiet():
    assert not run("vrid-reuse", {"a": inst(), "b": inst(prio=90)})
    assert not run("vrid-reuse", {"a": inst("VI_1") + inst("VI_2", itf="eth1", vips="10.0.1.200/24")})


# ---- no-instance
def test_a_config_without_any_vrrp_instance_fires_once_for_that_file():
    d = run("no-instance", {"a": inst(), "b": "global_defs {\n    router_id b\n}\n"})
    assert len(d) == 1 and d[0].file.endswith("b") and d[0].severity == "warning"
    assert "no vrrp_instance" in d[0].message and "FILE@ID" in d[0].message
    assert not run("no-instance", {"a": inst(), "b": inst(prio=90)})


# ---- strict-conflict
STRICT = "global_defs {\n    vrrp_strict\n}\n"


@pytest.mark.parametrize("extra,kw", [
    ("    unicast_peer {\n        10.0.0.12\n    }\n", "unicast_peer"),
    (AUTH % "x", "authentication"),
    ("    preempt_delay 3\n", "preempt_delay"),
])
def test_strict_conflicts_fire(extra, kw):
    d = run("strict-conflict", {"a": STRICT + inst(extra=extra)})
    assert [x.keyword for x in d] == [kw]


def test_strict_master_below_255_fires_and_at_255_is_quiet():
    assert [x.keyword for x in run("strict-conflict", {"a": STRICT + inst(state="MASTER")})] == ["state"]
    assert not run("strict-conflict", {"a": STRICT + inst(state="MASTER", prio=255)})


def test_without_strict_the_same_config_is_quiet():
    assert not run("strict-conflict", {"a": inst(state="MASTER", extra=AUTH % "x" + "    preempt_delay 3\n")})


# ---- shell-script
def test_shell_syntax_script_fires():
    t = 'vrrp_script chk {\n    script "</dev/tcp/127.0.0.1/80"\n}\n' + inst(extra=TRACK)
    (d,) = run("shell-script", {"a": t})
    assert d.line == 2 and "dash) has no /dev/tcp" in d.message       # keepalived runs '</path' through sh -c
    assert not run("shell-script", {"a": t.replace("</dev/tcp/127.0.0.1/80", "</etc/hostname")})   # a file: fine
    t1 = 'vrrp_script chk {\n    script "killall -0 nginx || exit 1"\n}\n' + inst(extra=TRACK)
    assert "without a shell" in run("shell-script", {"a": t1})[0].message
    t2 = inst(extra='    notify_master "/bin/echo x > /tmp/state"\n')
    assert run("shell-script", {"a": t2})


def test_program_with_arguments_or_explicit_shell_is_quiet():
    for s in ("killall -0 nginx", "/bin/bash -c '</dev/tcp/127.0.0.1/80'", "/usr/bin/curl -sf http://127.0.0.1/"):
        assert not run("shell-script", {"a": f'vrrp_script chk {{\n    script "{s}"\n}}\n' + inst(extra=TRACK)}), s


# ---- script-glued
def test_script_glued_to_its_quote_fires():
    (d,) = run("script-glued", {"a": 'vrrp_script chk {\n    script"/tools/nginx_check.sh"\n}\n'})
    assert d.line == 2 and 'script "/tools/nginx_check.sh"' in d.message


def test_script_with_a_blank_is_quiet():
    assert not run("script-glued", {"a": 'vrrp_script chk {\n    script "/tools/nginx_check.sh"\n}\n'})


# ---- script-security
SEC = "global_defs {\n    enable_script_security\n%s}\n"


def test_script_security_without_user_fires():
    (d,) = run("script-security", {"a": SEC % "" + SCRIPT % 0 + inst(extra=TRACK)})
    assert d.line == 2 and d.keyword == "enable_script_security"


def test_script_security_with_script_user_or_no_scripts_is_quiet():
    assert not run("script-security", {"a": SEC % "    script_user root\n" + SCRIPT % 0 + inst(extra=TRACK)})
    assert not run("script-security", {"a": SEC % "" + inst()})


# ---- vip-subnet
def test_vip_outside_every_subnet_without_dev_fires():
    d = run("vip-subnet", {"a": inst(vips="192.168.149.100")}, subnets={"a": ["10.0.0.0/24"]})
    assert len(d) == 1 and "192.168.149.100" in d[0].message


def test_vip_inside_a_subnet_or_with_dev_or_unknown_subnets_is_quiet():
    assert not run("vip-subnet", {"a": inst(vips="10.0.0.200/24")}, subnets={"a": ["10.0.0.0/24"]})
    assert not run("vip-subnet", {"a": inst(vips="192.168.149.100 dev eth0")}, subnets={"a": ["10.0.0.0/24"]})
    assert not run("vip-subnet", {"a": inst(vips="192.168.149.100")})


# ---- whole runs, output, keepalived -t output parsing
def test_clean_pair_lints_clean_and_exit_zero():
    r = lint_texts({"a": inst(prio=150), "b": inst(prio=100)})
    assert r.diagnostics == [] and exit_code(r) == 0


def test_seed_config_semantic_findings_without_docker():
    r = lint_files([ROOT / "topologies/configs/seed_keepalived.conf"])
    found = {(d.rule, d.line) for d in r.diagnostics}
    assert {("script-glued", 23), ("strict-conflict", 27), ("strict-conflict", 32)} <= found
    assert exit_code(r) == 1
    assert '"rule": "script-glued"' in format_json(r) and "error(s)" in format_text(r)


MEASURED = """(Line 15) number '0' outside range [0.000001, 4294.967295]
(Line 15) vrrp_garp_interval '0' is invalid
(/ka/seed.conf: Line 21) No script set for vrrp_script nginx_check - removing
(/ka/seed.conf: Line 36) (VI_1) track script nginx_check not found, ignoring...
(VI_1) State MASTER must match being address owner
(VI_1) Strict mode does not support authentication. Ignoring.
"""


def test_keepalived_t_output_is_split_into_file_line_block_keyword():
    ms = parse_output(MEASURED, "/ka/seed.conf", 5)
    assert [(m.file, m.line) for m in ms[:4]] == [("/ka/seed.conf", 15)] * 2 + [("/ka/seed.conf", 21),
                                                                                  ("/ka/seed.conf", 36)]
    assert ms[1].keyword == "vrrp_garp_interval"
    assert (ms[3].block, ms[3].keyword, ms[3].severity) == ("VI_1", "track_script", "warning")
    assert (ms[4].block, ms[4].keyword, ms[4].line) == ("VI_1", "state", None)
    assert ms[5].keyword == "authentication"
    assert parse_output("(/x: Line 8) Unknown keyword 'fail'", "/x", 5)[0].keyword == "fail"
    assert "SECURITY VIOLATION" in EXIT_MEANING[6] and EXIT_MEANING[0] == "OK"


# ---- the registry: one rule per module, each tested, the docs generated from it
def test_every_rules_module_registers_one_rule_named_after_it():
    mods = {m.name for m in pkgutil.iter_modules(importlib.import_module("lab.kaconf.lint.rules").__path__)}
    by_module = {}
    for rid, info in RULE_INFO.items():
        by_module.setdefault(info.module.rsplit(".", 1)[-1], []).append(rid)
        assert info.check is RULES[rid]
        assert info.summary.strip() and "\n" not in info.summary, rid
        assert any(w in info.source for w in ("man 5", "man 8", "RFC", "measured")), rid
    assert set(by_module) == mods
    for mod, ids in by_module.items():
        assert ids == [mod.replace("_", "-")], f"rules/{mod}.py registers {ids}; one rule, named after the module"


def _firing_tests() -> dict[str, list[str]]:
    """rule id -> names of tests in this file named ..._fire... that call run("<id>", ...) and assert it fires."""
    tree = ast.parse(Path(__file__).read_text())
    out: dict[str, list[str]] = {}
    for fn in tree.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_") and "fire" in fn.name):
            continue
        ids = {c.args[0].value for c in ast.walk(fn) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "run"
               and c.args and isinstance(c.args[0], ast.Constant)}
        positive = any(isinstance(a, ast.Assert)
                       and not (isinstance(a.test, ast.UnaryOp) and isinstance(a.test.op, ast.Not))
                       for a in ast.walk(fn))
        for rid in ids if positive else ():
            out.setdefault(rid, []).append(fn.name)
    return out


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_registered_rule_has_a_test_that_fires_it(rule):
    assert _firing_tests().get(rule), (f"lint rule {rule!r} has no test in tests/unit/test_lint.py named ..._fires... "
                                       f"that calls run({rule!r}, ...) and asserts a diagnostic")


def test_adding_a_rule_is_one_new_file(tmp_path, monkeypatch):
    (tmp_path / "zz_demo_rule.py").write_text(
        "from lab.kaconf.lint.base import register\n"
        "@register('zz-demo-rule', summary='demo', source='man 5 keepalived.conf, demo')\n"
        "def rule_demo(members):\n"
        "    \"\"\"Fires once per member (man 5 keepalived.conf).\"\"\"\n"
        "    return []\n")
    rules_pkg = importlib.import_module("lab.kaconf.lint.rules")
    monkeypatch.setattr(rules_pkg, "__path__", [*rules_pkg.__path__, str(tmp_path)])
    try:
        assert discover_rules() == ["zz-demo-rule"]
        assert "zz-demo-rule" in lint_pkg.RULES and "`zz-demo-rule`" in rules_markdown()
    finally:
        lint_pkg.RULES.pop("zz-demo-rule", None)
        lint_pkg.RULE_INFO.pop("zz-demo-rule", None)
        sys.modules.pop("lab.kaconf.lint.rules.zz_demo_rule", None)


def test_a_rule_id_cannot_be_registered_twice():
    from lab.kaconf.lint.base import register
    with pytest.raises(ValueError, match="twice"):
        register("weight-gap", summary="x", source="RFC 3768")(lambda members: [])


def test_docs_lint_rules_md_is_generated_from_the_registry():
    doc = ROOT / "docs" / "lint-rules.md"
    assert doc.read_text() == rules_markdown(), (
        "docs/lint-rules.md is stale; regenerate: python -c \"from lab.kaconf.lint import rules_markdown; "
        "print(rules_markdown(), end='')\" > docs/lint-rules.md")


def test_one_vrid_in_ipv4_and_ipv6_is_two_virtual_routers_not_a_reuse():
    # RFC 5798 §5.2.3: an IPv4 and an IPv6 virtual router may share a VRID; the example pair does (VI_WEB, VI_WEB6)
    from pathlib import Path

    from lab.kaconf.lint import lint_files
    pair = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"
    res = lint_files([pair / "lb1.conf", pair / "lb2.conf"], config_id=["lb1", "lb2"])
    bad = [d for d in res.diagnostics if d.rule in ("vrid-reuse", "auth-mismatch", "advert-mismatch")]
    assert bad == [], bad


def test_an_instance_has_the_family_of_its_first_vip():
    from lab.kaconf.schema import instance_family
    assert instance_family(["10.0.0.1/24 dev eth2 label eth2:1"]) == 4, "a label's colon is no IPv6 address"
    assert instance_family(["fd00::1/64", "10.0.0.1"]) == 6
    assert instance_family(["lan+200", "2001:db8::1/64"]) == 4, "keepalived ignores the later VIP of the other family"
    assert instance_family([]) == 4
