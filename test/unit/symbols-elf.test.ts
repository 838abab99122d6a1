// ElfFile against the committed fixture ELFs (test/fixtures/elf, rebuilt by its Makefile): header fields,
// sections, symbols and readAt; and the error contract: bad input gives BootscopeError(ErrorCode.Symbols)
// naming the file, never a RangeError, however the bytes are cut or corrupted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootscopeError, ErrorCode } from '../../src/common/errors';
import { ElfFile, LineTable, SymbolTable } from '../../src/symbols';

const FIXTURES = join(__dirname, '..', 'fixtures', 'elf');
const ARM = join(FIXTURES, 'arm-dwarf4.elf');
const A64 = join(FIXTURES, 'aarch64-dwarf5.elf');

function assertSymbolsError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BootscopeError, `expected BootscopeError, got ${String(e)}`);
    assert.equal(e.code, ErrorCode.Symbols);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('ElfFile: reading the fixtures', () => {
  test('ELF32 ARM header: class, machine, entry', () => {
    const elf = ElfFile.read(ARM);
    assert.equal(elf.elfClass, 32);
    assert.equal(elf.machine, 'arm');
    assert.equal(elf.entry, 0x10000n);
  });

  test('ELF64 AArch64 header: class, machine, entry', () => {
    const elf = ElfFile.read(A64);
    assert.equal(elf.elfClass, 64);
    assert.equal(elf.machine, 'aarch64');
    assert.equal(elf.entry, 0x40000000n);
  });

  test('section headers carry names, addresses and flags', () => {
    const elf = ElfFile.read(ARM);
    const text = elf.section('.text');
    assert.ok(text);
    assert.equal(text.addr, 0x10000n);
    assert.equal(text.flags & 0x6, 0x6); // ALLOC | EXECINSTR
    assert.ok(elf.section('.debug_line'));
    assert.ok(elf.section('.symtab'));
    assert.equal(elf.section('.nope'), undefined);
  });

  test('a PT_LOAD segment covers the code', () => {
    const elf = ElfFile.read(A64);
    const load = elf.segments.find((p) => p.type === 1 && p.vaddr <= 0x40000000n && 0x40000000n < p.vaddr + BigInt(p.memsz));
    assert.ok(load);
  });

  test('symbols keep raw values: the Thumb function has bit 0 set', () => {
    const elf = ElfFile.read(ARM);
    const thumb = elf.symbols.find((s) => s.name === 'thumb_count_matches');
    assert.ok(thumb);
    assert.equal(thumb.type, 'func');
    assert.equal(thumb.binding, 'global');
    assert.equal(thumb.value & 1n, 1n);
    assert.ok(elf.symbols.some((s) => s.name === '$t'), 'mapping symbols are listed raw');
  });

  test('readAt returns the file bytes behind a virtual address', () => {
    const elf = ElfFile.read(ARM);
    const text = elf.section('.text')!;
    const file = readFileSync(ARM);
    assert.deepEqual([...elf.readAt(0x10000n, 8)!], [...file.subarray(text.offset, text.offset + 8)]);
    assert.deepEqual([...elf.readAt(0x10000, 4)!], [0x02, 0xd7, 0xa0, 0xe3]); // mov sp, #0x80000
  });

  test('readAt is undefined for .bss, gaps and ranges running off a section', () => {
    const elf = ElfFile.read(ARM);
    const bss = elf.section('.bss')!;
    const text = elf.section('.text')!;
    assert.equal(elf.readAt(bss.addr, 4), undefined);
    assert.equal(elf.readAt(0x100n, 4), undefined);
    assert.equal(elf.readAt(text.addr + BigInt(text.size) - 2n, 4), undefined);
  });

  test('readAt returns a copy, not a view into the file', () => {
    const elf = ElfFile.read(ARM);
    const a = elf.readAt(0x10000n, 4)!;
    a[0] = 0;
    assert.equal(elf.readAt(0x10000n, 4)![0], 0x02);
  });

  test('a Buffer can be read with a name for errors', () => {
    const elf = ElfFile.read(readFileSync(A64), 'kernel.elf');
    assert.equal(elf.path, 'kernel.elf');
    assert.equal(elf.machine, 'aarch64');
  });
});

describe('ElfFile: bad input', () => {
  test('a missing file names the path', () => {
    assertSymbolsError(() => ElfFile.read('/nonexistent/boot.elf'), /\/nonexistent\/boot\.elf: cannot read/);
  });

  test('a text file is not an ELF', () => {
    assertSymbolsError(() => ElfFile.read(Buffer.from('hello world, not an elf'), 'notes.txt'), /notes\.txt: not an ELF file/);
  });

  test('an empty file is not an ELF', () => {
    assertSymbolsError(() => ElfFile.read(new Uint8Array(0), 'empty.bin'), /empty\.bin: not an ELF/);
  });

  test('an unknown ELF class is refused', () => {
    const bytes = Uint8Array.from(readFileSync(ARM));
    bytes[4] = 3;
    assertSymbolsError(() => ElfFile.read(bytes, 'x.elf'), /unsupported ELF class 3/);
  });

  test('a big-endian ELF is refused', () => {
    const bytes = Uint8Array.from(readFileSync(ARM));
    bytes[5] = 2;
    assertSymbolsError(() => ElfFile.read(bytes, 'be.elf'), /only little-endian/);
  });

  test('a truncated header says truncated', () => {
    assertSymbolsError(() => ElfFile.read(readFileSync(A64).subarray(0, 40), 'cut.elf'), /cut\.elf: truncated or corrupt ELF/);
  });

  test('every truncation of both fixtures fails with BootscopeError or reads cleanly', () => {
    for (const path of [ARM, A64]) {
      const full = readFileSync(path);
      for (let length = 0; length < full.length; length += 97) {
        const cut = full.subarray(0, length);
        try {
          const elf = ElfFile.read(cut, `cut-${length}`);
          SymbolTable.fromElf(elf);
          LineTable.fromElf(elf);
        } catch (e) {
          assert.ok(e instanceof BootscopeError, `${path} cut at ${length}: ${String(e)}`);
          assert.match(e.message, new RegExp(`cut-${length}`));
        }
      }
    }
  });

  test('random corruption never escapes as anything but BootscopeError', () => {
    // Deterministic xorshift so a failure can be replayed.
    let seed = 0x12345678;
    const random = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 2 ** 32; };
    for (const path of [ARM, A64]) {
      const original = readFileSync(path);
      for (let round = 0; round < 300; round++) {
        const bytes = Uint8Array.from(original);
        const flips = 1 + Math.floor(random() * 8);
        for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        try {
          const elf = ElfFile.read(bytes, `fuzz-${round}`);
          const symbols = SymbolTable.fromElf(elf);
          const lines = LineTable.fromElf(elf);
          symbols.functionAt(0x10000n);
          lines.lineAt(0x10000n);
        } catch (e) {
          assert.ok(e instanceof BootscopeError, `${path} round ${round}: ${e instanceof Error ? e.stack : String(e)}`);
        }
      }
    }
  });
});
