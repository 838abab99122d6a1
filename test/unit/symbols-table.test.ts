// SymbolTable's covering rule on the fixture ELFs (sized functions, size-0 assembly labels, a label
// inside a sized function, a local alias of a global, ARM mapping symbols, the Thumb bit), the combined
// loadSymbols() over several ELFs, and the lookup rate the recorder's hot path gets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BootscopeError } from '../../src/common/errors';
import { ElfFile, isMappingSymbol, loadSymbols, SymbolTable, UNKNOWN_FUNCTION } from '../../src/symbols';

const FIXTURES = join(__dirname, '..', 'fixtures', 'elf');
const armTable = (): SymbolTable => SymbolTable.fromElf(ElfFile.read(join(FIXTURES, 'arm-dwarf4.elf')));
const a64Table = (): SymbolTable => SymbolTable.fromElf(ElfFile.read(join(FIXTURES, 'aarch64-dwarf5.elf')));
const nameAt = (t: SymbolTable, pc: bigint | number): string | undefined => t.functionAt(pc)?.name;

describe('SymbolTable: sized functions', () => {
  test('first byte, middle and last byte of classify are classify; one past the end is not', () => {
    const t = armTable();
    const f = t.functions.find((s) => s.name === 'classify')!;
    assert.equal(f.kind, 'function');
    assert.equal(nameAt(t, f.start), 'classify');
    assert.equal(nameAt(t, f.start + BigInt(f.size / 2)), 'classify');
    assert.equal(nameAt(t, f.end - 1n), 'classify');
    assert.notEqual(nameAt(t, f.end), 'classify');
  });

  test('a number pc works like a bigint pc', () => {
    const t = armTable();
    assert.equal(nameAt(t, 0x10104), nameAt(t, 0x10104n));
  });

  test('Thumb functions have the Thumb bit cleared and are flagged thumb', () => {
    const t = armTable();
    const f = t.functions.find((s) => s.name === 'thumb_count_matches')!;
    assert.equal(f.start % 2n, 0n);
    assert.equal(f.thumb, true);
    assert.equal(nameAt(t, f.start), 'thumb_count_matches');
    assert.equal(t.lookup('thumb_count_matches'), f.start);
    assert.equal(t.functions.find((s) => s.name === 'classify')!.thumb, false);
  });

  test('past the last function of .text and in .bss nothing covers the pc', () => {
    const elf = ElfFile.read(join(FIXTURES, 'arm-dwarf4.elf'));
    const t = SymbolTable.fromElf(elf);
    const text = elf.section('.text')!;
    assert.equal(t.functionAt(text.addr + BigInt(text.size) + 0x40n), undefined);
    assert.equal(t.functionAt(elf.section('.bss')!.addr), undefined);
    assert.equal(t.functionAt(0), undefined);
  });
});

describe('SymbolTable: assembly labels (size 0)', () => {
  test('a label covers up to the next symbol in its section', () => {
    for (const t of [armTable(), a64Table()]) {
      const start = t.functions.find((s) => s.name === '_start')!;
      const clear = t.functions.find((s) => s.name === 'clear_bss')!;
      assert.equal(start.kind, 'label');
      assert.equal(start.end, clear.start);
      assert.equal(nameAt(t, clear.start - 1n), '_start');
      assert.equal(nameAt(t, clear.start), 'clear_bss');
    }
  });

  test('the last label before a sized function stops at that function (halt then fill_words)', () => {
    const t = armTable();
    const halt = t.functions.find((s) => s.name === 'halt')!;
    assert.equal(halt.end, t.lookup('fill_words'));
  });

  test('a label inside a sized function does not split it', () => {
    for (const t of [armTable(), a64Table()]) {
      const fill = t.functions.find((s) => s.name === 'fill_words')!;
      assert.equal(fill.kind, 'function');
      assert.equal(t.functions.some((s) => s.name === 'fill_loop'), false);
      assert.equal(nameAt(t, t.lookup('fill_loop')!), 'fill_words');
    }
  });

  test('a local alias at the address of a global symbol loses to the global', () => {
    const t = armTable();
    assert.equal(nameAt(t, 0x10000n), '_start');
    assert.equal(t.lookup('reset_entry'), 0x10000n, 'the alias is still found by name');
  });
});

describe('SymbolTable: mapping symbols', () => {
  test('$a, $t, $d, $x and $d.foo are mapping symbols; names merely starting with $ are not', () => {
    for (const n of ['$a', '$t', '$d', '$x', '$d.realign', '$a.0']) assert.equal(isMappingSymbol(n), true, n);
    for (const n of ['$ab', 'a$', '$', '$b']) assert.equal(isMappingSymbol(n), false, n);
  });

  test('mapping symbols never become function names', () => {
    for (const t of [armTable(), a64Table()]) assert.equal(t.functions.some((s) => s.name.startsWith('$')), false);
  });

  test('codeKindAt reports ARM, Thumb and data from mapping symbols', () => {
    const t = armTable();
    assert.equal(t.codeKindAt(0x10000n), 'arm');
    assert.equal(t.codeKindAt(0x10034n), 'data', 'literal pool after halt');
    assert.equal(t.codeKindAt(t.lookup('thumb_mix_all')!), 'thumb');
    assert.equal(a64Table().codeKindAt(0x40000000n), 'a64');
  });
});

describe('SymbolTable: cache', () => {
  test('alternating between functions never returns the cached neighbour', () => {
    const t = armTable();
    const a = t.lookup('classify')!;
    const b = t.lookup('boot_main')!;
    for (let i = 0; i < 10; i++) {
      assert.equal(nameAt(t, a + 4n), 'classify');
      assert.equal(nameAt(t, b + 4n), 'boot_main');
      assert.equal(t.functionAt(0x100n), undefined);
    }
  });
});

describe('loadSymbols over several ELFs', () => {
  test('functions and lines of both images are found', () => {
    const s = loadSymbols([join(FIXTURES, 'arm-dwarf4.elf'), join(FIXTURES, 'aarch64-dwarf5.elf')]);
    assert.equal(s.functionNameAt(0x10000n), '_start');
    assert.equal(s.functionNameAt(s.lookup('boot_main')!), 'boot_main');
    assert.equal(s.functionNameAt(0x40000000n + 0x44n), 'fill_words');
    assert.equal(s.functionNameAt(0x5), UNKNOWN_FUNCTION);
    assert.match(s.lineAt(0x40000000n)!.file, /start-aarch64\.S$/);
    assert.match(s.lineAt(0x10000n)!.file, /start-arm\.S$/);
    assert.deepEqual([...s.readAt(0x10000n, 4)!], [0x02, 0xd7, 0xa0, 0xe3]);
  });

  test('functionExtent gives start and size of a function or label by name', () => {
    const s = loadSymbols([join(FIXTURES, 'arm-dwarf4.elf')]);
    assert.deepEqual(s.functionExtent('fill_words'), { start: 0x1003cn, size: 24n });
    assert.deepEqual(s.functionExtent('_start'), { start: 0x10000n, size: 0x14n });
    assert.equal(s.functionExtent('fill_loop'), undefined, 'a label inside a function has no range of its own');
    assert.equal(s.functionExtent('region'), undefined, 'data objects are not functions');
    assert.equal(s.functionExtent('nope'), undefined);
  });

  test('at equal addresses the earlier ELF wins', () => {
    const v4 = join(FIXTURES, 'arm-dwarf4.elf');
    const v5 = join(FIXTURES, 'arm-dwarf5.elf');
    assert.equal(loadSymbols([v4, v5]).functionAt(0x10000n)!.elf, v4);
    assert.equal(loadSymbols([v5, v4]).functionAt(0x10000n)!.elf, v5);
  });

  test('breakpointAddressesFor keeps the first entry of a line per function', () => {
    const s = loadSymbols([join(FIXTURES, 'arm-dwarf5.elf')]);
    const all = s.addressesFor('checksum.h', 7);
    const perFunction = s.breakpointAddressesFor('checksum.h', 7);
    assert.ok(perFunction.length >= 1);
    assert.ok(perFunction.length <= all.length);
    const owners = perFunction.map((a) => s.functionNameAt(a));
    assert.equal(new Set(owners).size, owners.length, `one address per function, got ${owners.join(', ')}`);
  });

  test('an unreadable file in the list fails naming it', () => {
    assert.throws(() => loadSymbols([join(FIXTURES, 'arm-dwarf4.elf'), join(FIXTURES, 'src', 'boot.c')]), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.match(e.message, /boot\.c: not an ELF file/);
      return true;
    });
  });
});

describe('SymbolTable: throughput', () => {
  test('functionAt rates for a step-like pc stream and for random jumps (figures in the diagnostics)', (t) => {
    // The cross toolchain's AArch64 glibc has thousands of functions (.dynsym); the fixture is the fallback.
    const big = '/usr/aarch64-linux-gnu/lib/libc.so.6';
    const table = existsSync(big) ? SymbolTable.fromElf(ElfFile.read(big)) : a64Table();
    const fns = table.functions;
    const count = 1_000_000;
    // Precomputed pcs, so the loop times lookups and not BigInt arithmetic.
    const stepping: bigint[] = []; // 16 instructions in each function, then the next one
    for (let i = 0; stepping.length < 65536; i++) {
      const f = fns[i % fns.length];
      for (let k = 0n; k < 16n && stepping.length < 65536; k++) stepping.push(f.start + (k * 4n) % BigInt(Math.max(4, f.size)));
    }
    const jumping = Array.from({ length: 65536 }, (_v, i) => fns[(i * 7919) % fns.length].start + 1n); // a different function every call
    const measure = (pcs: bigint[]): number => {
      const begin = process.hrtime.bigint();
      let named = 0;
      for (let i = 0; i < count; i++) if (table.functionAt(pcs[i & 0xffff])) named++;
      assert.equal(named, count, 'every pc lies in a function');
      return count / (Number(process.hrtime.bigint() - begin) / 1e9);
    };
    const steppingRate = measure(stepping);
    const jumpingRate = measure(jumping);
    t.diagnostic(`functionAt: ${Math.round(steppingRate).toLocaleString('en')} lookups/s stepping, ${Math.round(jumpingRate).toLocaleString('en')} lookups/s jumping (${table.size} ranges)`);
    assert.ok(jumpingRate > 100_000, `only ${jumpingRate} lookups/s`);
  });
});
