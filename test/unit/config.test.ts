import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closestKey, extraArgsLoadCode, parseRecordingConfig } from '../../src/common/config';
import { ConfigError } from '../../src/common/errors';

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

/** The ConfigError parseRecordingConfig throws for `raw` (fails the test when it accepts it). */
function rejection(raw: unknown): ConfigError {
  try {
    parseRecordingConfig(raw, '/w');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(raw)}`);
}

describe('parseRecordingConfig: a firmware you did not build (qemu.bios, no elf)', () => {
  test('a missing qemu says what to run: kernel or bios', () => {
    const e = rejection({ request: 'launch' });
    assert.equal(e.field, 'qemu');
    assert.match(e.message, /kernel \(an ELF or raw image/);
    assert.match(e.message, /bios \(a firmware image/);
  });
  test('a top-level bios or kernel is pointed to qemu.bios / qemu.kernel', () => {
    const bios = rejection({ ...base, bios: 'fw.bin' });
    assert.equal(bios.field, 'bios');
    assert.match(bios.message, /belongs inside "qemu".*qemu\.bios/);
    assert.match(rejection({ ...base, kernel: 'k.elf' }).message, /qemu\.kernel/);
  });
  test('a bios with no elf and address-only stopAt and stages is accepted', () => {
    const c = parseRecordingConfig({ request: 'launch', qemu: { binary: 'qemu-system-arm', bios: 'fw.bin' }, stopAt: '0x40', stages: [{ name: 'rom', pcRange: [0, '0x1000'] }] }, '/w');
    assert.equal(c.qemu?.bios, '/w/fw.bin');
    assert.equal(c.elf, undefined);
  });
  test('stopAt naming a function without an ELF is refused before anything starts, saying symbols need elf', () => {
    const e = rejection({ request: 'launch', qemu: { bios: 'fw.bin' }, stopAt: 'boot_done' });
    assert.equal(e.field, 'stopAt');
    assert.match(e.message, /symbol names need an ELF with symbols: set "elf"/);
    assert.doesNotMatch(e.message, /the ELF's symbol table/);
  });
  test('a symbol stage without an ELF is refused the same way', () => {
    const e = rejection({ request: 'launch', qemu: { bios: 'fw.bin' }, stages: [{ name: 'k', symbol: 'kmain' }] });
    assert.equal(e.field, 'stages[0].symbol');
    assert.match(e.message, /set "elf"/);
  });
  test('symbolFiles count as a symbol source', () => {
    assert.equal(parseRecordingConfig({ request: 'launch', qemu: { bios: 'fw.bin' }, symbolFiles: ['fw.elf'], stopAt: 'main' }, '/w').stopAt, 'main');
  });
  test('neither kernel nor bios is refused naming both attributes', () => {
    const e = rejection({ request: 'launch', qemu: { binary: 'qemu-system-arm', machine: 'virt' } });
    assert.equal(e.field, 'qemu');
    assert.match(e.message, /qemu\.kernel/);
    assert.match(e.message, /qemu\.bios/);
  });
  test('extraArgs that load code stand in for kernel and bios', () => {
    assert.ok(extraArgsLoadCode(['-device', 'loader,file=fw.bin,addr=0x40000000,cpu-num=0']));
    assert.ok(extraArgsLoadCode(['-pflash', 'flash0.img']));
    assert.ok(extraArgsLoadCode(['-drive', 'file=flash0.img,format=raw,if=pflash']));
    assert.ok(!extraArgsLoadCode(['-device', 'virtio-net-device', '-drive', 'file=disk.img,if=none']));
    assert.ok(!extraArgsLoadCode(['-smp', '1']));
    parseRecordingConfig({ request: 'launch', qemu: { extraArgs: ['-pflash', 'flash0.img'] } }, '/w');
  });
});

describe('parseRecordingConfig: unknown keys, overlapping and wrapping regions', () => {
  test('an unknown key inside regions[] is named with its path, a suggestion and the known keys', () => {
    const e = rejection({ ...base, regions: [{ name: 'a', start: 0, size: 4 }, { name: 'b', start: 16, size: 4, patern: '0xDEADBEEF' }] });
    assert.equal(e.field, 'regions[1].patern');
    assert.match(e.message, /did you mean "pattern"\?/);
    assert.match(e.message, /name, start, size, pattern, physical/);
  });
  test('an unknown key inside stages[] is named with its path and the known keys', () => {
    const e = rejection({ ...base, stages: [{ name: 'a', pcrange: [0, 16] }] });
    assert.equal(e.field, 'stages[0].pcrange');
    assert.match(e.message, /did you mean "pcRange"\?/);
    assert.match(e.message, /name, pcRange, symbol/);
  });
  test('an unknown key inside snapshots is named too', () => {
    assert.equal(rejection({ ...base, snapshots: { everyInstruction: 10 } }).field, 'snapshots.everyInstruction');
  });
  test('a top-level typo gets a suggestion', () => {
    assert.match(rejection({ ...base, maxInstruction: 5 }).message, /did you mean "maxInstructions"/);
  });
  test('closestKey suggests only near misses', () => {
    assert.equal(closestKey('patern', ['name', 'pattern']), 'pattern');
    assert.equal(closestKey('colour', ['name', 'start', 'size']), undefined);
  });
  test('overlapping regions are refused naming both', () => {
    const e = rejection({ ...base, regions: [{ name: 'stack', start: '0x41000000', size: '0x1000' }, { name: 'guard', start: '0x41000ff0', size: '0x100' }] });
    assert.equal(e.field, 'regions[1]');
    assert.match(e.message, /"guard" \[0x41000ff0, 0x410010f0\) overlaps regions\[0\] "stack" \[0x41000000, 0x41001000\)/);
  });
  test('a region inside another is an overlap too; adjacent regions and a physical view of the same range are not', () => {
    assert.equal(rejection({ ...base, regions: [{ name: 'big', start: 0, size: '0x10000' }, { name: 'small', start: '0x100', size: 4 }] }).field, 'regions[1]');
    parseRecordingConfig({ ...base, regions: [{ name: 'a', start: 0, size: 16 }, { name: 'b', start: 16, size: 16 }, { name: 'p', start: 0, size: 16, physical: true }] }, '/');
  });
  test('a region past the top of the 32-bit address space is refused for arm, allowed for aarch64', () => {
    const region = { name: 'top', start: '0xfffff000', size: '0x2000' };
    const e = rejection({ ...base, regions: [region] });
    assert.equal(e.field, 'regions[0]');
    assert.match(e.message, /runs past the top of the 32-bit address space \(last address 0xffffffff\)/);
    parseRecordingConfig({ ...base, arch: 'aarch64', qemu: { ...base.qemu, binary: 'qemu-system-aarch64' }, regions: [region] }, '/');
    parseRecordingConfig({ ...base, regions: [{ name: 'last', start: '0xfffff000', size: '0x1000' }] }, '/');
  });
});

describe('parseRecordingConfig: addresses beyond 2^53', () => {
  test('a high 64-bit address is refused saying why, not as "not an integer"', () => {
    const e = rejection({ ...base, arch: 'aarch64', qemu: { ...base.qemu, binary: 'qemu-system-aarch64' }, regions: [{ name: 'kva', start: '0xffff000040000000', size: 16 }] });
    assert.equal(e.field, 'regions[0].start');
    assert.match(e.message, /above 0x1fffffffffffff/);
  });
});
