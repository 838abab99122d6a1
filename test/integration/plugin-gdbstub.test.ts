// Plugin capture against the gdbstub stepper on the same QEMU 10, both demo builds (issue 13, tests 2):
// every step's pc and core registers, in order; the bytes of every translated instruction against the ELF.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeStatus } from '../../src/arch';
import { ensurePlugin, pluginArgument } from '../../src/capture/plugin';
import { loadSymbols, type ProgramSymbols } from '../../src/symbols';
import {
  archOf, collectCapture, type CollectedCapture, decodeCaptureFile, type DemoBuild, demoElf, gdbStepTrace, type GdbStep, qemu10, registerStates,
} from '../support/plugin-fixtures';

const q = qemu10();
const skip = 'skip' in q ? q.skip : false;

/**
 * Aligns a plugin trace with a gdbstub trace of the same execution. QEMU's gdbstub reports a step that
 * only took an interrupt (no instruction executed: the stop is at the vector) as a step, so the stepper
 * sees the interrupted pc once more than was executed; the plugin sees executed instructions only. Every
 * plugin step must equal the next gdbstub step; a gdbstub step may be skipped only when the plugin's
 * step there is an exception entry (another processor mode than the skipped step's).
 */
function align(build: DemoBuild, plugin: Array<Map<string, bigint>>, gdb: GdbStep[]): { interrupts: number; compared: number; firstInterrupt: number } {
  const arch = archOf(build);
  let g = 0;
  let interrupts = 0;
  let firstInterrupt = -1;
  for (let p = 0; p < plugin.length && g < gdb.length; p++, g++) {
    const mine = plugin[p];
    const differs = (step: GdbStep): string | undefined => {
      for (const [name, value] of mine) {
        if (step.registers.get(name) !== value) return `${name} = 0x${value.toString(16)} (plugin) vs 0x${step.registers.get(name)?.toString(16)} (gdbstub)`;
      }
      return undefined;
    };
    const diff = differs(gdb[g]);
    if (diff === undefined) continue;
    const next = gdb[g + 1];
    const entry = next !== undefined && differs(next) === undefined
      && decodeStatus(arch, mine.get('cpsr') ?? 0n).mode !== decodeStatus(arch, gdb[g].registers.get('cpsr') ?? 0n).mode;
    assert.ok(entry, `${build}: plugin step ${p + 1} (pc 0x${mine.get('pc')?.toString(16)}) differs from gdbstub step ${g + 1} (pc 0x${gdb[g].pc.toString(16)}): ${diff}`);
    if (interrupts === 0) firstInterrupt = g;
    interrupts++;
    g++;
  }
  return { interrupts, compared: Math.min(plugin.length, gdb.length), firstInterrupt };
}

const EXTRA = { 'demo-arm32': ['fpscr'], 'demo-aarch64': ['fpsr', 'fpcr'] } as const;

for (const build of ['demo-arm32', 'demo-aarch64'] as const) {
  describe(`${build}: plugin capture vs gdbstub single-stepping on QEMU 10`, { skip }, () => {
    let dir: string;
    let symbols: ProgramSymbols;
    let bootDone: bigint;
    let gdb: GdbStep[];
    let underGdb: CollectedCapture;
    let free: CollectedCapture;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `bootscope-plugin-gdb-${build}-`));
      symbols = loadSymbols([demoElf(build)]);
      const done = symbols.lookup('boot_done');
      assert.ok(done !== undefined);
      bootDone = done;
      const file = path.join(dir, 'stepped.bin');
      // One QEMU, single-stepped over its gdbstub while the plugin records the same execution to a file;
      // the window closes at boot_done (one step past it), which flushes the stream.
      // Beside the core set, the floating-point status registers (regs_extra), compared like the rest.
      const plugin = pluginArgument({ pluginPath: ensurePlugin(), out: file, window: { stopPc: { start: bootDone, end: bootDone + 1n } }, extraRegisters: EXTRA[build] });
      gdb = await gdbStepTrace(build, bootDone, 200_000, { extraArgs: ['-icount', 'shift=0,sleep=on', '-plugin', plugin], stepsAfterStop: 1, extraRegisters: EXTRA[build] });
      underGdb = decodeCaptureFile(file);
      free = await collectCapture(build, { stopPc: { start: bootDone, end: bootDone + 1n }, exitOnStop: true });
    });
    after(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('the stepped run reaches boot_done, and the plugin stream of it ends complete', () => {
      assert.equal(gdb[gdb.length - 1].pc, bootDone);
      assert.equal(underGdb.termination.complete, true, JSON.stringify(underGdb.termination));
      assert.deepEqual(underGdb.windows.map((w) => w.kind), ['windowStart', 'windowStop']);
      assert.equal(underGdb.executed[underGdb.executed.length - 1].instruction.pc !== bootDone, true, 'boot_done itself is outside the window');
    });

    test('same execution: every plugin step has the gdbstub step\'s pc and registers, to boot_done', () => {
      const states = registerStates(underGdb);
      const { interrupts, compared } = align(build, states, gdb);
      // The gdbstub trace is the plugin's plus one step per interrupt taken, and ends at boot_done.
      assert.equal(gdb.length - 1, states.length + interrupts, `gdbstub ${gdb.length - 1} steps before boot_done, plugin ${states.length}, interrupts ${interrupts}`);
      // QEMU adds that step only for an interrupt pending when a step begins (not for one taken right after
      // an instruction unmasks it), so there are fewer of them than task switches.
      assert.ok(interrupts >= 1, `${interrupts} interrupt-only gdbstub steps`);
      const switchContext = symbols.lookup('vTaskSwitchContext');
      const switches = states.filter((r) => r.get('pc') === switchContext).length;
      assert.ok(switches >= 6, `${switches} calls of vTaskSwitchContext (the demo switches tasks at least 6 times on the timer)`);
      assert.ok(compared > 25_000, `${compared} steps compared`);
      // Registers compared are the whole core set plus pc.
      const names = [...states[0].keys()].sort();
      assert.ok(names.includes('pc') && names.includes('cpsr') && names.includes('sp'), names.join(' '));
      assert.equal(names.length, (build === 'demo-arm32' ? 17 : 34) + EXTRA[build].length);
      for (const r of EXTRA[build]) assert.ok(names.includes(r), `${r} recorded`);
    });

    test('free-running capture (-icount, no gdbstub) equals the stepped run up to its first interrupt', () => {
      const states = registerStates(free);
      // Up to the first interrupt the stepped trace has no extra steps, so index i is instruction i + 1.
      const { firstInterrupt } = align(build, registerStates(underGdb), gdb);
      assert.ok(firstInterrupt > 20_000, `first interrupt at gdbstub step ${firstInterrupt + 1}`);
      for (let i = 0; i < firstInterrupt; i++) {
        for (const [name, value] of states[i]) {
          if (gdb[i].registers.get(name) !== value) assert.fail(`step ${i + 1}: ${name} 0x${value.toString(16)} (free-running plugin) vs 0x${gdb[i].registers.get(name)?.toString(16)} (gdbstub)`);
        }
      }
      // And the free run closes its window at boot_done with a complete stream, QEMU exiting on its own.
      assert.equal(free.termination.complete, true);
      assert.equal(free.windows[free.windows.length - 1].kind, 'windowStop');
      assert.equal(free.windows[free.windows.length - 1].executedBefore, free.executed.length);
    });

    test('every translated instruction\'s bytes equal the ELF\'s bytes at its pc', () => {
      assert.ok(free.instructions.length > 300, `${free.instructions.length} instructions`);
      for (const insn of free.instructions) {
        const elf = symbols.readAt(insn.pc, insn.bytes.length);
        assert.ok(elf, `pc 0x${insn.pc.toString(16)} is not in the ELF`);
        assert.deepEqual(Buffer.from(insn.bytes).toString('hex'), Buffer.from(elf).toString('hex'), `bytes at 0x${insn.pc.toString(16)}`);
        assert.ok(insn.bytes.length === 4 || (archOf(build) === 'arm' && insn.bytes.length === 2));
      }
      // The stream carries each (pc, bytes) once: ids are dense and no pc repeats with the same bytes.
      const keys = new Set(free.instructions.map((i) => `${i.pc}:${Buffer.from(i.bytes).toString('hex')}`));
      assert.equal(keys.size, free.instructions.length);
    });
  });
}
