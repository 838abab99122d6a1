// The DWARF line-table reader: hand-assembled line programs that reach the encodings gcc does not emit
// here (DWARF 5 DW_FORM_string paths and DW_FORM_data16 MD5, 64-bit DWARF, a reduced opcode_base,
// DW_LNE_define_file, default_is_stmt 0), then the fixture ELFs (DWARF 4 and 5 of the same sources must
// give the same table) and the error contract for corrupt data.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootscopeError, ErrorCode } from '../../src/common/errors';
import { ElfFile, LineTable } from '../../src/symbols';

const FIXTURES = join(__dirname, '..', 'fixtures', 'elf');

/** Little-endian byte builder for hand-assembled DWARF. */
class Bytes {
  readonly out: number[] = [];
  u8(...v: number[]): this { for (const b of v) this.out.push(b & 0xff); return this; }
  u16(v: number): this { return this.u8(v, v >> 8); }
  u32(v: number): this { return this.u8(v, v >> 8, v >> 16, v >>> 24); }
  u64(v: bigint): this { for (let i = 0n; i < 8n; i++) this.u8(Number((v >> (8n * i)) & 0xffn)); return this; }
  uleb(v: number): this { do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; this.u8(b); } while (v); return this; }
  sleb(v: number): this {
    for (;;) { const b = v & 0x7f; v >>= 7; const done = (v === 0 && !(b & 0x40)) || (v === -1 && (b & 0x40)); this.u8(done ? b : b | 0x80); if (done) return this; }
  }
  str(s: string): this { for (const c of Buffer.from(s, 'utf8')) this.u8(c); return this.u8(0); }
  bytes(b: Bytes | number[]): this { this.out.push(...(b instanceof Bytes ? b.out : b)); return this; }
  get length(): number { return this.out.length; }
  toArray(): Uint8Array { return Uint8Array.from(this.out); }
}

/** DWARF 5, 32-bit, address size 8: directories and files with DW_FORM_string, udata and data16 (MD5). */
function dwarf5LineProgram(directory0 = '/build'): Uint8Array {
  const header = new Bytes()
    .u8(4, 1, 1) // minimum_instruction_length 4, maximum_operations_per_instruction 1, default_is_stmt 1
    .u8(-5 & 0xff, 14, 13) // line_base -5, line_range 14, opcode_base 13
    .u8(0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1) // standard_opcode_lengths
    .u8(1).uleb(1).uleb(0x08) // directory format: (DW_LNCT_path, DW_FORM_string)
    .uleb(2).str(directory0).str('lib')
    .u8(3).uleb(1).uleb(0x08).uleb(2).uleb(0x0f).uleb(5).uleb(0x1e) // path string, dir udata, MD5 data16
    .uleb(3)
    .str('main.c').uleb(0).bytes(new Array(16).fill(0xaa))
    .str('util.c').uleb(1).bytes(new Array(16).fill(0xbb))
    .str('/abs/other.h').uleb(0).bytes(new Array(16).fill(0xcc));
  const program = new Bytes()
    .u8(0).uleb(9).u8(2).u64(0x1000n) // DW_LNE_set_address 0x1000
    .u8(4).uleb(0) // set_file 0 (main.c: DWARF 5 indexes the file table directly)
    .u8(3).sleb(9) // advance_line -> 10
    .u8(1) // copy: 0x1000 main.c:10
    .u8(33) // special: address += 1*4, line += 1 -> 0x1004 main.c:11
    .u8(8) // const_add_pc: address += 17*4 -> 0x1048
    .u8(4).uleb(1) // set_file 1 (lib/util.c)
    .u8(3).sleb(-5) // line 6
    .u8(1) // 0x1048 util.c:6
    .u8(6) // negate_stmt -> not a statement
    .u8(9).u16(8) // fixed_advance_pc 8 -> 0x1050
    .u8(1) // 0x1050 util.c:6 (not is_stmt)
    .u8(6) // negate_stmt -> statement again
    .u8(2).uleb(2) // advance_pc 2*4 -> 0x1058
    .u8(3).sleb(1) // line 7
    .u8(1) // 0x1058 util.c:7
    .u8(2).uleb(1) // -> 0x105c
    .u8(0).uleb(1).u8(1) // end_sequence at 0x105c
    .u8(0).uleb(9).u8(2).u64(0x2000n) // second sequence at 0x2000
    .u8(4).uleb(2) // /abs/other.h
    .u8(3).sleb(99) // line 100
    .u8(1) // 0x2000 other.h:100
    .u8(0).uleb(2).u8(4).uleb(5) // DW_LNE_set_discriminator 5
    .u8(46) // special: address += 2*4, line += 0 -> 0x2008 other.h:100
    .u8(2).uleb(1) // -> 0x200c
    .u8(0).uleb(1).u8(1); // end_sequence
  const afterLength = new Bytes().u16(5).u8(8, 0).u32(header.length).bytes(header).bytes(program);
  return new Bytes().u32(afterLength.length).bytes(afterLength).toArray();
}

/**
 * DWARF 4 in the 64-bit format (unit_length 0xffffffff), address size 4, opcode_base 10 (so opcode 10 is
 * already special), default_is_stmt 0, DW_LNE_define_file; plus a .debug_info compile unit that gives
 * DW_AT_comp_dir /work/proj (DWARF 4 directory 0 lives there).
 */
function dwarf4Sections(): { debugLine: Uint8Array; debugInfo: Uint8Array; debugAbbrev: Uint8Array } {
  const header = new Bytes()
    .u8(2, 1, 0) // minimum_instruction_length 2, max ops 1, default_is_stmt 0
    .u8(-3 & 0xff, 12, 10) // line_base -3, line_range 12, opcode_base 10
    .u8(0, 1, 1, 1, 1, 0, 0, 0, 1) // standard_opcode_lengths for opcodes 1..9
    .str('inc').str('/usr/include').u8(0)
    .str('start.S').uleb(0).uleb(0).uleb(0)
    .str('regs.h').uleb(1).uleb(0).uleb(0)
    .str('types.h').uleb(2).uleb(0).uleb(0)
    .u8(0);
  const program = new Bytes()
    .u8(0).uleb(5).u8(2).u32(0x8000) // set_address 0x8000
    .u8(3).sleb(4) // line 5
    .u8(1) // 0x8000 start.S:5, not is_stmt (default_is_stmt 0)
    .u8(6) // negate_stmt -> statement
    .u8(10) // special opcode 10: address += 0, line += -3 -> 0x8000 start.S:2 (replaces the row above)
    .u8(4).uleb(2) // set_file 2 (regs.h)
    .u8(26) // special: address += 1*2, line += 1 -> 0x8002 regs.h:3
    .u8(0).uleb(8).u8(3).str('x.c').uleb(1).uleb(0).uleb(0) // DW_LNE_define_file x.c in inc -> file 4
    .u8(4).uleb(4)
    .u8(25) // address += 2, line += 0 -> 0x8004 inc/x.c:3
    .u8(4).uleb(3) // types.h in /usr/include
    .u8(25) // 0x8006 /usr/include/types.h:3
    .u8(2).uleb(1) // -> 0x8008
    .u8(0).uleb(1).u8(1); // end_sequence
  const afterLength = new Bytes().u16(4).u64(BigInt(header.length)).bytes(header).bytes(program);
  const debugLine = new Bytes().u32(0xffffffff).u64(BigInt(afterLength.length)).bytes(afterLength).toArray();
  return { debugLine, ...compileUnit('start.S', '/work/proj') };
}

/** .debug_info + .debug_abbrev for one DWARF 4 compile unit whose line program is at offset 0. */
function compileUnit(name: string, compDir: string): { debugInfo: Uint8Array; debugAbbrev: Uint8Array } {
  const debugAbbrev = new Bytes()
    .uleb(1).uleb(0x11).u8(0) // code 1: DW_TAG_compile_unit, no children
    .uleb(0x03).uleb(0x08) // DW_AT_name, DW_FORM_string
    .uleb(0x1b).uleb(0x08) // DW_AT_comp_dir, DW_FORM_string
    .uleb(0x10).uleb(0x17) // DW_AT_stmt_list, DW_FORM_sec_offset
    .uleb(0).uleb(0).uleb(0).toArray();
  const cu = new Bytes().u16(4).u32(0).u8(4).uleb(1).str(name).str(compDir).u32(0);
  return { debugInfo: new Bytes().u32(cu.length).bytes(cu).toArray(), debugAbbrev };
}

const at = (t: LineTable, pc: number): string | undefined => {
  const l = t.lineAt(pc);
  return l && `${l.file}:${l.line}`;
};

describe('LineTable: hand-assembled DWARF 5', () => {
  const table = LineTable.fromSections([{ label: 'synthetic5', debugLine: dwarf5LineProgram() }]);

  test('rows map address ranges to files resolved against directory 0 or their own directory', () => {
    assert.equal(at(table, 0x1000), '/build/main.c:10');
    assert.equal(at(table, 0x1003), '/build/main.c:10');
    assert.equal(at(table, 0x1004), '/build/main.c:11');
    assert.equal(at(table, 0x1047), '/build/main.c:11');
    assert.equal(at(table, 0x1048), '/build/lib/util.c:6');
    assert.equal(at(table, 0x1050), '/build/lib/util.c:6');
    assert.equal(at(table, 0x1058), '/build/lib/util.c:7');
    assert.equal(at(table, 0x2000), '/abs/other.h:100');
    assert.equal(at(table, 0x200b), '/abs/other.h:100');
  });

  test('addresses outside every sequence have no line', () => {
    assert.equal(table.lineAt(0xfff), undefined);
    assert.equal(table.lineAt(0x105c), undefined, 'end_sequence address is exclusive');
    assert.equal(table.lineAt(0x1fff), undefined);
    assert.equal(table.lineAt(0x200c), undefined);
  });

  test('addressesFor returns only is_stmt rows that enter the line', () => {
    assert.deepEqual(table.addressesFor('util.c', 6), [0x1048n]);
    assert.deepEqual(table.addressesFor('other.h', 100), [0x2000n]);
    assert.deepEqual(table.addressesFor('main.c', 11), [0x1004n]);
  });

  test('files lists every file with rows', () => {
    assert.deepEqual(table.files, ['/abs/other.h', '/build/lib/util.c', '/build/main.c']);
  });

  test('a relative directory 0 is the comp_dir itself and is not joined to DW_AT_comp_dir again', () => {
    // gcc -ffile-prefix-map=$PWD=guest writes DW_AT_comp_dir "guest" and directory 0 "guest".
    const relative = LineTable.fromSections([{ label: 'rel', debugLine: dwarf5LineProgram('guest'), ...compileUnit('main.c', 'guest') }]);
    assert.equal(at(relative, 0x1000), 'guest/main.c:10');
    assert.equal(at(relative, 0x1048), 'guest/lib/util.c:6');
  });
});

describe('LineTable: hand-assembled 64-bit DWARF 4 with a compile unit', () => {
  const table = LineTable.fromSections([{ label: 'synthetic4', ...dwarf4Sections() }]);

  test('relative directories resolve against DW_AT_comp_dir, absolute ones stay', () => {
    assert.equal(at(table, 0x8000), '/work/proj/start.S:2', 'the later row at the same address wins');
    assert.equal(at(table, 0x8002), '/work/proj/inc/regs.h:3');
    assert.equal(at(table, 0x8004), '/work/proj/inc/x.c:3', 'DW_LNE_define_file adds a file');
    assert.equal(at(table, 0x8006), '/usr/include/types.h:3');
    assert.equal(table.lineAt(0x8008), undefined);
  });

  test('default_is_stmt 0 keeps the first row out of addressesFor', () => {
    assert.deepEqual(table.addressesFor('start.S', 5), []);
    assert.deepEqual(table.addressesFor('start.S', 2), [0x8000n]);
  });

  test('without .debug_info the relative paths stay relative', () => {
    const bare = LineTable.fromSections([{ label: 'bare', debugLine: dwarf4Sections().debugLine }]);
    assert.equal(at(bare, 0x8002), 'inc/regs.h:3');
  });
});

describe('LineTable: file matching for addressesFor', () => {
  const table = LineTable.fromSections([{ label: 'synthetic4', ...dwarf4Sections() }]);
  test('basename, suffix and full path all match', () => {
    assert.deepEqual(table.addressesFor('types.h', 3), [0x8006n]);
    assert.deepEqual(table.addressesFor('/usr/include/types.h', 3), [0x8006n]);
    assert.deepEqual(table.addressesFor('inc/x.c', 3), [0x8004n]);
  });
  test('a path from another checkout matches by its longest common suffix', () => {
    assert.deepEqual(table.addressesFor('/home/me/proj/inc/regs.h', 3), [0x8002n]);
  });
  test('Windows separators match too', () => {
    assert.deepEqual(table.addressesFor('inc\\regs.h', 3), [0x8002n]);
  });
  test('an unknown file or a line without code gives nothing', () => {
    assert.deepEqual(table.addressesFor('nope.c', 3), []);
    assert.deepEqual(table.addressesFor('regs.h', 4), []);
  });
});

describe('LineTable: fixture ELFs', () => {
  for (const arch of ['arm', 'aarch64']) {
    test(`${arch}: DWARF 4 and DWARF 5 builds of the same sources give the same line at every address`, () => {
      const v4 = LineTable.fromElf(ElfFile.read(join(FIXTURES, `${arch}-dwarf4.elf`)));
      const v5 = LineTable.fromElf(ElfFile.read(join(FIXTURES, `${arch}-dwarf5.elf`)));
      const text = ElfFile.read(join(FIXTURES, `${arch}-dwarf4.elf`)).section('.text')!;
      let covered = 0;
      for (let a = text.addr; a < text.addr + BigInt(text.size); a += 2n) {
        assert.deepEqual(v5.lineAt(a), v4.lineAt(a), `0x${a.toString(16)}`);
        if (v4.lineAt(a)) covered++;
      }
      assert.ok(covered > 100, `only ${covered} addresses had a line`);
      assert.deepEqual(v5.files, v4.files);
    });
  }

  test('files are full paths under the mapped comp_dir, headers included', () => {
    const t = LineTable.fromElf(ElfFile.read(join(FIXTURES, 'arm-dwarf5.elf')));
    assert.deepEqual(t.files, [
      '/bootscope-fixtures/src/boot.c',
      '/bootscope-fixtures/src/count.c',
      '/bootscope-fixtures/src/include/checksum.h',
      '/bootscope-fixtures/src/start-arm.S',
    ]);
  });

  test('an ELF without .debug_line gives an empty table', () => {
    const bytes = Uint8Array.from(readFileSync(join(FIXTURES, 'arm-dwarf4.elf')));
    const elf = ElfFile.read(bytes, 'stripped');
    const withoutLines = LineTable.fromSections([{ label: 'stripped', debugInfo: elf.sectionData(elf.section('.debug_info')!) }]);
    assert.equal(withoutLines.size, 0);
    assert.equal(withoutLines.lineAt(0x10000), undefined);
  });

  test('lineAt throughput (figure in the diagnostics)', (t) => {
    const table = LineTable.fromElf(ElfFile.read(join(FIXTURES, 'aarch64-dwarf5.elf')));
    const addresses: bigint[] = [];
    for (let a = 0x40000000n; a < 0x40000200n; a += 4n) addresses.push(a);
    const count = 500_000;
    const start = process.hrtime.bigint();
    let found = 0;
    for (let i = 0; i < count; i++) if (table.lineAt(addresses[(i * 7) % addresses.length])) found++;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    t.diagnostic(`lineAt: ${Math.round(count / seconds).toLocaleString('en')} lookups/s (addresses jumping around, ${table.size} intervals)`);
    assert.ok(found > count / 2);
  });
});

describe('LineTable: corrupt data', () => {
  test('a unit length past the end names the image', () => {
    const broken = dwarf5LineProgram();
    broken[0] = 0xff; broken[1] = 0xff; broken[2] = 0; // unit_length 0xffff, far past the end
    assert.throws(() => LineTable.fromSections([{ label: 'broken.elf', debugLine: broken }]), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, ErrorCode.Symbols);
      assert.match(e.message, /broken\.elf: corrupt DWARF line information: .*past the end/);
      return true;
    });
  });

  test('an unsupported version is named', () => {
    const broken = dwarf5LineProgram();
    broken[4] = 9;
    assert.throws(() => LineTable.fromSections([{ label: 'v9.elf', debugLine: broken }]), /v9\.elf: .*unsupported version 9/);
  });

  test('every truncation of a line program fails cleanly or reads a prefix', () => {
    const full = dwarf5LineProgram();
    for (let n = 1; n < full.length; n++) {
      try {
        LineTable.fromSections([{ label: `cut-${n}`, debugLine: full.subarray(0, n) }]);
      } catch (e) {
        assert.ok(e instanceof BootscopeError, `cut at ${n}: ${String(e)}`);
      }
    }
  });
});
