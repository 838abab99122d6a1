#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every suite (unit, integration against
# real QEMU, DAP, webview in headless Chromium) with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
exec node scripts/test.mjs "$@"
