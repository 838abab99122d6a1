// The Capstone wrapper: known encodings in each instruction set, the Thumb IT-block handling, invalid
// bytes, the cache (address-independent words shared, pc-relative ones keyed by address too), and the
// throughput the recorder's hot path gets with and without the cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Disassembler } from '../../src/arch';
import { ElfFile, SymbolTable } from '../../src/symbols';

const le32 = (w: number): Uint8Array => Uint8Array.of(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24);

describe('Disassembler', () => {
  let d: Disassembler;
  before(async () => { d = await Disassembler.create(); });
  after(() => d.close());

  test('A32: mov sp, #0x80000', () => {
    assert.deepEqual(d.disassemble('arm', false, le32(0xe3a0d702), 0x10000), { text: 'mov sp, #0x80000', mnemonic: 'mov', operands: 'sp, #0x80000', size: 4 });
  });

  test('A32: an instruction without operands has no trailing space', () => {
    assert.equal(d.disassemble('arm', false, le32(0xe320f003), 0x10000)?.text, 'wfi');
  });

  test('A32: ARMv8 AArch32 instructions (crc32b) decode', () => {
    assert.equal(d.disassemble('arm', false, le32(0xe1010042), 0)?.text, 'crc32b r0, r1, r2');
  });

  test('T32: a 16-bit instruction uses 2 bytes even when 4 are given', () => {
    const i = d.disassemble('arm', true, Uint8Array.of(0x70, 0x47, 0xff, 0xff), 0x8000);
    assert.deepEqual(i, { text: 'bx lr', mnemonic: 'bx', operands: 'lr', size: 2 });
  });

  test('T32: a 32-bit instruction needs both halfwords', () => {
    const push = Uint8Array.of(0x2d, 0xe9, 0xf0, 0x41);
    assert.equal(d.disassemble('arm', true, push, 0x8000)?.text, 'push.w {r4, r5, r6, r7, r8, lr}');
    assert.equal(d.disassemble('arm', true, push.subarray(0, 2), 0x8000), undefined);
  });

  test('A64: branch text carries the absolute target', () => {
    assert.equal(d.disassemble('aarch64', false, le32(0x94000040), 0x40000018)?.text, 'bl #0x40000118');
  });

  test('A64: negative immediates Capstone prints as 64-bit patterns are shown signed', () => {
    // mov w1, #0x80000000 (movz w1, #0x8000, lsl #16) and str w2, [x1], #-4.
    assert.equal(d.disassemble('aarch64', false, le32(0x52b00001), 0)?.text, 'mov w1, #-0x80000000');
    assert.equal(d.disassemble('aarch64', false, le32(0xb81fc422), 0)?.text, 'str w2, [x1], #-0x4');
  });

  test('invalid bytes give undefined', () => {
    assert.equal(d.disassemble('arm', false, le32(0xffffffff), 0), undefined);
    assert.equal(d.disassemble('aarch64', false, le32(0x00000000), 0)?.text, 'udf #0');
    assert.equal(d.disassemble('aarch64', false, le32(0xffffffff), 0), undefined);
  });

  test('fewer bytes than an instruction give undefined', () => {
    assert.equal(d.disassemble('aarch64', false, Uint8Array.of(0x1f, 0x20), 0), undefined);
  });

  test('T32 in an IT block: itState makes `adds r0, #1` read as `addeq r0, #1`', () => {
    const adds = Uint8Array.of(0x01, 0x30);
    assert.equal(d.disassemble('arm', true, adds, 0x1000)?.text, 'adds r0, #1');
    assert.equal(d.disassemble('arm', true, adds, 0x1000, 0x08)?.text, 'addeq r0, #1'); // ITSTATE of `it eq`
    assert.equal(d.disassemble('arm', true, adds, 0x1000, 0x18)?.text, 'addne r0, #1'); // `it ne`
    assert.equal(d.disassemble('arm', true, adds, 0x1000)?.text, 'adds r0, #1', 'the IT variant must not leak into the plain cache entry');
  });

  test('disassembleRange follows an ITE block and stops at the end of the bytes', () => {
    // ite eq; moveq r0, #1; movne r0, #2; bx lr
    const bytes = Uint8Array.of(0x0c, 0xbf, 0x01, 0x20, 0x02, 0x20, 0x70, 0x47);
    const texts = d.disassembleRange('arm', true, bytes, 0x2000, 10).map((i) => `${i.address.toString(16)} ${i.text}`);
    assert.deepEqual(texts, ['2000 ite eq', '2002 moveq r0, #1', '2004 movne r0, #2', '2006 bx lr']);
  });

  test('disassembleRange turns undecodable words into .word entries and goes on', () => {
    const bytes = new Uint8Array([...le32(0xe3a01000), ...le32(0xffffffff), ...le32(0xe12fff1e)]);
    const r = d.disassembleRange('arm', false, bytes, 0x100, 10);
    assert.deepEqual(r.map((i) => [i.text, i.valid]), [['mov r1, #0', true], ['.word 0xffffffff', false], ['bx lr', true]]);
    assert.deepEqual([...r[1].bytes], [0xff, 0xff, 0xff, 0xff]);
  });

  test('disassembleRange honours maxCount', () => {
    const bytes = new Uint8Array([...le32(0xe3a01000), ...le32(0xe3a01000), ...le32(0xe3a01000)]);
    assert.equal(d.disassembleRange('arm', false, bytes, 0, 2).length, 2);
  });
});

describe('Disassembler cache', () => {
  test('the same pc-relative word at two addresses gives two targets', async () => {
    const d = await Disassembler.create();
    const bl = le32(0xeb000000);
    assert.equal(d.disassemble('arm', false, bl, 0x10000)?.text, 'bl #0x10008');
    assert.equal(d.disassemble('arm', false, bl, 0x20000)?.text, 'bl #0x20008');
    assert.equal(d.disassemble('arm', false, bl, 0x10000)?.text, 'bl #0x10008');
    assert.deepEqual(d.cacheStats, { hits: 1, misses: 2, entries: 2 });
    d.close();
  });

  test('an address-independent word is decoded once whatever its address', async () => {
    const d = await Disassembler.create();
    for (let a = 0; a < 10; a++) assert.equal(d.disassemble('arm', false, le32(0xe2833001), 0x1000 + a * 4)?.text, 'add r3, r3, #1');
    assert.deepEqual(d.cacheStats, { hits: 9, misses: 1, entries: 1 });
    d.close();
  });

  test('ADRP (page-relative) is keyed by address', async () => {
    const d = await Disassembler.create();
    const adrp = le32(0x90000002); // adrp x2, <page of pc>
    assert.equal(d.disassemble('aarch64', false, adrp, 0x40000010)?.text, 'adrp x2, #0x40000000');
    assert.equal(d.disassemble('aarch64', false, adrp, 0x40001010)?.text, 'adrp x2, #0x40001000');
    d.close();
  });

  test('cached and uncached decoders agree on every instruction of a fixture', async () => {
    const cached = await Disassembler.create();
    const uncached = await Disassembler.create({ cache: false });
    const elf = ElfFile.read(join(__dirname, '..', 'fixtures', 'elf', 'arm-dwarf5.elf'));
    const symbols = SymbolTable.fromElf(elf);
    const text = elf.section('.text');
    assert.ok(text);
    let compared = 0;
    for (let pass = 0; pass < 2; pass++) { // the second pass is served from the cache
      for (let a: bigint = text.addr; a < text.addr + BigInt(text.size); a += 2n) {
        const kind = symbols.codeKindAt(a);
        if (kind !== 'arm' && kind !== 'thumb') continue;
        if (kind === 'arm' && a % 4n !== 0n) continue;
        const bytes: Uint8Array | undefined = elf.readAt(a, 4) ?? elf.readAt(a, 2);
        assert.ok(bytes);
        assert.deepEqual(cached.disassemble('arm', kind === 'thumb', bytes, a), uncached.disassemble('arm', kind === 'thumb', bytes, a), `0x${a.toString(16)}`);
        compared++;
      }
    }
    assert.ok(compared > 100);
    assert.ok(cached.cacheStats.hits > 0);
    cached.close();
    uncached.close();
  });

  test('throughput: the cache makes the hot path faster (figures in the diagnostics)', async (t) => {
    // A boot-like stream: the fixture's instructions executed in loops, so words repeat.
    const elf = ElfFile.read(join(__dirname, '..', 'fixtures', 'elf', 'aarch64-dwarf5.elf'));
    const text = elf.section('.text');
    assert.ok(text);
    const stream: { bytes: Uint8Array; address: bigint }[] = [];
    for (let a = text.addr; a + 4n <= text.addr + BigInt(text.size); a += 4n) stream.push({ bytes: elf.readAt(a, 4)!, address: a });
    const rate = async (options: { cache: boolean }, count: number): Promise<number> => {
      const d = await Disassembler.create(options);
      const start = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        const s = stream[i % stream.length];
        d.disassemble('aarch64', false, s.bytes, s.address);
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      d.close();
      return count / seconds;
    };
    const uncached = await rate({ cache: false }, 20_000);
    const cached = await rate({ cache: true }, 200_000);
    t.diagnostic(`disassembly: ${Math.round(uncached).toLocaleString('en')} instr/s uncached, ${Math.round(cached).toLocaleString('en')} instr/s cached (${stream.length} distinct addresses)`);
    assert.ok(cached > uncached, `cached ${cached}/s is not faster than uncached ${uncached}/s`);
  });
});
