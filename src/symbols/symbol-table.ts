// Function lookup by address over the ELF symbol tables: the recorder calls functionAt(pc) for every
// stepped instruction (seed schema: instruction_trace.function_name, 'unknown' when nothing covers the
// pc), so lookups are a binary search over a sorted array behind a one-entry "same function" cache.
import { type ElfFile, type ElfSymbol, SHF_ALLOC, SHF_EXECINSTR, SHN_ABS, SHN_LORESERVE } from './elf';

export interface FunctionSymbol {
  readonly name: string;
  /** First address (for ARM Thumb functions: with the Thumb bit cleared). */
  readonly start: bigint;
  /** Bytes covered: st_size for sized functions, the inferred extent for labels (see SymbolTable). */
  readonly size: number;
  /** start + size. */
  readonly end: bigint;
  /** 'function': a sized FUNC symbol; 'label': a size-0 symbol whose extent was inferred. */
  readonly kind: 'function' | 'label';
  /** AArch32 only: the code at `start` is Thumb (odd FUNC address, or a $t mapping symbol). */
  readonly thumb: boolean;
  /** The ELF file that defined it. */
  readonly elf: string;
}

/** Instruction set of the bytes at an address, from ARM mapping symbols ($a, $t, $x, $d; AAELF32 5.5.5). */
export type CodeKind = 'arm' | 'thumb' | 'a64' | 'data';

interface Candidate {
  readonly name: string;
  readonly start: bigint;
  readonly size: number;
  readonly isFunc: boolean;
  readonly rank: number; // binding preference: global 0, weak 1, local 2
  readonly sectionEnd: bigint;
  readonly sectionKey: string; // elf path + section index: labels never extend into another section
  readonly thumbBit: boolean;
  readonly elf: string;
  readonly order: number;
}

interface Mapping { readonly start: bigint; readonly sectionEnd: bigint; readonly kind: CodeKind }

/** ARM/AArch64 mapping symbols: `$a`, `$t`, `$d`, `$x`, optionally followed by `.anything`. */
export function isMappingSymbol(name: string): boolean {
  return /^\$[atdx](\.|$)/.test(name);
}

const BINDING_RANK = { global: 0, weak: 1, local: 2, other: 3 } as const;
/** How far functionAt looks back past the nearest start for an enclosing range (nested/overlapping symbols). */
const LOOKBACK = 8;

/**
 * Function lookup over one or more ELFs. The rule for which symbol covers an address:
 * 1. Candidates are FUNC symbols and NOTYPE symbols (assembly labels) defined in executable sections
 *    (SHF_ALLOC|SHF_EXECINSTR), minus ARM mapping symbols, `.L` local labels and empty names; an ABS
 *    FUNC symbol counts only when it has a size.
 * 2. Symbols at the same address collapse to one: a sized FUNC beats a label, then global beats weak
 *    beats local, then the earlier ELF / table position wins.
 * 3. A sized FUNC covers [value, value + st_size). A size-0 symbol (a label such as `_start:` written
 *    without .size) covers from its address up to the next candidate's address in the same section, or
 *    to the end of that section; a label that lies inside a sized function is dropped (the function wins).
 * 4. Addresses in gaps (padding after a sized function, literal pools between functions that end before
 *    them, other sections) are covered by nothing: functionAt returns undefined ('unknown' in the trace).
 * On AArch32, FUNC symbols with bit 0 set are Thumb functions; the bit is cleared from start and name
 * lookups return the cleared address.
 */
export class SymbolTable {
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];
  private readonly symbols: FunctionSymbol[] = [];
  private readonly byName = new Map<string, { address: bigint; rank: number }>();
  private readonly mappings: Mapping[] = [];
  private last: FunctionSymbol | undefined;

  private constructor() {}

  static fromElf(elf: ElfFile): SymbolTable {
    return SymbolTable.fromElfs([elf]);
  }

  /** One table over several ELFs; at equal addresses the earlier ELF wins. */
  static fromElfs(elfs: readonly ElfFile[]): SymbolTable {
    const table = new SymbolTable();
    const candidates: Candidate[] = [];
    for (const elf of elfs) table.collect(elf, candidates);
    table.mappings.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    table.build(candidates);
    return table;
  }

  private collect(elf: ElfFile, out: Candidate[]): void {
    const isArm32 = elf.machine === 'arm';
    const isArm = isArm32 || elf.machine === 'aarch64';
    // Prefer the full .symtab; a stripped image may still have .dynsym.
    const hasSymtab = elf.symbols.some((s) => s.table === '.symtab');
    const symbols = elf.symbols.filter((s) => (hasSymtab ? s.table === '.symtab' : true));
    for (const s of symbols) {
      if (s.type === 'section' || s.type === 'file' || s.name === '') continue;
      const section = s.sectionIndex < SHN_LORESERVE ? elf.sections[s.sectionIndex] : undefined;
      const inCode = section !== undefined && s.sectionIndex !== 0 && (section.flags & (SHF_ALLOC | SHF_EXECINSTR)) === (SHF_ALLOC | SHF_EXECINSTR);
      if (isArm && isMappingSymbol(s.name)) {
        if (section && s.sectionIndex !== 0 && (section.flags & SHF_ALLOC) !== 0) {
          const kind: CodeKind = s.name[1] === 'a' ? 'arm' : s.name[1] === 't' ? 'thumb' : s.name[1] === 'x' ? 'a64' : 'data';
          this.mappings.push({ start: s.value, sectionEnd: section.addr + BigInt(section.size), kind });
        }
        continue;
      }
      const thumbBit = isArm32 && s.type === 'func' && (s.value & 1n) === 1n;
      const start = thumbBit ? s.value & ~1n : s.value;
      this.rememberName(s, start);
      if (s.name.startsWith('.L')) continue;
      const absFunc = s.sectionIndex === SHN_ABS && s.type === 'func' && s.size > 0;
      if (!(absFunc || (inCode && (s.type === 'func' || s.type === 'notype')))) continue;
      out.push({
        name: s.name,
        start,
        size: s.type === 'func' ? s.size : 0,
        isFunc: s.type === 'func',
        rank: BINDING_RANK[s.binding],
        sectionEnd: section && inCode ? section.addr + BigInt(section.size) : start + BigInt(s.size),
        sectionKey: `${elf.path}#${s.sectionIndex}`,
        thumbBit,
        elf: elf.path,
        order: out.length,
      });
    }
  }

  private rememberName(s: ElfSymbol, address: bigint): void {
    if (s.sectionIndex === 0 || s.type === 'section' || s.type === 'file') return;
    const rank = BINDING_RANK[s.binding];
    const known = this.byName.get(s.name);
    if (!known || rank < known.rank) this.byName.set(s.name, { address, rank });
  }

  private build(candidates: Candidate[]): void {
    candidates.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)
      || Number(b.isFunc && b.size > 0) - Number(a.isFunc && a.size > 0)
      || Number(b.isFunc) - Number(a.isFunc)
      || a.rank - b.rank
      || a.order - b.order);
    // Rule 2: one candidate per address.
    const unique = candidates.filter((c, i) => i === 0 || c.start !== candidates[i - 1].start);
    // Rule 3: drop labels inside a sized function (scan keeps the furthest end of sized functions seen).
    const kept: Candidate[] = [];
    let sizedEnd = -1n;
    let sizedKey = '';
    for (const c of unique) {
      const sized = c.size > 0;
      if (!sized && c.start < sizedEnd && c.sectionKey === sizedKey) continue;
      if (sized && c.start + BigInt(c.size) > sizedEnd) { sizedEnd = c.start + BigInt(c.size); sizedKey = c.sectionKey; }
      kept.push(c);
    }
    for (let i = 0; i < kept.length; i++) {
      const c = kept[i];
      let end: bigint;
      if (c.size > 0) {
        end = c.start + BigInt(c.size);
      } else {
        end = c.sectionEnd;
        for (let j = i + 1; j < kept.length; j++) {
          if (kept[j].sectionKey !== c.sectionKey) continue;
          if (kept[j].start > c.start) { end = kept[j].start < end ? kept[j].start : end; break; }
        }
        if (end <= c.start) continue; // a label at the very end of its section covers nothing
      }
      const thumb = c.thumbBit || this.mappingKindAt(c.start) === 'thumb';
      const symbol: FunctionSymbol = Object.freeze({ name: c.name, start: c.start, size: Number(end - c.start), end, kind: c.size > 0 ? 'function' : 'label', thumb, elf: c.elf });
      this.starts.push(c.start);
      this.ends.push(end);
      this.symbols.push(symbol);
    }
  }

  /** Number of address ranges in the table. */
  get size(): number { return this.symbols.length; }

  /** Every range, sorted by start address. */
  get functions(): readonly FunctionSymbol[] { return this.symbols; }

  /** The function or label covering `pc`, or undefined (the recorder writes 'unknown'). O(log n), O(1) when pc stays in the same function. */
  functionAt(pc: bigint | number): FunctionSymbol | undefined {
    const a = typeof pc === 'bigint' ? pc : BigInt(pc);
    const last = this.last;
    if (last !== undefined && a >= last.start && a < last.end) return last;
    const starts = this.starts;
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= a) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    for (let i = found; i >= 0 && i > found - LOOKBACK; i--) {
      if (a < this.ends[i]) { this.last = this.symbols[i]; return this.last; }
    }
    return undefined;
  }

  /** The function or label range named `name` (the one at lookup(name)), if it has a range of its own. */
  functionNamed(name: string): FunctionSymbol | undefined {
    const address = this.lookup(name);
    if (address === undefined) return undefined;
    const f = this.functionAt(address);
    return f && f.name === name && f.start === address ? f : undefined;
  }

  /** Address of a symbol by name (functions, labels, objects; Thumb bit cleared); global beats local. */
  lookup(name: string): bigint | undefined {
    return this.byName.get(name)?.address;
  }

  /** Instruction set at `address` from the mapping symbols, or undefined where there are none (non-ARM, stripped). */
  codeKindAt(address: bigint | number): CodeKind | undefined {
    return this.mappingKindAt(typeof address === 'bigint' ? address : BigInt(address));
  }

  private mappingKindAt(a: bigint): CodeKind | undefined {
    const m = this.mappings;
    let lo = 0, hi = m.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (m[mid].start <= a) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && a < m[found].sectionEnd ? m[found].kind : undefined;
  }
}
