#!/bin/sh
# kalab-probe: print what this kernel and engine let a lab node do, one "NAME 1|0" line each.
# Every probe undoes itself (a scratch iptables chain, a scratch nft table, a qdisc on lo).
check() { if sh -c "$2" >/dev/null 2>&1; then echo "$1 1"; else echo "$1 0"; fi; }
check iptables 'iptables -w -N KALAB-PROBE && iptables -w -A KALAB-PROBE -p 112 -j RETURN'
check statistic 'iptables -w -A KALAB-PROBE -m statistic --mode random --probability 0.5 -j RETURN'
check nfqueue 'iptables -w -A KALAB-PROBE -j NFQUEUE --queue-num 65123 --queue-bypass && python3 -c "
from netfilterqueue import NetfilterQueue
q = NetfilterQueue(); q.bind(65123, lambda p: p.accept()); q.unbind()"'
iptables -w -F KALAB-PROBE >/dev/null 2>&1; iptables -w -X KALAB-PROBE >/dev/null 2>&1
check nftables 'nft add table ip kalab_probe && nft delete table ip kalab_probe'
check netem 'tc qdisc add dev lo root netem delay 1ms && tc qdisc del dev lo root'
check ip_vs 'test -e /proc/net/ip_vs'
check raw_sockets 'python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 112).close()"'
exit 0
