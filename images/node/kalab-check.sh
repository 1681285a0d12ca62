#!/bin/sh
# kalab-check NAME COMMAND [ARG...]: the lab's wrapper around a vrrp_script's command.
# keepalived runs `kalab-check NAME <original command>`; the lab's nemesis can force the
# result by writing /run/kalab/scripts/NAME.force containing `ok` (exit 0) or `fail`
# (exit 1). Without that file (or with anything else in it) the original command runs.
name=${1:?usage: kalab-check NAME COMMAND [ARG...]}
shift
force="/run/kalab/scripts/$name.force"
if [ -r "$force" ]; then
    case "$(cat "$force")" in
        ok) exit 0 ;;
        fail) exit 1 ;;
    esac
fi
exec "$@"
