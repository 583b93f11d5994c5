#!/usr/bin/env bash
# Builds the examples with the release preset and runs the narrated tour: each program
# is started as a child and sent real signals.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target receive_signals signal_handler_task echo_server
exec bash scripts/demo.sh build/release
