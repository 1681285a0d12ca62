#!/bin/sh
# kalab-check NAME COMMAND [ARG...]: the lab's wrapper around a vrrp_script's command.
# keepalived runs `kalab-check NAME <original command>`; the lab's nemesis can force the
# result by writing /run/kalab/scripts/NAME.force containing `ok` (exit 0) or `fail`
# (exit 1). Without that file (or with anything else in it) the original command runs as
# keepalived 2.2.7 would run it (lib/notify.c): a command starting with `</` (a file-openable
# check) through /bin/sh -c with exit 126/127 taken as success; anything else exec'd unchanged.
# A command keepalived would disable (not found, not executable) is never wrapped: the node's
# entrypoint leaves it as written, so keepalived disables it itself.
name=${1:?usage: kalab-check NAME COMMAND [ARG...]}
shift
force="/run/kalab/scripts/$name.force"
if [ -r "$force" ]; then
    case "$(cat "$force")" in
        ok) exit 0 ;;
        fail) exit 1 ;;
    esac
fi
case "$1" in
    '<'*)
        /bin/sh -c "$*"
        rc=$?
        case $rc in 126|127) exit 0 ;; esac   # keepalived: "Script errors aren't server errors"
        exit $rc ;;
esac
exec "$@"
