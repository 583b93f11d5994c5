#!/usr/bin/env bash
# End-to-end test of examples/echo_server as a real systemd service (issue 11): boots
# Debian 12's systemd 252 in systemd-nspawn, installs the recipes of deploy/systemd the
# way docs/deploy.md says, and drives them with systemctl.
#
#   tests/recipes/nspawn_e2e.sh ECHO_SERVER [CACHE_DIR]
#
# ECHO_SERVER is a release build of examples/echo_server, dynamically linked against
# Debian 12's libstdc++ (the container is Debian 12 too). CACHE_DIR (default:
# e2e-debian12 next to the binary's build tree) keeps the minimal Debian tree made by
# mmdebstrap between runs (about 1 minute and 210 MB the first time); it is rebuilt only
# when missing or incomplete. The tree itself is left as it was: the run installs its
# files into it and removes them again.
#
# What is checked, against the Debian 12 unit installed as echo-server.service, with a
# drop-in that moves the ports to two free ones on 127.0.0.1 (the container shares the
# host's network):
#   start      `systemctl start` returns only after READY=1: the port answers at once,
#              with no retry; the unit is active and /readyz says 200
#   reload     a changed prefix file is served after `systemctl reload`; a missing one
#              keeps the old prefix, the reload still ends, and StatusText says so
#   watchdog   with WatchdogSec=2s the pings keep the unit alive; a SIGSTOPped process
#              is killed for the watchdog and Restart=on-failure starts it again
#   stopping   a SIGTERM sent behind systemd's back turns the unit "deactivating" (the
#              program's STOPPING=1); `systemctl stop` drains: a held connection still
#              gets replies, new ones are refused, and the unit ends with Result=success
#              as soon as the client leaves, long before --grace
#   activation with the socket units and the drop-in, the service is not running until
#              the first connection, which it then serves from the sockets systemd holds
#              (the ports stay bound by systemd, so binding them itself would fail)
#
# Needs root, mmdebstrap, systemd-nspawn (systemd-container) and nsenter. Exit status: 0
# passed, 1 failed, 77 skipped (no root, tools missing, or no tree could be built, e.g.
# without apt access), 2 usage.
set -uo pipefail

readonly SKIP=77
readonly SUITE=bookworm
readonly INCLUDE=systemd,systemd-sysv,dbus,iproute2
# Generous hang guards (seconds): every wait below is a poll that gives up only after
# one of these, so a loaded machine is slow but does not fail.
readonly BUILD_GUARD=900   # mmdebstrap
readonly BOOT_GUARD=180    # nspawn until systemd says "running"
readonly CMD_GUARD=120     # one systemctl or journalctl call
readonly WAIT_GUARD=60     # a state to be reached
readonly IO_GUARD=20       # one reply from the server

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
units="$root/deploy/systemd"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 ECHO_SERVER [CACHE_DIR]" >&2
    exit 2
fi
echo_server=$(realpath -e "$1" 2>/dev/null) || { echo "FAIL: no such file: $1" >&2; exit 1; }
[ -x "$echo_server" ] || { echo "FAIL: not executable: $echo_server" >&2; exit 1; }
if [ $# -ge 2 ]; then
    cache=$2
else
    # build/release/examples/echo_server -> build/release/e2e-debian12
    cache="$(dirname "$(dirname "$echo_server")")/e2e-debian12"
fi

skip() { echo "SKIP: $*"; exit $SKIP; }

[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn, nsenter)"
for tool in mmdebstrap systemd-nspawn nsenter timeout flock; do
    command -v "$tool" >/dev/null ||
        skip "$tool is not installed (apt-get install mmdebstrap systemd-container)"
done

# --- bookkeeping -----------------------------------------------------------------------

now() { echo "${EPOCHREALTIME/./}"; }             # microseconds
elapsed() { local t=$(( $(now) - $1 )); printf '%d.%02d s' $((t / 1000000)) $((t % 1000000 / 10000)); }
t_start=$(now)
timings=()
failures=()
part_failed=0

note() { echo "    $*"; }
ok() { echo "  ok: $*"; }
bad() {
    echo "  FAIL: $*"
    part_failed=1
}

# poll GUARD DESCRIPTION COMMAND...: runs COMMAND until it succeeds, every 0.1 s, for at
# most GUARD seconds. The sleep only paces the polling: nothing waits a fixed time.
poll() {
    local guard=$1 what=$2
    shift 2
    local deadline=$(( $(now) + guard * 1000000 ))
    until "$@"; do
        if [ "$(now)" -ge $deadline ]; then
            bad "timed out after ${guard} s waiting for $what"
            return 1
        fi
        sleep 0.1
    done
}

# --- the Debian tree -------------------------------------------------------------------

mkdir -p "$cache" || skip "cannot create $cache"
cache=$(realpath -e "$cache")
rootfs="$cache/rootfs"
stamp="$cache/complete"
stamp_text="mmdebstrap --variant=minbase --include=$INCLUDE $SUITE"

# One run at a time per tree: nspawn boots it read-write.
exec {lock_fd}>"$cache/lock"
flock -w $BUILD_GUARD "$lock_fd" || skip "$cache is locked by another run for over $BUILD_GUARD s"

build_tree() {
    local t0 sources
    t0=$(now)
    rm -rf "$rootfs" "$stamp"
    sources=()
    # The host's own mirror and suites if it is Debian 12, else the default mirror.
    if [ -f /etc/apt/sources.list.d/debian.sources ] &&
        grep -q "$SUITE" /etc/apt/sources.list.d/debian.sources; then
        sources=(/etc/apt/sources.list.d/debian.sources)
    fi
    echo "== building the Debian 12 tree in $rootfs (mmdebstrap, about a minute)"
    if ! timeout $BUILD_GUARD mmdebstrap --quiet --variant=minbase --include="$INCLUDE" \
        "$SUITE" "$rootfs" "${sources[@]}" >"$cache/mmdebstrap.log" 2>&1; then
        tail -n 20 "$cache/mmdebstrap.log" | sed 's/^/    /'
        rm -rf "$rootfs"
        skip "mmdebstrap could not build the tree (no apt access?); log: $cache/mmdebstrap.log"
    fi
    # The journal stays in memory: runs leave nothing behind in /var/log.
    mkdir -p "$rootfs/etc/systemd/journald.conf.d"
    printf '[Journal]\nStorage=volatile\n' >"$rootfs/etc/systemd/journald.conf.d/e2e.conf"
    echo "$stamp_text" >"$stamp"
    timings+=("tree built: $(elapsed "$t0")")
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] && [ -x "$rootfs/usr/lib/systemd/systemd" ]; then
    echo "== reusing the Debian 12 tree in $rootfs"
    timings+=("tree: reused")
else
    build_tree
fi

# --- what the run installs into the tree (and removes again) --------------------------

installed=(
    /usr/local/bin/echo_server
    /etc/echo-server
    /etc/systemd/system/echo-server.service
    /etc/systemd/system/echo-server.service.d
    /etc/systemd/system/echo-server.socket
    /etc/systemd/system/echo-server.socket.d
    /etc/systemd/system/echo-server-health.socket
    /etc/systemd/system/echo-server-health.socket.d
    /etc/systemd/system/sockets.target.wants/echo-server.socket
    /etc/systemd/system/sockets.target.wants/echo-server-health.socket
    /etc/systemd/system/multi-user.target.wants/echo-server.service
)
uninstall() {
    local path
    for path in "${installed[@]}"; do rm -rf "${rootfs:?}$path"; done
}

# Two free ports next to each other, on the host's network (the container's too). They
# are taken below the kernel's ephemeral range, where no outgoing connection (of the
# other programs on the machine) can hold them, and away from every local port in use.
used_ports() {
    # /proc/net/tcp{,6}: "sl local_address rem_address st ...", any state.
    awk 'FNR > 1 { split($2, a, ":"); print strtonum("0x" a[2]) }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -un
}
pick_ports() {
    local used candidate low
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
    [ "$low" -gt 12000 ] || low=32768
    used=" $(used_ports | tr '\n' ' ') "
    for _ in $(seq 1 200); do
        candidate=$((10000 + RANDOM % (low - 10002)))
        if [[ $used != *" $candidate "* && $used != *" $((candidate + 1)) "* ]]; then
            port=$candidate
            health_port=$((candidate + 1))
            return 0
        fi
    done
    return 1
}
pick_ports || skip "found no two free ports"

install_files() {
    uninstall
    install -D -m 0755 "$echo_server" "$rootfs/usr/local/bin/echo_server"
    install -d -m 0755 "$rootfs/etc/echo-server"
    echo 'first: ' >"$rootfs/etc/echo-server/prefix.txt"
    chmod 0644 "$rootfs/etc/echo-server/prefix.txt"
    # The Debian 12 variant, under the name the socket units and drop-ins expect.
    install -m 0644 "$units/echo-server-debian12.service" "$rootfs/etc/systemd/system/echo-server.service"
    # The ports: the recipe's 7000/7001 may be taken on the (shared) host network.
    install -d "$rootfs/etc/systemd/system/echo-server.service.d"
    local exec_start
    exec_start=$(grep '^ExecStart=/usr/local/bin/echo_server ' "$units/echo-server-debian12.service" |
        sed -e "s/--host [^ ]*/--host 127.0.0.1/" -e "s/--port [0-9]*/--port $port/" \
            -e "s/--health-port [0-9]*/--health-port $health_port/")
    if [[ $exec_start != *"--port $port "* || $exec_start != *"--health-port $health_port "* ]]; then
        echo "FAIL: cannot rewrite the ports in ExecStart= of echo-server-debian12.service: $exec_start"
        exit 1
    fi
    # The test starts the unit more often than StartLimitBurst= (5 in 10 s) allows;
    # the limit is not what is tested.
    printf '[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nExecStart=\n%s\n' "$exec_start" \
        >"$rootfs/etc/systemd/system/echo-server.service.d/10-e2e-ports.conf"
}

# --- the container ---------------------------------------------------------------------

nspawn_pid=""
leader=""
boot_log="$cache/boot.log"

teardown() {
    local t0 status=$?
    t0=$(now)
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        if [ -n "$leader" ]; then
            timeout 30 nsenter -t "$leader" -a systemctl --no-block poweroff >/dev/null 2>&1
        fi
        # nspawn exits when the container's systemd has powered off.
        local deadline=$(( $(now) + 60 * 1000000 ))
        while kill -0 "$nspawn_pid" 2>/dev/null && [ "$(now)" -lt $deadline ]; do sleep 0.1; done
        if kill -0 "$nspawn_pid" 2>/dev/null; then
            echo "  (the container did not power off within 60 s; killing systemd-nspawn)"
            kill -TERM "$nspawn_pid" 2>/dev/null
            deadline=$(( $(now) + 20 * 1000000 ))
            while kill -0 "$nspawn_pid" 2>/dev/null && [ "$(now)" -lt $deadline ]; do sleep 0.1; done
            kill -KILL "$nspawn_pid" 2>/dev/null
        fi
        wait "$nspawn_pid" 2>/dev/null
    fi
    # nspawn mounts in a namespace of its own, which dies with it; anything left here
    # would be a mount of the host's namespace under the tree.
    local mounts
    mounts=$(awk -v r="$rootfs" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
    if [ -n "$mounts" ]; then
        echo "  (unmounting what was left under the tree)"
        printf '%s\n' "$mounts" | while read -r m; do umount -l "$m"; done
    fi
    uninstall
    timings+=("teardown: $(elapsed "$t0")")
    echo "== timings"
    printf '    %s\n' "${timings[@]}"
    echo "    total: $(elapsed "$t_start")"
    exit $status
}

trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
install_files

# ct COMMAND...: runs COMMAND inside the container, with a hang guard.
ct() { timeout $CMD_GUARD nsenter -t "$leader" -a "$@"; }
sc() { ct systemctl "$@"; }
prop() { sc show -p "$2" --value "$1"; }    # prop UNIT PROPERTY

find_leader() {
    # The container's PID 1 is the child of systemd-nspawn that runs systemd.
    local child
    for child in $(pgrep -P "$nspawn_pid"); do
        if [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then
            leader=$child
            return 0
        fi
    done
    return 1
}
system_up() {
    local state
    state=$(timeout 10 nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null)
    case $state in
        running|degraded) system_state=$state; return 0 ;;
        *) return 1 ;;
    esac
}

echo "== booting systemd in systemd-nspawn (ports $port and $health_port)"
t0=$(now)
systemd-nspawn -D "$rootfs" --register=no --keep-unit --console=pipe \
    --machine="anyio-e2e-$$" -b </dev/null >"$boot_log" 2>&1 {lock_fd}>&- &
nspawn_pid=$!
if ! poll $BOOT_GUARD "the container's systemd to start" find_leader ||
    ! poll $BOOT_GUARD "systemctl is-system-running to say running" system_up; then
    echo "  systemd-nspawn's output:"
    tail -n 30 "$boot_log" | sed 's/^/    /'
    echo "FAILED: the container did not boot"
    exit 1
fi
ok "booted: systemd $(ct systemctl --version | awk 'NR == 1 { print $2 }'), state $system_state, in $(elapsed "$t0")"
if [ "$system_state" = degraded ]; then
    note "failed units (not ours): $(sc list-units --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')"
fi
timings+=("boot: $(elapsed "$t0")")

# --- clients (on the host: the container shares its network) ---------------------------

# echo_once PORT LINE: one connection, one line, one reply (printed).
echo_once() {
    local fd reply
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf '%s\n' "$2" >&"$fd"
    IFS= read -r -t $IO_GUARD reply <&"$fd"
    local status=$?
    exec {fd}>&-
    [ $status -eq 0 ] || return 1
    printf '%s\n' "$reply"
}
# http_status PORT PATH: the status code of GET PATH.
http_status() {
    local fd line
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&"$fd"
    IFS= read -r -t $IO_GUARD line <&"$fd"
    exec {fd}>&-
    line=${line%$'\r'}
    [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] || return 1
    echo "${BASH_REMATCH[1]}"
}
# Whether a connection to PORT is refused (nothing listens).
refused() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
serves() { [ "$(echo_once "$port" "$2" 2>/dev/null)" = "$1$2" ]; }   # serves PREFIX LINE
state_is() { [ "$(prop echo-server.service ActiveState)" = "$1" ]; }
prefix_file() { echo "$rootfs/etc/echo-server/prefix.txt"; }
# The program's output (stdout and stderr) in the journal for the unit's current run, or
# for the run with the invocation ID $2 (an inactive unit may be unloaded, and its
# InvocationID with it).
program_log() {
    local id=${1:-$(prop echo-server.service InvocationID)}
    [ -n "$id" ] || return 1
    ct journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID="$id"
}
log_has() { program_log "${2:-}" | grep -qF -- "$1"; }    # log_has TEXT [INVOCATION_ID]
diagnose() {
    echo "  --- systemctl status echo-server"
    sc status --no-pager -l echo-server.service 2>&1 | sed 's/^/    /'
    echo "  --- journal"
    ct journalctl --no-pager -b -n 40 -u echo-server.service -u echo-server.socket \
        -u echo-server-health.socket 2>&1 | sed 's/^/    /'
}

run_part() {
    local name=$1 t0
    part_failed=0
    echo "== $name"
    t0=$(now)
    sc reset-failed echo-server.service >/dev/null 2>&1
    "part_$name"
    timings+=("$name: $(elapsed "$t0")")
    if [ $part_failed -ne 0 ]; then
        failures+=("$name")
        diagnose
    fi
}

# --- a. start --------------------------------------------------------------------------

part_start() {
    sc daemon-reload || { bad "daemon-reload"; return; }
    local t0 reply
    t0=$(now)
    if ! sc start echo-server.service; then
        bad "systemctl start echo-server failed"
        return
    fi
    ok "systemctl start returned after $(elapsed "$t0")"
    # No retry: Type=notify means the start job ends at READY=1, after the ports are bound.
    reply=$(echo_once "$port" hello)
    if [ "$reply" = "first: hello" ]; then
        ok "right after the start, port $port answered \"$reply\" (no retry)"
    else
        bad "right after the start, port $port answered \"$reply\", not \"first: hello\""
    fi
    local status
    status=$(http_status "$health_port" /readyz)
    [ "$status" = 200 ] && ok "GET /readyz: 200" || bad "GET /readyz: \"$status\", not 200"
    status=$(http_status "$health_port" /livez)
    [ "$status" = 200 ] && ok "GET /livez: 200" || bad "GET /livez: \"$status\", not 200"
    local active sub text
    active=$(prop echo-server.service ActiveState)
    sub=$(prop echo-server.service SubState)
    text=$(prop echo-server.service StatusText)
    [ "$active/$sub" = active/running ] && ok "active (running), StatusText \"$text\"" ||
        bad "state $active/$sub, not active/running"
    poll $WAIT_GUARD "\"listening on $port\" in the journal" log_has "listening on $port" &&
        ok "journal: \"listening on $port\""
}

# --- b. reload -------------------------------------------------------------------------

status_has() { [[ "$(prop echo-server.service StatusText)" == *"$1"* ]]; }

part_reload() {
    echo 'second: ' >"$(prefix_file)"
    local t0
    t0=$(now)
    sc reload echo-server.service || { bad "systemctl reload failed"; return; }
    ok "systemctl reload returned after $(elapsed "$t0")"
    # Type=notify + ExecReload=kill: the reload job may end before the file is re-read
    # (docs/deploy.md), so the new prefix is polled for.
    if serves "second: " x; then
        ok "the new prefix right after the reload"
    else
        note "the old prefix right after the reload (allowed on systemd 252); polling"
        poll $WAIT_GUARD "the new prefix" serves "second: " x && ok "the new prefix after $(elapsed "$t0")"
    fi
    poll $WAIT_GUARD "the unit to be active after the reload" state_is active &&
        ok "active, StatusText after the reload: \"$(prop echo-server.service StatusText)\""

    # A broken configuration: the file is gone.
    rm -f "$(prefix_file)"
    t0=$(now)
    sc reload echo-server.service || bad "systemctl reload with a missing file failed (it should end normally)"
    ok "systemctl reload with the file missing returned after $(elapsed "$t0")"
    poll $WAIT_GUARD "StatusText to say \"reload failed\"" status_has "reload failed" &&
        ok "StatusText: \"$(prop echo-server.service StatusText)\""
    if sc status --no-pager echo-server.service | grep -q "Status: \".*reload failed"; then
        ok "systemctl status shows the reload failure"
    else
        bad "systemctl status does not show \"reload failed\""
    fi
    poll $WAIT_GUARD "the unit to be active again" state_is active && ok "still active"
    serves "second: " y && ok "the old prefix is kept" || bad "the old prefix is not served"
    poll $WAIT_GUARD "the complaint in the journal" log_has "cannot reload" &&
        ok "journal: \"$(program_log | grep -F 'cannot reload' | tail -n 1)\""

    # Back to a good file.
    echo 'third: ' >"$(prefix_file)"
    chmod 0644 "$(prefix_file)"
    sc reload echo-server.service || bad "systemctl reload failed"
    poll $WAIT_GUARD "the prefix after the repair" serves "third: " z && ok "repaired: \"third: \" served"
    poll $WAIT_GUARD "StatusText without \"reload failed\"" eval '! status_has "reload failed"' &&
        ok "StatusText: \"$(prop echo-server.service StatusText)\""
}

# --- c. watchdog -----------------------------------------------------------------------

part_watchdog() {
    printf '[Service]\nWatchdogSec=2s\n' >"$rootfs/etc/systemd/system/echo-server.service.d/20-e2e-watchdog.conf"
    sc daemon-reload && sc restart echo-server.service || { bad "restart with WatchdogSec=2s"; return; }
    local usec restarts pid first t0
    usec=$(prop echo-server.service WatchdogUSec)
    [ "$usec" = 2s ] && ok "WatchdogUSec=$usec" || bad "WatchdogUSec=$usec, not 2s"
    restarts=$(prop echo-server.service NRestarts)
    pid=$(prop echo-server.service MainPID)
    # The pings arrive: WatchdogTimestamp moves.
    first=$(prop echo-server.service WatchdogTimestampMonotonic)
    watchdog_moved() { [ "$(prop echo-server.service WatchdogTimestampMonotonic)" != "$first" ]; }
    poll $WAIT_GUARD "a WATCHDOG=1 ping (WatchdogTimestamp to move)" watchdog_moved &&
        ok "pings arrive (WatchdogTimestamp moved)"
    serves "third: " w || bad "not serving before the SIGSTOP"

    t0=$(now)
    sc kill --kill-who=main -s SIGSTOP echo-server.service || { bad "systemctl kill -s SIGSTOP"; return; }
    restarted() {
        local p
        p=$(prop echo-server.service MainPID)
        [ "$(prop echo-server.service NRestarts)" -gt "$restarts" ] && [ "$p" != 0 ] && [ "$p" != "$pid" ] &&
            state_is active
    }
    poll $WAIT_GUARD "the watchdog restart" restarted &&
        ok "restarted after $(elapsed "$t0"): NRestarts $restarts -> $(prop echo-server.service NRestarts), MainPID $pid -> $(prop echo-server.service MainPID)"
    watchdog_logged() { ct journalctl --no-pager -b -u echo-server.service | grep -q 'Watchdog timeout'; }
    poll $WAIT_GUARD "\"Watchdog timeout\" in the journal" watchdog_logged &&
        ok "journal: \"$(ct journalctl --no-pager -b -o cat -u echo-server.service | grep 'Watchdog timeout' | tail -n 1)\""
    ct journalctl --no-pager -b -o cat -u echo-server.service | grep -q "Failed with result 'watchdog'" &&
        ok "journal: \"Failed with result 'watchdog'\"" || bad "no \"Failed with result 'watchdog'\" in the journal"
    serves "third: " again && ok "serves again" || bad "does not serve after the restart"
    rm -f "$rootfs/etc/systemd/system/echo-server.service.d/20-e2e-watchdog.conf"
    sc daemon-reload || bad "daemon-reload"
}

# --- d. stopping -----------------------------------------------------------------------

# hold: opens a connection on $held; ask LINE: a reply on it.
hold() { exec {held}<>"/dev/tcp/127.0.0.1/$port"; }
ask() {
    local reply
    printf '%s\n' "$1" >&"$held" || return 1
    IFS= read -r -t $IO_GUARD reply <&"$held" || return 1
    printf '%s\n' "$reply"
}
release() { exec {held}>&-; }

part_stopping() {
    local held reply t0 restarts
    sc restart echo-server.service || { bad "restart"; return; }

    # STOPPING=1: a SIGTERM that systemd did not send. Without STOPPING=1 the unit
    # would stay active until the process exits.
    hold || { bad "cannot connect"; return; }
    ask one >/dev/null || bad "no reply before the SIGTERM"
    restarts=$(prop echo-server.service NRestarts)
    t0=$(now)
    sc kill --kill-who=main -s SIGTERM echo-server.service || { bad "systemctl kill -s SIGTERM"; release; return; }
    poll $WAIT_GUARD "\"deactivating\" after a SIGTERM sent with systemctl kill (STOPPING=1)" \
        state_is deactivating && ok "STOPPING=1: deactivating ($(prop echo-server.service SubState)) after $(elapsed "$t0"), StatusText \"$(prop echo-server.service StatusText)\""
    reply=$(ask two)
    [ "$reply" = "third: two" ] && ok "the held connection is answered during the drain" ||
        bad "the held connection got \"$reply\" during the drain"
    release
    poll $WAIT_GUARD "inactive once the client left" state_is inactive &&
        ok "inactive $(elapsed "$t0") after the SIGTERM"
    [ "$(prop echo-server.service Result)" = success ] && ok "Result=success" ||
        bad "Result=$(prop echo-server.service Result)"
    [ "$(prop echo-server.service NRestarts)" = "$restarts" ] && ok "not restarted" || bad "restarted"

    # systemctl stop with a client connected.
    sc start echo-server.service || { bad "start"; return; }
    local invocation
    invocation=$(prop echo-server.service InvocationID)
    hold || { bad "cannot connect"; return; }
    ask one >/dev/null || bad "no reply before the stop"
    t0=$(now)
    sc --no-block stop echo-server.service || { bad "systemctl stop"; release; return; }
    poll $WAIT_GUARD "deactivating" state_is deactivating && ok "deactivating ($(prop echo-server.service SubState))"
    poll $WAIT_GUARD "StatusText \"stopping\"" status_has stopping &&
        ok "StatusText \"$(prop echo-server.service StatusText)\""
    poll $WAIT_GUARD "the program's drain message" log_has "not accepting" &&
        ok "journal: \"$(program_log | grep -F 'not accepting' | tail -n 1)\""
    refused "$port" && ok "new connections are refused during the drain" ||
        bad "a new connection was accepted during the drain"
    local status
    status=$(http_status "$health_port" /readyz)
    [ "$status" = 503 ] && ok "GET /readyz during the drain: 503" || bad "GET /readyz during the drain: \"$status\", not 503"
    reply=$(ask three)
    [ "$reply" = "third: three" ] && ok "the held connection is answered during the drain" ||
        bad "the held connection got \"$reply\" during the drain"
    state_is deactivating || bad "no longer deactivating while a client is connected"
    release
    poll $WAIT_GUARD "inactive once the client left" state_is inactive &&
        ok "inactive $(elapsed "$t0") after systemctl stop (--grace is 20 s)"
    [ "$(prop echo-server.service Result)" = success ] && ok "Result=success" ||
        bad "Result=$(prop echo-server.service Result)"
    [ "$(prop echo-server.service ExecMainStatus)" = 0 ] && ok "exit status 0" ||
        bad "exit status $(prop echo-server.service ExecMainStatus)"
    # The journal takes the program's output asynchronously: polled for.
    poll $WAIT_GUARD "\"all connections finished\" in the journal" log_has "all connections finished" "$invocation" &&
        ok "journal: \"all connections finished\""
}

# --- e. socket activation --------------------------------------------------------------

part_activation() {
    local d="$rootfs/etc/systemd/system" t0 reply
    sc stop echo-server.service 2>/dev/null
    install -m 0644 "$units/echo-server.socket" "$units/echo-server-health.socket" "$d/"
    install -m 0644 "$units/echo-server.service.d/socket-activation.conf" "$d/echo-server.service.d/"
    mkdir -p "$d/echo-server.socket.d" "$d/echo-server-health.socket.d"
    printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:%s\n' "$port" >"$d/echo-server.socket.d/10-e2e-port.conf"
    printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:%s\n' "$health_port" \
        >"$d/echo-server-health.socket.d/10-e2e-port.conf"
    sc daemon-reload || { bad "daemon-reload"; return; }
    sc enable --now echo-server.socket echo-server-health.socket 2>/dev/null || { bad "enable --now the socket units"; return; }
    ok "sockets: $(sc list-sockets --no-legend --plain echo-server.socket echo-server-health.socket | awk '{ print $1 " -> " $3 }' | tr '\n' ' ')"
    state_is inactive && ok "echo-server.service is not running before the first connection" ||
        bad "echo-server.service is $(prop echo-server.service ActiveState) before the first connection"

    t0=$(now)
    reply=$(echo_once "$port" activated)
    [ "$reply" = "third: activated" ] && ok "the first connection started the service and got \"$reply\" in $(elapsed "$t0")" ||
        bad "the first connection got \"$reply\""
    state_is active && ok "echo-server.service active, TriggeredBy: $(prop echo-server.service TriggeredBy)" ||
        bad "echo-server.service is $(prop echo-server.service ActiveState)"
    # The program got the sockets systemd holds: had it bound --port itself, it would
    # have failed (systemd has the port). Its log names the ports it serves.
    poll $WAIT_GUARD "\"listening on $port\" in the journal" log_has "listening on $port" &&
        ok "journal: \"listening on $port\""
    poll $WAIT_GUARD "\"health on $health_port\" in the journal" log_has "health on $health_port" &&
        ok "journal: \"health on $health_port\""
    local status
    status=$(http_status "$health_port" /readyz)
    [ "$status" = 200 ] && ok "GET /readyz: 200" || bad "GET /readyz: \"$status\", not 200"
    # What systemd handed over (the environment the process started with; the program
    # unsets the variables, which does not change /proc/PID/environ).
    local fds
    fds=$(ct sh -c "tr '\\0' '\\n' </proc/$(prop echo-server.service MainPID)/environ | grep '^LISTEN_FDNAMES='")
    if [ "$fds" = "LISTEN_FDNAMES=echo:health" ] || [ "$fds" = "LISTEN_FDNAMES=health:echo" ]; then
        ok "started with $fds"
    else
        bad "started with \"$fds\", not LISTEN_FDNAMES=echo:health"
    fi

    # With the service stopped the sockets stay bound; a probe on the health port
    # starts the service as well (Service=echo-server.service in the health socket unit).
    sc stop echo-server.service 2>/dev/null || bad "stop"
    state_is inactive && ok "the service stopped, the sockets stay: $(prop echo-server.socket ActiveState)/$(prop echo-server-health.socket ActiveState)" ||
        bad "not inactive after stop"
    status=$(http_status "$health_port" /livez)
    [ "$status" = 200 ] && ok "a probe on the health port started the service again: GET /livez 200" ||
        bad "GET /livez on the health port with the service stopped: \"$status\""
    serves "third: " again && ok "serves" || bad "does not serve after the re-activation"

    sc stop echo-server.service echo-server.socket echo-server-health.socket 2>/dev/null
    sc disable echo-server.socket echo-server-health.socket >/dev/null 2>&1
}

run_part start
if [ ${#failures[@]} -ne 0 ]; then
    echo "FAILED: start; the other parts need a running service and were not run"
    exit 1
fi
run_part reload
run_part watchdog
run_part stopping
run_part activation

if [ ${#failures[@]} -ne 0 ]; then
    echo "FAILED: ${failures[*]}"
    exit 1
fi
echo "all end-to-end checks passed"
exit 0
