#!/usr/bin/env bash
# Installs what Bootscope needs on a Debian machine with Node 20, idempotently: Debian packages (QEMU, the
# cross toolchains and reference tools, Chromium for webview tests) and the npm dependencies.
# Usage: scripts/setup.sh [--tests]    (--tests adds what only the test suites need)
set -euo pipefail
cd "$(dirname "$0")/.."

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
if [ "$want_tests" = 1 ] && ! objdump --help 2>/dev/null | grep -q 'aarch64'; then missing+=(binutils-multiarch); fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootscope setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootscope setup: missing Debian packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 3
  fi
fi

# npm dependencies: reinstall when package-lock.json is newer than the install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
