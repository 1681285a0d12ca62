"""`kalab lint` against the real keepalived 2.2.7 config test (keepalived -t in the node image).

Expected findings are written from the documents: man 5 keepalived.conf (vrrp_strict: no
authentication, MASTER only at priority 255; Quoted strings; vrrp_script keywords) and the
measured 2.2.7 range of vrrp_garp_interval (the man page's "default: 0" is rejected as a value).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.kaconf.lint import exit_code
from lab.runtime import labels as L
from lab.runtime.ktest import lint_files

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "topologies/configs/seed_keepalived.conf"

CLEAN = """global_defs {
    router_id lab
    enable_script_security
    script_user root
}
vrrp_script chk {
    script "/usr/bin/killall -0 nginx"
    interval 1
    weight -60
    fall 2
    rise 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.0.0.200/24
    }
    track_script {
        chk
    }
}
"""


def lint_containers(docker):
    """This process's lint containers (other workers and runs lint at the same time: counting theirs made
    the "throwaway container is gone" checks fail when one of theirs was alive)."""
    from lab.runtime.owner import HOST_PID, me
    mine = me().labels()[HOST_PID]
    return docker.containers.list(all=True, filters={"label": [f"{L.ROLE}=lint", f"{HOST_PID}={mine}"]})


def test_seed_config_reports_every_keepalived_problem_with_lines_plus_semantic_ones(lab_docker):
    before = len(lint_containers(lab_docker))
    r = lint_files([SEED], client=lab_docker)
    assert r.exit_codes[str(SEED)] == 5          # 2.2.7: KEEPALIVED_EXIT_CONFIG_TEST (errors, would still run)
    kt = {(d.line, d.keyword) for d in r.by_rule("keepalived-t") if d.line}
    # the seed's text: vrrp_garp_interval 0 (line 18), vrrp_gna_interval 0 (19), script"..." (23; reported at
    # the block's closing brace 25), strict mode: state MASTER (27) and authentication (32), track_script (40)
    assert {(18, "vrrp_garp_interval"), (19, "vrrp_gna_interval"), (25, "vrrp_script"), (27, "state"),
            (32, "authentication"), (40, "track_script")} <= kt
    sem = {(d.rule, d.line) for d in r.diagnostics if d.rule != "keepalived-t"}
    assert {("script-glued", 23), ("strict-conflict", 27), ("strict-conflict", 32)} <= sem
    assert exit_code(r) == 1
    assert len(lint_containers(lab_docker)) == before      # the throwaway container is gone


def test_config_without_problems_lints_clean(lab_docker, tmp_path):
    p = tmp_path / "keepalived.conf"
    p.write_text(CLEAN)
    r = lint_files([p], client=lab_docker)
    assert r.exit_codes[str(p)] == 0
    assert r.diagnostics == [] and exit_code(r) == 0


def test_cluster_of_files_with_includes_and_security_violation(lab_docker, tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "vi.conf").write_text(CLEAN.split("vrrp_instance", 1)[1].join(["vrrp_instance", ""]))
    a = tmp_path / "a.conf"
    a.write_text(CLEAN.split("vrrp_instance", 1)[0] + "include conf.d/*.conf\n")
    b = tmp_path / "b.conf"                         # scripts, no enable_script_security
    b.write_text(CLEAN.replace("    enable_script_security\n    script_user root\n", "")
                 .replace("priority 150", "priority 100"))
    r = lint_files([a, b], client=lab_docker)
    assert r.exit_codes[str(a)] == 0                # the included instance was found and is fine
    assert r.exit_codes[str(b)] == 6                # 2.2.7: KEEPALIVED_EXIT_CONFIG_TEST_SECURITY
    assert any("SECURITY VIOLATION" in d.message for d in r.diagnostics if d.file == str(b))


def test_seed_port_check_literal(lab_docker):
    f = ROOT / "topologies/configs/seed_dev_tcp_literal.conf"
    r = lint_files([f], client=lab_docker)
    assert any(d.line == 11 and d.keyword == "fail" for d in r.by_rule("keepalived-t"))   # `fail 2`
    assert [d.line for d in r.by_rule("shell-script")] == [9]                            # keepalived -t is silent
    assert exit_code(r) == 1


def test_cli_lint_exit_code_and_json(lab_docker, tmp_path):
    p = tmp_path / "ok.conf"
    p.write_text(CLEAN)
    ok = subprocess.run([sys.executable, "-m", "lab.cli", "lint", str(p)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([sys.executable, "-m", "lab.cli", "lint", "--format", "json", str(SEED)], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    old = subprocess.run([sys.executable, "-m", "lab.cli", "lint", "--json", str(SEED)], capture_output=True,
                         text=True, cwd=ROOT)        # the older spelling still works
    assert old.returncode == 1 and json.loads(old.stdout)["diagnostics"] == doc["diagnostics"]
    assert doc["files"][0]["keepalived_exit_code"] == 5 and doc["errors"] >= 5
    assert doc["schema"] == "kalab.lint/1", "every kalab JSON document names its schema"
    assert {"file", "line", "keyword", "severity", "message", "rule"} <= set(doc["diagnostics"][0])


def test_the_example_pair_lints_clean_with_config_ids_from_the_file_names(lab_docker):
    # README: `kalab lint lb1.conf lb2.conf` takes the same files as `kalab check`, whose config ids come from the
    # file names; without them keepalived -t drops every @lb1/@lb2 line (VI_DB's unicast peers: "Defaulting to
    # multicast"), an error in the shipped example (newcomer finding)
    pair = ROOT / "topologies/configs/prod_pair"
    r = subprocess.run([sys.executable, "-m", "lab.cli", "lint", str(pair / "lb1.conf"), str(pair / "lb2.conf")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 error(s), 0 warning(s) in 2 file(s)" in r.stdout
