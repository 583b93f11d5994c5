#!/usr/bin/env bash
# A narrated tour of the programs in examples/, driven with real signals (and, for the
# echo server, a real TCP client: bash's /dev/tcp).
#
#   scripts/demo.sh [BUILD_DIR]     (default: build/release)
#
# Needs a build of the examples, e.g.:
#   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/release --target receive_signals signal_handler_task echo_server
#
# Exits non-zero if a program prints or exits other than expected.
set -euo pipefail

# Background jobs of a script ignore SIGINT unless job control is on; the programs must
# see Ctrl+C as an interactive shell would deliver it.
set -m

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build/release}
if [[ $build != /* ]]; then
    if [[ -d $build ]]; then build=$PWD/$build; else build=$repo/$build; fi
fi
examples=$build/examples

for program in receive_signals signal_handler_task echo_server; do
    if [[ ! -x $examples/$program ]]; then
        echo "demo: $examples/$program not found; build the examples first:" >&2
        echo "  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release" >&2
        echo "  cmake --build build/release --target receive_signals signal_handler_task echo_server" >&2
        exit 2
    fi
done

workdir=$(mktemp -d)
pid=""
out=""
shown=false  # the output of the current run was shown already
finish() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -rf "$workdir"
}
trap finish EXIT

bold=""
plain=""
if [[ -t 1 ]]; then
    bold=$(tput bold 2>/dev/null || true)
    plain=$(tput sgr0 2>/dev/null || true)
fi

title() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$plain"; }
say() { printf '%s\n' "$@"; }
act() { printf '  %s$ %s%s\n' "$bold" "$*" "$plain"; }
show_output() {
    say "  output:"
    if [[ -s $out ]]; then sed 's/^/    | /' "$out"; else say "    (nothing)"; fi
}
fail() {
    printf '\n  %sFAILED:%s %s\n' "$bold" "$plain" "$*"
    if [[ $shown == false && -n $out ]]; then show_output; fi
    exit 1
}

# How many lines of the output are exactly $1.
count_lines() { grep -cxF -- "$1" "$out" || true; }

# Waits until the program printed the line $1 at least ${2:-1} times (hang guard: 10 s).
wait_for_line() {
    local line=$1 times=${2:-1} tries=0
    until (($(count_lines "$line") >= times)); do
        kill -0 "$pid" 2>/dev/null || fail "the program ended before printing \"$line\""
        ((tries++ < 1000)) || fail "no \"$line\" within 10 s"
        sleep 0.01
    done
}

# Starts example $1 in the background, its output going to a fresh file, and waits for
# its "ready" (it prints that once its signal receiver is open).
start() {
    out=$workdir/$1.$RANDOM.out
    : >"$out"
    shown=false
    act "$(realpath --relative-to="$PWD" "$examples/$1" 2>/dev/null || echo "$examples/$1") &"
    # env: SIGINT and SIGTERM at their default disposition, whatever this script inherited.
    env --default-signal=INT,TERM,HUP "$examples/$1" >"$out" 2>&1 &
    pid=$!
    say "    (pid $pid)"
    wait_for_line ready
    say "    ready"
}

send() {
    act "kill -$1 $pid"
    kill "-$1" "$pid"
}

# Waits for the program to end and checks its exit status is $1.
expect_exit() {
    local status=0 how
    wait "$pid" || status=$?
    pid=""
    if ((status > 128)); then
        how="killed by SIG$(kill -l $((status - 128)))"
    else
        how="exit status $status"
    fi
    show_output
    shown=true
    say "  $how"
    [[ $status -eq $1 ]] || fail "expected exit status $1, got: $how"
}

expect_line() {
    (($(count_lines "$1") == ${2:-1})) || fail "expected \"$1\" ${2:-1} time(s) in the output"
}

ok() { say "  ${bold}OK${plain}: $*"; }

# --- 1 -----------------------------------------------------------------------------------

title "1. receive_signals: reload on SIGHUP, return on SIGTERM"
say "main_task opens a signal receiver for SIGTERM and SIGHUP and waits on it. Each SIGHUP" \
    "prints \"Reloading configuration\"; SIGTERM makes main_task return, and the program" \
    "exits with status 0 and prints nothing more. The signals arrive as co_await results," \
    "in ordinary code: no handler function, no flags to poll."
say ""
start receive_signals
for n in 1 2; do
    send HUP
    wait_for_line "Reloading configuration" "$n"  # one at a time: signals coalesce
    say "    Reloading configuration"
done
send TERM
expect_exit 0
[[ $(cat "$out") == $'ready\nReloading configuration\nReloading configuration' ]] ||
    fail "expected exactly: ready, then Reloading configuration twice"
ok "two reloads, then a clean exit on SIGTERM"

# --- 2 -----------------------------------------------------------------------------------

title "2. signal_handler_task: Ctrl+C cancels the application, which cleans up"
say "A task group runs a signal-handler task next to the application (two workers that" \
    "tick every 200 ms). On SIGINT or SIGTERM the handler prints what it got and cancels" \
    "the group's scope: both workers unwind through their cleanup, the group finishes," \
    "and the program exits with status 0."
say ""
start signal_handler_task
say "    (letting the workers tick for a moment)"
sleep 0.5
send INT
expect_exit 0
expect_line "Ctrl+C pressed!"
expect_line "worker 1: cleaned up"
expect_line "worker 2: cleaned up"
expect_line "Terminated!" 0
ok "Ctrl+C reached the handler task; both workers cleaned up; exit status 0"

title "3. signal_handler_task again, this time with SIGTERM"
say "The same program, stopped the way a service manager stops it."
say ""
start signal_handler_task
sleep 0.3
send TERM
expect_exit 0
expect_line "Terminated!"
expect_line "worker 1: cleaned up"
expect_line "worker 2: cleaned up"
expect_line "Ctrl+C pressed!" 0
ok "SIGTERM reached the handler task; both workers cleaned up; exit status 0"

# --- 4 -----------------------------------------------------------------------------------

title "4. echo_server: a TCP server that reloads on SIGHUP and drains on SIGTERM"
say "Every line a client sends comes back with a prefix read from a config file. SIGHUP" \
    "re-reads the file; SIGTERM closes the listener at once (new clients are refused)," \
    "gives the open connections a grace period to finish, and the server exits with" \
    "status 0 as soon as they are done. The client here is bash's /dev/tcp."
say ""
config=$workdir/prefix.conf
act "echo 'v1> ' > prefix.conf"
echo 'v1> ' >"$config"
out=$workdir/echo_server.$RANDOM.out
: >"$out"
shown=false
act "echo_server --port 0 --config prefix.conf --grace 5 &"
env --default-signal=INT,TERM,HUP "$examples/echo_server" --port 0 --config "$config" --grace 5 \
    >"$out" 2>&1 &
pid=$!
say "    (pid $pid)"
tries=0
until grep -q '^listening on ' "$out"; do
    kill -0 "$pid" 2>/dev/null || fail "echo_server ended before listening"
    ((tries++ < 1000)) || fail "no \"listening on\" within 10 s"
    sleep 0.01
done
port=$(sed -n 's/^listening on //p' "$out")
say "    listening on $port"

# Sends the line $1 on the connection (fd 3) and checks that the reply is $2.
converse() {
    local reply=""
    act "echo '$1' >&3; read reply <&3"
    printf '%s\n' "$1" >&3
    read -r -t 10 reply <&3 || fail "no reply to \"$1\""
    say "    $reply"
    [[ $reply == "$2" ]] || fail "expected \"$2\""
}

act "exec 3<>/dev/tcp/127.0.0.1/$port"
exec 3<>"/dev/tcp/127.0.0.1/$port"
converse "hello" "v1> hello"
act "echo 'v2> ' > prefix.conf"
echo 'v2> ' >"$config"
send HUP
wait_for_line "reloaded $config"
say "    reloaded"
converse "hello again" "v2> hello again"
send TERM
tries=0
until grep -q '^terminated: not accepting' "$out"; do
    ((tries++ < 1000)) || fail "no shutdown announcement within 10 s"
    sleep 0.01
done
say "    $(grep '^terminated: ' "$out")"
act "exec 4<>/dev/tcp/127.0.0.1/$port   # a new client"
if (exec 4<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "a new client got in after SIGTERM"
fi
say "    refused"
converse "last words" "v2> last words"
act "exec 3<&-   # the open client leaves"
exec 3<&-
expect_exit 0
expect_line "all connections finished"
ok "replies with the prefix, reload on SIGHUP, refused new clients and drained on SIGTERM"

printf '\n%sAll four runs behaved as expected.%s\n' "$bold" "$plain"
