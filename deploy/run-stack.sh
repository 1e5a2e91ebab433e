#!/usr/bin/env bash
# Runs the whole workhealth stack in the foreground: the gateway first, then
# the four services, all from one bin directory, until Ctrl-C or SIGTERM.
# Stopping sends SIGTERM to every process this script started (services
# first, then the gateway) and SIGKILL to any still running after the grace
# period; a second Ctrl-C kills at once. If any process exits on its own, the
# rest are stopped and the script exits non-zero.
#
# usage: deploy/run-stack.sh [BIN_DIR]       (default: $WH_BIN_DIR or ./build)
#
# Environment: everything the binaries read (WH_HTTP_ADDR, WH_DATA_DIR,
# WH_ADMIN_TOKEN, WH_PUBLIC_URL, WH_SMTP_URL, WH_MAIL_FROM, WH_NOW, TZ,
# WH_LOG_LEVEL, WH_BROKER_BIND, WH_BROKER_CONNECT) is passed through; this
# script only fills in WH_HTTP_ADDR and WH_DATA_DIR. Its own knobs:
#   WH_STOP_GRACE    seconds between SIGTERM and SIGKILL (default 10)
#   WH_START_WAIT    seconds to wait for the gateway's /healthz before
#                    starting the services anyway (default 10)
#
# Nothing is shared between two stacks besides what their environment names:
# no pid files, no fixed paths outside WH_DATA_DIR, no port but WH_HTTP_ADDR
# (and the broker's tcp port when WH_BROKER_BIND asks for one).
set -u

prog=${0##*/}
SERVICES=(agreements surveys screening notifications)

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
    say "$*"
    exit 1
}

case ${1:-} in
-h | --help)
    sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p;}' "$0"
    exit 0
    ;;
esac
[ $# -le 1 ] || die "usage: $prog [BIN_DIR]"
bin_dir=${1:-${WH_BIN_DIR:-./build}}
grace=${WH_STOP_GRACE:-10}
start_wait=${WH_START_WAIT:-10}
[[ $grace =~ ^[0-9]+$ ]] || die "WH_STOP_GRACE must be a whole number of seconds, not '$grace'"
[[ $start_wait =~ ^[0-9]+$ ]] || die "WH_START_WAIT must be a whole number of seconds, not '$start_wait'"

[ -d "$bin_dir" ] || die "no bin directory '$bin_dir'; build first (make build)"
bin_dir=$(cd "$bin_dir" && pwd)
for name in gateway "${SERVICES[@]}"; do
    [ -x "$bin_dir/wh-$name" ] || die "$bin_dir/wh-$name is missing or not executable; build first (make build)"
done

export WH_HTTP_ADDR=${WH_HTTP_ADDR:-127.0.0.1:8080}
export WH_DATA_DIR=${WH_DATA_DIR:-./var}
# Everything the stack writes is health data or a secret: the data directory
# is private to this user, and so is every file the processes create in it.
umask 077
mkdir -p -- "$WH_DATA_DIR" || die "cannot create WH_DATA_DIR '$WH_DATA_DIR'"
WH_DATA_DIR=$(cd "$WH_DATA_DIR" && pwd)
if [ -n "$(find "$WH_DATA_DIR" -maxdepth 0 -perm /077)" ]; then
    chmod 0700 "$WH_DATA_DIR" 2>/dev/null ||
        say "warning: $WH_DATA_DIR is accessible to other users and cannot be made private"
fi

declare -A name_of=() # pid -> binary name, for messages
gateway_pid=
service_pids=()
stopping=0
forced=0

alive() { kill -0 "$1" 2>/dev/null; }
# Microseconds since the epoch, without a fork (the separator is locale's).
now_us() { now=${EPOCHREALTIME/[.,]/}; }

# Sends $1 to each pid in the rest of the arguments that is still running,
# then waits until they are gone or the grace period has passed; returns 1 if
# any is left.
signal_and_wait() {
    local sig=$1 pid left deadline now
    shift
    for pid in "$@"; do
        alive "$pid" && kill "-$sig" "$pid" 2>/dev/null
    done
    now_us
    deadline=$((now + grace * 1000000))
    while :; do
        left=0
        for pid in "$@"; do
            alive "$pid" && left=1
        done
        [ $left -eq 0 ] && return 0
        now_us
        [ $forced -eq 1 ] || [ "$now" -ge $deadline ] && return 1
        sleep 0.1
    done
}

kill_left() {
    local pid
    for pid in "$@"; do
        if alive "$pid"; then
            say "${name_of[$pid]:-$pid} (pid $pid) did not stop; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            # Reap it here, where bash's own "Killed" notice can be silenced.
            wait "$pid" 2>/dev/null
        fi
    done
}

# Stops everything this script started. Services go first so that the
# gateway can still answer the requests they are finishing.
stop_all() {
    local pids=()
    local pid
    for pid in "${service_pids[@]}"; do
        alive "$pid" && pids+=("$pid")
    done
    if [ ${#pids[@]} -gt 0 ] && ! signal_and_wait TERM "${pids[@]}"; then
        kill_left "${pids[@]}"
    fi
    if [ -n "$gateway_pid" ] && alive "$gateway_pid"; then
        signal_and_wait TERM "$gateway_pid" || kill_left "$gateway_pid"
    fi
    # Collect exit statuses so that no zombie outlives us.
    wait 2>/dev/null
}

# shellcheck disable=SC2317 # called from the traps below
on_signal() {
    if [ "$stopping" -eq 1 ]; then
        forced=1
        say "$1 again: killing now"
        return
    fi
    stopping=1
    say "$1: stopping the stack"
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP
# Whatever way this script ends (an error, a signal it cannot trap being the
# only exception), it takes its children with it.
trap 'stopping=1; stop_all' EXIT

start() {
    local name=$1
    "$bin_dir/wh-$name" &
    name_of[$!]=wh-$name
    say "started wh-$name (pid $!)"
}

# Polls the gateway's /healthz until it answers, the gateway dies, a signal
# arrives, or start_wait seconds pass. Without curl it only waits briefly.
wait_for_gateway() {
    local host=${WH_HTTP_ADDR%:*} port=${WH_HTTP_ADDR##*:} deadline=$((SECONDS + start_wait))
    case $host in 0.0.0.0 | "") host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
    if ! command -v curl >/dev/null; then
        sleep 0.5
        return 0
    fi
    while [ $stopping -eq 0 ] && alive "$gateway_pid"; do
        curl -fsS -o /dev/null --max-time 1 "http://$host:$port/healthz" 2>/dev/null && return 0
        if [ $SECONDS -ge $deadline ]; then
            say "warning: gateway not answering http://$host:$port/healthz after ${start_wait}s; starting the services anyway"
            return 0
        fi
        sleep 0.2
    done
}

say "data directory: $WH_DATA_DIR"
start gateway
gateway_pid=$!
wait_for_gateway
status=0
if [ $stopping -eq 0 ] && ! alive "$gateway_pid"; then
    wait "$gateway_pid"
    say "wh-gateway (pid $gateway_pid) exited during start-up with status $?"
    status=1
    stopping=1
fi
if [ $stopping -eq 0 ]; then
    for name in "${SERVICES[@]}"; do
        start "$name"
        service_pids+=("$!")
    done
fi

if [ $stopping -eq 0 ]; then
    if [ -n "${WH_ADMIN_TOKEN:-}" ]; then
        token_hint="the value of WH_ADMIN_TOKEN"
    else
        token_hint="$WH_DATA_DIR/admin.token (written by the gateway on first start, mode 0600)"
    fi
    say "workhealth is running on http://$WH_HTTP_ADDR"
    say "admin token: $token_hint"
    say "Ctrl-C stops the stack"
fi

# Wait for whichever comes first: a signal (wait returns early and the trap
# has set stopping) or a child exiting on its own.
while [ $stopping -eq 0 ]; do
    done_pid=
    # (bash's own "Killed" notice is silenced; the message below says it.)
    wait -n -p done_pid 2>/dev/null
    rc=$?
    [ $stopping -eq 1 ] && break
    if [ -z "$done_pid" ]; then
        # 127 with no pid: no child is left to wait for (cannot normally
        # happen, since every exit is caught below; never spin on it).
        [ $rc -eq 127 ] || continue
        say "no process of the stack is left"
        status=1
        break
    fi
    # A Ctrl-C in the terminal reaches the children too, and one of them may
    # exit before our own trap has run. Give the trap a moment, so that such
    # an exit is not taken for a crash.
    sleep 0.2
    [ $stopping -eq 1 ] && break
    how="with status $rc"
    [ "$rc" -gt 128 ] && how="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    say "${name_of[$done_pid]:-pid $done_pid} (pid $done_pid) exited unexpectedly, $how; stopping the rest"
    unset "name_of[$done_pid]"
    status=1
    stopping=1
done

trap - EXIT
stop_all
if [ $status -ne 0 ]; then
    say "stopped after a failure"
else
    say "stopped"
fi
exit $status
