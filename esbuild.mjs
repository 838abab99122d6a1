// One build script for every bundle: the extension host, the standalone debug adapter, the CLI
// (all Node, CommonJS) and the webview bundles (browser, IIFE). `--production` minifies and drops
// source maps; `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };

const nodeEntries = [
  { in: 'src/extension/main.ts', out: 'extension' },
  { in: 'src/adapter/standalone.ts', out: 'adapter' },
  { in: 'src/cli/main.ts', out: 'cli' },
  // Worker thread that runs SQL off the extension host's thread (query console, notebooks, panels).
  { in: 'src/analysis/views/query-worker.ts', out: 'query-worker' },
].filter((e) => existsSync(e.in));

const webviewEntries = existsSync('webview')
  ? readdirSync('webview')
      .filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))
      .filter((f) => existsSync(`webview/${f}`))
      .filter((f) => !f.startsWith('_'))
      .map((f) => ({ in: `webview/${f}`, out: `webview/${f.replace(/\.ts$/, '')}` }))
  : [];

const contexts = [];
if (nodeEntries.length) {
  contexts.push(await esbuild.context({
    ...common,
    entryPoints: nodeEntries,
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['vscode'],
    // capstone's WASM file is loaded from disk next to the bundle (see copyWasm below); SQLite is node:sqlite.
    loader: { '.wasm': 'file' },
  }));
}
if (webviewEntries.length) {
  contexts.push(await esbuild.context({
    ...common,
    entryPoints: webviewEntries,
    outdir: 'dist',
    platform: 'browser',
    format: 'iife',
    target: 'chrome114',
  }));
}

function copyWasm() {
  // capstone-js locates capstone.wasm next to the script that loads it (__dirname): put it beside the bundles.
  mkdirSync('dist', { recursive: true });
  cpSync('node_modules/@alexaltea/capstone-js/dist/capstone.wasm', 'dist/capstone.wasm');
}

copyWasm();
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
