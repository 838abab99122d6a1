#!/usr/bin/env bash
# `npm run test:e2e`: the packaged extension in a real VS Code. Installs what is missing (Debian packages
# and npm dependencies through scripts/setup.sh, Node 24 + code-server through install-code-server.sh,
# cached in .cache/e2e), packages bootscope.vsix as users get it, then runs test/e2e with node's runner.
# Screenshots and the VS Code logs of the run land in artifacts/e2e/.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash scripts/setup.sh --tests
. scripts/lib/node.sh
use_supported_node
bash scripts/e2e/install-code-server.sh
# `npm run package` as users build it.
npm run -s package
echo "e2e: prepared in $(( $(date +%s) - start ))s" >&2
rm -rf artifacts/e2e
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 test/e2e/*.test.ts
