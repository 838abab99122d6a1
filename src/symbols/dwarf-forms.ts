// Byte cursor and attribute-form decoding shared by the DWARF readers (.debug_line headers and the
// .debug_info compile-unit DIE). DWARF 5 section 7.5.6 lists the forms; every read is bounds-checked and
// throws DwarfFormatError, which the callers turn into a BootscopeError naming the ELF file.

/** A structural problem in DWARF data (truncated section, unknown form, bad length). */
export class DwarfFormatError extends Error {}

export class ByteCursor {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, public offset = 0, readonly end = bytes.length) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.offset + n > this.end) {
      throw new DwarfFormatError(`read of ${n} bytes at offset ${this.offset} runs past the end (${this.end})`);
    }
  }
  get atEnd(): boolean { return this.offset >= this.end; }

  u8(): number { this.need(1); return this.view.getUint8(this.offset++); }
  i8(): number { this.need(1); return this.view.getInt8(this.offset++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.offset, true); this.offset += 2; return v; }
  u24(): number { const lo = this.u16(); return lo | (this.u8() << 16); }
  u32(): number { this.need(4); const v = this.view.getUint32(this.offset, true); this.offset += 4; return v; }
  u64(): bigint { this.need(8); const v = this.view.getBigUint64(this.offset, true); this.offset += 8; return v; }
  /** A u64 used as an offset or count: must fit a JS number. */
  u64Number(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DwarfFormatError(`64-bit value 0x${v.toString(16)} is too large`);
    return Number(v);
  }
  /** A section offset of the unit's offset size (4 for 32-bit DWARF, 8 for 64-bit DWARF). */
  offsetOf(offsetSize: 4 | 8): number { return offsetSize === 4 ? this.u32() : this.u64Number(); }
  /** A target address of `size` bytes (DW_LNE_set_address, DW_FORM_addr). */
  address(size: number): bigint {
    switch (size) {
      case 1: return BigInt(this.u8());
      case 2: return BigInt(this.u16());
      case 4: return BigInt(this.u32());
      case 8: return this.u64();
      default: throw new DwarfFormatError(`unsupported address size ${size}`);
    }
  }

  /** Unsigned LEB128 (DWARF 5 section 7.6) as a number; values past 2^53 are rejected. */
  uleb(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) break;
      scale *= 128;
      if (scale > 2 ** 63) throw new DwarfFormatError(`ULEB128 at offset ${this.offset} is longer than 64 bits`);
    }
    if (!Number.isSafeInteger(result)) throw new DwarfFormatError(`ULEB128 value ${result} is too large`);
    return result;
  }

  /** Unsigned LEB128 as a bigint (operands of DW_LNS_advance_pc on 64-bit targets can be large). */
  ulebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.u8();
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) return result;
      if (shift > 70n) throw new DwarfFormatError(`ULEB128 at offset ${this.offset} is longer than 64 bits`);
    }
  }

  /** Signed LEB128. */
  sleb(): number {
    let result = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = this.u8();
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if (scale > 2 ** 70) throw new DwarfFormatError(`SLEB128 at offset ${this.offset} is longer than 64 bits`);
    } while (byte & 0x80);
    if (byte & 0x40) result -= scale;
    return result;
  }

  cString(): string {
    let end = this.offset;
    while (end < this.end && this.bytes[end] !== 0) end++;
    if (end >= this.end) throw new DwarfFormatError(`unterminated string at offset ${this.offset}`);
    const s = decodeUtf8(this.bytes.subarray(this.offset, end));
    this.offset = end + 1;
    return s;
  }

  skip(n: number): void { this.need(n); this.offset += n; }
  take(n: number): Uint8Array { this.need(n); const b = this.bytes.subarray(this.offset, this.offset + n); this.offset += n; return b; }
}

const utf8 = new TextDecoder();
export function decodeUtf8(bytes: Uint8Array): string { return utf8.decode(bytes); }

/** NUL-terminated string at `offset` in a string section (.debug_str, .debug_line_str). */
export function stringAt(section: Uint8Array | undefined, offset: number, sectionName: string): string {
  if (!section) throw new DwarfFormatError(`a string refers to ${sectionName}, which the file does not have`);
  if (offset < 0 || offset >= section.length) throw new DwarfFormatError(`string offset ${offset} is outside ${sectionName} (${section.length} bytes)`);
  let end = offset;
  while (end < section.length && section[end] !== 0) end++;
  return decodeUtf8(section.subarray(offset, end));
}

/** DW_FORM_* codes (DWARF 5 table 7.6, plus the GNU extensions gcc emits). */
export enum Form {
  addr = 0x01, block2 = 0x03, block4 = 0x04, data2 = 0x05, data4 = 0x06, data8 = 0x07, string = 0x08,
  block = 0x09, block1 = 0x0a, data1 = 0x0b, flag = 0x0c, sdata = 0x0d, strp = 0x0e, udata = 0x0f,
  ref_addr = 0x10, ref1 = 0x11, ref2 = 0x12, ref4 = 0x13, ref8 = 0x14, ref_udata = 0x15, indirect = 0x16,
  sec_offset = 0x17, exprloc = 0x18, flag_present = 0x19, strx = 0x1a, addrx = 0x1b, ref_sup4 = 0x1c,
  strp_sup = 0x1d, data16 = 0x1e, line_strp = 0x1f, ref_sig8 = 0x20, implicit_const = 0x21,
  loclistx = 0x22, rnglistx = 0x23, ref_sup8 = 0x24, strx1 = 0x25, strx2 = 0x26, strx3 = 0x27, strx4 = 0x28,
  addrx1 = 0x29, addrx2 = 0x2a, addrx3 = 0x2b, addrx4 = 0x2c,
  GNU_addr_index = 0x1f01, GNU_str_index = 0x1f02, GNU_ref_alt = 0x1f20, GNU_strp_alt = 0x1f21,
}

/** What a unit needs to decode its forms. */
export interface FormContext {
  readonly version: number;
  readonly offsetSize: 4 | 8;
  readonly addressSize: number;
  readonly debugStr?: Uint8Array;
  readonly debugLineStr?: Uint8Array;
}

/**
 * A decoded attribute value: a string (string/strp/line_strp), a number (constants, offsets, addresses;
 * bigint because addresses can be 64-bit), an index into .debug_str_offsets (strx*, resolved by the
 * caller once it knows DW_AT_str_offsets_base), raw bytes (blocks, data16 such as MD5), or true (flags).
 */
export type FormValue = string | bigint | { readonly strIndex: number } | Uint8Array | boolean;

export function readForm(c: ByteCursor, form: number, ctx: FormContext, implicitConst = 0): FormValue {
  switch (form) {
    case Form.addr: return c.address(ctx.addressSize);
    case Form.block1: return c.take(c.u8());
    case Form.block2: return c.take(c.u16());
    case Form.block4: return c.take(c.u32());
    case Form.block: case Form.exprloc: return c.take(c.uleb());
    case Form.data1: case Form.ref1: return BigInt(c.u8());
    case Form.data2: case Form.ref2: return BigInt(c.u16());
    case Form.data4: case Form.ref4: case Form.ref_sup4: return BigInt(c.u32());
    case Form.data8: case Form.ref8: case Form.ref_sig8: case Form.ref_sup8: return c.u64();
    case Form.data16: return c.take(16);
    case Form.string: return c.cString();
    case Form.flag: return c.u8() !== 0;
    case Form.flag_present: return true;
    case Form.sdata: return BigInt(c.sleb());
    case Form.udata: case Form.ref_udata: case Form.loclistx: case Form.rnglistx: case Form.addrx: case Form.GNU_addr_index:
      return c.ulebBig();
    case Form.strp: return stringAt(ctx.debugStr, c.offsetOf(ctx.offsetSize), '.debug_str');
    case Form.line_strp: return stringAt(ctx.debugLineStr, c.offsetOf(ctx.offsetSize), '.debug_line_str');
    case Form.ref_addr: return BigInt(ctx.version <= 2 ? Number(c.address(ctx.addressSize)) : c.offsetOf(ctx.offsetSize));
    case Form.sec_offset: case Form.strp_sup: case Form.GNU_ref_alt: case Form.GNU_strp_alt:
      return BigInt(c.offsetOf(ctx.offsetSize));
    case Form.strx: case Form.GNU_str_index: return { strIndex: c.uleb() };
    case Form.strx1: return { strIndex: c.u8() };
    case Form.strx2: return { strIndex: c.u16() };
    case Form.strx3: return { strIndex: c.u24() };
    case Form.strx4: return { strIndex: c.u32() };
    case Form.addrx1: return BigInt(c.u8());
    case Form.addrx2: return BigInt(c.u16());
    case Form.addrx3: return BigInt(c.u24());
    case Form.addrx4: return BigInt(c.u32());
    case Form.implicit_const: return BigInt(implicitConst);
    case Form.indirect: {
      const actual = c.uleb();
      if (actual === Form.indirect) throw new DwarfFormatError('DW_FORM_indirect pointing to itself');
      return readForm(c, actual, ctx, implicitConst);
    }
    default:
      throw new DwarfFormatError(`unknown attribute form 0x${form.toString(16)}`);
  }
}
