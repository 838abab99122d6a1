import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecordingConfig } from '../../src/common/config';

const base = { request: 'launch', qemu: { binary: 'qemu-system-arm', machine: 'virt', kernel: 'k.elf' } };

describe('parseRecordingConfig', () => {
  test('hex strings and numbers both parse', () => {
    const c = parseRecordingConfig({ ...base, regions: [{ name: 's', start: '0x41000000', size: 4096, pattern: '0xDEADBEEF' }] }, '/w');
    assert.deepEqual(c.regions[0], { name: 's', start: 0x41000000, size: 4096, pattern: 0xdeadbeef, physical: false });
  });
  test('relative paths resolve against the base folder', () => {
    const c = parseRecordingConfig({ ...base, database: 'r/x.db' }, '/w');
    assert.equal(c.qemu?.kernel, '/w/k.elf');
    assert.equal(c.database, '/w/r/x.db');
  });
  test('a bad region size names the field', () => {
    assert.throws(() => parseRecordingConfig({ ...base, regions: [{ name: 's', start: 0, size: 'big' }] }, '/'), /regions\[0\]\.size: expected a non-negative integer/);
  });
  test('an unknown attribute is named', () => {
    assert.throws(() => parseRecordingConfig({ ...base, maxInstruction: 5 }, '/'), /maxInstruction: unknown attribute/);
  });
  test('attach needs a port', () => {
    assert.throws(() => parseRecordingConfig({ request: 'attach' }, '/'), /port: is required/);
  });
  test('a reversed pcRange is rejected', () => {
    assert.throws(() => parseRecordingConfig({ ...base, stages: [{ name: 'a', pcRange: ['0x20', '0x10'] }] }, '/'), /stages\[0\]\.pcRange: end 0x10 must be above start 0x20/);
  });
  test('duplicate region names are rejected', () => {
    assert.throws(() => parseRecordingConfig({ ...base, regions: [{ name: 'a', start: 0, size: 4 }, { name: 'a', start: 8, size: 4 }] }, '/'), /regions\[1\]\.name/);
  });
  test('stepMode defaults to interrupts and rejects other words', () => {
    assert.equal(parseRecordingConfig(base, '/').stepMode, 'interrupts');
    assert.throws(() => parseRecordingConfig({ ...base, stepMode: 'fast' }, '/'), /stepMode: expected "interrupts"/);
  });
  test('threshold outside 0..100 is rejected', () => {
    assert.throws(() => parseRecordingConfig({ ...base, snapshots: { threshold: 150 } }, '/'), /snapshots\.threshold/);
  });
});
