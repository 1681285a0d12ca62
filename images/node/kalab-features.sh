#!/bin/sh
# kalab-features EXPECTED_VERSION: what this image's keepalived and tools can do, probed at build time
# (never assumed from the version), one "NAME VALUE" line each; the lab reads /etc/kalab/features.
# Fails the build when keepalived is not EXPECTED_VERSION (lab/releases.py promised it).
set -u
want=${1:?usage: kalab-features EXPECTED_VERSION}
have=$(keepalived --version 2>&1 | sed -n 's/^Keepalived v\([0-9][0-9.]*\).*/\1/p' | head -n1)
echo "version ${have:-unknown}"
if [ "$have" != "$want" ]; then
    echo "kalab-features: this suite's keepalived is ${have:-unknown}, lab/releases.py expects $want" >&2
    exit 1
fi
check() { if sh -c "$2" >/dev/null 2>&1; then echo "$1 1"; else echo "$1 0"; fi; }
# keepalived --signum=SIG prints the signal a running keepalived takes for SIG (lib/signals.c)
check signum 'keepalived --signum=STOP | grep -qx "[0-9][0-9]*"'
# the JSON dump (built with --enable-json) has a signal of its own
check json 'keepalived --signum=JSON | grep -qx "[0-9][0-9]*"'
# global_defs keywords the lab adds to a node's configuration: keepalived -t names an unknown one
conf=$(mktemp)
probe_kw() {
    printf 'global_defs {\n    %s\n}\n' "$2" > "$conf"
    if keepalived -t -f "$conf" 2>&1 | grep -qi 'unknown keyword'; then echo "$1 0"; else echo "$1 1"; fi
}
probe_kw notify_priority_changes vrrp_notify_priority_changes
check config_test 'keepalived --help 2>&1 | grep -q -- --config-test'
rm -f "$conf"
check python_smtpd 'python3 -c "import smtpd"'
check aiosmtpd 'python3 -c "import aiosmtpd"'
exit 0
