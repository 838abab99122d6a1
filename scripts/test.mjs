#!/usr/bin/env node
// Runs the test suites with node's built-in test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [dir-or-file ...]   (default: every *.test.ts under test/ except test/e2e)
// The bundles in dist/ are built first, because the DAP and webview tests drive the built artefacts.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const roots = args.length ? args : ['test/unit', 'test/integration', 'test/dap', 'test/webview', 'test/extension'];

function collect(p, out) {
  let st;
  try { st = statSync(p); } catch { return out; }
  if (st.isFile()) { if (p.endsWith('.test.ts')) out.push(p); return out; }
  for (const name of readdirSync(p).sort()) collect(join(p, name), out);
  return out;
}
const files = roots.flatMap((r) => collect(r, []));
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}

const build = spawnSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// Two cores on the target machines, and QEMU-backed suites each start their own QEMU: run files
// two at a time (suites pick free ports, so they never collide).
const concurrency = process.env.BOOTSCOPE_TEST_CONCURRENCY ?? '2';
const res = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files,
], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } });
process.exit(res.status ?? 1);
