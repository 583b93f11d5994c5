#!/usr/bin/env bash
# Builds bench/net_echo with the release preset and runs the shared TCP line-echo harness
# (../shared/bench/net/run_all.sh, read-only) with our row `anyio_cpp` added. The peers
# need: apt-get install libboost1.81-dev libuv1-dev golang-go librust-tokio-dev python3-trio
# (tokio also needs cargo on PATH); epoll_et and threads need only gcc/g++.
#
#   bench/run_net.sh [OUT]      binaries, logs and results.{tsv,md} in OUT
#                               (default $BENCH_OUT, else /tmp/anyio-bench/net)
#
# The harness's knobs pass through from the environment (see its README), for example:
#   ONLY="epoll_et anyio_cpp" SCENARIOS="rr drain grace" ROUNDS=1 bench/run_net.sh /tmp/nb
#   SCENARIOS=idle ONLY="epoll_et libuv asio anyio_cpp" ROUNDS=1 bench/run_net.sh
#   ROUNDS IDLE_CONNS DRAIN_CONNS RR_S TPUT_S LINE DEPTH PIN SERVER_CPUS CLIENT_CPUS ...
# SHARED_DIR overrides where the shared checkout is (default: ../shared next to this repo).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${SHARED_DIR:-$root/../shared}
out=${1:-${BENCH_OUT:-/tmp/anyio-bench/net}}
cmake --preset release >/dev/null
cmake --build --preset release --target net_echo
mkdir -p "$out"
out=$(cd "$out" && pwd)
targets=$out/anyio_targets.tsv
printf 'anyio_cpp\t%s\n' "$root/build/release/bench/net_echo" >"$targets"
BENCH_BUILD_DIR="$out" EXTRA_TARGETS="$targets" "$shared/bench/net/run_all.sh"
echo "results: $out/results.md"
