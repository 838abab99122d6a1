// ELF32/ELF64 little-endian reader: header, section headers, program headers, .symtab/.dynsym, and the
// bytes behind a virtual address (for disassembly without a target). Every read is bounds-checked so a
// truncated or foreign file fails with a BootscopeError(ErrorCode.Symbols) naming the file, never a RangeError.
import { readFileSync } from 'node:fs';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';

/** Machines the rest of Bootscope knows; anything else is reported by its e_machine number. */
export type ElfMachine = 'arm' | 'aarch64' | 'x86' | 'x86_64' | 'riscv' | `em${number}`;

const MACHINE_NAMES: Readonly<Record<number, ElfMachine>> = { 3: 'x86', 40: 'arm', 62: 'x86_64', 183: 'aarch64', 243: 'riscv' };

/** Section header types (ELF gABI, "Sections"). */
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
/** Section flags. */
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
/** Program header type of a loadable segment. */
export const PT_LOAD = 1;
/** Special section indices a symbol can carry instead of a real section. */
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_XINDEX = 0xffff;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  /** sh_flags (the low 32 bits: every flag Bootscope looks at lives there). */
  readonly flags: number;
  readonly addr: bigint;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
}

export interface ElfSegment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: bigint;
  readonly paddr: bigint;
  readonly filesz: number;
  readonly memsz: number;
}

export type ElfSymbolType = 'notype' | 'object' | 'func' | 'section' | 'file' | 'other';
export type ElfSymbolBinding = 'local' | 'global' | 'weak' | 'other';

export interface ElfSymbol {
  readonly name: string;
  /** st_value as stored: for ARM Thumb functions bit 0 is still set here (SymbolTable clears it). */
  readonly value: bigint;
  readonly size: number;
  readonly type: ElfSymbolType;
  readonly binding: ElfSymbolBinding;
  /** st_shndx (SHN_UNDEF, SHN_ABS, or the index into `sections`). */
  readonly sectionIndex: number;
  /** Which table it came from. */
  readonly table: '.symtab' | '.dynsym';
}

const SYMBOL_TYPES: readonly ElfSymbolType[] = ['notype', 'object', 'func', 'section', 'file'];
const SYMBOL_BINDINGS: readonly ElfSymbolBinding[] = ['local', 'global', 'weak'];

/** Thrown inside the reader when a structure points outside the file; turned into a BootscopeError by read(). */
class TruncatedElf extends Error {}

/** Little-endian view over the file with checks that name the structure being read. */
class LittleEndianFile {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.bytes.length) {
      throw new TruncatedElf(`${what} at offset ${offset} (+${length} bytes) lies beyond the end of the file (${this.bytes.length} bytes)`);
    }
  }
  u8(o: number, what: string): number { this.need(o, 1, what); return this.view.getUint8(o); }
  u16(o: number, what: string): number { this.need(o, 2, what); return this.view.getUint16(o, true); }
  u32(o: number, what: string): number { this.need(o, 4, what); return this.view.getUint32(o, true); }
  u64(o: number, what: string): bigint { this.need(o, 8, what); return this.view.getBigUint64(o, true); }
  /** A file offset or size stored in 64 bits: must fit a JS number to be usable at all. */
  u64Number(o: number, what: string): number {
    const v = this.u64(o, what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TruncatedElf(`${what} is 0x${v.toString(16)}, larger than any file`);
    return Number(v);
  }
  slice(offset: number, length: number, what: string): Uint8Array {
    this.need(offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }
  /** NUL-terminated string inside [tableStart, tableEnd). */
  cString(tableStart: number, tableEnd: number, index: number, what: string): string {
    const start = tableStart + index;
    if (index < 0 || start >= tableEnd) throw new TruncatedElf(`${what}: string index ${index} is outside its string table`);
    let end = start;
    while (end < tableEnd && this.bytes[end] !== 0) end++;
    return new TextDecoder().decode(this.bytes.subarray(start, end));
  }
}

export class ElfFile {
  private constructor(
    /** Path it was read from, or '<buffer>'; used in every error message. */
    readonly path: string,
    readonly bytes: Uint8Array,
    readonly elfClass: 32 | 64,
    readonly machine: ElfMachine,
    /** e_machine as a number, for machines without a name here. */
    readonly machineNumber: number,
    /** e_flags (for ARM: EABI version, float ABI). */
    readonly flags: number,
    readonly entry: bigint,
    readonly sections: readonly ElfSection[],
    readonly segments: readonly ElfSegment[],
    readonly symbols: readonly ElfSymbol[],
  ) {}

  /**
   * Reads an ELF file from disk or from bytes already in memory. `name` labels errors for a Buffer.
   * Throws BootscopeError(ErrorCode.Symbols) for a missing file, a non-ELF, a big-endian or unknown class,
   * or any table that points outside the file.
   */
  static read(source: string | Uint8Array, name?: string): ElfFile {
    const label = typeof source === 'string' ? source : (name ?? '<buffer>');
    let bytes: Uint8Array;
    if (typeof source === 'string') {
      try {
        bytes = readFileSync(source);
      } catch (e) {
        throw new BootscopeError(ErrorCode.Symbols, `${label}: cannot read the ELF file (${errorMessage(e)}); check the path in the configuration.`, { cause: e });
      }
    } else {
      bytes = source;
    }
    // A plain Uint8Array view even for a Buffer, so `slice` copies (Buffer#slice would alias).
    bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      return ElfFile.parse(label, bytes);
    } catch (e) {
      if (e instanceof BootscopeError) throw e;
      if (e instanceof TruncatedElf) {
        throw new BootscopeError(ErrorCode.Symbols, `${label}: truncated or corrupt ELF: ${e.message}.`);
      }
      throw new BootscopeError(ErrorCode.Symbols, `${label}: could not read the ELF file: ${errorMessage(e)}`, { cause: e });
    }
  }

  private static parse(label: string, bytes: Uint8Array): ElfFile {
    const fail = (what: string): never => { throw new BootscopeError(ErrorCode.Symbols, `${label}: ${what}`); };
    if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
      fail('not an ELF file (no \\x7fELF magic at offset 0); give the linked image with symbols, not a raw .bin.');
    }
    const cls = bytes[4];
    if (cls !== 1 && cls !== 2) fail(`unsupported ELF class ${cls} (expected 1 = ELF32 or 2 = ELF64).`);
    if (bytes[5] !== 1) fail(`unsupported data encoding ${bytes[5]}: only little-endian ELF (EI_DATA = 1) is supported.`);
    const is64 = cls === 2;
    const f = new LittleEndianFile(bytes);
    const addr = (o: number, what: string): bigint => (is64 ? f.u64(o, what) : BigInt(f.u32(o, what)));
    const word = (o: number, what: string): number => (is64 ? f.u64Number(o, what) : f.u32(o, what));
    const A = is64 ? 8 : 4; // address/offset width

    const machineNumber = f.u16(18, 'e_machine');
    const entry = addr(24, 'e_entry');
    const phoff = word(24 + A, 'e_phoff');
    const shoff = word(24 + 2 * A, 'e_shoff');
    const flagsOffset = 24 + 3 * A;
    const flags = f.u32(flagsOffset, 'e_flags');
    const phentsize = f.u16(flagsOffset + 6, 'e_phentsize');
    const phnum = f.u16(flagsOffset + 8, 'e_phnum');
    const shentsize = f.u16(flagsOffset + 10, 'e_shentsize');
    let shnum = f.u16(flagsOffset + 12, 'e_shnum');
    let shstrndx = f.u16(flagsOffset + 14, 'e_shstrndx');

    // Extended numbering (gABI): with many sections, the real counts live in section header 0.
    if (shoff !== 0 && (shnum === 0 || shstrndx === SHN_XINDEX)) {
      if (shnum === 0) shnum = word(shoff + (is64 ? 32 : 20), 'section header 0 sh_size');
      if (shstrndx === SHN_XINDEX) shstrndx = f.u32(shoff + (is64 ? 40 : 24), 'section header 0 sh_link');
    }

    const segments: ElfSegment[] = [];
    if (phoff !== 0 && phnum > 0) {
      if (phentsize < (is64 ? 56 : 32)) fail(`e_phentsize ${phentsize} is too small for ELF${is64 ? 64 : 32}.`);
      for (let i = 0; i < phnum; i++) {
        const o = phoff + i * phentsize;
        const what = `program header ${i}`;
        segments.push(is64
          ? { type: f.u32(o, what), flags: f.u32(o + 4, what), offset: f.u64Number(o + 8, what), vaddr: f.u64(o + 16, what), paddr: f.u64(o + 24, what), filesz: f.u64Number(o + 32, what), memsz: f.u64Number(o + 40, what) }
          : { type: f.u32(o, what), offset: f.u32(o + 4, what), vaddr: BigInt(f.u32(o + 8, what)), paddr: BigInt(f.u32(o + 12, what)), filesz: f.u32(o + 16, what), memsz: f.u32(o + 20, what), flags: f.u32(o + 24, what) });
      }
    }

    const raw: Omit<ElfSection, 'name'>[] = [];
    const nameOffsets: number[] = [];
    if (shoff !== 0 && shnum > 0) {
      if (shentsize < (is64 ? 64 : 40)) fail(`e_shentsize ${shentsize} is too small for ELF${is64 ? 64 : 32}.`);
      if (shnum > 65536 * 4) fail(`claims ${shnum} sections, more than any real image.`);
      for (let i = 0; i < shnum; i++) {
        const o = shoff + i * shentsize;
        const what = `section header ${i}`;
        nameOffsets.push(f.u32(o, what));
        raw.push(is64
          ? { index: i, type: f.u32(o + 4, what), flags: Number(f.u64(o + 8, what) & 0xffffffffn), addr: f.u64(o + 16, what), offset: f.u64Number(o + 24, what), size: f.u64Number(o + 32, what), link: f.u32(o + 40, what), info: f.u32(o + 44, what), entsize: f.u64Number(o + 56, what) }
          : { index: i, type: f.u32(o + 4, what), flags: f.u32(o + 8, what), addr: BigInt(f.u32(o + 12, what)), offset: f.u32(o + 16, what), size: f.u32(o + 20, what), link: f.u32(o + 24, what), info: f.u32(o + 28, what), entsize: f.u32(o + 36, what) });
      }
    }
    const stringTable = (index: number, what: string): { start: number; end: number } => {
      const s = raw[index];
      if (!s) throw new TruncatedElf(`${what} refers to section ${index}, but there are only ${raw.length} sections`);
      f.slice(s.offset, s.size, `${what} (section ${index})`);
      return { start: s.offset, end: s.offset + s.size };
    };
    let sections: ElfSection[] = raw.map((s) => ({ ...s, name: '' }));
    if (raw.length > 0 && shstrndx !== SHN_UNDEF) {
      const names = stringTable(shstrndx, 'e_shstrndx');
      sections = raw.map((s, i) => ({ ...s, name: f.cString(names.start, names.end, nameOffsets[i] ?? 0, `name of section ${i}`) }));
    }

    const symbols: ElfSymbol[] = [];
    for (const table of sections.filter((s) => s.type === SHT_SYMTAB || s.type === SHT_DYNSYM)) {
      const tableName = table.type === SHT_SYMTAB ? '.symtab' : '.dynsym';
      const entsize = table.entsize || (is64 ? 24 : 16);
      if (entsize < (is64 ? 24 : 16)) fail(`${table.name}: symbol entry size ${entsize} is too small.`);
      f.slice(table.offset, table.size, `${table.name} (section ${table.index})`);
      const strings = stringTable(table.link, `${table.name} sh_link`);
      const count = Math.floor(table.size / entsize);
      for (let i = 1; i < count; i++) { // entry 0 is the reserved null symbol
        const o = table.offset + i * entsize;
        const what = `${table.name} entry ${i}`;
        const nameIndex = f.u32(o, what);
        let info: number, shndx: number, value: bigint, size: number;
        if (is64) {
          info = f.u8(o + 4, what); shndx = f.u16(o + 6, what); value = f.u64(o + 8, what); size = f.u64Number(o + 16, what);
        } else {
          value = BigInt(f.u32(o + 4, what)); size = f.u32(o + 8, what); info = f.u8(o + 12, what); shndx = f.u16(o + 14, what);
        }
        symbols.push({
          name: f.cString(strings.start, strings.end, nameIndex, what),
          value,
          size,
          type: SYMBOL_TYPES[info & 0xf] ?? 'other',
          binding: SYMBOL_BINDINGS[info >> 4] ?? 'other',
          sectionIndex: shndx,
          table: tableName,
        });
      }
    }

    return new ElfFile(label, bytes, is64 ? 64 : 32, MACHINE_NAMES[machineNumber] ?? `em${machineNumber}`, machineNumber, flags, entry, sections, segments, symbols);
  }

  /** The first section with this name (e.g. '.debug_line'), if any. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The file bytes of a section (empty for NOBITS). Throws BootscopeError if the section runs past the end. */
  sectionData(section: ElfSection): Uint8Array {
    if (section.type === SHT_NOBITS) return new Uint8Array(0);
    if (section.offset + section.size > this.bytes.length) {
      throw new BootscopeError(ErrorCode.Symbols, `${this.path}: section ${section.name || section.index} (offset ${section.offset}, ${section.size} bytes) runs past the end of the file (${this.bytes.length} bytes): the file is truncated.`);
    }
    return this.bytes.subarray(section.offset, section.offset + section.size);
  }

  /**
   * `length` bytes at virtual address `vaddr` as the image holds them on disk: from allocated PROGBITS
   * sections, or from PT_LOAD segments when the file has no section headers. Undefined when the range is
   * not entirely backed by file bytes of a single section/segment (e.g. .bss, or a gap).
   */
  readAt(vaddr: bigint | number, length: number): Uint8Array | undefined {
    const start = BigInt(vaddr);
    const end = start + BigInt(length);
    for (const s of this.sections) {
      if (s.type !== SHT_PROGBITS || (s.flags & SHF_ALLOC) === 0) continue;
      if (start >= s.addr && end <= s.addr + BigInt(s.size)) {
        const o = s.offset + Number(start - s.addr);
        return o + length <= this.bytes.length ? this.bytes.slice(o, o + length) : undefined;
      }
    }
    if (this.sections.length === 0) {
      for (const p of this.segments) {
        if (p.type !== PT_LOAD) continue;
        if (start >= p.vaddr && end <= p.vaddr + BigInt(p.filesz)) {
          const o = p.offset + Number(start - p.vaddr);
          return o + length <= this.bytes.length ? this.bytes.slice(o, o + length) : undefined;
        }
      }
    }
    return undefined;
  }
}
