#!/usr/bin/env bash
# Installs what Bootscope needs on a Debian machine with Node 20, idempotently: Debian packages (QEMU, the
# cross toolchains and reference tools, Chromium for webview tests) and the npm dependencies.
# Usage: scripts/setup.sh [--tests]    (--tests adds what only the test suites need)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
. scripts/lib/node.sh

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

# Package -> a command it provides, so we only call apt when something is really missing.
declare -A pkgs=(
  [qemu-system-arm]=qemu-system-aarch64
  [sqlite3]=sqlite3
)
if [ "$want_tests" = 1 ]; then
  pkgs+=(
    [gcc-arm-none-eabi]=arm-none-eabi-gcc
    [gcc-aarch64-linux-gnu]=aarch64-linux-gnu-gcc
    [binutils-multiarch]=objdump
    [gdb-multiarch]=gdb-multiarch
    [chromium]=chromium
    [python3]=python3
    [make]=make
  )
fi
missing=()
for p in "${!pkgs[@]}"; do
  command -v "${pkgs[$p]}" >/dev/null 2>&1 || missing+=("$p")
done
# binutils-multiarch's objdump is the one that reads ARM and AArch64; plain binutils has an objdump too.
# (grep reads all of it: with -q it would exit early, and pipefail would count objdump's SIGPIPE as missing.)
if [ "$want_tests" = 1 ] && ! objdump --help 2>/dev/null | grep 'aarch64' >/dev/null; then missing+=(binutils-multiarch); fi

install_debian_packages "bootscope setup" "${missing[@]}"

use_supported_node

# npm dependencies: reinstall when package-lock.json is newer than the install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
