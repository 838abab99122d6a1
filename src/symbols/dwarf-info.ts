// Reads just enough of .debug_info to resolve line-table paths: for each compile unit, its
// DW_AT_stmt_list (offset of its line program), DW_AT_comp_dir and DW_AT_name. DWARF 4 line programs
// only say "directory 0 = the compilation directory" (DWARF 4 section 6.2.4 item 12), which lives here.
import { ByteCursor, DwarfFormatError, Form, type FormContext, type FormValue, readForm, stringAt } from './dwarf-forms';

export interface CompileUnitPaths {
  /** Offset of the unit's line program in .debug_line. */
  readonly stmtList: number;
  readonly compDir?: string;
  readonly name?: string;
}

const DW_AT_name = 0x03;
const DW_AT_stmt_list = 0x10;
const DW_AT_comp_dir = 0x1b;
const DW_AT_str_offsets_base = 0x72;
const DW_UT_compile = 0x01;
const DW_UT_partial = 0x03;
const DW_UT_skeleton = 0x04;
const DW_UT_split_compile = 0x05;

interface AbbrevAttribute { readonly name: number; readonly form: number; readonly implicitConst: number }

/** The attribute list of abbreviation `code` in the table at `offset` of .debug_abbrev. */
function findAbbrev(debugAbbrev: Uint8Array, offset: number, code: number): AbbrevAttribute[] | undefined {
  const c = new ByteCursor(debugAbbrev, offset);
  for (;;) {
    const entryCode = c.uleb();
    if (entryCode === 0) return undefined;
    c.uleb(); // tag
    c.u8(); // has children
    const attributes: AbbrevAttribute[] = [];
    for (;;) {
      const name = c.uleb();
      const form = c.uleb();
      if (name === 0 && form === 0) break;
      attributes.push({ name, form, implicitConst: form === Form.implicit_const ? c.sleb() : 0 });
    }
    if (entryCode === code) return attributes;
  }
}

export interface DebugInfoSections {
  readonly debugInfo: Uint8Array;
  readonly debugAbbrev: Uint8Array;
  readonly debugStr?: Uint8Array;
  readonly debugLineStr?: Uint8Array;
  readonly debugStrOffsets?: Uint8Array;
}

/** One entry per compile/partial unit that has a line program. Throws DwarfFormatError on corrupt data. */
export function readCompileUnitPaths(s: DebugInfoSections): CompileUnitPaths[] {
  const units: CompileUnitPaths[] = [];
  const c = new ByteCursor(s.debugInfo);
  while (!c.atEnd) {
    const unitStart = c.offset;
    let unitLength = c.u32();
    let offsetSize: 4 | 8 = 4;
    if (unitLength === 0xffffffff) { unitLength = c.u64Number(); offsetSize = 8; }
    const unitEnd = c.offset + unitLength;
    if (unitLength === 0 || unitEnd > s.debugInfo.length) {
      throw new DwarfFormatError(`.debug_info unit at offset ${unitStart} has length ${unitLength}, past the end of the section`);
    }
    const version = c.u16();
    let unitType = DW_UT_compile;
    let addressSize: number;
    let abbrevOffset: number;
    if (version >= 5) {
      unitType = c.u8();
      addressSize = c.u8();
      abbrevOffset = c.offsetOf(offsetSize);
      if (unitType === DW_UT_skeleton || unitType === DW_UT_split_compile) c.skip(8); // dwo_id
      else if (unitType !== DW_UT_compile && unitType !== DW_UT_partial) { c.offset = unitEnd; continue; } // type units
    } else if (version >= 2) {
      abbrevOffset = c.offsetOf(offsetSize);
      addressSize = c.u8();
    } else {
      throw new DwarfFormatError(`.debug_info unit at offset ${unitStart} has unsupported version ${version}`);
    }
    const ctx: FormContext = { version, offsetSize, addressSize, debugStr: s.debugStr, debugLineStr: s.debugLineStr };
    const die = new ByteCursor(s.debugInfo, c.offset, unitEnd);
    const code = die.uleb();
    const attributes = code === 0 ? undefined : findAbbrev(s.debugAbbrev, abbrevOffset, code);
    if (attributes) {
      const values = new Map<number, FormValue>();
      for (const a of attributes) values.set(a.name, readForm(die, a.form, ctx, a.implicitConst));
      const stmtList = values.get(DW_AT_stmt_list);
      if (typeof stmtList === 'bigint') {
        const base = values.get(DW_AT_str_offsets_base);
        const text = (v: FormValue | undefined): string | undefined => {
          if (typeof v === 'string') return v;
          if (v && typeof v === 'object' && 'strIndex' in v && s.debugStrOffsets) {
            // DWARF 5 section 7.26: entries of offset size, starting at DW_AT_str_offsets_base.
            const at = (typeof base === 'bigint' ? Number(base) : 8) + v.strIndex * offsetSize;
            const oc = new ByteCursor(s.debugStrOffsets, at);
            return stringAt(s.debugStr, oc.offsetOf(offsetSize), '.debug_str');
          }
          return undefined;
        };
        units.push({ stmtList: Number(stmtList), compDir: text(values.get(DW_AT_comp_dir)), name: text(values.get(DW_AT_name)) });
      }
    }
    c.offset = unitEnd;
  }
  return units;
}
