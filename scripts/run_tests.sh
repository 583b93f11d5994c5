#!/usr/bin/env bash
# Builds and runs the whole test suite under every preset: dev (ASan+UBSan), release,
# tsan (g++ 12's ThreadSanitizer), tsan-clang (clang 19's), clang (clang 14) and asan-clang
# (clang 19, ASan+UBSan).
# Usage: scripts/run_tests.sh [preset...]
#
# Every preset runs even when an earlier one failed. The output ends with one line per
# preset (passed or failed, with counts), and the exit status is non-zero if any failed.
# The tests a TSan preset leaves out are in its test preset (CMakePresets.json) and in
# README.md, with the reason; nothing is retried.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
scripts/install_deps.sh || exit 2
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(dev release tsan tsan-clang clang asan-clang)

summary=()
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for preset in "${presets[@]}"; do
    echo "=== preset: $preset ==="
    if ! cmake --preset "$preset"; then
        summary+=("$preset: FAILED (configure)")
        failed=1
        continue
    fi
    if ! cmake --build --preset "$preset"; then
        summary+=("$preset: FAILED (build)")
        failed=1
        continue
    fi
    ctest --preset "$preset" -j2 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    # ctest's own count line: "97% tests passed, 3 tests failed out of 240"
    counts=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    all=$(ctest --test-dir "build/$preset" -N 2>/dev/null | sed -n 's/^Total Tests: //p')
    if [[ $counts =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        bad=${BASH_REMATCH[1]}
        total=${BASH_REMATCH[2]}
        line="$((total - bad)) of $total tests passed, $bad failed"
        if [[ -n $all && $all -gt $total ]]; then
            line+=", $((all - total)) left out by the preset"
        fi
    else
        line="ctest gave no count (exit status $status)"
    fi
    if [[ $status -eq 0 ]]; then
        summary+=("$preset: passed ($line)")
    else
        summary+=("$preset: FAILED ($line)")
        failed=1
    fi
done

echo
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
exit "$failed"
