// Memory writes from plugin capture (issue 13, tests 3): replayed onto the memory read over the gdbstub
// before the first instruction, they give exactly the memory read at boot_done, for every configured
// region; the corrupted build's overflow into the painted stack region is there, with the storing pc.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePlugin, pluginArgument } from '../../src/capture/plugin';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { loadSymbols, type ProgramSymbols } from '../../src/symbols';
import { GdbTarget } from '../../src/target';
import { demoConfig } from '../support/demo-recording';
import { archOf, type CollectedCapture, decodeCaptureFile, type DemoBuild, demoElf, qemu10, qemu10Binary } from '../support/plugin-fixtures';
import { killIfAlive } from '../support/qemu-fixtures';

const q = qemu10();
const skip = 'skip' in q ? q.skip : false;

/** RAM regions of guest/demo-*.json (uart_region is MMIO: reading it over the gdbstub reads registers). */
const REGIONS = ['guest_base', 'stack_region', 'data_region', 'heap_region', 'pattern_region'];

interface Run {
  start: Map<string, Uint8Array>;
  end: Map<string, Uint8Array>;
  capture: CollectedCapture;
  regions: Map<string, { start: bigint; size: number; pattern?: number }>;
}

/** One QEMU 10: regions read at the reset state, run to boot_done with the plugin writing a file, regions read again. */
async function runToBootDone(build: DemoBuild, dir: string, symbols: ProgramSymbols): Promise<Run> {
  const cfg = demoConfig(build, '');
  const regions = new Map(cfg.regions.filter((r) => REGIONS.includes(r.name)).map((r) => [r.name, { start: BigInt(r.start), size: r.size, pattern: r.pattern }]));
  const bootDone = symbols.lookup('boot_done');
  assert.ok(bootDone !== undefined && cfg.qemu);
  const file = path.join(dir, `${build}.bin`);
  let qemu: QemuProcess | undefined;
  let target: GdbTarget | undefined;
  try {
    qemu = await launchQemu({ qemu: { ...cfg.qemu, binary: qemu10Binary(archOf(build)), extraArgs: ['-plugin', pluginArgument({ pluginPath: ensurePlugin(), out: file })] } });
    target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort, timeoutMs: 15_000 });
    const read = async (): Promise<Map<string, Uint8Array>> => {
      const out = new Map<string, Uint8Array>();
      for (const [name, r] of regions) out.set(name, await target!.readMemory(r.start, r.size));
      return out;
    };
    const start = await read();
    assert.equal(await target.insertBreakpoint(0, bootDone, 4), true);
    const stop = await target.cont();
    assert.equal(target.decodeRegisters(await target.readRegisters()).get('pc'), bootDone, JSON.stringify(stop));
    const end = await read();
    await target.close();
    target = undefined;
    await qemu.shutdown(); // QEMU's exit handlers run: the plugin flushes and writes END
    return { start, end, capture: decodeCaptureFile(file), regions };
  } finally {
    await target?.close().catch(() => undefined);
    killIfAlive(qemu?.pid);
  }
}

/** Applies every captured write that touches a region to a copy of its start bytes. */
function replay(run: Run): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [name, r] of run.regions) {
    const bytes = Uint8Array.from(run.start.get(name) ?? []);
    const lo = r.start;
    const hi = r.start + BigInt(r.size);
    for (const w of run.capture.writes) {
      for (let i = 0; i < w.value.length; i++) {
        const a = w.address + BigInt(i);
        if (a >= lo && a < hi) bytes[Number(a - lo)] = w.value[i];
      }
    }
    out.set(name, bytes);
  }
  return out;
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

for (const arch of ['arm32', 'aarch64'] as const) {
  describe(`demo-${arch}: memory writes from plugin capture`, { skip }, () => {
    let dir: string;
    let normal: Run;
    let corrupted: Run;
    let symbols: ProgramSymbols;
    let corruptedSymbols: ProgramSymbols;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `bootscope-plugin-mem-${arch}-`));
      symbols = loadSymbols([demoElf(`demo-${arch}`)]);
      corruptedSymbols = loadSymbols([demoElf(`demo-${arch}-corrupted`)]);
      normal = await runToBootDone(`demo-${arch}`, dir, symbols);
      corrupted = await runToBootDone(`demo-${arch}-corrupted`, dir, corruptedSymbols);
    });
    after(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('the streams are complete and hold thousands of writes, each 1-16 bytes, each after an executed instruction', () => {
      for (const run of [normal, corrupted]) {
        assert.equal(run.capture.termination.complete, true, JSON.stringify(run.capture.termination));
        assert.ok(run.capture.writes.length > 5000, `${run.capture.writes.length} writes`);
        for (const w of run.capture.writes) {
          assert.ok([1, 2, 4, 8, 16].includes(w.value.length), `size ${w.value.length}`);
          assert.ok(w.sequence >= 1);
        }
      }
    });

    test('replaying every write onto the reset-state regions gives exactly the regions at boot_done', () => {
      for (const run of [normal, corrupted]) {
        const replayed = replay(run);
        for (const name of run.regions.keys()) {
          assert.equal(hex(replayed.get(name)), hex(run.end.get(name)), `${name}: replayed writes vs gdbstub read at boot_done`);
        }
        // The check has teeth: painting changed every painted region.
        for (const name of ['stack_region', 'data_region', 'heap_region', 'pattern_region']) {
          assert.notEqual(hex(run.start.get(name)), hex(run.end.get(name)), `${name} changed during the boot`);
        }
      }
    });

    test('the corrupted build\'s overflow into stack_region is in the writes, with the pcs that stored it', () => {
      const stack = corrupted.regions.get('stack_region');
      assert.ok(stack && stack.pattern !== undefined);
      const paint = corruptedSymbols.functionExtent('vPaintMemoryPattern');
      assert.ok(paint);
      const pcOf = (run: Run, sequence: number): bigint => run.capture.executed[sequence - 1 - (run.capture.executed[0].sequence - 1)].instruction.pc;
      const intoStack = (run: Run, s: ProgramSymbols): Array<{ address: bigint; pc: bigint; fn: string }> =>
        run.capture.writes
          .filter((w) => w.address >= stack.start && w.address < stack.start + BigInt(stack.size))
          .map((w) => ({ address: w.address, pc: pcOf(run, w.sequence), fn: s.functionNameAt(pcOf(run, w.sequence)) }))
          .filter((w) => w.fn !== 'vPaintMemoryPattern');
      const overflow = intoStack(corrupted, corruptedSymbols);
      const clean = intoStack(normal, symbols);
      assert.deepEqual(clean, [], 'the normal build stores into stack_region only while painting it');
      assert.ok(overflow.length > 0, 'the corrupted build stores into stack_region outside the painter');
      // guest/demo-*-corrupted.json: task B's buffer overwrites 0x41000f40-0x41000fff (48 words).
      const words = new Set(overflow.map((w) => (w.address & ~3n) - stack.start));
      assert.equal(Math.min(...[...words].map(Number)), 0xf40, 'lowest overwritten offset');
      assert.ok(words.size >= 48, `${words.size} distinct words overwritten`);
      for (const w of overflow) {
        assert.ok(w.fn === 'vTaskB' || w.fn === 'vTaskSwitchContext' || w.fn === 'irq_entry', `overflow store at 0x${w.address.toString(16)} by pc 0x${w.pc.toString(16)} (${w.fn})`);
      }
      assert.ok(overflow.some((w) => w.fn === 'vTaskB'), `stores by ${[...new Set(overflow.map((w) => w.fn))].join(', ')}`);
    });
  });
}
