// The debug adapter with a firmware whose ELF was stripped: the launch succeeds and the Debug Console says
// once that function names will be `unknown`; a function name in stopAt without any ELF fails the launch
// naming the attribute, before QEMU starts. Same checks as the CLI (src/recorder/preflight.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');
const ELF = path.join(ROOT, 'guest', 'build', 'demo-arm32.elf');
const skip = !existsSync(ADAPTER) ? `needs ${ADAPTER} (node esbuild.mjs)` : false;

/** The demo ELF with its section headers cut off (what `sstrip` leaves): it still boots, but has no symbols. */
function stripped(dir: string): string {
  const b = Buffer.from(readFileSync(ELF));
  b.writeUInt32LE(0, 0x20); // e_shoff
  b.writeUInt16LE(0, 0x30); // e_shnum
  b.writeUInt16LE(0, 0x32); // e_shstrndx
  const file = path.join(dir, 'stripped.elf');
  writeFileSync(file, b);
  return file;
}

describe('bootscope adapter: launch with a stripped or missing ELF', { skip }, () => {
  let dir: string;
  let dc: DebugClient;
  const outputs: string[] = [];
  let qemuPid = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bootscope-dap-stripped-'));
    dc = new DebugClient('node', ADAPTER, 'bootscope');
    dc.defaultTimeout = 30_000;
    dc.on('output', (e: DebugProtocol.OutputEvent) => {
      outputs.push(e.body.output);
      const m = /pid (\d+)/.exec(e.body.output);
      if (m) qemuPid = Number(m[1]);
    });
    await dc.start();
  });

  after(async () => {
    await dc.stop().catch(() => undefined);
    if (qemuPid) { try { process.kill(qemuPid, 'SIGKILL'); } catch { /* already gone */ } }
    rmSync(dir, { recursive: true, force: true });
  });

  test('a function name in stopAt with no elf fails the launch naming stopAt and "elf"', async () => {
    const bad = new DebugClient('node', ADAPTER, 'bootscope');
    await bad.start();
    try {
      await bad.initializeRequest();
      await assert.rejects(bad.launchRequest({
        type: 'bootscope', request: 'launch', cwd: dir, database: path.join(dir, 'none.db'),
        qemu: { binary: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a15', kernel: ELF }, stopAt: 'boot_done',
      } as DebugProtocol.LaunchRequestArguments), /stopAt.*set "elf"/);
      assert.equal(existsSync(path.join(dir, 'none.db')), false);
    } finally {
      await bad.stop();
    }
  });

  test('a stripped elf launches and the Debug Console says once that function names will be "unknown"', async () => {
    await Promise.all([
      dc.configurationSequence(),
      dc.launch({
        type: 'bootscope', request: 'launch', cwd: dir, database: path.join(dir, 'rec.db'), stopOnEntry: true,
        qemu: { binary: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a15', memory: '1024M', kernel: ELF }, elf: stripped(dir),
      } as DebugProtocol.LaunchRequestArguments),
      dc.waitForEvent('stopped'),
    ]);
    const warnings = outputs.filter((o) => /stripped\.elf has no symbols \(stripped\), so every function_name will be "unknown"/.test(o));
    assert.equal(warnings.length, 1, outputs.join(''));
  });
});
