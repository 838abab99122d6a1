// A firmware you did not build: the README's worked example (a raw -bios image, no ELF) run verbatim from
// the README's own code blocks, and the configuration mistakes around kernel, bios and elf refused before
// QEMU starts, with no recording file left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingStore } from '../../src/store/recording-store';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
/** `node` in the README's commands is the one running the tests (the machine's may be too old). */
const ENV = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };

/** The fenced code blocks of the README section `heading`, in order, with their language. */
function readmeBlocks(heading: string): { lang: string; text: string }[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}" section`);
  const rest = readme.slice(start + heading.length + 2);
  const section = rest.slice(0, rest.search(/\n#{2,3} /) >= 0 ? rest.search(/\n#{2,3} /) : undefined);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));
}

function sh(script: string, cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, env: ENV, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cli(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let fw: string;
let example: Record<string, unknown>;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bootscope-firmware-'));
  // The README's commands run from a checkout: give them the guest sources and the built CLI.
  symlinkSync(path.join(ROOT, 'guest'), path.join(dir, 'guest'));
  symlinkSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'));
  fw = path.join(dir, 'recordings', 'firmware');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('README "A firmware you did not build", run verbatim', () => {
  let record: { code: number | null; stdout: string; stderr: string };

  before(() => {
    const blocks = readmeBlocks('### A firmware you did not build');
    assert.deepEqual(blocks.map((b) => b.lang), ['sh', 'json', 'sh']);
    const build = sh(blocks[0].text, dir);
    assert.equal(build.code, 0, build.stderr);
    assert.match(build.stdout, /^\s*1c:\s+e320f003\s+wfi/m, 'the README says the wfi is at 0x1c');
    example = JSON.parse(blocks[1].text) as Record<string, unknown>;
    mkdirSync(fw, { recursive: true });
    writeFileSync(path.join(fw, 'hello.json'), blocks[1].text);
    record = sh(blocks[2].text, dir);
  });

  test('records with exit 0 and prints the session id and the guest\'s line', () => {
    assert.equal(record.code, 0, record.stderr);
    assert.match(record.stdout.trim(), /^\d+$/);
    assert.match(record.stderr, /\| Hello from a firmware without symbols$/m);
    assert.doesNotMatch(record.stderr, /warning/);
  });

  test('every instruction is from the flash at 0, function unknown, stopped at the wfi', () => {
    const store = RecordingStore.open(path.join(fw, 'hello.db'), { readOnly: true });
    try {
      const { rows } = store.query(`SELECT COUNT(*), MIN(pc_address), MAX(sequence_number),
        SUM(function_name = 'unknown'), SUM(boot_stage = 'flash') FROM instruction_traces`);
      const [count, minPc, , unknown, flash] = rows[0].map(Number);
      assert.ok(count > 100, `${count} instructions`);
      assert.equal(minPc, 0);
      assert.equal(unknown, count);
      assert.equal(flash, count);
      const last = store.query('SELECT pc_address FROM instruction_traces ORDER BY sequence_number DESC LIMIT 1').rows[0][0];
      assert.equal(Number(last), 0x1c);
      const s = store.listSessions()[0];
      assert.equal(s.status, 'completed');
      assert.equal(s.elfPath ?? null, null);
    } finally {
      store.close();
    }
  });

  test('the report says no regions were configured instead of "all pass"', () => {
    const html = readFileSync(path.join(fw, 'hello.html'), 'utf8');
    assert.match(html, /Painted regions<\/dt><dd>none: the recording has no memory regions configured/);
    assert.doesNotMatch(html, /all \d* ?pass/);
  });
});

describe('kernel, bios and elf mistakes are refused before QEMU starts', () => {
  function attempt(name: string, cfg: Record<string, unknown>): { code: number | null; stderr: string; db: string } {
    const file = path.join(fw, `${name}.json`);
    writeFileSync(file, JSON.stringify(cfg));
    const db = path.join(fw, `${name}.db`);
    const r = cli(['record', '--config', file, '--db', db], dir);
    return { code: r.code, stderr: r.stderr, db };
  }

  test('stopAt naming a function with no elf: exit 2, says symbols need "elf", no recording file', () => {
    const r = attempt('stop-by-name', { ...example, stopAt: 'idle' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /stopAt: "idle" is a symbol name, and symbol names need an ELF with symbols: set "elf"/);
    assert.equal(existsSync(r.db), false, 'a session row was written');
  });

  test('a symbol stage with no elf: exit 2 naming stages[0].symbol', () => {
    const r = attempt('stage-by-name', { ...example, stages: [{ name: 'rom', symbol: 'print' }] });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /stages\[0\]\.symbol: .*set "elf"/);
    assert.equal(existsSync(r.db), false);
  });

  test('neither qemu.kernel nor qemu.bios: exit 2 naming both, no recording file', () => {
    const qemu = { ...(example.qemu as Record<string, unknown>) };
    delete qemu.bios;
    const r = attempt('nothing-to-run', { ...example, qemu });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /neither qemu\.kernel nor qemu\.bios/);
    assert.equal(existsSync(r.db), false);
  });

  test('a top-level "bios" says it belongs in qemu.bios', () => {
    const r = attempt('top-level-bios', { ...example, bios: 'hello.bin' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /bios: belongs inside "qemu".*\(qemu\.bios\)/);
  });

  test('a missing bios file: exit 2 naming qemu.bios', () => {
    const r = attempt('no-bios-file', { ...example, qemu: { ...(example.qemu as object), bios: 'gone.bin' } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /qemu\.bios: .*gone\.bin does not exist/);
    assert.equal(existsSync(r.db), false);
  });
});

describe('a stripped ELF', () => {
  test('records, with one warning that function names will be "unknown"', () => {
    execFileSync('arm-none-eabi-strip', ['-o', path.join(fw, 'hello-stripped.elf'), path.join(fw, 'hello.elf')]);
    const file = path.join(fw, 'stripped.json');
    writeFileSync(file, JSON.stringify({ ...example, elf: 'hello-stripped.elf' }));
    const r = cli(['record', '--config', file, '--db', path.join(fw, 'stripped.db')], dir);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => /warning: elf: .*hello-stripped\.elf has no symbols \(stripped\), so every function_name will be "unknown"/.test(l));
    assert.equal(warnings.length, 1, r.stderr);
  });

  test('the unstripped ELF gives the firmware\'s labels as function names', () => {
    const file = path.join(fw, 'symbols.json');
    writeFileSync(file, JSON.stringify({ ...example, elf: 'hello.elf', stopAt: 'idle' }));
    const db = path.join(fw, 'symbols.db');
    const r = cli(['record', '--config', file, '--db', db], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning/);
    const store = RecordingStore.open(db, { readOnly: true });
    try {
      const names = store.query('SELECT DISTINCT function_name FROM instruction_traces ORDER BY 1').rows.map((row) => row[0]);
      assert.deepEqual(names, ['_start', 'idle', 'print']); // the stopAt instruction itself is recorded
    } finally {
      store.close();
    }
  });
});

describe('a guest that powers the machine off', () => {
  test('ends the recording with exit 0 and says the guest shut down (QEMU stopped from outside is exit 3)', () => {
    const src = path.join(fw, 'poweroff.S');
    writeFileSync(src, [
      '    .syntax unified',
      '    .arch_extension virt',
      '    .text',
      '    .global _start',
      '_start:',
      '    ldr r0, =0x84000008   @ PSCI SYSTEM_OFF (PSCI 1.1, section 5.1.9); -M virt takes PSCI calls by hvc',
      '    hvc #0',
      'spin: b spin',
      '    .ltorg',
      '',
    ].join('\n'));
    const elf = path.join(fw, 'poweroff.elf');
    execFileSync('arm-none-eabi-gcc', ['-mcpu=cortex-a15', '-nostdlib', '-Wl,-Ttext=0x40000000', '-o', elf, src]);
    const file = path.join(fw, 'poweroff.json');
    writeFileSync(file, JSON.stringify({ qemu: { binary: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a15', memory: '128M', kernel: elf }, elf, maxInstructions: 1000 }));
    const db = path.join(fw, 'poweroff.db');
    const r = cli(['record', '--config', file, '--db', db], dir);
    assert.equal(r.code, 0, r.stderr);
    const store = RecordingStore.open(db, { readOnly: true });
    try {
      assert.match(store.listSessions()[0].endReason ?? '', /^the guest shut the machine down \(QEMU SHUTDOWN reason guest-shutdown/);
    } finally {
      store.close();
    }
  });
});
