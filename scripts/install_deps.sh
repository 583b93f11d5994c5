#!/usr/bin/env bash
# Installs the Debian 12 packages anyio-cpp needs to build, test and demo (as root, or
# with sudo available). Does nothing when they are all present.
set -euo pipefail
packages=(g++ cmake ninja-build clang-14 clang-19 libclang-rt-19-dev libgtest-dev googletest libbenchmark-dev clang-format procps systemd python3-yaml mmdebstrap systemd-container)
packages+=(tini dumb-init util-linux)  # PID 1 tests and the init benchmark: the real inits, unshare
packages+=(socat python3)  # UDP tests: real datagram peers
packages+=(libboost1.81-dev)  # bench/line_reading's Boost.Asio variant (headers only)
packages+=(libssl-dev openssl)  # TLS over OpenSSL; tests/tls drives the real openssl s_server / s_client
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
