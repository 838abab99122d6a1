// Bad and hostile input through the built CLI: a guest whose ELF names a function like a spreadsheet formula
// and whose UART prints terminal escape sequences; ELF files that are missing, foreign or truncated; region
// typos and overlaps. Each must give a clear error (exit 2, naming the attribute) or harmless output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GUEST_DIR } from '../support/demo-recording';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ARM_CONFIG = path.join(GUEST_DIR, 'demo-arm32.json');
const HOSTILE_FUNCTION = "=cmd|' /C calc'!A0";
const ESC = '\x1b';

/** A guest whose only loop is a function named like a formula, printing a screen clear, a window title and a fake line. */
const HOSTILE_SOURCE = `
    .syntax unified
    .text
    .global _start
    .type _start, %function
_start:
    ldr r1, =0x09000000          @ PL011 UARTDR on -M virt
    adr r2, message
    .type "${HOSTILE_FUNCTION}", %function
"${HOSTILE_FUNCTION}":
    ldrb r0, [r2], #1
    cmp r0, #0
    beq spin
    str r0, [r1]
    b "${HOSTILE_FUNCTION}"
    .type spin, %function
spin:
    b spin
message:
    .asciz "\\033[2J\\033]0;pwned\\007FAKE: all tests passed\\r\\nsecond line\\r\\n"
    .balign 4
    .ltorg
`;

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
before(() => { dir = mkdtempSync(path.join(tmpdir(), 'bootscope-hostile-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a hostile guest: formula-named function, escape sequences on the UART', () => {
  let db: string;
  let record: { code: number | null; stdout: string; stderr: string };

  before(() => {
    const src = path.join(dir, 'hostile.S');
    const elf = path.join(dir, 'hostile.elf');
    writeFileSync(src, HOSTILE_SOURCE);
    execFileSync('arm-none-eabi-gcc', ['-mcpu=cortex-a15', '-nostdlib', '-Wl,-Ttext=0x40000000', '-o', elf, src]);
    const config = path.join(dir, 'hostile.json');
    writeFileSync(config, JSON.stringify({
      qemu: { binary: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a15', memory: '128M', kernel: elf },
      elf, stopAt: 'spin',
      stages: [{ name: '+stage', pcRange: ['0x40000000', '0x40001000'] }],
    }));
    db = path.join(dir, 'hostile.db');
    record = cli(['record', '--config', config, '--db', db, '--description', `desc${ESC}]0;title\x07`]);
  });

  test('the UART text is printed with its escape sequences shown, not sent to the terminal', () => {
    assert.equal(record.code, 0, record.stderr);
    assert.ok(!record.stderr.includes(ESC), 'a raw ESC reached stderr');
    assert.ok(!record.stderr.includes('\x07'), 'a raw BEL reached stderr');
    assert.match(record.stderr, /^ {2}\| \\x1b\[2J\\x1b\]0;pwned\\x07FAKE: all tests passed$/m);
    assert.match(record.stderr, /^ {2}\| second line$/m, 'UART line breaks stay line breaks');
  });

  test('the formula-named function is recorded as is, and exported to CSV as text', () => {
    const fromSql = cli(['query', '--db', db, "SELECT COUNT(*) AS n FROM instruction_traces WHERE function_name = '=cmd|'' /C calc''!A0'", '--format', 'json']);
    assert.ok(JSON.parse(fromSql.stdout)[0].n > 10, fromSql.stdout + fromSql.stderr);
    const out = path.join(dir, 'trace.csv');
    const r = cli(['export', '--db', db, '--table', 'instruction_traces', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const csv = readFileSync(out, 'utf8');
    assert.ok(csv.includes(`,'${HOSTILE_FUNCTION},`), 'the hostile name is not neutralised with a leading quote');
    assert.doesNotMatch(csv, /(^|,)=cmd/m, 'a cell starts with =');
  });

  test('a formula-like stage name is neutralised in the boot_stages export', () => {
    const out = path.join(dir, 'stages.csv');
    assert.equal(cli(['export', '--db', db, '--table', 'boot_stages', '--out', out]).code, 0);
    const csv = readFileSync(out, 'utf8');
    assert.match(csv, /,'\+stage,/);
    assert.doesNotMatch(csv, /(^|,)\+stage/m);
  });

  test('query output in table, csv and json carries no raw control characters', () => {
    const sql = `SELECT function_name, char(27)||'[2J' AS clear, uart_log FROM instruction_traces JOIN boot_sessions USING (session_id) WHERE function_name LIKE '=%' LIMIT 1`;
    for (const format of ['table', 'csv', 'json']) {
      const r = cli(['query', '--db', db, sql, '--format', format]);
      assert.equal(r.code, 0, `${format}: ${r.stderr}`);
      assert.ok(!r.stdout.includes(ESC) && !r.stdout.includes('\x07'), `${format} output holds a raw ESC or BEL: ${JSON.stringify(r.stdout)}`);
      assert.match(r.stdout, format === 'json' ? /\\u001b\[2J/ : /\\x1b\[2J/, format);
    }
    assert.match(cli(['query', '--db', db, sql, '--format', 'csv']).stdout, new RegExp(`^'${HOSTILE_FUNCTION.replace(/[|]/g, '\\|')},`, 'm'));
  });

  test('sessions prints a description with an escape sequence escaped', () => {
    const r = cli(['sessions', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(ESC), JSON.stringify(r.stdout));
    assert.match(r.stdout, /desc\\x1b\]0;title\\x07$/m);
  });
});

describe('ELF files that cannot be what the configuration says: exit 2 naming the attribute, nothing written', () => {
  function withElf(name: string, elf: string, kernel?: string): { code: number | null; stderr: string; db: string } {
    const cfg = JSON.parse(readFileSync(ARM_CONFIG, 'utf8')) as Record<string, unknown> & { qemu: Record<string, unknown> };
    cfg.elf = elf;
    cfg.qemu.kernel = kernel ?? path.join(GUEST_DIR, 'build', 'demo-arm32.elf');
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(cfg));
    const db = path.join(dir, `${name}.db`);
    const r = cli(['record', '--config', file, '--db', db]);
    return { code: r.code, stderr: r.stderr, db };
  }

  test('a missing ELF', () => {
    const r = withElf('missing', path.join(dir, 'nowhere.elf'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /elf: .*nowhere\.elf does not exist; expected an AArch32 \(ARM, e_machine EM_ARM\) ELF/);
    assert.equal(existsSync(r.db), false);
  });

  test('a file that is not an ELF', () => {
    const r = withElf('not-elf', ARM_CONFIG);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /elf: .*not an ELF file/);
    assert.equal(existsSync(r.db), false);
  });

  test('a truncated ELF', () => {
    const cut = path.join(dir, 'cut.elf');
    writeFileSync(cut, readFileSync(path.join(GUEST_DIR, 'build', 'demo-arm32.elf')).subarray(0, 4096));
    const r = withElf('truncated', cut);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /elf: .*truncated/);
    assert.equal(existsSync(r.db), false);
  });

  test('an AArch64 ELF for qemu-system-arm, as elf and as qemu.kernel', () => {
    const a64 = path.join(GUEST_DIR, 'build', 'demo-aarch64.elf');
    const asElf = withElf('foreign-elf', a64);
    assert.equal(asElf.code, 2, asElf.stderr);
    assert.match(asElf.stderr, /elf: .*demo-aarch64\.elf is an ELF for AArch64 .*but "arch" is "arm"/);
    const asKernel = withElf('foreign-kernel', path.join(GUEST_DIR, 'build', 'demo-arm32.elf'), a64);
    assert.equal(asKernel.code, 2, asKernel.stderr);
    assert.match(asKernel.stderr, /qemu\.kernel: .*AArch64/);
    assert.equal(existsSync(asKernel.db), false);
  });
});

describe('region mistakes through the CLI', () => {
  function withRegions(name: string, regions: unknown[]): { code: number | null; stderr: string; db: string } {
    const cfg = JSON.parse(readFileSync(ARM_CONFIG, 'utf8')) as Record<string, unknown> & { qemu: Record<string, unknown> };
    cfg.qemu.kernel = path.join(GUEST_DIR, 'build', 'demo-arm32.elf');
    cfg.elf = cfg.qemu.kernel;
    cfg.regions = regions;
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(cfg));
    const db = path.join(dir, `${name}.db`);
    const r = cli(['record', '--config', file, '--db', db, '--max-instructions', '10']);
    return { code: r.code, stderr: r.stderr, db };
  }

  test('a "patern" typo is refused naming regions[1].patern and suggesting "pattern"', () => {
    const r = withRegions('typo', [
      { name: 'stack_region', start: '0x41000000', size: '0x1000', pattern: '0xDEADBEEF' },
      { name: 'data_region', start: '0x41200000', size: '0x1000', patern: '0x12345678' },
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /regions\[1\]\.patern: unknown attribute \(did you mean "pattern"\?\); known attributes of regions\[1\] are name, start, size, pattern, physical/);
    assert.equal(existsSync(r.db), false);
  });

  test('overlapping regions are refused naming both', () => {
    const r = withRegions('overlap', [
      { name: 'stack_region', start: '0x41000000', size: '0x1000' },
      { name: 'guard', start: '0x41000800', size: '0x1000' },
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /regions\[1\]: "guard" .* overlaps regions\[0\] "stack_region"/);
  });

  test('a region past 4 GiB on a 32-bit guest is refused', () => {
    const r = withRegions('wrap', [{ name: 'top', start: '0xffffff00', size: '0x200' }]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /regions\[0\]: "top" .* runs past the top of the 32-bit address space/);
  });
});
