#!/usr/bin/env bash
# Provisions Debian 13's QEMU 10 (plugin API 4: registers, store values, guest memory reads) into
# .cache/qemu10 once, beside the system's QEMU 7.2, and writes wrappers that run it through its own loader.
# Prints the wrapper paths, one a line. Idempotent: .cache/qemu10/.complete is written last.
# Usage: scripts/qemu10.sh [DIR]    (default .cache/qemu10; needs root for debootstrap the first time)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh

dir="$(realpath -m "${1:-.cache/qemu10}")"
root="$dir/root"
marker="$dir/.complete"

print_wrappers() {
  echo "$dir/bin/qemu-system-aarch64"
  echo "$dir/bin/qemu-system-arm"
}

# Writes the wrappers (cheap, so on every run: a changed wrapper reaches machines provisioned before).
# The host's loader would pick the host's (older) glibc, and QEMU would load the host QEMU 7.2's modules
# (ui-*, audio-*) and refuse them: use the trixie root's loader, libraries and module directory.
write_wrappers() {
  mkdir -p "$dir/bin"
  local emu
  for emu in qemu-system-aarch64 qemu-system-arm; do
    {
      echo '#!/bin/sh'
      echo "# Debian 13's $emu, run through its own loader and libraries (written by scripts/qemu10.sh)."
      echo "export QEMU_MODULE_DIR='$root/usr/lib/x86_64-linux-gnu/qemu'"
      echo "exec '$root/lib64/ld-linux-x86-64.so.2'" \
        "--library-path '$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu'" \
        "'$root/usr/bin/$emu' -L '$root/usr/share/qemu' \"\$@\""
    } >"$dir/bin/$emu.tmp"
    chmod +x "$dir/bin/$emu.tmp"
    mv "$dir/bin/$emu.tmp" "$dir/bin/$emu"
  done
}

if [ -f "$marker" ]; then
  write_wrappers
  print_wrappers
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 || install_debian_packages "bootscope qemu10" debootstrap
if [ "$(id -u)" != 0 ]; then
  echo "bootscope qemu10: debootstrap needs root. Run once: sudo bash scripts/qemu10.sh" >&2
  exit 3
fi

# The mirror this host already uses (deb822 URIs: or a one-line deb entry), else Debian's CDN.
mirror="$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | head -n1 | awk '{print $2}' || true)"
if [ -z "$mirror" ]; then
  mirror="$(grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+/debian/?[[:space:]]' \
    /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $NF}' || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

# A half-finished earlier run leaves a root debootstrap cannot resume: start it over.
rm -rf "$root" "$dir/bin"
mkdir -p "$dir"
echo "bootscope qemu10: debootstrap trixie + qemu-system-arm from $mirror into $root (about 1.5 min, 360 MB)" >&2
if ! debootstrap --variant=minbase --include=qemu-system-arm trixie "$root" "$mirror" >"$dir/debootstrap.log" 2>&1; then
  echo "bootscope qemu10: debootstrap failed; last lines of $dir/debootstrap.log:" >&2
  tail -n 20 "$dir/debootstrap.log" >&2
  exit 3
fi

write_wrappers
for emu in qemu-system-aarch64 qemu-system-arm; do
  "$dir/bin/$emu" --version | head -n1 >&2
done
touch "$marker"
print_wrappers
