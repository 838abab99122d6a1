# Sourced by scripts/setup.sh and scripts/e2e/install-code-server.sh.
# install_debian_packages WHO PKG...: apt-get installs the packages when run as root; otherwise prints the
# exact line to run and exits 3, so nothing half-installed is left behind.
install_debian_packages() {
  local who="$1"; shift
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ]; then
    echo "$who: installing Debian packages $*" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "$who: missing Debian packages: $*" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y $*" >&2
    exit 3
  fi
}
