// Memory at any instruction and who-wrote against truths from real QEMU (issue 14): the AArch32
// and AArch64 demos recorded with plugin capture (`bootscope record --capture plugin`, QEMU 10, -icount), then a separate
// gdbstub run of the same deterministic guest single-stepped to random instructions, where the live memory
// read over the gdbstub must equal memoryAt for every byte memoryAt knows (and every byte of the recorded
// RAM regions must be known). On both corrupted builds, who-wrote on the overwritten stack word 0x41000f40
// names task B's overflowing store, and the first pattern break of stack_region is that store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { GdbTarget } from '../../src/target';
import { RecordingStore } from '../../src/store/recording-store';
import { RecordingHistory, type WriteRow } from '../../src/store/history';
import { prng } from '../../src/store/synthetic-session';
import { STEPPED, demoElf, qemu10, qemu10Binary, type DemoBuild } from '../support/plugin-fixtures';
import { demoQemuConfig } from '../support/demo-recording';
import { recordPluginDemo } from '../support/plugin-recording';
import { killIfAlive } from '../support/qemu-fixtures';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const q = qemu10();
const skip = 'skip' in q ? q.skip : !fs.existsSync(CLI) ? `needs ${CLI} (node esbuild.mjs)` : false;

function recordPlugin(build: DemoBuild, dir: string): { database: string; sessionId: number } {
  const r = recordPluginDemo(build, dir);
  assert.match(r.stderr, /plugin capture/);
  return r;
}

for (const arch of ['arm32', 'aarch64'] as const) {
describe(`memory at random instructions of a plugin-capture recording = live gdbstub reads (demo-${arch}, QEMU 10)`, { skip }, () => {
  let dir: string;
  let rec: { database: string; sessionId: number };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-history-plugin-'));
    rec = recordPlugin(`demo-${arch}`, dir);
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  test('every known byte equals the gdbstub read at that instruction; the RAM regions are fully known', async () => {
    const store = RecordingStore.open(rec.database, { readOnly: true, log: () => undefined });
    let qemu: QemuProcess | undefined;
    let target: GdbTarget | undefined;
    try {
      const history = new RecordingHistory(store);
      assert.equal(history.writesRecorded(rec.sessionId), true);
      const { first, last } = history.instructionRange(rec.sessionId);
      // A gdbstub single-step that takes an interrupt is reported as a step of its own, which plugin
      // capture does not count: the two numberings agree up to the first interrupt (the guest's IRQ vector).
      const irq = store.query(`SELECT MIN(sequence_number) FROM instruction_traces WHERE session_id = ? AND function_name IN ('sched_vectors', 'irq_entry')`, [rec.sessionId]).rows[0][0];
      const firstIrq = irq === null ? last + 1 : Number(irq);
      assert.ok(firstIrq > 5000, `the demo paints its regions before the first interrupt (${firstIrq})`);
      const rand = prng(17);
      const picks = [...new Set(Array.from({ length: 8 }, () => first + Math.floor(rand() * (firstIrq - 1 - first))))].sort((a, b) => a - b);
      const views = [
        { name: 'stack_region', address: 0x41000000n, length: 0x1000, region: true },
        { name: 'data_region', address: 0x41200000n, length: 0x1000, region: true },
        { name: 'pattern_region', address: 0x42000000n, length: 0x4000, region: true },
      ];
      const cfg = demoQemuConfig(arch);
      qemu = await launchQemu({ qemu: { ...cfg, binary: qemu10Binary(arch === 'arm32' ? 'arm' : 'aarch64'), kernel: demoElf(`demo-${arch}`), extraArgs: [...STEPPED] } });
      target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort, timeoutMs: 15_000 });
      await target.setStepFlags((await target.stepFlagBits()).get('ENABLE') ?? 1);
      let at = first;
      let comparedKnown = 0;
      for (const n of picks) {
        for (; at < n; at++) await target.step();
        const regs = target.decodeRegisters(await target.readRegisters());
        const step = store.step(rec.sessionId, n);
        assert.equal(regs.get('pc'), step?.pc, `instruction ${n}: the gdbstub run is at the recorded pc`);
        // Also the live stack around sp, which lies outside every region: known only where stores wrote it.
        const sp = regs.get('sp') ?? 0n;
        for (const v of [...views, { name: 'around sp', address: (sp & ~0xfn) - 0x80n, length: 0x100, region: false }]) {
          const live = await target.readMemory(v.address, v.length);
          const view = history.memoryAt(rec.sessionId, n, v.address, v.length);
          for (let k = 0; k < v.length; k++) {
            if (!view.known[k]) {
              assert.ok(!v.region, `${v.name}+0x${k.toString(16)} before ${n}: a byte of a recorded RAM region must be known`);
              continue;
            }
            comparedKnown++;
            if (view.bytes[k] !== live[k]) {
              assert.fail(`${v.name} 0x${(v.address + BigInt(k)).toString(16)} before instruction ${n}: history 0x${view.bytes[k].toString(16)} from ${JSON.stringify(view.runs.find((r) => k >= r.offset && k < r.offset + r.length)?.source)}, gdbstub 0x${live[k].toString(16)}`);
            }
          }
        }
      }
      assert.ok(comparedKnown > picks.length * 0x6000, `${comparedKnown} known bytes compared`);
    } finally {
      await target?.close().catch(() => undefined);
      killIfAlive(qemu?.pid);
      store.close(null);
    }
  });
});
}

/** The 4 bytes a store put at `address` (a store may be wider: STP, a 16-byte copy), as memory-order hex. */
function wordOf(w: WriteRow, address: bigint, field: 'value' | 'old_value' = 'value'): string | null {
  const hexBytes = w[field];
  if (hexBytes === null) return null;
  const off = Number(address - BigInt(w.address));
  return off < 0 || off + 4 > w.size ? null : hexBytes.slice(2 * off, 2 * off + 8);
}

for (const arch of ['arm32', 'aarch64'] as const) {
describe(`who wrote the corrupted build's overwritten stack word (demo-${arch}-corrupted, plugin capture)`, { skip }, () => {
  let dir: string;
  let rec: { database: string; sessionId: number };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-history-corrupted-'));
    rec = recordPlugin(`demo-${arch}-corrupted`, dir);
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  test('who-wrote 0x41000f40: the painter wrote 0xDEADBEEF, then task B\'s buffer store 0x0b0b0000 over it', () => {
    const r = spawnSync(process.execPath, [CLI, 'who-wrote', '--db', rec.database, '--session', String(rec.sessionId), '--address', '0x41000f40', '--limit', '1000'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as WriteRow[]).slice().reverse(); // oldest first
    const paint = rows.findIndex((w) => w.function_name === 'vPaintMemoryPattern' && wordOf(w, 0x41000f40n) === 'efbeadde');
    assert.ok(paint >= 0, `the painter's store is listed: ${JSON.stringify(rows.map((w) => [w.sequence_number, w.function_name, w.address, w.value]))}`);
    const overflow = rows.slice(paint + 1).find((w) => wordOf(w, 0x41000f40n) !== 'efbeadde');
    assert.ok(overflow, 'a later store broke the word');
    assert.equal(overflow.function_name, 'vTaskB');
    assert.equal(wordOf(overflow, 0x41000f40n), '00000b0b', 'scratch[0] = 0x0b0b0000 | 0, little-endian in memory');
    assert.equal(wordOf(overflow, 0x41000f40n, 'old_value'), 'efbeadde', 'it overwrote the painted pattern');
    assert.equal(overflow.boot_stage, 'scheduler_start');
  });

  test('firstPatternBreak(stack_region) is that store, and state just after it shows the new word from it', () => {
    const store = RecordingStore.open(rec.database, { readOnly: true, log: () => undefined });
    let seq: number;
    try {
      const history = new RecordingHistory(store);
      const found = history.firstPatternBreak(rec.sessionId, 'stack_region');
      assert.ok(found?.write, `a break is found (complete at ${found?.completeAt.sequenceNumber})`);
      assert.equal(found.write.function_name, 'vTaskB');
      assert.equal(BigInt(found.write.address) + BigInt(found.write.size) > 0x41000f40n, true, found.write.address);
      assert.ok(found.completeAt.sequenceNumber < found.write.sequence_number);
      assert.deepEqual(found.gaps, []);
      const last = history.lastWriteBefore(rec.sessionId, 0x41000f40n, 4, history.instructionRange(rec.sessionId).last);
      assert.equal(last?.function_name, 'vTaskB');
      seq = history.whoWrote(rec.sessionId, 0x41000f40n, 4, { limit: 1000 }).find((w) => wordOf(w, 0x41000f40n) === '00000b0b')?.sequence_number as number;
    } finally {
      store.close(null);
    }
    const s = spawnSync(process.execPath, [CLI, 'state', '--db', rec.database, '--session', String(rec.sessionId), '--at', String(seq + 1), '--memory', '0x41000f40:4'], { encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
    const state = JSON.parse(s.stdout) as { memory: { hex: string; runs: { source: string; sequence_number: number }[] }[] };
    assert.equal(state.memory[0].hex, '00000b0b');
    assert.deepEqual(state.memory[0].runs.map((x) => [x.source, x.sequence_number]), [['write', seq]]);
  });
});
}
