// The writer's per-row shortcuts give exactly the text of the general functions they replace: the
// timestamp formatter (one Date per second of recorded time) and the one-pass register delta.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimestampUs, TimestampFormatter } from '../../src/store/timestamps';
import { encodeRegisterDelta, toRegisterState, updateRegisterState } from '../../src/store/registers';
import { prng } from '../../src/store/synthetic-session';

describe('writer shortcuts', () => {
  test('TimestampFormatter.format equals formatTimestampUs across seconds, days and microsecond edges', () => {
    const f = new TimestampFormatter();
    const rand = prng(3);
    let us = 1_795_000_000_000_000 - 5;
    for (let i = 0; i < 20_000; i++) {
      us += rand() < 0.01 ? Math.floor(rand() * 90_000_000_000) : Math.floor(rand() * 40_000);
      assert.equal(f.format(us), formatTimestampUs(us), String(us));
    }
    for (const edge of [0, 1, 999_999, 1_000_000, 1_795_000_000_099_999, 1_795_000_000_100_000]) assert.equal(f.format(edge), formatTimestampUs(edge));
  });

  test('updateRegisterState returns encodeRegisterDelta\'s JSON and leaves the state equal to the input', () => {
    const rand = prng(9);
    const names = ['r0', 'r1', 'sp', 'pc', 'cpsr', 'x30'];
    const input = new Map<string, bigint>(names.map((n) => [n, 0n]));
    const state = toRegisterState(input);
    for (let i = 0; i < 5000; i++) {
      const previous = new Map(state);
      for (const n of names) if (rand() < 0.3) input.set(n, rand() < 0.1 ? 0xffff_ffff_ffff_fff0n + BigInt(i % 15) : BigInt(Math.floor(rand() * 2 ** 40)));
      const delta = updateRegisterState(state, input);
      assert.equal(delta, encodeRegisterDelta(previous, toRegisterState(input)));
      assert.deepEqual(state, toRegisterState(input));
    }
    assert.throws(() => updateRegisterState(state, { r0: -1 }), /register r0 must be unsigned/);
  });
});
