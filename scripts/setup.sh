#!/usr/bin/env bash
# Installs what Bootscope needs on a Debian 12 machine with Node 20 or newer, idempotently: Debian packages
# (QEMU and its ROMs; with --tests the cross toolchains, reference tools and Chromium), Node >= 22.13 when
# the machine's is older (scripts/lib/node.sh), and the npm dependencies.
# Usage: scripts/setup.sh [--tests]    (--tests adds what only the test suites need)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
. scripts/lib/node.sh

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

# Every Debian package the project uses, named here even when another one already depends on it: apt runs
# with --no-install-recommends, so a package that only a Recommends would bring is missing otherwise (a
# fresh Debian 12 has none of these).
pkgs=(
  qemu-system-arm            # qemu-system-arm and qemu-system-aarch64 (QEMU 7.2), the recorded guests
  ipxe-qemu                  # efi-virtio.rom etc.: NIC option ROMs QEMU loads for a -nic/-device a user adds
  sqlite3                    # the sqlite3 CLI the README reads recordings with
  ca-certificates            # npm fetches packages (and Node 24, see scripts/lib/node.sh) over HTTPS
  gcc                        # builds the QEMU capture plugin (plugin/) on first use
  make                       # plugin/Makefile; guest/Makefile
  pkg-config                 # finds glib for plugin/Makefile
  libglib2.0-dev             # glib headers the QEMU plugin API uses (GArray, GByteArray)
)
if [ "$want_tests" = 1 ]; then
  pkgs+=(
    gcc-arm-none-eabi          # builds guest/ (AArch32) and the test fixtures; make -C guest check-reproducible
    binutils-arm-none-eabi     # arm-none-eabi-as/ld/objcopy/nm/objdump/addr2line called by the tests
    libnewlib-arm-none-eabi    # nosys.specs, linked by the objdump cross-check (test/integration/arch-objdump)
    gcc-aarch64-linux-gnu      # builds guest/ (AArch64)
    binutils-aarch64-linux-gnu # aarch64-linux-gnu-as/ld/objcopy/nm/objdump/addr2line called by the tests
    libc6-arm64-cross          # /usr/aarch64-linux-gnu/lib/libc.so.6: a large real ELF the symbol tests read
    binutils-multiarch         # objdump, nm and readelf that read both ARM and AArch64
    gdb-multiarch              # cross-checks the gdbstub client (test/integration/target-gdb-crosscheck)
    chromium                   # /usr/bin/chromium: webview tests and the e2e (playwright-core drives it)
    python3                    # reads recordings with Python's sqlite3 module (seed-queries test)
    debootstrap                # scripts/qemu10.sh: Debian 13's QEMU 10 for the plugin capture tests
    u-boot-qemu                # /usr/lib/u-boot/qemu_arm64/u-boot.bin: the benchmark's real-firmware workload (bench/plugin-*.ts)
  )
fi
install_debian_packages "bootscope setup" "${pkgs[@]}"

use_supported_node

# npm dependencies: reinstall when package-lock.json is newer than the install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
