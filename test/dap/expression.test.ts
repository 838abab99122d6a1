// The evaluate language (src/adapter/expression.ts) against a small in-memory debuggee: registers,
// symbols, casts and dereferences, arithmetic. No QEMU: the environment is a plain map and a byte array.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpressionEvaluator, formatValue, type EvaluationEnvironment } from '../../src/adapter/expression';

const RAM_BASE = 0x41000000n;
const ram = new Uint8Array(64);
new DataView(ram.buffer).setUint32(0, 0xdeadbeef, true);
new DataView(ram.buffer).setUint32(4, 0x41000000, true);
new DataView(ram.buffer).setUint16(8, 0xfffe, true);

function env(pointerSize: 4 | 8 = 4): EvaluationEnvironment {
  const regs = new Map<string, bigint>([['r0', 5n], ['pc', 0x40000100n], ['sp', 0x41000004n], ['cpsr', 0x600001d3n]]);
  return {
    pointerSize,
    register: (name) => (regs.has(name.toLowerCase()) ? { value: regs.get(name.toLowerCase()) as bigint, bits: 32 } : undefined),
    symbol: (name) => ({
      painted_word: { address: RAM_BASE, size: 4, kind: 'object' as const },
      word_pointer: { address: RAM_BASE + 4n, size: 4, kind: 'object' as const },
      main: { address: 0x40000200n, size: 64, kind: 'function' as const },
    } as Record<string, { address: bigint; size: number; kind: 'object' | 'function' }>)[name],
    readMemory: async (address, length) => {
      const off = Number(address - RAM_BASE);
      if (off < 0 || off + length > ram.length) throw new Error(`unmapped 0x${address.toString(16)}`);
      return ram.slice(off, off + length);
    },
  };
}

const evaluate = (expr: string, pointerSize: 4 | 8 = 4) => new ExpressionEvaluator(env(pointerSize)).evaluate(expr);

describe('evaluate: registers', () => {
  test('a bare register name gives its value', async () => assert.equal((await evaluate('r0')).value, 5n));
  test('$pc is the program counter', async () => assert.equal((await evaluate('$pc')).value, 0x40000100n));
  test('register names are case-insensitive', async () => assert.equal((await evaluate('PC')).value, 0x40000100n));
});

describe('evaluate: arithmetic', () => {
  test('hex and decimal mix with precedence', async () => assert.equal((await evaluate('0x10 + 2 * 3')).value, 22n));
  test('parentheses and shifts', async () => assert.equal((await evaluate('(1 << 4) | 0x3')).value, 0x13n));
  test('32-bit unsigned wrap-around on AArch32', async () => assert.equal((await evaluate('0 - 1')).value, 0xffffffffn));
  test('division by zero is an error naming it', async () => assert.rejects(evaluate('1 / 0'), /division by zero/));
  test('pc-relative arithmetic on a register', async () => assert.equal((await evaluate('pc + 8')).value, 0x40000108n));
});

describe('evaluate: memory', () => {
  test('*(uint32_t*)ADDRESS reads a little-endian word', async () => {
    const r = await evaluate('*(uint32_t*)0x41000000');
    assert.equal(r.value, 0xdeadbeefn);
    assert.equal(r.address, RAM_BASE);
  });
  test('*(uint16_t*) reads a halfword', async () => assert.equal((await evaluate('*(uint16_t *)0x41000008')).value, 0xfffen));
  test('*(int16_t*) sign-extends', async () => assert.equal((await evaluate('*(int16_t*)0x41000008')).value, -2n));
  test('a pointer read from memory can be dereferenced again', async () => assert.equal((await evaluate('**(uint32_t**)0x41000004')).value, 0xdeadbeefn));
  test('indexing scales by the element size', async () => assert.equal((await evaluate('((uint16_t*)0x41000000)[4]')).value, 0xfffen));
  test('reading unmapped memory names the address', async () => assert.rejects(evaluate('*(uint32_t*)0x10'), /0x10/));
});

describe('evaluate: symbols', () => {
  test('a data symbol gives its value and address', async () => {
    const r = await evaluate('painted_word');
    assert.equal(r.value, 0xdeadbeefn);
    assert.equal(r.address, RAM_BASE);
  });
  test('&symbol gives the address', async () => assert.equal((await evaluate('&painted_word')).value, RAM_BASE));
  test('a function symbol gives its address', async () => {
    const r = await evaluate('main');
    assert.equal(r.value, 0x40000200n);
    assert.equal(r.isFunction, true);
  });
  test('an unknown name is an error saying it is neither register nor symbol', async () => assert.rejects(evaluate('nosuch'), /neither a register nor a symbol/));
});

describe('evaluate: formatting', () => {
  test('unsigned values show hex and decimal', async () => assert.equal(formatValue(await evaluate('0x20')), '0x20 (32)'));
  test('negative signed values show decimal and the raw bits', async () => assert.equal(formatValue(await evaluate('*(int16_t*)0x41000008')), '-2 (0xfffe)'));
  test('an unknown cast type is an error', async () => assert.rejects(evaluate('(float)1'), /unexpected|unknown/));
});
