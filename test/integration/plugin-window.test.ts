// Record windows (issue 13, item 3): outside the window the plugin only counts; a window that starts at a
// symbol late in the boot records from exactly that instruction, with the full register state, numbered as
// in a full capture of the same (deterministic, -icount) run.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveWindow } from '../../src/capture/plugin';
import { loadSymbols, type ProgramSymbols } from '../../src/symbols';
import { demoConfig } from '../support/demo-recording';
import { collectCapture, type CollectedCapture, demoElf, qemu10, registerStates } from '../support/plugin-fixtures';

const q = qemu10();
const skip = 'skip' in q ? q.skip : false;

for (const build of ['demo-arm32', 'demo-aarch64'] as const) {
  describe(`${build}: record windows`, { skip }, () => {
    let symbols: ProgramSymbols;
    let full: CollectedCapture;
    let fullStates: Array<Map<string, bigint>>;

    before(async () => {
      symbols = loadSymbols([demoElf(build)]);
      full = await collectCapture(build, resolveWindow({ stop: { symbol: 'boot_done' }, exitOnStop: true }, symbols));
      fullStates = registerStates(full);
    });

    /** The full capture's steps from sequence `from` (1-based) on, `count` of them: pc and registers. */
    function expectSameAsFull(window: CollectedCapture, from: number): void {
      const states = registerStates(window);
      assert.ok(states.length > 0, 'the window recorded nothing');
      for (let i = 0; i < states.length; i++) {
        assert.equal(window.executed[i].sequence, from + i, `sequence of window step ${i + 1}`);
        const expected = fullStates[from - 1 + i];
        assert.ok(expected, `window step ${i + 1} (sequence ${from + i}) is beyond the full capture`);
        for (const [name, value] of states[i]) {
          if (expected.get(name) !== value) assert.fail(`sequence ${from + i}: ${name} 0x${value.toString(16)} (window) vs 0x${expected.get(name)?.toString(16)} (full capture)`);
        }
        // The first recorded step carries every register: the window starts with the complete state.
        if (i === 0) assert.equal(states[0].size, expected.size);
      }
    }

    test('a window starting at vTaskSwitchContext records from exactly its first execution, to boot_done', async () => {
      const at = symbols.lookup('vTaskSwitchContext');
      assert.ok(at !== undefined);
      const first = fullStates.findIndex((r) => r.get('pc') === at);
      assert.ok(first > 20_000, `first vTaskSwitchContext at sequence ${first + 1}: late in the boot`);
      const w = await collectCapture(build, resolveWindow({ start: { symbol: 'vTaskSwitchContext' }, stop: { symbol: 'boot_done' }, exitOnStop: true }, symbols));
      assert.equal(w.termination.complete, true);
      assert.equal(w.executed[0].instruction.pc, at);
      assert.equal(w.executed[0].sequence, first + 1);
      assert.deepEqual(w.windows.map((e) => [e.kind, e.executedBefore]), [['windowStart', first], ['windowStop', full.executed.length]]);
      assert.equal(w.executed.length, full.executed.length - first);
      expectSameAsFull(w, first + 1);
      // Before the window only counting happened: no writes from before it (the first write belongs to a
      // recorded instruction), and the END record's count covers the whole run.
      assert.ok(w.writes.every((x) => x.sequence > first));
      assert.equal(w.end?.executed[0], full.end?.executed[0]);
    });

    test('a window by instruction counts records instructions start+1 .. stop, the same as the full capture', async () => {
      const w = await collectCapture(build, { startCount: 10_000, stopCount: 12_500, exitOnStop: true });
      assert.equal(w.termination.complete, true);
      assert.equal(w.executed.length, 2_500);
      expectSameAsFull(w, 10_001);
    });

    test('a window over a stage\'s pc range opens at the stage\'s first instruction', async () => {
      const stages = demoConfig(build, '').stages;
      const stage = stages.find((s) => s.name === 'scheduler_start');
      assert.ok(stage?.start !== undefined && stage.end !== undefined);
      const first = fullStates.findIndex((r) => { const pc = r.get('pc') ?? 0n; return pc >= BigInt(stage.start!) && pc < BigInt(stage.end!); });
      const w = await collectCapture(build, resolveWindow({ start: { stage: 'scheduler_start' }, stop: { instructions: first + 100 }, exitOnStop: true }, symbols, stages));
      assert.equal(w.executed.length, 100);
      expectSameAsFull(w, first + 1);
    });
  });
}
