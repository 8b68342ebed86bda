#!/usr/bin/env bash
# launch/setup.sh - installs the Debian packages marina needs (if missing) and builds it.
#   launch/setup.sh [BUILD_DIR] [extra cmake args...]     (default BUILD_DIR: build)
#   launch/setup.sh --packages                            (the packages only, no build)
# Works on a fresh Debian 12 machine as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true

packages=(build-essential cmake pkgconf libzmq3-dev libczmq-dev libmsgpack-dev libsqlite3-dev
          libcmocka-dev libinih-dev sqlite3 python3-zmq python3-msgpack
          librsvg2-bin clang)  # clang: the libFuzzer targets of tests/fuzz (run.sh)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ "$build" = "--packages" ] && exit 0
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
