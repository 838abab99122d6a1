// Cross-checks the Capstone disassembler against binutils objdump on real ELFs: every instruction objdump
// decodes as code in the fixture ELFs (test/fixtures/elf) and, when they are built, the demo guest
// (guest/build/*.elf, sampled). The normaliser below is the whole list of differences we accept; the test
// reports how many instructions each rule touched, so a rule that hides real disagreements shows up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Arch, Disassembler } from '../../src/arch';
import { ElfFile, SymbolTable } from '../../src/symbols';
import { type ObjdumpLine, normalise, objdump, tool } from '../support/objdump';

const FIXTURES = join(__dirname, '..', 'fixtures', 'elf');
const GUEST_BUILD = join(__dirname, '..', '..', 'guest', 'build');
/** Most instructions compared per guest ELF (fixtures are compared whole). */
const GUEST_SAMPLE = 3000;
/** Longest run decoded in one disassembleRange call (sampling picks whole runs). */
const RUN_LENGTH = 64;

const DATA_DIRECTIVES = /^\.(word|short|byte|inst|hword|2byte|4byte)\b/;

interface Comparison { compared: number; matched: number; touched: Map<string, number>; mismatches: string[] }

/**
 * Decodes each run of consecutive code instructions (same instruction set, no data in between) with
 * disassembleRange, as the Disassembly view does, and compares instruction by instruction. Ranges are
 * needed because Thumb IT blocks change how the instructions after an IT read.
 */
function compareWithObjdump(disassembler: Disassembler, path: string, limit: number): Comparison {
  const elf = ElfFile.read(path);
  const symbols = SymbolTable.fromElf(elf);
  const arch: Arch = elf.machine === 'aarch64' ? 'aarch64' : 'arm';
  const lines = objdump(elf).filter((l) => !DATA_DIRECTIVES.test(l.text) && !l.text.startsWith('<UNDEFINED>') && !l.text.startsWith('undefined'));
  const result: Comparison = { compared: 0, matched: 0, touched: new Map(), mismatches: [] };
  // objdump groups A32/A64 words as 8 hex digits and Thumb as 4-digit halfwords: that is its verdict on
  // the instruction set, which our mapping-symbol lookup must agree with.
  const isThumb = (l: ObjdumpLine): boolean => arch === 'arm' && l.hexGroups[0].length === 4;
  const sizeOf = (l: ObjdumpLine): number => l.hexGroups.join('').length / 2;
  // Runs of at most RUN_LENGTH instructions, never cut inside a Thumb IT block (up to 4 after an `it`).
  const insideItBlock = (j: number): boolean => lines.slice(Math.max(0, j - 4), j).some((l) => /^it[te]*\s/.test(l.text));
  const runs: ObjdumpLine[][] = [];
  for (let i = 0; i < lines.length;) {
    let j = i + 1;
    while (j < lines.length && isThumb(lines[j]) === isThumb(lines[i]) && lines[j].address === lines[j - 1].address + BigInt(sizeOf(lines[j - 1]))
      && (j - i < RUN_LENGTH || (isThumb(lines[j]) && insideItBlock(j)))) j++;
    runs.push(lines.slice(i, j));
    i = j;
  }
  // Sample whole runs spread over the file (a run must be decoded from its start to follow IT blocks).
  const stride = Math.max(1, Math.round(lines.length / limit));
  for (let r = 0; r < runs.length; r += stride) {
    const run = runs[r];
    const thumb = isThumb(run[0]);
    const length = Number(run[run.length - 1].address - run[0].address) + sizeOf(run[run.length - 1]);
    const bytes = elf.readAt(run[0].address, length);
    assert.ok(bytes, `${path} 0x${run[0].address.toString(16)}: readAt found no bytes for ${length} bytes of code`);
    const ours = disassembler.disassembleRange(arch, thumb, bytes, run[0].address, run.length);
    assert.equal(ours.length, run.length, `${path} 0x${run[0].address.toString(16)}: instruction count of the run`);
    run.forEach((line, k) => {
      const mine = ours[k];
      const where = `${path} 0x${line.address.toString(16)}`;
      assert.equal(mine.address, line.address, `${where}: instruction boundaries differ`);
      assert.equal(mine.size, sizeOf(line), `${where}: instruction length`);
      const kind = arch === 'arm' ? symbols.codeKindAt(line.address) : undefined;
      if (kind !== undefined) assert.equal(kind, thumb ? 'thumb' : 'arm', `${where}: mapping symbols disagree with objdump on ARM/Thumb`);
      result.compared++;
      const kinds = new Set<string>();
      const theirs = normalise(line.text, arch, kinds);
      const mineText = mine.valid ? normalise(mine.text, arch, kinds) : '<invalid>';
      for (const k of kinds) result.touched.set(k, (result.touched.get(k) ?? 0) + 1);
      if (theirs === mineText) result.matched++;
      else result.mismatches.push(`0x${line.address.toString(16)}: objdump "${line.text}" -> "${theirs}", capstone "${mine.text}" -> "${mineText}"`);
    });
  }
  return result;
}

function summary(name: string, c: Comparison): string {
  const kinds = [...c.touched].map(([k, n]) => `${k}: ${n}`).join('; ');
  return `${name}: ${c.matched}/${c.compared} matched after normalising (${kinds || 'no rule needed'})`;
}

/**
 * A bigger AArch32 input than the fixtures: newlib's libc.a (ARM and Thumb-2 code with IT blocks,
 * LDRD/STRD, coprocessor access) linked into a throwaway ELF. Undefined when the toolchain is missing.
 */
function linkNewlibElf(dir: string): string | undefined {
  if (!tool(['arm-none-eabi-gcc'])) return undefined;
  const source = join(dir, 'main.c');
  writeFileSync(source, 'int main(void) { return 0; }\n');
  const out = join(dir, 'newlib.elf');
  const pulled = ['memcpy', 'memset', 'memmove', 'strlen', 'strcmp', 'strchr', 'strncpy', 'qsort', 'sprintf', 'strtol', 'atoi', 'vfprintf', '__aeabi_uldivmod', '__aeabi_idiv', '__aeabi_dadd', '__aeabi_dmul', '__aeabi_ddiv'];
  const res = spawnSync('arm-none-eabi-gcc', ['-mcpu=cortex-a15', '-O2', '-nostartfiles', '--specs=nosys.specs', '-Wl,--unresolved-symbols=ignore-all', '-Wl,-e,main', ...pulled.flatMap((f) => ['-u', f]), '-o', out, source], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return out;
}

/** The cross toolchain's AArch64 glibc: a large real A64 image (SIMD, FP, atomics). */
const AARCH64_LIBC = '/usr/aarch64-linux-gnu/lib/libc.so.6';
/** Instructions compared in a large system ELF (sampled runs spread over the whole file). */
const SYSTEM_SAMPLE = 20000;

describe('disassembly agrees with objdump', () => {
  let disassembler: Disassembler;
  let scratch: string;
  before(async () => {
    disassembler = await Disassembler.create();
    scratch = mkdtempSync(join(tmpdir(), 'bootscope-arch-'));
  });
  after(() => {
    disassembler?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  for (const name of ['arm-dwarf4.elf', 'arm-dwarf5.elf', 'aarch64-dwarf4.elf', 'aarch64-dwarf5.elf']) {
    test(`every code instruction of fixture ${name} matches`, (t) => {
      const c = compareWithObjdump(disassembler, join(FIXTURES, name), Number.MAX_SAFE_INTEGER);
      t.diagnostic(summary(name, c));
      assert.ok(c.compared > 50, `only ${c.compared} instructions compared`);
      assert.deepEqual(c.mismatches, []);
    });
  }

  const guestElfs = existsSync(GUEST_BUILD) ? readdirSync(GUEST_BUILD).filter((f) => f.endsWith('.elf')).sort() : [];
  for (const name of guestElfs) {
    test(`sampled instructions of guest ${name} match`, (t) => {
      const c = compareWithObjdump(disassembler, join(GUEST_BUILD, name), GUEST_SAMPLE);
      t.diagnostic(summary(name, c));
      assert.ok(c.compared > 0, 'no instruction compared');
      assert.deepEqual(c.mismatches, []);
    });
  }
  if (guestElfs.length === 0) test('guest ELFs (guest/build/*.elf)', { skip: 'not built: build guest/ to cross-check them too' }, () => {});

  test('sampled A32/T32 instructions of newlib (linked now from libc.a) match', (t) => {
    const elf = linkNewlibElf(scratch);
    if (!elf) { t.skip('arm-none-eabi-gcc not installed'); return; }
    const c = compareWithObjdump(disassembler, elf, SYSTEM_SAMPLE);
    t.diagnostic(summary('newlib', c));
    assert.ok(c.compared > 1000, `only ${c.compared} instructions compared`);
    assert.deepEqual(c.mismatches, []);
  });

  test(`sampled A64 instructions of ${AARCH64_LIBC} match`, (t) => {
    if (!existsSync(AARCH64_LIBC)) { t.skip('libc6-arm64-cross not installed'); return; }
    const c = compareWithObjdump(disassembler, AARCH64_LIBC, SYSTEM_SAMPLE);
    t.diagnostic(summary('aarch64 libc.so.6', c));
    assert.ok(c.compared > 1000, `only ${c.compared} instructions compared`);
    assert.deepEqual(c.mismatches, []);
  });
});
