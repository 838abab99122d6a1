// The capture stream decoder on byte arrays built here from plugin/FORMAT.md: every record type, any
// chunking, a cut-off last record at every byte, malformed streams; plus -plugin arguments and windows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  CaptureDecoder, type CaptureEvent, CaptureStreamError, pluginArgument, RegisterFile, resolveWindow,
} from '../../src/capture/plugin';
import { ConfigError } from '../../src/common/errors';
import { loadSymbols } from '../../src/symbols';

/** Little-endian stream writer for test streams. */
class StreamBuilder {
  private readonly bytes: number[] = [];
  u8(v: number): this { this.bytes.push(v & 0xff); return this; }
  u16(v: number): this { return this.u8(v).u8(v >> 8); }
  u32(v: number): this { return this.u16(v & 0xffff).u16(v >>> 16); }
  u64(v: bigint): this { for (let i = 0n; i < 8n; i++) this.u8(Number((v >> (8n * i)) & 0xffn)); return this; }
  raw(b: Iterable<number>): this { for (const x of b) this.u8(x); return this; }
  text(s: string): this { return this.raw([...s].map((c) => c.charCodeAt(0))); }
  get length(): number { return this.bytes.length; }
  build(): Uint8Array { return Uint8Array.from(this.bytes); }

  header(target = 'aarch64', format = 1, api = 4): this {
    return this.text('BOOTSCOP').u16(format).u16(18 + target.length).u16(api).u16(4).u8(2).u8(target.length).text(target);
  }
  registers(vcpu: number, regs: Array<[string, number]>): this {
    this.u8(0x01).u8(vcpu).u8(regs.length);
    for (const [name, size] of regs) this.u8(size).u8(name.length).text(name);
    return this;
  }
  instruction(id: number, pc: bigint, bytes: number[]): this { return this.u8(0x02).u8(bytes.length).u32(id).u64(pc).raw(bytes); }
  executed(vcpu: number, id: number, changes: Array<[number, bigint, number]>): this {
    this.u8(0x03).u8(vcpu).u8(changes.length).u32(id);
    for (const [index, value, size] of changes) {
      this.u8(index);
      for (let i = 0; i < size; i++) this.u8(Number((value >> BigInt(8 * i)) & 0xffn));
    }
    return this;
  }
  write(vcpu: number, address: bigint, value: number[]): this { return this.u8(0x04).u8(vcpu).u8(value.length).u64(address).raw(value); }
  window(start: boolean, vcpu: number, reason: number, before: bigint): this { return this.u8(start ? 0x05 : 0x06).u8(vcpu).u8(reason).u64(before); }
  end(counts: bigint[]): this { this.u8(0x07).u8(counts.length); for (const c of counts) this.u64(c); return this; }
}

/** A small aarch64 stream: layout, a window from instruction 101, two instructions, a store, stop, END. */
function sample(withEnd = true): { bytes: Uint8Array; recordStarts: number[] } {
  const b = new StreamBuilder().header();
  const starts: number[] = [];
  const mark = (): void => { starts.push(b.length); };
  mark(); b.registers(0, [['x0', 8], ['x1', 8], ['sp', 8], ['cpsr', 4]]);
  mark(); b.window(true, 0, 1, 100n);
  mark(); b.instruction(0, 0x40000000n, [0x1f, 0x20, 0x03, 0xd5]);
  mark(); b.instruction(1, 0xffff000040000004n, [0x00, 0x00, 0x00, 0xf9]);
  mark(); b.executed(0, 0, [[0, 1n, 8], [1, 0xffffffffffffffffn, 8], [2, 0x41000000n, 8], [3, 0x3c5n, 4]]);
  mark(); b.executed(0, 1, [[0, 2n, 8]]);
  mark(); b.write(0, 0x41000ff8n, [0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0]);
  mark(); b.window(false, 0, 2, 102n);
  if (withEnd) { mark(); b.end([103n]); }
  return { bytes: b.build(), recordStarts: starts };
}

const plain = (events: CaptureEvent[]): string => JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));

describe('CaptureDecoder', () => {
  test('decodes the header and every record type with its values', () => {
    const d = new CaptureDecoder();
    const events = d.push(sample().bytes);
    assert.deepEqual(d.header, { format: 1, pluginApi: 4, qemuApi: 4, qemuMinApi: 2, target: 'aarch64', arch: 'aarch64' });
    assert.deepEqual(events.map((e) => e.kind), ['registers', 'windowStart', 'instruction', 'instruction', 'executed', 'executed', 'memoryWrite', 'windowStop', 'end']);
    const [regs, start, , insn1, ex0, ex1, write, stop, end] = events;
    assert.deepEqual(regs, { kind: 'registers', vcpu: 0, registers: [{ name: 'x0', size: 8 }, { name: 'x1', size: 8 }, { name: 'sp', size: 8 }, { name: 'cpsr', size: 4 }] });
    assert.deepEqual(start, { kind: 'windowStart', vcpu: 0, reason: 1, executedBefore: 100 });
    assert.equal(insn1.kind === 'instruction' && insn1.pc, 0xffff000040000004n);
    assert.ok(ex0.kind === 'executed' && ex1.kind === 'executed');
    assert.equal(ex0.sequence, 101, 'numbered after the instructions counted before the window');
    assert.equal(ex0.instruction.pc, 0x40000000n);
    assert.deepEqual(ex0.changed, [{ index: 0, value: 1n }, { index: 1, value: 0xffffffffffffffffn }, { index: 2, value: 0x41000000n }, { index: 3, value: 0x3c5n }]);
    assert.equal(ex1.sequence, 102);
    assert.equal(ex1.instruction, insn1, 'EXEC refers to the INSN definition object');
    assert.ok(write.kind === 'memoryWrite');
    assert.equal(write.sequence, 102, 'a store belongs to the latest executed instruction of its vCPU');
    assert.equal(write.address, 0x41000ff8n);
    assert.deepEqual([...write.value], [0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0]);
    assert.deepEqual(stop, { kind: 'windowStop', vcpu: 0, reason: 2, executedBefore: 102 });
    assert.deepEqual(end, { kind: 'end', executed: [103] });
    assert.deepEqual(d.finish(), { complete: true, truncatedBytes: 0, truncatedRecordType: undefined, bytes: sample().bytes.length });
  });

  test('any split into two chunks, and byte-at-a-time, decode to the same events', () => {
    const { bytes } = sample();
    const whole = plain(new CaptureDecoder().push(bytes));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new CaptureDecoder();
      const events = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.equal(plain(events), whole, `split at ${cut}`);
      assert.equal(d.finish().complete, true);
    }
    const d = new CaptureDecoder();
    const events: CaptureEvent[] = [];
    for (const byte of bytes) d.push(Uint8Array.of(byte), events);
    assert.equal(plain(events), whole);
  });

  test('a stream cut at any byte reports the partial last record and never decodes it', () => {
    const { bytes, recordStarts } = sample();
    for (let cut = recordStarts[0]; cut < bytes.length; cut++) {
      const d = new CaptureDecoder();
      const events = d.push(bytes.subarray(0, cut));
      const begun = recordStarts.filter((s) => s <= cut);
      const lastStart = begun[begun.length - 1];
      const t = d.finish();
      assert.equal(t.complete, false, `cut at ${cut}`);
      assert.equal(t.bytes, cut);
      // Records that ended before the cut are decoded; the one the cut falls in is held back.
      const wholeRecords = recordStarts.filter((s, i) => (recordStarts[i + 1] ?? bytes.length) <= cut).length;
      assert.equal(events.length, wholeRecords, `cut at ${cut}`);
      if (cut === lastStart) {
        assert.equal(t.truncatedBytes, 0);
      } else {
        assert.equal(t.truncatedBytes, cut - lastStart);
        assert.equal(t.truncatedRecordType, bytes[lastStart]);
      }
    }
  });

  test('a stream without END is not complete even when it ends on a record boundary', () => {
    const d = new CaptureDecoder();
    d.push(sample(false).bytes);
    assert.deepEqual(d.finish(), { complete: false, truncatedBytes: 0, truncatedRecordType: undefined, bytes: sample(false).bytes.length });
  });

  test('AArch32 layouts: 4-byte registers and 2-byte Thumb instructions', () => {
    const b = new StreamBuilder().header('arm').registers(0, [['r0', 4], ['cpsr', 4]]).window(true, 0, 0, 0n)
      .instruction(7, 0x10000n, [0x00, 0xbf]).executed(0, 7, [[1, 0x1f3n, 4], [0, 0xdeadbeefn, 4]]).write(0, 0x41000000n, [0xaa, 0x55]);
    const d = new CaptureDecoder();
    const [, , insn, ex, w] = d.push(b.build());
    assert.equal(d.header?.arch, 'arm');
    assert.ok(insn.kind === 'instruction' && ex.kind === 'executed' && w.kind === 'memoryWrite');
    assert.equal(insn.bytes.length, 2);
    assert.deepEqual(ex.changed, [{ index: 1, value: 0x1f3n }, { index: 0, value: 0xdeadbeefn }]);
    assert.equal(ex.sequence, 1);
    const file = new RegisterFile();
    for (const e of new CaptureDecoder().push(b.build())) file.apply(e);
    assert.deepEqual([...file.snapshot(0, 0x10000n)], [['r0', 0xdeadbeefn], ['cpsr', 0x1f3n], ['pc', 0x10000n]]);
  });

  const malformed: Array<[string, Uint8Array, RegExp]> = [
    ['wrong magic', new StreamBuilder().text('BOOTSCOX').u16(1).u16(25).u16(4).u16(4).u8(2).u8(7).text('aarch64').build(), /not a Bootscope plugin stream/],
    ['another format version', new StreamBuilder().header('aarch64', 2).build(), /format version 2; this Bootscope reads version 1: rebuild the plugin/],
    ['another plugin API', new StreamBuilder().header('aarch64', 1, 5).build(), /plugin API 5, expected 4/],
    ['unknown record type', new StreamBuilder().header().u8(0x7f).build(), /byte 25: unknown record type 0x7f/],
    ['EXEC before REGS', new StreamBuilder().header().instruction(0, 0n, [0, 0, 0, 0]).executed(0, 0, []).build(), /EXEC for vCPU 0 before its REGS record/],
    ['EXEC of an undefined instruction', new StreamBuilder().header().registers(0, [['x0', 8]]).executed(0, 9, []).build(), /instruction id 9, which no INSN record defined/],
    ['register index beyond the layout', new StreamBuilder().header().registers(0, [['x0', 8]]).instruction(0, 0n, [0, 0, 0, 0]).executed(0, 0, [[3, 0n, 8]]).build(), /register index 3 beyond vCPU 0's 1 registers/],
    ['bytes after END', new StreamBuilder().header().end([]).u8(0x03).build(), /bytes after the END record/],
  ];
  for (const [what, bytes, message] of malformed) {
    test(`rejects a stream with ${what}`, () => {
      assert.throws(() => new CaptureDecoder().push(bytes), (e: unknown) => e instanceof CaptureStreamError && message.test(e.message));
    });
  }
});

describe('pluginArgument and resolveWindow', () => {
  test('formats QEMU\'s -plugin value: pcs as hex, ranges as LO:HI, counts, exit and buffer options', () => {
    assert.equal(pluginArgument({ pluginPath: '/p/libbootscope.so', out: 'fd:3' }), '/p/libbootscope.so,out=fd:3');
    assert.equal(pluginArgument({
      pluginPath: 'lib.so', out: '/tmp/x', bufferBytes: 65536, pipeBytes: 4096,
      window: { startPc: { start: 0x40003000n, end: 0x40004000n }, stopPc: { start: 0x400031a0n, end: 0x400031a1n }, exitOnStop: true },
    }), 'lib.so,out=/tmp/x,start_pc=0x40003000:0x40004000,stop_pc=0x400031a0,exit_on_stop=on,buffer=65536,pipe=4096');
    assert.equal(pluginArgument({ pluginPath: 'lib.so', out: 'fd:3', window: { startCount: 10, stopCount: 20 } }), 'lib.so,out=fd:3,start_count=10,stop_count=20');
    assert.equal(pluginArgument({ pluginPath: 'lib.so', out: 'fd:3', extraRegisters: ['fpsr', 'fpcr'] }), 'lib.so,out=fd:3,regs_extra=fpsr:fpcr');
  });

  test('refuses what QEMU\'s -plugin option cannot carry, and contradictory windows', () => {
    assert.throws(() => pluginArgument({ pluginPath: '/a,b/lib.so', out: 'fd:3' }), (e: unknown) => e instanceof ConfigError && /contains a comma/.test(e.message));
    assert.throws(() => pluginArgument({ pluginPath: 'lib.so', out: 'fd:3', window: { startPc: { start: 1n, end: 2n }, startCount: 5 } }), /not both/);
    assert.throws(() => pluginArgument({ pluginPath: 'lib.so', out: 'fd:3', window: { stopCount: -1 } }), /not a whole number/);
    assert.throws(() => pluginArgument({ pluginPath: 'lib.so', out: 'fd:3', extraRegisters: ['fpsr,x'] }), /"fpsr,x" is not a register name/);
  });

  test('resolves symbols to their address, stages to their pc range, counts to counts', () => {
    const symbols = loadSymbols([path.join(__dirname, '..', '..', 'guest', 'build', 'demo-arm32.elf')]);
    const at = symbols.lookup('vTaskSwitchContext');
    assert.ok(at !== undefined);
    const stages = [{ name: 'scheduler_start', start: 0x40003000, end: 0x40004000 }, { name: 'by_symbol', symbol: 'vTaskB' }];
    assert.deepEqual(resolveWindow({ start: { symbol: 'vTaskSwitchContext' }, stop: { instructions: 500 } }, symbols, stages),
      { exitOnStop: undefined, startPc: { start: at, end: at + 1n }, stopCount: 500 });
    assert.deepEqual(resolveWindow({ start: { stage: 'scheduler_start' }, stop: { pc: 0x400031a0 } }, symbols, stages).startPc, { start: 0x40003000n, end: 0x40004000n });
    const b = symbols.functionExtent('vTaskB');
    assert.ok(b);
    assert.deepEqual(resolveWindow({ start: { stage: 'by_symbol' } }, symbols, stages).startPc, { start: b.start, end: b.start + b.size });
    assert.throws(() => resolveWindow({ start: { symbol: 'no_such_function' } }, symbols), /no symbol "no_such_function" in the ELF/);
    assert.throws(() => resolveWindow({ start: { stage: 'nope' } }, symbols, stages), /no stage named "nope"; stages are scheduler_start, by_symbol/);
  });
});
