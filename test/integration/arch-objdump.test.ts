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

const FIXTURES = join(__dirname, '..', 'fixtures', 'elf');
const GUEST_BUILD = join(__dirname, '..', '..', 'guest', 'build');
/** Most instructions compared per guest ELF (fixtures are compared whole). */
const GUEST_SAMPLE = 3000;
/** Longest run decoded in one disassembleRange call (sampling picks whole runs). */
const RUN_LENGTH = 64;

function tool(candidates: string[]): string | undefined {
  return candidates.find((c) => spawnSync('which', [c]).status === 0);
}

interface ObjdumpLine { address: bigint; hexGroups: string[]; text: string }

function objdump(elf: ElfFile): ObjdumpLine[] {
  const exe = elf.machine === 'arm'
    ? tool(['arm-none-eabi-objdump', 'objdump'])
    : tool(['aarch64-linux-gnu-objdump', 'objdump']);
  assert.ok(exe, 'no objdump found (install binutils-multiarch)');
  const out = spawnSync(exe, ['-d', '--no-show-raw-insn', '--show-raw-insn', elf.path], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(out.status, 0, out.stderr);
  const lines: ObjdumpLine[] = [];
  for (const line of out.stdout.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
    if (m) lines.push({ address: BigInt(`0x${m[1]}`), hexGroups: m[2].trim().split(/\s+/), text: m[3] });
  }
  return lines;
}

/**
 * The accepted differences between objdump's and Capstone's text, in order. Each rule names one kind of
 * mismatch; `apply` must be harmless on text that does not have it.
 */
const RULES: { kind: string; apply: (s: string, arch: Arch) => string }[] = [
  // objdump appends `@ 0x80000`, `// #64`, `// b.any`: comments, never part of the instruction.
  { kind: 'objdump comment', apply: (s) => s.replace(/\s+(@|\/\/|;).*$/, '') },
  // objdump names branch/literal targets: `bl 10104 <boot_main>`.
  { kind: 'symbol annotation <sym+off>', apply: (s) => s.replace(/\s*<[^>]*>/g, '') },
  // objdump writes CPSR, CurrentEL, ... in upper/mixed case; Capstone in lower case.
  { kind: 'letter case', apply: (s) => s.toLowerCase() },
  { kind: 'whitespace', apply: (s) => s.replace(/\s+/g, ' ').replace(/\s*,\s*/g, ', ').replace(/\} \^/g, '}^').trim() },
  // objdump's A32 SVC immediate has no `#`: `svc 0x00000000`.
  { kind: 'svc immediate without #', apply: (s) => s.replace(/^svc(\w*) (0x[0-9a-f]+|\d+)$/, 'svc$1 #$2') },
  // objdump `nop {0}`: the hint number of NOP, which Capstone does not print.
  { kind: 'nop {0}', apply: (s) => s.replace(/^nop \{0\}$/, 'nop') },
  // objdump prints branch targets as bare hex (`b 1002c`, `tbz w0, #1, 27900`); Capstone as `#0x...`.
  // (`cc` is the one condition name that is also hex: it stays.)
  { kind: 'bare hex branch target', apply: (s) => s.replace(/^(\S+ (?:[#a-z0-9-]+, )*)([0-9a-f]+)$/, (m, head: string, hex: string) => (hex === 'cc' ? m : `${head}#0x${hex}`)) },
  // AArch32 register aliases: objdump says r9, Capstone sb; both agree on sl/fp/ip otherwise.
  { kind: 'register alias r9/sb, r10/sl, r11/fp, r12/ip', apply: (s, arch) => (arch === 'arm' ? s.replace(/\bsb\b/g, 'r9').replace(/\bsl\b/g, 'r10').replace(/\bfp\b/g, 'r11').replace(/\bip\b/g, 'r12') : s) },
  // Coprocessor operands: objdump `mcr 15, 0, r3, cr12, cr0, {0}`, Capstone `mcr p15, #0, r3, c12, c0, #0`.
  { kind: 'coprocessor operand syntax', apply: (s) => s.replace(/^((?:mcr|mrc|mcrr|mrrc|cdp|ldc|stc)2?\w*) (?:p)?(\d+), #?(\d+), (.*)$/, (_m, op: string, cp: string, opc: string, rest: string) => `${op} p${cp}, #${opc}, ${rest.replace(/\bcr(\d+)\b/g, 'c$1').replace(/\{(\d+)\}/, '#$1')}`) },
  // Floating-point immediates: `#1.000000000000000000e+00` vs `#1.00000000`.
  { kind: 'float immediate format', apply: (s) => s.replace(/#(-?\d+\.\d+(?:e[+-]\d+)?)/g, (_m, f: string) => `#${Number(f)}`) },
  // `#524288` vs `#0x80000`, `#-20` vs `#-0x14`: same value, different radix.
  { kind: 'immediate radix', apply: (s) => s.replace(/#(-?)(0x[0-9a-f]+|\d+)\b/g, (_m, sign: string, n: string) => `#${sign}${BigInt(n).toString(10)}`) },
  // A standalone immediate printed signed by one tool and unsigned by the other (`mov w0, #-1` vs
  // `#0xffffffff`, `cmp.w lr, #-0x80000000` vs `#2147483648`): compare modulo the register width.
  { kind: 'immediate signedness', apply: (s, arch) => s.replace(/(, )#-(\d+)(?=$|, )/g, (_m, sep: string, n: string) => {
    const bits = arch === 'aarch64' && /^\S+ (x\d+|sp|xzr),/.test(s) ? 64n : 32n;
    const modulus = 1n << bits;
    return `${sep}#${(((-BigInt(n)) % modulus + modulus) % modulus).toString(10)}`;
  }) },
  // objdump adds Thumb width qualifiers (`bne.n`, `ldr.w`) where Capstone often does not.
  { kind: 'thumb .n/.w qualifier', apply: (s) => s.replace(/^([a-z]+)\.[nw]\b/, '$1') },
  // Condition-code synonyms: objdump says cs/cc, Capstone hs/lo (ARM ARM table A8-1 / C1-1).
  { kind: 'condition hs/lo = cs/cc', apply: (s) => s.replace(/^(\S*?)(hs|lo)(?= |$)/, (_m, head: string, cc: string) => `${head}${cc === 'hs' ? 'cs' : 'cc'}`).replace(/(, |^it\w* )(hs|lo)$/, (_m, head: string, cc: string) => `${head}${cc === 'hs' ? 'cs' : 'cc'}`) },
  // objdump leaves out the implied second register of A32 LDRD/STRD (Rt2 = Rt + 1); Capstone shows it.
  { kind: 'ldrd/strd implied rt2', apply: (s) => s.replace(/^((?:ldr|str)d\w*) r(\d+), r(\d+), /, (m, op: string, rt: string, rt2: string) => (Number(rt2) === Number(rt) + 1 ? `${op} r${rt}, ` : m)) },
  // objdump prints a zero offset (`[r3, #0]`); Capstone drops it (`[r3]`).
  { kind: 'zero offset #0', apply: (s) => s.replace(/, #0\]/g, ']') },
  // Shift aliases: objdump `movs lr, lr, lsl #1`, Capstone `lsls lr, lr, #1` (same MOV encoding).
  { kind: 'mov-with-shift = shift alias', apply: (s) => s.replace(/^mov(\w*) (\w+), (\w+), (lsl|lsr|asr|ror) (#\d+)$/, '$4$1 $2, $3, $5') },
  // objdump `neg rd, rm` for `rsb rd, rm, #0`.
  { kind: 'neg = rsb #0 alias', apply: (s) => s.replace(/^rsb(\w*) (\w+), (\w+), #0$/, 'neg$1 $2, $3') },
  // Thumb ADR: objdump `add r0, pc, #16`, Capstone `adr r0, #0x10`.
  { kind: 'add rd, pc = adr alias', apply: (s) => s.replace(/^add(\w*) (\w+), pc, (#\d+)$/, 'adr$1 $2, $3') },
  // Stack multiple-register aliases: `ldmia sp!, {..}` = `pop {..}`, `stmdb sp!, {..}` = `push {..}`;
  // `ia` is the default addressing mode Capstone leaves out.
  { kind: 'ldm/stm = pop/push alias', apply: (s) => s.replace(/^ldm(?:ia)?(\w*) sp!, \{/, 'pop$1 {').replace(/^stmdb(\w*) sp!, \{/, 'push$1 {').replace(/^(ldm|stm)ia/, '$1').replace(/^(ldm|stm)fd/, '$1') },
  // A32 `nop` (pre-v6K encoding) is `mov r0, r0`.
  { kind: 'nop = mov r0, r0', apply: (s) => s.replace(/^mov r0, r0$/, 'nop') },
  // `mov rd, rm, rrx` = `rrx rd, rm`.
  { kind: 'mov rrx = rrx alias', apply: (s) => s.replace(/^mov(\w*) (\w+), (\w+), rrx$/, 'rrx$1 $2, $3') },
  // A64 SIMD: `uxtl`/`sxtl` are `ushll`/`sshll` with shift 0.
  { kind: 'uxtl/sxtl = ushll/sshll #0 alias', apply: (s) => s.replace(/^([us])shll(2?) (\S+), (\S+), #0$/, '$1xtl$2 $3, $4') },
  // A-profile MRS/MSR: objdump says CPSR, Capstone says APSR for the same encoding (ARM ARM B9.3.8/9).
  { kind: 'mrs/msr apsr alias of cpsr', apply: (s) => s.replace(/^(mrs\w* \w+, )apsr\b/, '$1cpsr').replace(/^(msr\w* )apsr(_\w+)?/, '$1cpsr$2') },
];

/** Applies every rule; adds the kinds that changed something to `touched`. */
function normalise(text: string, arch: Arch, touched: Set<string>): string {
  let s = text;
  for (const rule of RULES) {
    const next = rule.apply(s, arch);
    if (next !== s) touched.add(rule.kind);
    s = next;
  }
  return s;
}

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
