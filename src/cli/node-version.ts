// The `bootscope` bin (dist/cli.js) on a Node too old for node:sqlite (< 22.13): it re-runs itself with the
// Node 24 that scripts/lib/node.sh installs into .cache/node-24 when that exists, and otherwise exits with
// a message saying what to do. Runs before anything opens a recording; nothing here needs a new Node.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MIN_NODE = [22, 13] as const;

export function nodeIsSupported(version: string = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

/** The Node scripts/lib/node.sh installs (npm's `node` package), relative to the repository root. */
export function cachedNode(repoRoot: string): string {
  return path.join(repoRoot, '.cache', 'node-24', 'node_modules', 'node', 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
}

/**
 * On a supported Node: returns false, the caller goes on. Otherwise re-executes `script` under the cached
 * Node 24 (returns true; this process exits with the child's status) or prints how to get one and exits 1.
 */
export function reexecOnSupportedNode(script: string): boolean {
  if (nodeIsSupported()) return false;
  const node = cachedNode(path.resolve(path.dirname(script), '..'));
  if (!fs.existsSync(node) || node === process.execPath) {
    process.stderr.write(`bootscope: needs Node >= ${MIN_NODE.join('.')} (its recording store is node:sqlite); this is Node ${process.versions.node}. `
      + 'Run scripts/setup.sh in the Bootscope checkout (it installs Node 24 into .cache/node-24), or install Node 24 yourself.\n');
    process.exit(1);
  }
  const child = spawn(node, [...process.execArgv, script, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal's process group; this process only waits for its status.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => { if (signal !== 'SIGINT') child.kill(signal); });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : 15) : 1)));
  child.on('error', (e) => {
    process.stderr.write(`bootscope: could not start ${node}: ${e.message}\n`);
    process.exit(1);
  });
  return true;
}
