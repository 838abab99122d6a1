import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecordingConfig } from '../../src/common/config';
import { resolveStageRules, StageDetector, UNKNOWN_STAGE } from '../../src/recorder/stage-detector';

// The seed's stage table (section 2.3.2), verbatim.
const seedStages = [
  { name: 'elfloader', pcRange: ['0x60000000', '0x61000000'] },
  { name: 'seL4_boot', pcRange: ['0xe0000000', '0xe1000000'] },
  { name: 'rootserver_start', pcRange: ['0x10000', '0x20000'] },
  { name: 'camkes_init', pcRange: ['0x40000000', '0x40001000'] },
  { name: 'freertos_main', pcRange: ['0x40000e70', '0x40001000'] },
  { name: 'pattern_painting', pcRange: ['0x400008e8', '0x40001000'] },
  { name: 'scheduler_start', pcRange: ['0x40003000', '0x40004000'] },
];

function detector(stages: unknown[], symbols?: Record<string, [number, number]>): StageDetector {
  // Symbol rules need a symbol source in the config; `symbols` stands in for that ELF's table.
  const cfg = parseRecordingConfig({ request: 'attach', port: 1234, stages, ...(symbols ? { elf: '/guest.elf' } : {}) }, '/');
  return new StageDetector(resolveStageRules(cfg.stages, {
    functionExtent: (n) => (symbols?.[n] ? { start: BigInt(symbols[n][0]), size: BigInt(symbols[n][1]) } : undefined),
  }));
}

describe('StageDetector', () => {
  test('seed table: each top-level range names its own stage', () => {
    const d = detector(seedStages);
    assert.equal(d.ruleAt(0x60000010n), 'elfloader');
    assert.equal(d.ruleAt(0xe0000000n), 'seL4_boot');
    assert.equal(d.ruleAt(0x1fffcn), 'rootserver_start');
    assert.equal(d.ruleAt(0x40000004n), 'camkes_init');
    assert.equal(d.ruleAt(0x40003ffcn), 'scheduler_start');
  });

  test('seed table: nested ranges resolve to the most specific (smallest) range', () => {
    const d = detector(seedStages);
    assert.equal(d.ruleAt(0x400008e4n), 'camkes_init');
    assert.equal(d.ruleAt(0x400008e8n), 'pattern_painting');
    assert.equal(d.ruleAt(0x40000e6cn), 'pattern_painting');
    assert.equal(d.ruleAt(0x40000e70n), 'freertos_main');
    assert.equal(d.ruleAt(0x40000ffcn), 'freertos_main');
  });

  test('range ends are exclusive', () => {
    const d = detector(seedStages);
    assert.equal(d.ruleAt(0x61000000n), undefined);
    assert.equal(d.ruleAt(0x40001000n), undefined);
  });

  test('a pc outside every range keeps the current stage (sticky)', () => {
    const d = detector(seedStages);
    assert.equal(d.next(0x12345678n), UNKNOWN_STAGE);
    assert.equal(d.next(0x40003000n), 'scheduler_start');
    assert.equal(d.next(0x40002000n), 'scheduler_start');
    assert.equal(d.next(0x60000000n), 'elfloader');
  });

  test('a symbol rule covers the function extent from the ELF', () => {
    const d = detector([{ name: 'boot', pcRange: ['0x1000', '0x9000'] }, { name: 'irq', symbol: 'irq_handler' }], { irq_handler: [0x2000, 0x40] });
    assert.equal(d.ruleAt(0x1ffcn), 'boot');
    assert.equal(d.ruleAt(0x2000n), 'irq');
    assert.equal(d.ruleAt(0x203cn), 'irq');
    assert.equal(d.ruleAt(0x2040n), 'boot');
  });

  test('an unknown symbol is a config error naming the rule', () => {
    assert.throws(() => detector([{ name: 'x', symbol: 'nope' }], {}), /stages\[0\]\.symbol: function "nope"/);
  });

  test('equal ranges: the later rule wins', () => {
    const d = detector([{ name: 'a', pcRange: [0, 16] }, { name: 'b', pcRange: [0, 16] }]);
    assert.equal(d.ruleAt(4n), 'b');
  });

  test('lookups are consistent after the one-entry cache is warm', () => {
    const d = detector(seedStages);
    const pcs = [0x40000e70n, 0x400008e8n, 0x40000000n, 0x40000e70n, 0x60000000n, 0x40000e74n];
    const want = ['freertos_main', 'pattern_painting', 'camkes_init', 'freertos_main', 'elfloader', 'freertos_main'];
    assert.deepEqual(pcs.map((p) => d.ruleAt(p)), want);
  });
});
