// DWARF .debug_line reader (versions 2-5) and the address <-> source-line table built from it.
// Runs each unit's line-number program (DWARF 5 section 6.2) and flattens the rows into sorted
// [address, next address) intervals, so lineAt(pc) is a binary search: it runs on the recorder's hot path.
import { posix } from 'node:path';
import { BootscopeError, ErrorCode } from '../common/errors';
import { ByteCursor, DwarfFormatError, type FormContext, type FormValue, readForm } from './dwarf-forms';
import { type CompileUnitPaths, readCompileUnitPaths } from './dwarf-info';
import type { ElfFile } from './elf';

export interface SourceLocation {
  /** Full path as recorded by the compiler (directory resolved against DW_AT_comp_dir). */
  readonly file: string;
  readonly line: number;
  /** 0 when the compiler gave no column. */
  readonly column: number;
}

/** The DWARF sections of one image that the line table reads; absent sections are undefined. */
export interface DwarfSections {
  /** Names the image in error messages (the ELF path). */
  readonly label: string;
  readonly debugLine?: Uint8Array;
  readonly debugInfo?: Uint8Array;
  readonly debugAbbrev?: Uint8Array;
  readonly debugStr?: Uint8Array;
  readonly debugLineStr?: Uint8Array;
  readonly debugStrOffsets?: Uint8Array;
}

/** One row of the line-number matrix after the state machine ran (DWARF 5 section 6.2.2). */
interface LineRow {
  readonly address: bigint;
  readonly fileId: number;
  readonly line: number;
  readonly column: number;
  readonly isStmt: boolean;
}

// Standard opcodes (DWARF 5 section 6.2.5.2) and extended opcodes (6.2.5.3).
const DW_LNS_copy = 1, DW_LNS_advance_pc = 2, DW_LNS_advance_line = 3, DW_LNS_set_file = 4, DW_LNS_set_column = 5,
  DW_LNS_negate_stmt = 6, DW_LNS_set_basic_block = 7, DW_LNS_const_add_pc = 8, DW_LNS_fixed_advance_pc = 9,
  DW_LNS_set_prologue_end = 10, DW_LNS_set_epilogue_begin = 11, DW_LNS_set_isa = 12;
const DW_LNE_end_sequence = 1, DW_LNE_set_address = 2, DW_LNE_define_file = 3, DW_LNE_set_discriminator = 4;
// Content types of DWARF 5 directory/file entry formats (section 6.2.4.1).
const DW_LNCT_path = 1, DW_LNCT_directory_index = 2;

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

/** `name` resolved against `dir` the way addr2line and gdb do (an absolute name ignores dir). */
function joinPath(dir: string | undefined, name: string): string {
  if (isAbsolutePath(name) || !dir) return name;
  if (/^[A-Za-z]:[\\/]/.test(dir)) return `${dir.replace(/[\\/]+$/, '')}\\${name}`; // built on Windows
  return posix.normalize(`${dir}/${name}`);
}

/** Decodes every line program in .debug_line, calling `sequence` once per address sequence. */
class LineProgramReader {
  constructor(
    private readonly debugLine: Uint8Array,
    private readonly debugStr: Uint8Array | undefined,
    private readonly debugLineStr: Uint8Array | undefined,
    private readonly unitPaths: ReadonlyMap<number, CompileUnitPaths>,
    private readonly internFile: (path: string) => number,
  ) {}

  readAll(sequence: (rows: LineRow[], end: bigint) => void): void {
    const c = new ByteCursor(this.debugLine);
    while (!c.atEnd) this.readUnit(c, sequence);
  }

  private readUnit(c: ByteCursor, sequence: (rows: LineRow[], end: bigint) => void): void {
    const unitOffset = c.offset;
    let unitLength = c.u32();
    let offsetSize: 4 | 8 = 4;
    if (unitLength === 0xffffffff) { unitLength = c.u64Number(); offsetSize = 8; }
    const unitEnd = c.offset + unitLength;
    if (unitEnd > this.debugLine.length) {
      throw new DwarfFormatError(`line program at offset ${unitOffset} has length ${unitLength}, past the end of .debug_line (${this.debugLine.length} bytes)`);
    }
    const version = c.u16();
    if (version < 2 || version > 5) throw new DwarfFormatError(`line program at offset ${unitOffset} has unsupported version ${version}`);
    let addressSize = 0;
    if (version >= 5) {
      addressSize = c.u8();
      c.u8(); // segment_selector_size
    }
    const headerLength = c.offsetOf(offsetSize);
    const programStart = c.offset + headerLength;
    const minInstructionLength = c.u8();
    if (version >= 4) c.u8(); // maximum_operations_per_instruction: 1 on every non-VLIW target
    const defaultIsStmt = c.u8() !== 0;
    const lineBase = c.i8();
    const lineRange = c.u8();
    const opcodeBase = c.u8();
    if (lineRange === 0) throw new DwarfFormatError(`line program at offset ${unitOffset} has line_range 0`);
    const standardOpcodeLengths: number[] = [0];
    for (let i = 1; i < opcodeBase; i++) standardOpcodeLengths.push(c.u8());

    const unit = this.unitPaths.get(unitOffset);
    const ctx: FormContext = { version, offsetSize, addressSize, debugStr: this.debugStr, debugLineStr: this.debugLineStr };
    // fileIds[i] is the interned full path of the i-th file register value.
    const fileIds: number[] = [];
    const directories: string[] = [];
    if (version >= 5) {
      // DWARF 5: directory 0 is the compilation directory and file 0 the primary source file.
      const readEntries = (): Map<number, FormValue>[] => {
        const formatCount = c.u8();
        const format: [number, number][] = [];
        for (let i = 0; i < formatCount; i++) format.push([c.uleb(), c.uleb()]);
        const count = c.uleb();
        const entries: Map<number, FormValue>[] = [];
        for (let i = 0; i < count; i++) {
          const entry = new Map<number, FormValue>();
          const entryStart = c.offset;
          for (const [contentType, form] of format) entry.set(contentType, readForm(c, form, ctx));
          // An entry that takes no bytes (corrupt format) would let a huge count spin without end.
          if (c.offset === entryStart) throw new DwarfFormatError(`line program at offset ${unitOffset}: empty directory/file entry format with ${count} entries`);
          entries.push(entry);
        }
        return entries;
      };
      const compDir = unit?.compDir;
      for (const d of readEntries()) {
        const path = d.get(DW_LNCT_path);
        const dir = typeof path === 'string' ? path : '';
        // Entry 0 is DW_AT_comp_dir itself (DWARF 5 section 6.2.4.1), so it is not joined to it again;
        // gcc writes it relative (`guest`) under -ffile-prefix-map, like addr2line we keep it so.
        directories.push(directories.length === 0 ? (dir || compDir || '') : joinPath(directories[0], dir));
      }
      for (const f of readEntries()) {
        const path = f.get(DW_LNCT_path);
        const dirIndex = f.get(DW_LNCT_directory_index);
        const dir = directories[typeof dirIndex === 'bigint' ? Number(dirIndex) : 0];
        fileIds.push(this.internFile(joinPath(dir, typeof path === 'string' ? path : '<unknown>')));
      }
    } else {
      // DWARF 2-4: include_directories then file_names, each list ended by an empty string; index 0
      // (the compilation directory / primary file) is implicit, so the file register starts at 1.
      const compDir = unit?.compDir;
      directories.push(compDir ?? '');
      for (let d = c.cString(); d !== ''; d = c.cString()) directories.push(joinPath(compDir, d));
      fileIds.push(this.internFile(unit?.name ? joinPath(compDir, unit.name) : '<unknown>'));
      for (let name = c.cString(); name !== ''; name = c.cString()) {
        const dirIndex = c.uleb();
        c.uleb(); // modification time
        c.uleb(); // length
        fileIds.push(this.internFile(joinPath(directories[dirIndex], name)));
      }
    }

    c.offset = programStart;
    const program = new ByteCursor(this.debugLine, programStart, unitEnd);
    const addressMask = (1n << BigInt(8 * (addressSize || 8))) - 1n;
    const minLength = BigInt(minInstructionLength);
    let rows: LineRow[] = [];
    // State-machine registers (DWARF 5 table 6.4).
    let address = 0n, file = 1, line = 1, column = 0, isStmt = defaultIsStmt;
    const reset = (): void => { address = 0n; file = 1; line = 1; column = 0; isStmt = defaultIsStmt; };
    const emit = (): void => {
      rows.push({ address, fileId: fileIds[file] ?? this.internFile('<unknown>'), line, column, isStmt });
    };
    while (!program.atEnd) {
      const opcode = program.u8();
      if (opcode >= opcodeBase) {
        const adjusted = opcode - opcodeBase;
        address = (address + BigInt(Math.floor(adjusted / lineRange)) * minLength) & addressMask;
        line += lineBase + (adjusted % lineRange);
        emit();
        continue;
      }
      switch (opcode) {
        case 0: { // extended opcode
          const length = program.uleb();
          const end = program.offset + length;
          if (length === 0) break;
          const sub = program.u8();
          if (sub === DW_LNE_end_sequence) {
            if (rows.length > 0) sequence(rows, address);
            rows = [];
            reset();
          } else if (sub === DW_LNE_set_address) {
            address = program.address(length - 1);
          } else if (sub === DW_LNE_define_file) {
            const name = program.cString();
            const dirIndex = program.uleb();
            fileIds.push(this.internFile(joinPath(directories[dirIndex], name)));
          } else if (sub !== DW_LNE_set_discriminator) {
            // Vendor extension: its length tells how far to skip.
          }
          program.offset = end;
          break;
        }
        case DW_LNS_copy: emit(); break;
        case DW_LNS_advance_pc: address = (address + program.ulebBig() * minLength) & addressMask; break;
        case DW_LNS_advance_line: line += program.sleb(); break;
        case DW_LNS_set_file: file = program.uleb(); break;
        case DW_LNS_set_column: column = program.uleb(); break;
        case DW_LNS_negate_stmt: isStmt = !isStmt; break;
        case DW_LNS_set_basic_block: case DW_LNS_set_prologue_end: case DW_LNS_set_epilogue_begin: break;
        case DW_LNS_const_add_pc:
          address = (address + BigInt(Math.floor((255 - opcodeBase) / lineRange)) * minLength) & addressMask;
          break;
        case DW_LNS_fixed_advance_pc: address = (address + BigInt(program.u16())) & addressMask; break;
        case DW_LNS_set_isa: program.uleb(); break;
        default:
          // An opcode this reader does not know: skip its ULEB operands (the header says how many).
          for (let i = 0; i < (standardOpcodeLengths[opcode] ?? 0); i++) program.uleb();
      }
    }
    c.offset = unitEnd;
  }
}

/** Sorted address -> line intervals plus the is_stmt entry points per line, for one or more ELFs. */
export class LineTable {
  // Parallel arrays, sorted by start: interval i covers [starts[i], ends[i]).
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];
  private readonly fileIds: number[] = [];
  private readonly lines: number[] = [];
  private readonly columns: number[] = [];
  private readonly paths: string[] = [];
  private readonly pathIds = new Map<string, number>();
  /** line number -> [fileId, address] of is_stmt rows where that line is entered. */
  private readonly entries = new Map<number, { fileId: number; address: bigint }[]>();
  private readonly filesWithRows = new Set<number>();
  private lastHit = -1;

  private constructor() {}

  /** A table for one ELF; empty when the file has no .debug_line. */
  static fromElf(elf: ElfFile): LineTable {
    return LineTable.fromElfs([elf]);
  }

  /**
   * One table over several ELFs. Where their ranges overlap, the earlier ELF in the list wins (its
   * intervals sort first at equal start addresses).
   */
  static fromElfs(elfs: readonly ElfFile[]): LineTable {
    return LineTable.fromSections(elfs.map((elf) => {
      const data = (name: string): Uint8Array | undefined => {
        const s = elf.section(name);
        return s ? elf.sectionData(s) : undefined;
      };
      return {
        label: elf.path,
        debugLine: data('.debug_line'),
        debugInfo: data('.debug_info'),
        debugAbbrev: data('.debug_abbrev'),
        debugStr: data('.debug_str'),
        debugLineStr: data('.debug_line_str'),
        debugStrOffsets: data('.debug_str_offsets'),
      };
    }));
  }

  /** One table from raw DWARF sections (one entry per image; `label` names it in errors). */
  static fromSections(images: readonly DwarfSections[]): LineTable {
    const table = new LineTable();
    const intervals: { start: bigint; end: bigint; fileId: number; line: number; column: number; order: number }[] = [];
    for (const image of images) {
      if (!image.debugLine) continue;
      try {
        const unitPaths = new Map<number, CompileUnitPaths>();
        if (image.debugInfo && image.debugAbbrev) {
          for (const u of readCompileUnitPaths({ ...image, debugInfo: image.debugInfo, debugAbbrev: image.debugAbbrev })) unitPaths.set(u.stmtList, u);
        }
        const reader = new LineProgramReader(image.debugLine, image.debugStr, image.debugLineStr, unitPaths, (p) => table.internPath(p));
        reader.readAll((rows, sequenceEnd) => {
          for (let i = 0; i < rows.length; i++) {
            const row = rows[i];
            const next = i + 1 < rows.length ? rows[i + 1].address : sequenceEnd;
            // Several rows at one address: the last one describes the instruction there (earlier rows
            // are zero-length, e.g. a line with no code of its own).
            if (next > row.address) {
              intervals.push({ start: row.address, end: next, fileId: row.fileId, line: row.line, column: row.column, order: intervals.length });
            }
            table.filesWithRows.add(row.fileId);
            const previous = i > 0 ? rows[i - 1] : undefined;
            if (row.isStmt && (!previous || previous.line !== row.line || previous.fileId !== row.fileId)) {
              let list = table.entries.get(row.line);
              if (!list) table.entries.set(row.line, list = []);
              list.push({ fileId: row.fileId, address: row.address });
            }
          }
        });
      } catch (e) {
        if (e instanceof DwarfFormatError) {
          throw new BootscopeError(ErrorCode.Symbols, `${image.label}: corrupt DWARF line information: ${e.message}. Rebuild the image with -g, or leave it out of the symbol files.`);
        }
        throw e;
      }
    }
    intervals.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.order - b.order));
    for (const iv of intervals) {
      table.starts.push(iv.start);
      table.ends.push(iv.end);
      table.fileIds.push(iv.fileId);
      table.lines.push(iv.line);
      table.columns.push(iv.column);
    }
    return table;
  }

  private internPath(path: string): number {
    let id = this.pathIds.get(path);
    if (id === undefined) {
      id = this.paths.length;
      this.paths.push(path);
      this.pathIds.set(path, id);
    }
    return id;
  }

  /** Number of address intervals (rows with a non-empty range). */
  get size(): number { return this.starts.length; }

  /** Full paths of every source file that has at least one row, sorted. */
  get files(): string[] {
    return [...this.filesWithRows].map((id) => this.paths[id]).sort();
  }

  /** Source location of the instruction at `pc`, or undefined when no row covers it. O(log n). */
  lineAt(pc: bigint | number): SourceLocation | undefined {
    const a = typeof pc === 'bigint' ? pc : BigInt(pc);
    const i = this.indexAt(a);
    return i < 0 ? undefined : { file: this.paths[this.fileIds[i]], line: this.lines[i], column: this.columns[i] };
  }

  private indexAt(a: bigint): number {
    const last = this.lastHit;
    if (last >= 0 && a >= this.starts[last] && a < this.ends[last]) return last;
    const starts = this.starts;
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= a) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    // Overlapping sequences (rare: duplicated inline copies, several ELFs) can hide a covering interval
    // just before the last one that starts at or below pc; look back a few entries.
    for (let i = found; i >= 0 && i > found - 8; i--) {
      if (a < this.ends[i] && a >= starts[i]) { this.lastHit = i; return i; }
    }
    return -1;
  }

  /**
   * Addresses where `line` of `file` begins: the is_stmt rows that enter the line (a row directly after
   * a row of the same file and line is not an entry). `file` matches a recorded path by its longest
   * common trailing path components, at least the basename: an exact full path wins over a suffix
   * match, so `boot.c`, `src/boot.c` and `/elsewhere/src/boot.c` all find `/build/src/boot.c`.
   * Sorted ascending, without duplicates; empty when the line has no code.
   */
  addressesFor(file: string, line: number): bigint[] {
    const list = this.entries.get(line);
    if (!list) return [];
    const fileIds = this.matchFiles(file);
    const addresses = new Set<bigint>();
    for (const e of list) if (fileIds.has(e.fileId)) addresses.add(e.address);
    return [...addresses].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  }

  /** Ids of the recorded paths that best match `file` (see addressesFor). */
  private matchFiles(file: string): Set<number> {
    const query = splitPath(file);
    let best = 0;
    let ids = new Set<number>();
    for (const id of this.filesWithRows) {
      const parts = splitPath(this.paths[id]);
      let common = 0;
      while (common < query.length && common < parts.length && query[query.length - 1 - common] === parts[parts.length - 1 - common]) common++;
      if (common === 0) continue;
      if (common > best) { best = common; ids = new Set([id]); } else if (common === best) ids.add(id);
    }
    return ids;
  }
}

function splitPath(p: string): string[] {
  return p.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
}
