#!/bin/sh
# keepalived-lab node entrypoint.
#   KALAB_NODE    node name (served by nginx, so the client can tell who holds the VIP)
#   KALAB_ROLE    keepalived (default) | client
#   KALAB_NGINX   1 (default) starts nginx before keepalived
#   KALAB_IFACES  "eth0=10.213.4.11 eth1=10.213.5.11": rename the interface holding each
#                 address to the name the topology declares (Docker does not promise order).
# keepalived is exec'd so that it is PID 1 (the lab's kill/stop faults hit keepalived itself).
set -eu
mkdir -p /var/www/kalab /run/kalab/faults /run/kalab/scripts /var/lib/kalab
printf '%s\n' "${KALAB_NODE:-unknown}" > /var/www/kalab/index.html

wait_for_addresses() {
    # Extra networks are connected right after the container starts: wait (20 s deadline).
    for pair in ${KALAB_IFACES:-}; do
        addr=${pair#*=}; n=0
        until ip -o -4 addr show | awk -v a="$addr" 'index($4, a"/")==1 {f=1} END {exit !f}'; do
            n=$((n+1)); [ $n -le 200 ] || { echo "kalab: address $addr never appeared" >&2; exit 3; }
            sleep 0.1
        done
    done
}

rename_ifaces() {
    i=0
    for pair in ${KALAB_IFACES:-}; do
        want=${pair%%=*}; addr=${pair#*=}
        have=$(ip -o -4 addr show | awk -v a="$addr" 'index($4, a"/")==1 {print $2; exit}')
        [ -n "$have" ] || { echo "kalab: no interface holds $addr" >&2; exit 3; }
        if [ "$have" != "$want" ]; then
            # a link set down loses its IPv6 addresses (the kernel flushes them; /proc/sys is read-only here,
            # so keep_addr_on_down cannot be set): note the engine's global ones to put them back
            ip -o -6 addr show dev "$have" scope global | awk '{print $4}' > "/run/kalab/ipv6-$i"
            ip link set dev "$have" down
            ip link set dev "$have" name "kalabtmp$i"
        fi
        i=$((i+1))
    done
    i=0
    for pair in ${KALAB_IFACES:-}; do
        want=${pair%%=*}
        if ip link show "kalabtmp$i" >/dev/null 2>&1; then
            ip link set dev "kalabtmp$i" name "$want"
            ip link set dev "$want" up
            while read -r a; do
                [ -n "$a" ] && ip -6 addr add "$a" dev "$want" nodad
            done < "/run/kalab/ipv6-$i"
        fi
        rm -f "/run/kalab/ipv6-$i"
        i=$((i+1))
    done
}
wait_for_addresses
rename_ifaces
# Network rule: lab nodes talk only to lab subnets. Without a default route any address outside
# the lab's networks (a mistyped VIP, a peer on another net) is unreachable instead of routed out.
if [ "${KALAB_KEEP_DEFAULT_ROUTE:-0}" != 1 ]; then
    ip route del default 2>/dev/null || true
    ip -6 route del default 2>/dev/null || true     # a network with subnet6: its gateway route too
fi

# nginx answers on IPv6 too where the node has an IPv6 address (a network with subnet6), so an IPv6 VIP
# can be asked from the client like an IPv4 one
if ip -6 addr show scope global 2>/dev/null | grep -q inet6 && ! grep -q 'listen \[::\]' /etc/nginx/conf.d/kalab.conf; then
    sed -i 's/^    listen 80 default_server;$/&\n    listen [::]:80 default_server;/' /etc/nginx/conf.d/kalab.conf
fi
if [ "${KALAB_ROLE:-keepalived}" = client ]; then
    [ "${KALAB_NGINX:-0}" = 1 ] && nginx
    exec sleep infinity
fi

[ "${KALAB_NGINX:-1}" = 1 ] && nginx
# A SIGKILLed keepalived leaves its pid files; after a restart PID 1 matches them and
# keepalived would refuse to start ("daemon is already running").
rm -f /run/keepalived.pid /run/vrrp.pid /run/checkers.pid /run/bfd.pid /run/keepalived/*.pid 2>/dev/null || true
# The lab runs each vrrp_script through its wrapper (kalab-check NAME COMMAND...), which keepalived
# always finds. keepalived 2.2.7 disables a script whose command it cannot find or execute
# (lib/notify.c check_script_secure: a bare name searched on PATH, a path that must exist and be
# executable); so such a script is left unwrapped here and keepalived decides as it would without the lab.
# keepalived 2.3.0 and later (lib/notify.c check_security on the path as written, commit ebf37b95) also
# disable a script run as root whose path goes through a symbolic link to a directory (/bin on merged-/usr:
# "Wrong file type found in script path"); such a script is left unwrapped too.
symlinked_dir() {   # the first directory of path $1 that is a symbolic link, if any
    p=; rest=${1#/}
    while [ "${rest#*/}" != "$rest" ]; do
        p="$p/${rest%%/*}"; rest=${rest#*/}
        [ -L "$p" ] && { echo "$p"; return 0; }
    done
    return 1
}
checks_symlinks() {  # keepalived >= 2.3.0 running scripts as root (no script_user naming another user)
    v=$(sed -n 's/^version //p' /etc/kalab/features 2>/dev/null)
    case "$v" in 2.[3-9].*|[3-9].*) ;; *) return 1 ;; esac
    u=$(sed -n 's/^[[:space:]]*script_user[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$1" | head -n1)
    [ -z "$u" ] || [ "$u" = root ]
}
unwrap_missing() {
    conf=/etc/keepalived/keepalived.conf
    grep -q '^[[:space:]]*script "/usr/local/sbin/kalab-check ' "$conf" 2>/dev/null || return 0
    symlinks=0; checks_symlinks "$conf" && symlinks=1
    tmp=$(mktemp)
    while IFS= read -r line; do
        case "$line" in
            *'script "/usr/local/sbin/kalab-check '*)
                rest=${line#*kalab-check }; name=${rest%% *}; cmd=${rest#* }; cmd=${cmd%'"'}; word=${cmd%% *}
                ok=1
                case "$word" in
                    '<'*) ;;
                    */*) { [ -f "$word" ] && [ -x "$word" ]; } || ok=0
                         if [ $ok = 1 ] && [ $symlinks = 1 ] && link=$(symlinked_dir "$word"); then
                             ok=0
                             echo "kalab: vrrp_script $name runs unwrapped: '$link' in '$word' is a symbolic link, so keepalived $v disables it as it would without the lab" >&2
                         fi ;;
                    *) ok=0; oldifs=$IFS; IFS=:
                       for d in $PATH; do if [ -f "$d/$word" ] && [ -x "$d/$word" ]; then ok=1; break; fi; done
                       IFS=$oldifs ;;
                esac
                if [ $ok = 0 ]; then
                    echo "kalab: vrrp_script $name runs unwrapped: '$word' is not an executable file here, so keepalived disables it as it would without the lab" >&2
                    line="${line%%script \"*}script \"$cmd\""
                fi ;;
        esac
        printf '%s\n' "$line"
    done < "$conf" > "$tmp"
    cat "$tmp" > "$conf"; rm -f "$tmp"
}
unwrap_missing
# An interface's IPv6 link-local address is tentative for about a second after the link comes up (duplicate
# address detection, RFC 4862); keepalived 2.3.x puts an IPv6 instance in FAULT until it is not. A host starts
# keepalived once its network is up: so does the node (bounded: 5 s).
n=0
while ip -6 addr show tentative 2>/dev/null | grep -q inet6 && [ $n -lt 100 ]; do n=$((n+1)); sleep 0.05; done
sha256sum /etc/keepalived/keepalived.conf 2>/dev/null | cut -d' ' -f1 > /run/kalab/config.sha || true
[ -p /run/kalab/notify.fifo ] || { rm -f /run/kalab/notify.fifo; mkfifo -m 0600 /run/kalab/notify.fifo; }
/usr/local/sbin/kalab-fifo-reader /run/kalab/notify.fifo /var/lib/kalab/events.log &
exec keepalived --dont-fork --log-console --log-detail ${KALAB_KEEPALIVED_ARGS:-} -f /etc/keepalived/keepalived.conf
