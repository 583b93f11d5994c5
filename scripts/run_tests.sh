#!/usr/bin/env bash
# Builds and runs the whole test suite under every preset: dev (ASan+UBSan), release,
# tsan and clang. Usage: scripts/run_tests.sh [preset...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(dev release tsan clang)
for preset in "${presets[@]}"; do
    echo "=== preset: $preset ==="
    cmake --preset "$preset"
    cmake --build --preset "$preset"
    extra=()
    # GCC 12's ThreadSanitizer runtime defers signal handlers and loses some signals
    # (reproduced without anyio; docs/design/architecture.md). Under tsan, the tests that
    # send a signal from another process to a program sleeping in epoll (Ctrl+C, the
    # example programs and the echo server) and the one that was lost most often run in
    # the other three presets only; the rest stay, retried up to three times.
    if [ "$preset" = tsan ]; then
        extra=(--repeat until-pass:3
            -E '^((KeyboardInterrupt|Examples|EchoServer)[.]|SignalReceiver[.]CancelledConsumerLosesNothing$)')
    fi
    ctest --preset "$preset" -j2 "${extra[@]}"
done
echo "all presets passed: ${presets[*]}"
