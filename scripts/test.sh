#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every suite (unit, integration against
# real QEMU, DAP, webview in headless Chromium) with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/node.sh
bash scripts/setup.sh --tests
use_supported_node
exec node scripts/test.mjs "$@"
