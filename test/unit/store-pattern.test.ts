// checkPattern (src/store/pattern.ts): aligned little-endian word matching, unlike the seed's bytes.count().
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPattern } from '../../src/store/pattern';

function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v, true));
  return out;
}

describe('checkPattern', () => {
  test('counts aligned little-endian words equal to the pattern', () => {
    const r = checkPattern(words(0xdeadbeef, 0, 0xdeadbeef, 0xdeadbeef), 0xdeadbeef, 50);
    assert.equal(r.matches, 3);
    assert.equal(r.totalWords, 4);
    assert.equal(r.percentage, 75);
  });

  test('does not count a pattern that straddles two words (the seed\'s bytes.count() would)', () => {
    // bytes: 00 00 ef be | ad de 00 00  -> "ef be ad de" sits at offset 2
    const data = new Uint8Array([0, 0, 0xef, 0xbe, 0xad, 0xde, 0, 0]);
    assert.equal(Buffer.from(data).indexOf(Buffer.from([0xef, 0xbe, 0xad, 0xde])), 2);
    assert.equal(checkPattern(data, 0xdeadbeef).matches, 0);
  });

  test('reports the byte offset of the first mismatching word', () => {
    assert.equal(checkPattern(words(0xcafebabe, 0xcafebabe, 1, 0xcafebabe), 0xcafebabe).firstMismatchOffset, 8);
  });

  test('first mismatch is null when every word matches', () => {
    assert.equal(checkPattern(words(0x55aa55aa, 0x55aa55aa), 0x55aa55aa).firstMismatchOffset, null);
  });

  test('ignores trailing bytes that do not fill a word', () => {
    const data = new Uint8Array([...words(0x12345678), 0x78, 0x56]);
    const r = checkPattern(data, 0x12345678);
    assert.deepEqual([r.matches, r.totalWords, r.percentage], [1, 1, 100]);
  });

  test('success is percentage strictly greater than the threshold, as in the seed', () => {
    const nine = words(...Array(9).fill(7), 0);
    assert.equal(checkPattern(nine, 7, 90).success, false); // exactly 90 %
    assert.equal(checkPattern(nine, 7, 89.9).success, true);
  });

  test('an empty region has zero words and fails', () => {
    const r = checkPattern(new Uint8Array(0), 0xdeadbeef);
    assert.deepEqual([r.totalWords, r.percentage, r.success, r.firstMismatchOffset], [0, 0, false, null]);
  });

  test('works on a view that does not start at its buffer\'s beginning', () => {
    const backing = new Uint8Array([1, 2, 3, 4, ...words(0xdeadbeef, 0xdeadbeef)]);
    assert.equal(checkPattern(backing.subarray(4), 0xdeadbeef).matches, 2);
  });

  test('rejects a pattern that is not an unsigned 32-bit integer', () => {
    assert.throws(() => checkPattern(words(0), 2 ** 32), RangeError);
  });
});
