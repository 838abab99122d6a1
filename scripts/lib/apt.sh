# Sourced by scripts/setup.sh and scripts/e2e/install-code-server.sh.
# install_debian_packages WHO PKG...: makes sure every named Debian package is installed.
# - As root: always hands apt the whole list (apt-get install is quick when nothing is missing, and it also
#   repairs a package that is only half there), after `apt-get update` when dpkg says something is missing
#   (a fresh machine has no package lists yet). Recommends stay off: every package the project needs is
#   named by the caller, so nothing depends on what a Recommends happens to pull in.
# - Not root: asks dpkg which are missing; prints the exact line to run and exits 3 when any is, so nothing
#   half-installed is left behind.

# debian_packages_missing PKG...: prints the packages dpkg does not list as installed, one a line.
debian_packages_missing() {
  local p status
  for p in "$@"; do
    # ${db:Status-Abbrev} is "ii " for an installed package; unknown packages make dpkg-query fail.
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
    [ "$status" = "ii " ] || echo "$p"
  done
}

install_debian_packages() {
  local who="$1"; shift
  [ "$#" -gt 0 ] || return 0
  local missing
  missing="$(debian_packages_missing "$@" | tr '\n' ' ')"
  missing="${missing% }"
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Another apt run (an unattended upgrade, a parallel setup) holds the dpkg lock: wait for it.
    local wait_lock=(-o DPkg::Lock::Timeout=600)
    if [ -n "$missing" ]; then
      echo "$who: installing Debian packages $missing" >&2
      apt-get "${wait_lock[@]}" update -qq
    fi
    if ! apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "$@" >/dev/null; then
      echo "$who: apt-get install failed for: $*" >&2
      echo "  Run it by hand to see why: apt-get update && apt-get install -y --no-install-recommends $*" >&2
      exit 3
    fi
  elif [ -n "$missing" ]; then
    echo "$who: missing Debian packages: $missing" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
    exit 3
  fi
}
