#!/usr/bin/env bash
# CI's proof that the README's first Quick-start command works on a brand-new machine: builds a minimal
# Debian 12 (bookworm) root with debootstrap, adds only what a new user would have (this machine's `node`
# and npm, its network settings for apt and npm), copies a clean checkout of HEAD into it, and runs
# `bash scripts/demo.sh` there in a chroot as root. Passes only if that ends with recordings holding
# instructions and their HTML reports.
#
# Only the bare root is cached (.cache/fresh-machine/debian-12-minbase.tar, built once by debootstrap);
# everything the project installs (Debian packages, Node 24, node_modules) is installed anew on every run,
# which is the point. /proc, /sys and /dev are mounted into the root for the run and unmounted afterwards,
# also on failure, and a run killed half-way leaves nothing that the next run does not clean up first.
# Usage (as root): bash scripts/fresh-machine-check.sh     Environment: BOOTSCOPE_FRESH_TIMEOUT (seconds
# for demo.sh in the chroot, default 900), BOOTSCOPE_FRESH_KEEP=1 keeps the root for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
started=$(date +%s)
log() { echo "fresh-machine check: $* ($(( $(date +%s) - started ))s)" >&2; }
die() { echo "fresh-machine check: FAILED: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  echo "fresh-machine check: needs root (debootstrap, chroot and mount); run it with sudo" >&2
  exit 3
fi

. scripts/lib/apt.sh
install_debian_packages "fresh-machine check" debootstrap git

cache="$repo/.cache/fresh-machine"
tarball="$cache/debian-12-minbase.tar"
root="$cache/root"
mkdir -p "$cache"

# --- Mounts: every mount point at or below DIR, deepest first ($root is a tmpfs itself; debootstrap
# mounts /proc and /sys in the root it builds, and leaves them there when it is killed).
mounts_under() { findmnt -rn -o TARGET | awk -v r="$1" 'index($0, r "/") == 1 || $0 == r' | sort -r; }
mounts_in_root() { mounts_under "$root"; }
mounts_below_root() { mounts_under "$root" | grep -vxF "$root" || true; }

# unmount_all LISTER: unmounts what LISTER prints (lazily when busy, e.g. a process of the run still holds a file).
unmount_all() {
  local m
  for m in $("$@"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [ -n "$("$@")" ]; then
    echo "fresh-machine check: still mounted:" >&2
    "$@" >&2
    return 1
  fi
}

# Processes running inside the root (their / is $root): what a run killed half-way left running (apt, npm,
# QEMU), or what is still running when the demo timed out. Found by their root, so nothing else is touched.
kill_root_processes() {
  local p pids=()
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids+=("${p#/proc/}")
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  echo "fresh-machine check: stopping ${#pids[@]} process(es) still running in $root" >&2
  kill -KILL "${pids[@]}" 2>/dev/null || true
  sleep 1
}

# Removes the root only once nothing is mounted in it (a bind-mounted /dev must never be deleted through
# it); --one-file-system is the second guard.
remove_root() {
  kill_root_processes
  unmount_all mounts_in_root || { echo "fresh-machine check: not deleting $root while something is mounted in it" >&2; return 1; }
  rm -rf --one-file-system "$root"
}

# A previous run killed half-way may have left its root and mounts behind.
if [ -e "$root" ]; then
  log "removing the root a previous run left behind"
  remove_root || die "could not clean up $root; unmount what is listed above and delete it"
fi

cleanup() {
  local status=$?
  if [ "${BOOTSCOPE_FRESH_KEEP:-}" = 1 ]; then
    kill_root_processes
    unmount_all mounts_below_root || true
    echo "fresh-machine check: kept $root (a tmpfs, BOOTSCOPE_FRESH_KEEP=1); the next run removes it" >&2
  else
    remove_root || status=1
  fi
  exit "$status"
}
trap 'echo "fresh-machine check: FAILED: command at line $LINENO exited with $?" >&2' ERR
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- The bare Debian 12 root: debootstrap once, then unpack the cached tarball.
# The mirror is the one this machine's apt uses for Debian (deb822 or one-line sources).
mirror="$(grep -hsE '^(URIs:|deb) ' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list \
  | grep -Eo 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
if [ ! -f "$tarball" ]; then
  log "building a minimal Debian 12 root with debootstrap from $mirror (cached in $tarball)"
  building="$cache/bootstrap.tmp"
  unmount_all mounts_under "$building" || die "could not unmount what a killed debootstrap left in $building"
  rm -rf --one-file-system "$building"
  if ! debootstrap --variant=minbase bookworm "$building" "$mirror" > "$cache/debootstrap.log" 2>&1; then
    tail -20 "$cache/debootstrap.log" >&2
    unmount_all mounts_under "$building" && rm -rf --one-file-system "$building"
    die "debootstrap failed; full log: $cache/debootstrap.log"
  fi
  rm -rf "$building"/var/cache/apt/archives/*.deb
  tar -cf "$tarball.tmp" -C "$building" .
  mv "$tarball.tmp" "$tarball"
  rm -rf --one-file-system "$building"
fi
log "unpacking the bare root"
mkdir -p "$root"
# In memory: dpkg syncs every file it unpacks, which on a disk costs minutes, and tearing the root down is
# then one umount. 1.5 GiB is used by the end; the rest of the limit is headroom.
mount -t tmpfs -o size=6g,mode=0755 bootscope-fresh-root "$root"
mount --make-private "$root"   # where / is shared (systemd), nothing mounted in the root leaks out
tar -xpf "$tarball" -C "$root"

# --- What a new machine on this network has besides Debian: name resolution, apt's sources and its
# network options (proxy, validity checks), the CA certificates TLS is inspected with, npm's settings.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/hosts "$root/etc/hosts"
rm -f "$root/etc/apt/sources.list"
copied_sources=0
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # Only Debian's own archives: a new Debian machine has no third-party repositories (and no keys for them).
  if grep -qE 'deb\.debian\.org|/debian(-security)?/? ' "$f" && ! grep -qiE 'google|nodesource' "$f"; then
    mkdir -p "$root$(dirname "$f")"
    cp "$f" "$root$f"
    copied_sources=1
  fi
done
if [ "$copied_sources" = 0 ]; then
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" > "$root/etc/apt/sources.list"
fi
# apt's network options as this machine's apt resolves them (proxies, validity checks of a mirror snapshot).
apt-config dump | grep -iE '^Acquire::([^ ]*::)?(proxy|Check-Valid-Until|Check-Date) ' > "$root/etc/apt/apt.conf.d/90host-network" || true
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi

# --- This machine's Node and npm, as a user who "has Node 20" has them. On Node < 22.13 the Quick-start
# scripts use npm to fetch Node 24 from the registry (scripts/lib/node.sh), so npm must be there too.
# The machine's own: leave out the Node 24 that scripts/lib/node.sh may have put first on PATH.
machine_path="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$repo/.cache/" | paste -sd:)"
host_node="$(PATH="$machine_path" command -v node)" && host_node="$(readlink -f "$host_node")" || die "no node on PATH"
host_npm_cli="$(PATH="$machine_path" command -v npm)" && host_npm_cli="$(readlink -f "$host_npm_cli")" || die "no npm on PATH"
npm_dir="$(cd "$(dirname "$host_npm_cli")/.." && pwd)"
[ -f "$npm_dir/package.json" ] || die "cannot tell npm's installation folder from $host_npm_cli"
install -m 0755 "$host_node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# npm's network settings on this machine (registry, proxies, CA file), and nothing else from its config.
: > "$root/etc/npmrc"
for key in registry cafile proxy https-proxy noproxy strict-ssl; do
  value="$(PATH="$machine_path" npm config get "$key" 2>/dev/null || true)"
  case "$value" in ''|null|undefined) continue ;; esac
  [ "$key" = registry ] && [ "$value" = "https://registry.npmjs.org/" ] && continue
  echo "$key=$value" >> "$root/etc/npmrc"
done
mkdir -p "$root/usr/local/etc"
cp "$root/etc/npmrc" "$root/usr/local/etc/npmrc"   # npm's global config is <prefix>/etc/npmrc
node_version="$(chroot "$root" /usr/local/bin/node -v)" || die "this machine's node ($host_node) does not run in a Debian 12 root"
npm_version="$(chroot "$root" /usr/local/bin/node /usr/local/bin/npm -v)" || die "npm from $npm_dir does not run in the Debian 12 root"
log "node $node_version and npm $npm_version in the root"

# --- A clean checkout: what HEAD holds, nothing of this working tree's uncommitted or ignored files.
checkout="$root/root/bootscope"
mkdir -p "$checkout"
git -C "$repo" archive --format=tar HEAD | tar -xf - -C "$checkout"
log "copied HEAD ($(git -C "$repo" rev-parse --short HEAD)) to /root/bootscope"

# The certificate settings of this machine's environment (a TLS-inspecting proxy's CA reaches Node through
# NODE_EXTRA_CA_CERTS; `npm install --prefix`, as scripts/lib/node.sh runs it, reads no global npmrc).
cert_env=()
for var in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR; do
  value="${!var:-}"
  [ -n "$value" ] && [ -e "$value" ] || continue
  if [ ! -e "$root$value" ]; then
    mkdir -p "$root$(dirname "$value")"
    cp -r "$value" "$root$value"
  fi
  cert_env+=("$var=$value")
done

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
# The bind would share /dev's peer group: the devpts and shm mounted below must not land on the host's /dev.
mount --make-private "$root/dev"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
mount -t tmpfs -o mode=1777 shm "$root/dev/shm"

# --- The README's first Quick-start command, as root, with a clean environment.
list_packages() { chroot "$root" dpkg-query -W -f='${Package}\t${Installed-Size}\n' | sort; }
list_packages > "$cache/packages-before.txt"
log "running 'bash scripts/demo.sh' in the chroot"
demo_started=$(date +%s)
demo_status=0
timeout --kill-after=30 "${BOOTSCOPE_FRESH_TIMEOUT:-900}" \
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb "${cert_env[@]}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c 'cd /root/bootscope && bash scripts/demo.sh' > "$cache/demo.log" 2>&1 || demo_status=$?
demo_seconds=$(( $(date +%s) - demo_started ))
if [ "$demo_status" != 0 ]; then
  tail -40 "$cache/demo.log" >&2
  [ "$demo_status" = 124 ] && die "scripts/demo.sh did not finish within ${BOOTSCOPE_FRESH_TIMEOUT:-900}s; full log: $cache/demo.log"
  die "scripts/demo.sh exited with $demo_status in the fresh Debian 12 root; full log: $cache/demo.log"
fi
log "demo.sh finished in ${demo_seconds}s"

# --- What it must leave: recordings with instructions, and their HTML reports.
recordings="$checkout/recordings"
shopt -s nullglob
dbs=("$recordings"/*.db)
[ "${#dbs[@]}" -gt 0 ] || die "demo.sh left no recordings/*.db (log: $cache/demo.log)"
for db in "${dbs[@]}"; do
  name="$(basename "$db" .db)"
  count="$(chroot "$root" sqlite3 -readonly "/root/bootscope/recordings/$name.db" 'SELECT COUNT(*) FROM instruction_traces')" \
    || die "sqlite3 could not read recordings/$name.db"
  [ "$count" -gt 0 ] || die "recordings/$name.db holds no instructions"
  html="$recordings/$name.html"
  [ -f "$html" ] || die "demo.sh wrote recordings/$name.db but no recordings/$name.html"
  size="$(stat -c %s "$html")"
  [ "$size" -ge 10000 ] || die "recordings/$name.html is only $size bytes"
  grep -qi '<html' "$html" || die "recordings/$name.html is not an HTML page"
  log "recordings/$name.db: $count instructions; recordings/$name.html: $size bytes"
done
# What demo.sh installed on the new machine, for the CI log.
list_packages | comm -13 "$cache/packages-before.txt" - > "$cache/packages-added.txt"
echo "--- installed in the fresh root by scripts/demo.sh:" >&2
grep -E '^bootscope( setup)?: installing' "$cache/demo.log" >&2 || true
awk -F'\t' '{ n++; kib += $2 } END { printf "  %d Debian packages in all (with dependencies), %d MiB installed\n", n, kib / 1024 }' "$cache/packages-added.txt" >&2
for d in .cache/node-24 node_modules; do
  [ -d "$checkout/$d" ] && echo "  $d: $(du -sm "$checkout/$d" | cut -f1) MiB" >&2
done
log "passed (demo.sh took ${demo_seconds}s)"
