#!/usr/bin/env bash
# Runs the whole workhealth stack in the foreground: the gateway first, then
# the four services, all from one bin directory, until Ctrl-C or SIGTERM.
#
# It supervises them: a process that exits on its own is started again after
# a delay that begins at 1 s and doubles with each further crash up to 30 s;
# once a process has run for WH_STABLE_SECS, its next crash is again
# restarted after 1 s. Each exit and restart is logged. A crash loop (one
# process exiting WH_CRASH_LIMIT times within WH_CRASH_WINDOW seconds) stops
# the whole stack, and the script exits non-zero.
#
# Stopping (Ctrl-C, SIGTERM, SIGHUP) sends SIGTERM to every process this
# script started (services first, then the gateway) and SIGKILL to any still
# running after the grace period; a second Ctrl-C kills at once.
#
# usage: deploy/run-stack.sh [BIN_DIR]       (default: $WH_BIN_DIR or ./build)
#
# Environment: everything the binaries read (WH_HTTP_ADDR, WH_DATA_DIR,
# WH_ADMIN_TOKEN, WH_PUBLIC_URL, WH_SMTP_URL, WH_MAIL_FROM, WH_NOW, TZ,
# WH_LOG_LEVEL, WH_BROKER_BIND, WH_BROKER_CONNECT) is passed through; this
# script only fills in WH_HTTP_ADDR and WH_DATA_DIR. Its own knobs:
#   WH_STOP_GRACE        seconds between SIGTERM and SIGKILL (default 10)
#   WH_START_WAIT        seconds to wait for the gateway's /healthz before
#                        starting the services anyway (default 10)
#   WH_RESTART_DELAY_MS  first restart delay (default 1000)
#   WH_RESTART_MAX_MS    longest restart delay (default 30000)
#   WH_STABLE_SECS       running this long resets the delay (default 60)
#   WH_CRASH_LIMIT       exits within the window that stop the stack (default 5)
#   WH_CRASH_WINDOW      that window in seconds (default 60)
#
# Nothing is shared between two stacks besides what their environment names:
# no pid files, no fixed paths outside WH_DATA_DIR, no port but WH_HTTP_ADDR
# (and the broker's tcp port when WH_BROKER_BIND asks for one).
set -u

prog=${0##*/}
SERVICES=(agreements surveys screening notifications)
HEALTH_POLL_S=0.01

# Its own lines are JSON like those of the processes it runs, with
# "service":"run-stack" (docs/ARCHITECTURE.md, "Logs"): time in UTC with
# milliseconds, level, service, msg.
log_line() {
    local level=$1 msg t c out='' i
    shift
    msg="$*"
    t=${EPOCHREALTIME/[.,]/}
    msg=${msg//\\/\\\\}
    msg=${msg//\"/\\\"}
    msg=${msg//$'\n'/\\n}
    msg=${msg//$'\r'/\\r}
    msg=${msg//$'\t'/\\t}
    if [[ $msg == *[[:cntrl:]]* ]]; then
        for ((i = 0; i < ${#msg}; i++)); do
            c=${msg:i:1}
            if [[ $c == [[:cntrl:]] ]]; then
                printf -v c '\\u%04x' "'$c"
            fi
            out+=$c
        done
        msg=$out
    fi
    TZ=UTC printf '{"time":"%(%Y-%m-%dT%H:%M:%S)T.%03dZ","level":"%s","service":"run-stack","msg":"%s"}\n' \
        $((t / 1000000)) $((t / 1000 % 1000)) "$level" "$msg" >&2
}
say() { log_line info "$*"; }
warn() { log_line warn "$*"; }
die() {
    log_line error "$*"
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
delay_first=${WH_RESTART_DELAY_MS:-1000}
delay_max=${WH_RESTART_MAX_MS:-30000}
stable_secs=${WH_STABLE_SECS:-60}
crash_limit=${WH_CRASH_LIMIT:-5}
crash_window=${WH_CRASH_WINDOW:-60}
for knob in WH_STOP_GRACE:grace WH_START_WAIT:start_wait WH_RESTART_DELAY_MS:delay_first \
    WH_RESTART_MAX_MS:delay_max WH_STABLE_SECS:stable_secs WH_CRASH_LIMIT:crash_limit \
    WH_CRASH_WINDOW:crash_window; do
    var=${knob#*:}
    # At most 9 digits: the arithmetic below stays far from overflow.
    [[ ${!var} =~ ^[0-9]{1,9}$ ]] || die "${knob%%:*} must be a whole number, not '${!var}'"
done
[ "$crash_limit" -ge 1 ] || die "WH_CRASH_LIMIT must be at least 1"
[ "$delay_max" -ge "$delay_first" ] || delay_max=$delay_first

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
        warn "$WH_DATA_DIR is accessible to other users and cannot be made private"
fi

# Per process name (gateway, agreements, ...):
declare -A pid_of=()     # the running process, if any
declare -A started_ms=() # when it was started
declare -A delay_of=()   # the delay before its next restart
declare -A crashes=()    # times (ms) of its exits within the crash window
declare -A timer_of=()   # pid of a pending restart timer -> name
declare -A name_of=()    # pid of a running process -> name
stopping=0
forced=0
status=0

alive() { kill -0 "$1" 2>/dev/null; }
# Milliseconds since the epoch, without a fork (the separator is locale's).
now_ms() {
    now=${EPOCHREALTIME/[.,]/}
    now=$((now / 1000))
}

# Sends $1 to each pid in the rest of the arguments that is still running,
# then waits until they are gone or the grace period has passed; returns 1 if
# any is left.
signal_and_wait() {
    local sig=$1 pid left deadline now
    shift
    for pid in "$@"; do
        alive "$pid" && kill "-$sig" "$pid" 2>/dev/null
    done
    now_ms
    deadline=$((now + grace * 1000))
    while :; do
        left=0
        for pid in "$@"; do
            alive "$pid" && left=1
        done
        [ $left -eq 0 ] && return 0
        now_ms
        [ $forced -eq 1 ] || [ "$now" -ge $deadline ] && return 1
        sleep 0.1
    done
}

kill_left() {
    local pid
    for pid in "$@"; do
        if alive "$pid"; then
            warn "${name_of[$pid]:-pid $pid} (pid $pid) did not stop; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            # Reap it here, where bash's own "Killed" notice can be silenced.
            wait "$pid" 2>/dev/null
        fi
    done
}

# Stops everything this script started: pending restarts first, then the
# services, so that the gateway can still answer the requests they are
# finishing, then the gateway.
stop_all() {
    local pids=() pid name
    for pid in "${!timer_of[@]}"; do
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null # here, where bash's "Killed" notice can be silenced
    done
    timer_of=()
    for name in "${SERVICES[@]}"; do
        pid=${pid_of[$name]:-}
        [ -n "$pid" ] && alive "$pid" && pids+=("$pid")
    done
    if [ ${#pids[@]} -gt 0 ] && ! signal_and_wait TERM "${pids[@]}"; then
        kill_left "${pids[@]}"
    fi
    pid=${pid_of[gateway]:-}
    if [ -n "$pid" ] && alive "$pid"; then
        signal_and_wait TERM "$pid" || kill_left "$pid"
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
    local name=$1 now
    "$bin_dir/wh-$name" &
    pid_of[$name]=$!
    name_of[$!]=$name
    now_ms
    started_ms[$name]=$now
    say "started wh-$name (pid $!)"
}

# Polls the gateway's /healthz until it answers, the gateway dies, a signal
# arrives, or start_wait seconds pass. Without curl it only waits briefly.
# The gateway listens some 20-150 ms after it was started (first start:
# its store created); polling every HEALTH_POLL_S (a loopback request each)
# starts the services right after, not a fifth of a second later.
wait_for_gateway() {
    local host=${WH_HTTP_ADDR%:*} port=${WH_HTTP_ADDR##*:} deadline=$((SECONDS + start_wait))
    case $host in 0.0.0.0 | "") host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
    if ! command -v curl >/dev/null; then
        sleep 0.5
        return 0
    fi
    while [ $stopping -eq 0 ] && alive "${pid_of[gateway]}"; do
        curl -fsS -o /dev/null --max-time 1 "http://$host:$port/healthz" 2>/dev/null && return 0
        if [ $SECONDS -ge $deadline ]; then
            warn "gateway not answering http://$host:$port/healthz after ${start_wait}s; starting the services anyway"
            return 0
        fi
        sleep "$HEALTH_POLL_S"
    done
}

# Milliseconds as seconds for sleep and for people: 1500 -> 1.500
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# Process $1 (a name) has exited with wait status $2: schedules its restart,
# or, on a crash loop, starts stopping the stack.
on_exit() {
    local name=$1 rc=$2 how now ran kept=() t delay
    how="exited with status $rc"
    [ "$rc" -gt 128 ] && how="was killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    now_ms
    ran=$((now - ${started_ms[$name]}))
    # Forget exits that have left the window, then count this one.
    for t in ${crashes[$name]:-}; do
        [ $((now - t)) -lt $((crash_window * 1000)) ] && kept+=("$t")
    done
    kept+=("$now")
    crashes[$name]="${kept[*]}"
    if [ ${#kept[@]} -ge "$crash_limit" ]; then
        log_line error "wh-$name (pid ${pid_of[$name]}) $how after $(secs "$ran") s;" \
            "crash loop: ${#kept[@]} exits within ${crash_window} s; stopping the stack"
        status=1
        stopping=1
        return
    fi
    if [ "$ran" -ge $((stable_secs * 1000)) ]; then
        delay_of[$name]=$delay_first
    fi
    delay=${delay_of[$name]:-$delay_first}
    warn "wh-$name (pid ${pid_of[$name]}) $how after $(secs "$ran") s;" \
        "restarting it in $(secs "$delay") s (exit ${#kept[@]} of $crash_limit allowed within ${crash_window} s)"
    delay_of[$name]=$((delay * 2 > delay_max ? delay_max : delay * 2))
    # The delay is a child like the processes, so that `wait -n` below
    # notices it as well as any exit or signal in the meantime.
    sleep "$(secs "$delay")" &
    timer_of[$!]=$name
}

say "data directory: $WH_DATA_DIR"
start gateway
wait_for_gateway
if [ $stopping -eq 0 ]; then
    for name in "${SERVICES[@]}"; do
        start "$name"
    done
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
# has set stopping), a process exiting, or a restart timer running out.
while [ $stopping -eq 0 ]; do
    done_pid=
    # (bash's own "Killed" notice is silenced; on_exit says it.)
    wait -n -p done_pid 2>/dev/null
    rc=$?
    [ $stopping -eq 1 ] && break
    if [ -z "$done_pid" ]; then
        # 127 with no pid: no child is left to wait for (cannot normally
        # happen, since a timer runs whenever a process is down; never spin
        # on it).
        [ $rc -eq 127 ] || continue
        log_line error "no process of the stack is left"
        status=1
        break
    fi
    if [ -n "${timer_of[$done_pid]:-}" ]; then
        name=${timer_of[$done_pid]}
        unset "timer_of[$done_pid]"
        start "$name"
        continue
    fi
    name=${name_of[$done_pid]:-}
    unset "name_of[$done_pid]"
    [ -n "$name" ] || continue
    # A Ctrl-C in the terminal reaches the children too, and one of them may
    # exit before our own trap has run. Give the trap a moment, so that such
    # an exit is not taken for a crash.
    sleep 0.2
    [ $stopping -eq 1 ] && break
    on_exit "$name" "$rc"
    unset "pid_of[$name]"
done

trap - EXIT
stop_all
if [ $status -ne 0 ]; then
    log_line error "stopped after a failure"
else
    say "stopped"
fi
exit $status
