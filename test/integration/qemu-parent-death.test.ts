// No QEMU outlives the process that launched it: a Node child launches QEMU, prints its pid, and is then
// SIGKILLed / SIGTERMed / exits on its own; QEMU must be gone within a few seconds each time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { QEMU_TARGETS, buildTinyGuest, killIfAlive, pidAlive, qemuConfigFor, removeTinyGuest, waitUntil, type TinyGuest } from '../support/qemu-fixtures';

const LAUNCHER = path.resolve(__dirname, '../../src/qemu/launcher.ts');

/**
 * Starts a Node child that launches QEMU and prints `{"pid": N}`; `then` is what the child does next:
 * wait forever (to be killed), or exit by itself.
 */
function startParent(kernel: string, then: 'wait' | 'exit' | 'throw'): { child: ChildProcess; qemuPid: Promise<number> } {
  const cfg = qemuConfigFor(QEMU_TARGETS[0], kernel);
  const next = then === 'wait' ? 'setInterval(() => undefined, 1000);'
    : then === 'exit' ? 'process.exit(0);'
    : 'setTimeout(() => { throw new Error("parent crashes"); }, 10);';
  const code = `
    const { launchQemu } = require(${JSON.stringify(LAUNCHER)});
    launchQemu({ qemu: ${JSON.stringify(cfg)} }).then((q) => {
      process.stdout.write(JSON.stringify({ pid: q.pid }) + '\\n', () => { ${next} });
    }, (e) => { console.error(e); process.exit(3); });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const qemuPid = new Promise<number>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      const m = /"pid":(\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c, s) => setTimeout(() => reject(new Error(`launcher child exited (${c ?? s}) before printing a pid: ${stderr}`)), 100));
  });
  return { child, qemuPid };
}

describe('QEMU never outlives its parent', () => {
  let guest: TinyGuest | undefined;
  const children: ChildProcess[] = [];
  const qemuPids: number[] = [];

  before(() => {
    guest = buildTinyGuest('arm');
  });

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const pid of qemuPids) killIfAlive(pid);
    removeTinyGuest(guest);
  });

  for (const [how, then, signal] of [
    ['SIGKILL of the parent', 'wait', 'SIGKILL'],
    ['SIGTERM of the parent (no exit handlers run)', 'wait', 'SIGTERM'],
    ['process.exit() without shutdown', 'exit', undefined],
    ['an uncaught exception in the parent', 'throw', undefined],
  ] as const) {
    test(`${how} ends QEMU within 3 s`, async () => {
      const { child, qemuPid } = startParent(guest!.elf, then);
      children.push(child);
      const pid = await qemuPid;
      qemuPids.push(pid);
      if (signal) {
        assert.ok(pidAlive(pid), 'QEMU runs while its parent lives');
        child.kill(signal);
      }
      await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      assert.ok(await waitUntil(() => !pidAlive(pid), 3000), `QEMU pid ${pid} still alive 3 s after its parent ended`);
    });
  }
});
