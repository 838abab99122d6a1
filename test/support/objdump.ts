// objdump as the reference reader for disassembly checks, and the normaliser that maps its text and
// Capstone's onto one form. The rules are the whole list of differences we accept; callers count which
// rules fired, so a rule that hides a real disagreement shows up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Arch } from '../../src/arch';
import type { ElfFile } from '../../src/symbols';

export function tool(candidates: string[]): string | undefined {
  return candidates.find((c) => spawnSync('which', [c]).status === 0);
}

export interface ObjdumpLine { address: bigint; hexGroups: string[]; text: string }

export function objdump(elf: ElfFile): ObjdumpLine[] {
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
export const RULES: { kind: string; apply: (s: string, arch: Arch) => string }[] = [
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
export function normalise(text: string, arch: Arch, touched: Set<string>): string {
  let s = text;
  for (const rule of RULES) {
    const next = rule.apply(s, arch);
    if (next !== s) touched.add(rule.kind);
    s = next;
  }
  return s;
}

