#!/usr/bin/env bash
# Installs the Debian 12 packages anyio-cpp needs to build, test and demo (as root, or
# with sudo available). Does nothing when they are all present.
set -euo pipefail
packages=(g++ cmake ninja-build clang-14 clang-19 libclang-rt-19-dev libgtest-dev googletest libbenchmark-dev clang-format procps systemd python3-yaml mmdebstrap systemd-container libssl-dev openssl libboost1.81-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
