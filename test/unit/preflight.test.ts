// preflight (src/recorder/preflight.ts): every file a recording configuration names is checked before QEMU
// starts, and a bad one is a ConfigError on that attribute saying what was expected; a stripped ELF is
// accepted with one warning.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseRecordingConfig } from '../../src/common/config';
import { ConfigError } from '../../src/common/errors';
import { preflight } from '../../src/recorder/preflight';

const GUEST = path.resolve(__dirname, '..', '..', 'guest', 'build');
const ARM_ELF = path.join(GUEST, 'demo-arm32.elf');
const A64_ELF = path.join(GUEST, 'demo-aarch64.elf');

let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-preflight-')); });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** The demo ELF with its section headers cut off (what `sstrip` leaves): loadable, but no symbols. */
function strippedArmElf(): string {
  const b = Buffer.from(fs.readFileSync(ARM_ELF));
  b.writeUInt32LE(0, 0x20); // e_shoff
  b.writeUInt16LE(0, 0x30); // e_shnum
  b.writeUInt16LE(0, 0x32); // e_shstrndx
  return file('stripped.elf', b);
}

function armConfig(extra: Record<string, unknown>, qemu: Record<string, unknown> = {}): ReturnType<typeof parseRecordingConfig> {
  return parseRecordingConfig({ qemu: { binary: 'qemu-system-arm', cpu: 'cortex-a15', kernel: ARM_ELF, ...qemu }, ...extra }, dir);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('no error');
}

describe('preflight: the ELF and the kernel image', () => {
  test('the demo guest passes with its symbols and no warning', () => {
    const r = preflight(armConfig({ elf: ARM_ELF, stopAt: 'boot_done' }));
    assert.ok(r.symbols?.lookup('boot_done'));
    assert.deepEqual(r.warnings, []);
  });
  test('a missing elf names "elf", the path and the architecture expected', () => {
    const e = configError(() => preflight(armConfig({ elf: 'nope.elf' })));
    assert.equal(e.field, 'elf');
    assert.match(e.message, /nope\.elf does not exist; expected an AArch32 \(ARM, e_machine EM_ARM\) ELF/);
  });
  test('a file that is not an ELF names "elf" and says it has no ELF magic', () => {
    const e = configError(() => preflight(armConfig({ elf: file('notes.txt', 'hello\n'.repeat(10)) })));
    assert.equal(e.field, 'elf');
    assert.match(e.message, /not an ELF file/);
    assert.match(e.message, /Expected an AArch32/);
  });
  test('a truncated ELF names "elf" and says it is truncated', () => {
    const e = configError(() => preflight(armConfig({ elf: file('cut.elf', fs.readFileSync(ARM_ELF).subarray(0, 2000)) })));
    assert.equal(e.field, 'elf');
    assert.match(e.message, /truncated/);
  });
  test('an AArch64 ELF for qemu-system-arm names "elf", both architectures and qemu.binary', () => {
    const e = configError(() => preflight(armConfig({ elf: A64_ELF })));
    assert.equal(e.field, 'elf');
    assert.match(e.message, /is an ELF for AArch64 .* but qemu\.binary qemu-system-arm runs arm guests/);
  });
  test('an ELF -kernel of the wrong architecture names qemu.kernel even without "elf"', () => {
    const e = configError(() => preflight(armConfig({}, { kernel: A64_ELF })));
    assert.equal(e.field, 'qemu.kernel');
    assert.match(e.message, /AArch64/);
  });
  test('a missing kernel names qemu.kernel; a raw (non-ELF) kernel image is fine', () => {
    assert.equal(configError(() => preflight(armConfig({}, { kernel: 'gone.bin' }))).field, 'qemu.kernel');
    preflight(armConfig({}, { kernel: file('raw.bin', new Uint8Array(64)) }));
  });
  test('a missing bios names qemu.bios', () => {
    const e = configError(() => preflight(armConfig({}, { kernel: undefined, bios: 'flash.bin' })));
    assert.equal(e.field, 'qemu.bios');
    assert.match(e.message, /flash\.bin does not exist; expected the firmware image/);
  });
  test('a function name that is not in the ELF fails here, before QEMU, naming stopAt or the stage', () => {
    assert.equal(configError(() => preflight(armConfig({ elf: ARM_ELF, stopAt: 'no_such_fn' }))).field, 'stopAt');
    assert.equal(configError(() => preflight(armConfig({ elf: ARM_ELF, stages: [{ name: 's', symbol: 'no_such_fn' }] }))).field, 'stages[0].symbol');
  });
});

describe('preflight: a stripped ELF', () => {
  test('is accepted with exactly one warning saying function names will be "unknown"', () => {
    const r = preflight(armConfig({ elf: strippedArmElf() }));
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /^elf: .*stripped\.elf has no symbols \(stripped\), so every function_name will be "unknown"/);
  });
  test('naming a function in stopAt says the ELF is stripped', () => {
    const e = configError(() => preflight(armConfig({ elf: strippedArmElf(), stopAt: 'boot_done' })));
    assert.equal(e.field, 'stopAt');
    assert.match(e.message, /has no symbols: it is stripped/);
  });
});
