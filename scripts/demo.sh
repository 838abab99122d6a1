#!/usr/bin/env bash
# The README's main job: install what is needed, build, record the bundled demo guest (AArch32 and AArch64)
# instruction by instruction into recordings/*.db, and write an HTML report beside each recording.
# Extra arguments go to `bootscope demo` (e.g. --arch arm, --corrupted).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/node.sh
bash scripts/setup.sh
use_supported_node
node esbuild.mjs
exec node dist/cli.js demo "$@"
