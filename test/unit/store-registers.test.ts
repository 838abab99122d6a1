// Register JSON encoding (src/store/registers.ts) and timestamps (src/store/timestamps.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyRegisterJson, decodeRegisterValue, encodeFullRegisters, encodeRegisterDelta, encodeRegisterValue, toRegisterState,
} from '../../src/store/registers';
import { formatTimestampUs, MonotonicClock, parseTimestampUs } from '../../src/store/timestamps';

describe('register values', () => {
  test('values up to 2^53-1 are JSON numbers', () => {
    assert.equal(encodeRegisterValue(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  });

  test('values above 2^53-1 are lower-case hex strings', () => {
    assert.equal(encodeRegisterValue(2n ** 53n), '0x20000000000000');
    assert.equal(encodeRegisterValue(0xffffffffffffffffn), '0xffffffffffffffff');
  });

  test('64-bit values round-trip exactly through JSON', () => {
    for (const v of [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 0xffff000012345678n, 2n ** 64n - 1n]) {
      const json = JSON.stringify({ x: encodeRegisterValue(v) });
      assert.equal(decodeRegisterValue((JSON.parse(json) as { x: unknown }).x), v);
    }
  });

  test('a negative register value is refused', () => {
    assert.throws(() => toRegisterState({ r0: -1 }), RangeError);
  });
});

describe('register deltas', () => {
  test('a delta holds only the registers that changed', () => {
    const a = toRegisterState({ r0: 1, r1: 2, pc: 0x100 });
    const b = toRegisterState({ r0: 1, r1: 3, pc: 0x104 });
    assert.deepEqual(JSON.parse(encodeRegisterDelta(a, b)), { r1: 3, pc: 0x104 });
  });

  test('a keyframe followed by deltas rebuilds the full state', () => {
    const s0 = toRegisterState(new Map([['x0', 2n ** 63n], ['x1', 5n], ['pc', 0x40000000n]]));
    const s1 = new Map(s0).set('x1', 6n).set('pc', 0x40000004n);
    const s2 = new Map(s1).set('x0', 7n).set('pc', 0x40000008n);
    const state = new Map<string, bigint>();
    applyRegisterJson(state, encodeFullRegisters(s0));
    applyRegisterJson(state, encodeRegisterDelta(s0, s1));
    const changed = applyRegisterJson(state, encodeRegisterDelta(s1, s2));
    assert.deepEqual(state, s2);
    assert.deepEqual(changed.sort(), ['pc', 'x0']);
  });
});

describe('timestamps', () => {
  test('format has microseconds and a Z', () => {
    assert.equal(formatTimestampUs(Date.UTC(2026, 10, 24, 17, 20, 33, 123) * 1000 + 456), '2026-11-24T17:20:33.123456Z');
  });

  test('parse inverts format', () => {
    const us = 1_795_000_123_456_789;
    assert.equal(parseTimestampUs(formatTimestampUs(us)), us);
  });

  test('the text form sorts like time', () => {
    const a = formatTimestampUs(1_795_000_000_000_999);
    const b = formatTimestampUs(1_795_000_000_001_000);
    assert.ok(a < b);
  });

  test('the monotonic clock bumps an equal or earlier microsecond by one', () => {
    const clock = new MonotonicClock();
    assert.deepEqual([clock.next(100), clock.next(100), clock.next(50), clock.next(200)], [100, 101, 102, 200]);
  });
});
