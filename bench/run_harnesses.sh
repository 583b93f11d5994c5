#!/usr/bin/env bash
# Builds anyio's benchmark targets with the release preset and runs both shared harnesses
# (../shared/bench/signals and ../shared/bench/runtime) with our rows added. The peers
# need: apt-get install libboost1.81-dev libuv1-dev golang-go librust-tokio-dev
# python3-trio python3-anyio (tokio also needs cargo on PATH).
#
#   bench/run_harnesses.sh [signals|runtime|both]    results in $BENCH_OUT (/tmp/anyio-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${SHARED_DIR:-$root/../shared}
out=${BENCH_OUT:-/tmp/anyio-bench}
which=${1:-both}
cmake --preset release >/dev/null
cmake --build --preset release --target signal_echo runtime_ops micro
mkdir -p "$out"
printf 'anyio_cpp\t-\t%s\n' "$root/build/release/bench/signal_echo" >"$out/signal_targets.tsv"
{
    printf 'anyio_cpp\t%s\n' "$root/build/release/bench/runtime_ops"
    printf 'anyio_cpp_ec\t%s --ec\tops=cancel_sleepers\n' "$root/build/release/bench/runtime_ops"
} >"$out/runtime_targets.tsv"
if [ "$which" != runtime ]; then
    BENCH_BUILD_DIR="$out/signals" EXTRA_TARGETS="$out/signal_targets.tsv" \
        ONLY="${SIGNAL_TARGETS:-raw_sigwaitinfo raw_signalfd_epoll selfpipe_epoll asio_signal_set libuv_signal tokio_signal go_signal py_trio py_anyio_trio anyio_cpp}" \
        PIN_MODES="${PIN_MODES:-same none}" "$shared/bench/signals/run_all.sh"
fi
if [ "$which" != signals ]; then
    BENCH_BUILD_DIR="$out/runtime" EXTRA_TARGETS="$out/runtime_targets.tsv" \
        "$shared/bench/runtime/run_all.sh"
fi
echo "results: $out/signals/results.md $out/runtime/results.md"
