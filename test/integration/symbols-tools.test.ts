// Cross-checks src/symbols against binutils on real ELFs: the fixture ELFs (test/fixtures/elf) and,
// when built, the demo guest (guest/build/*.elf). Function names vs `nm`, the line table vs
// `readelf --debug-dump=decodedline`, and lineAt vs `addr2line` at sampled code addresses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ElfFile, LineTable, SymbolTable } from '../../src/symbols';

const FIXTURES = join(__dirname, '..', 'fixtures', 'elf');
const GUEST_BUILD = join(__dirname, '..', '..', 'guest', 'build');
/** Most addresses handed to addr2line per ELF. */
const ADDR2LINE_SAMPLE = 1500;

const elfPaths = [
  ...['arm-dwarf4.elf', 'arm-dwarf5.elf', 'aarch64-dwarf4.elf', 'aarch64-dwarf5.elf'].map((f) => join(FIXTURES, f)),
  ...(existsSync(GUEST_BUILD) ? readdirSync(GUEST_BUILD).filter((f) => f.endsWith('.elf')).sort().map((f) => join(GUEST_BUILD, f)) : []),
];

function run(candidates: string[], args: string[]): string {
  const exe = candidates.find((c) => spawnSync('which', [c]).status === 0);
  assert.ok(exe, `none of ${candidates.join(', ')} is installed`);
  const out = spawnSync(exe, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout;
}

const toolFor = (elf: ElfFile, tool: string): string[] => [elf.machine === 'arm' ? `arm-none-eabi-${tool}` : `aarch64-linux-gnu-${tool}`, tool];

interface NmSymbol { address: bigint; size?: number; type: string; name: string }

function nm(elf: ElfFile): NmSymbol[] {
  return run(toolFor(elf, 'nm'), ['-S', '--defined-only', elf.path]).split('\n').flatMap((line) => {
    const m = /^([0-9a-f]+) (?:([0-9a-f]+) )?(\w) (\S+)$/.exec(line);
    return m ? [{ address: BigInt(`0x${m[1]}`), size: m[2] ? parseInt(m[2], 16) : undefined, type: m[3], name: m[4] }] : [];
  });
}

interface DecodedRow { file: string; line: number | undefined; address: bigint; stmt: boolean }

/** `readelf -W --debug-dump=decodedline` rows, split into sequences at the `-` end rows (kept as `end`). */
function decodedLine(elf: ElfFile): { rows: DecodedRow[]; end: bigint }[] {
  const sequences: { rows: DecodedRow[]; end: bigint }[] = [];
  let current: DecodedRow[] = [];
  for (const line of run(['readelf'], ['-W', '--debug-dump=decodedline', elf.path]).split('\n')) {
    const m = /^(\S+)\s+(\d+|-)\s+(0x[0-9a-f]+)(?:\s+\d+)?\s*(x?)\s*$/.exec(line);
    if (!m) continue;
    if (m[2] === '-') { sequences.push({ rows: current, end: BigInt(m[3]) }); current = []; continue; }
    current.push({ file: m[1], line: Number(m[2]), address: BigInt(m[3]), stmt: m[4] === 'x' });
  }
  return sequences;
}

describe('symbols agree with binutils', () => {
  for (const path of elfPaths) {
    const name = basename(path);

    test(`${name}: every text symbol of nm is found where nm puts it`, () => {
      const elf = ElfFile.read(path);
      const table = SymbolTable.fromElf(elf);
      const symbols = nm(elf).filter((s) => /[tTwW]/.test(s.type) && !/^\$[atdx](\.|$)/.test(s.name));
      assert.ok(symbols.length > 3);
      const namesAt = new Map<bigint, string[]>();
      const clear = (a: bigint): bigint => (elf.machine === 'arm' ? a & ~1n : a);
      for (const s of symbols) namesAt.set(clear(s.address), [...(namesAt.get(clear(s.address)) ?? []), s.name]);
      for (const s of symbols) {
        const start = clear(s.address);
        const found = table.functionAt(start);
        assert.ok(found, `${s.name} at 0x${start.toString(16)}: nothing found`);
        if (found.start === start) {
          assert.ok(namesAt.get(start)!.includes(found.name), `0x${start.toString(16)}: ${found.name} is not one of nm's ${namesAt.get(start)!.join(', ')}`);
        } else {
          // Only a label inside a sized function may be covered by another symbol (the function).
          assert.equal(s.size, undefined, `${s.name}: a sized symbol must start its own range`);
          assert.equal(found.kind, 'function', `${s.name} is covered by ${found.name}, which is not a sized function`);
        }
        if (s.size) {
          const last = table.functionAt(start + BigInt(s.size) - 1n);
          assert.ok(last && namesAt.get(start)!.includes(last.name), `${s.name}: its last byte is not covered by it (got ${last?.name})`);
        }
        if (namesAt.get(start)!.length === 1 && symbols.filter((o) => o.name === s.name).length === 1) {
          assert.equal(table.lookup(s.name), start, `lookup(${s.name})`);
        }
      }
    });

    test(`${name}: lineAt and addressesFor agree with readelf's decoded line table`, () => {
      const elf = ElfFile.read(path);
      const table = LineTable.fromElf(elf);
      const sequences = decodedLine(elf);
      let checked = 0;
      for (const { rows, end } of sequences) {
        rows.forEach((row, i) => {
          const next = rows[i + 1];
          // The last row at an address describes the instruction there (earlier ones are empty ranges,
          // as is a row at the sequence's end address).
          if ((next && next.address === row.address) || row.address === end) return;
          const ours = table.lineAt(row.address);
          assert.ok(ours, `0x${row.address.toString(16)}: no line, readelf says ${row.file}:${row.line}`);
          assert.equal(`${basename(ours.file)}:${ours.line}`, `${basename(row.file)}:${row.line}`, `0x${row.address.toString(16)}`);
          checked++;
        });
        rows.forEach((row, i) => {
          const previous = rows[i - 1];
          if (!row.stmt || (previous && previous.line === row.line && basename(previous.file) === basename(row.file))) return;
          const entries = table.addressesFor(basename(row.file), row.line!);
          assert.ok(entries.includes(row.address), `${row.file}:${row.line} entry 0x${row.address.toString(16)} missing from [${entries.map((a) => a.toString(16)).join(', ')}]`);
        });
      }
      assert.ok(checked > 20, `only ${checked} rows checked`);
    });

    test(`${name}: lineAt agrees with addr2line at sampled code addresses`, (t) => {
      const elf = ElfFile.read(path);
      const lines = LineTable.fromElf(elf);
      const symbols = SymbolTable.fromElf(elf);
      const step = elf.machine === 'arm' ? 2n : 4n;
      const addresses: bigint[] = [];
      for (const f of symbols.functions) for (let a = f.start; a < f.end; a += step) addresses.push(a);
      const stride = Math.max(1, Math.ceil(addresses.length / ADDR2LINE_SAMPLE));
      const sample = addresses.filter((_a, i) => i % stride === 0);
      const answers = run(toolFor(elf, 'addr2line'), ['-e', elf.path, ...sample.map((a) => `0x${a.toString(16)}`)]).trim().split('\n');
      assert.equal(answers.length, sample.length);
      let withLine = 0;
      sample.forEach((a, i) => {
        const theirs = answers[i].replace(/ \(discriminator \d+\)$/, '');
        const ours = lines.lineAt(a);
        if (theirs.startsWith('??')) {
          assert.equal(ours, undefined, `0x${a.toString(16)}: addr2line knows no line, we say ${ours?.file}:${ours?.line}`);
        } else {
          withLine++;
          assert.equal(ours && `${ours.file}:${ours.line}`, theirs, `0x${a.toString(16)}`);
        }
      });
      t.diagnostic(`${name}: ${sample.length} addresses compared with addr2line, ${withLine} with a line`);
      assert.ok(withLine > 0);
    });
  }
});
