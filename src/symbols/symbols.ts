// Symbols and source lines of every ELF of a boot (e.g. bootloader + kernel) behind one lookup surface:
// what the recorder asks for each stepped instruction (function name, source line) and what the adapter
// asks for breakpoints and the Disassembly view.
import { ElfFile } from './elf';
import { LineTable, type SourceLocation } from './dwarf-line';
import { type CodeKind, type FunctionSymbol, isMappingSymbol, SymbolTable } from './symbol-table';

/** What the recorder writes as function_name when no symbol covers the pc (seed section 4.1 filters on it). */
export const UNKNOWN_FUNCTION = 'unknown';

/** Symbols and source lines of several ELFs behind one lookup surface. */
export class ProgramSymbols {
  constructor(
    readonly elfs: readonly ElfFile[],
    readonly functions: SymbolTable,
    readonly lines: LineTable,
  ) {}

  functionAt(pc: bigint | number): FunctionSymbol | undefined { return this.functions.functionAt(pc); }
  /** Function name for the trace: the covering symbol's name or UNKNOWN_FUNCTION. */
  functionNameAt(pc: bigint | number): string { return this.functions.functionAt(pc)?.name ?? UNKNOWN_FUNCTION; }
  lookup(name: string): bigint | undefined { return this.functions.lookup(name); }
  /** Start and size of the function or label range called `name` (stage rules by symbol), or undefined. */
  functionExtent(name: string): { start: bigint; size: bigint } | undefined {
    const f = this.functions.functionNamed(name);
    return f && { start: f.start, size: BigInt(f.size) };
  }
  codeKindAt(address: bigint | number): CodeKind | undefined { return this.functions.codeKindAt(address); }
  lineAt(pc: bigint | number): SourceLocation | undefined { return this.lines.lineAt(pc); }
  addressesFor(file: string, line: number): bigint[] { return this.lines.addressesFor(file, line); }
  /**
   * Breakpoint addresses for a source line: addressesFor() reduced to the lowest address per covering
   * function (a loop header line has entries for its test and its increment; a debugger user means the
   * first). Entries outside any function are kept as they are.
   */
  breakpointAddressesFor(file: string, line: number): bigint[] {
    const seen = new Set<string>();
    const out: bigint[] = [];
    for (const a of this.lines.addressesFor(file, line)) {
      const f = this.functions.functionAt(a);
      const key = f ? `${f.elf}:${f.start}` : `@${a}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(a);
    }
    return out;
  }
  get files(): string[] { return this.lines.files; }
  /** Bytes at a virtual address from the first ELF whose file backs the whole range. */
  readAt(vaddr: bigint | number, length: number): Uint8Array | undefined {
    for (const elf of this.elfs) {
      const bytes = elf.readAt(vaddr, length);
      if (bytes) return bytes;
    }
    return undefined;
  }
}

/**
 * Reads every ELF and combines their symbols and line tables; where ranges overlap, the earlier file
 * wins. Throws BootscopeError(ErrorCode.Symbols) naming the first file that cannot be read.
 */
export function loadSymbols(elfPaths: readonly string[]): ProgramSymbols {
  return symbolsOf(elfPaths.map((p) => ElfFile.read(p)));
}

/** Combines ELFs already read (the session reads them itself first, to check each one's architecture). */
export function symbolsOf(elfs: readonly ElfFile[]): ProgramSymbols {
  return new ProgramSymbols(elfs, SymbolTable.fromElfs(elfs), LineTable.fromElfs(elfs));
}

/**
 * True when the ELF names no code (run through `strip`, or linked with -s; ARM mapping symbols such as `$a`
 * do not count): every pc then
 * records as UNKNOWN_FUNCTION and no function can be named in stopAt or a stage.
 */
export function isStripped(elf: ElfFile): boolean {
  return !elf.symbols.some((s) => (s.type === 'func' || s.type === 'notype') && s.name !== '' && !isMappingSymbol(s.name));
}

/** The architecture an ELF's e_machine says it is for, in the names RecordingConfig uses. */
export function archOfElf(elf: ElfFile): 'arm' | 'aarch64' | undefined {
  return elf.machine === 'arm' || elf.machine === 'aarch64' ? elf.machine : undefined;
}

/** The name the recorder uses for the combined symbols. */
export type Symbols = ProgramSymbols;
