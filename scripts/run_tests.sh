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
    ctest --preset "$preset" -j2
done
echo "all presets passed: ${presets[*]}"
