#!/usr/bin/env bash
# A narrated tour of the two seed programs in examples/, driven with real signals.
#
#   scripts/demo.sh [BUILD_DIR]     (default: build/release)
#
# Needs a build of the examples, e.g.:
#   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build/release --target receive_signals signal_handler_task
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

for program in receive_signals signal_handler_task; do
    if [[ ! -x $examples/$program ]]; then
        echo "demo: $examples/$program not found; build the examples first:" >&2
        echo "  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release" >&2
        echo "  cmake --build build/release --target receive_signals signal_handler_task" >&2
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

printf '\n%sAll three runs behaved as expected.%s\n' "$bold" "$plain"
