// Pattern-painting checks (seed section 2.4) as pure functions. Unlike the seed's
// `memory_data.count(pattern_bytes)`, which also counts matches at unaligned offsets, a match here is an
// ALIGNED little-endian 32-bit word equal to the pattern, so matches <= total_words always holds.

export interface PatternResult {
  /** Aligned words equal to the pattern (stored in the seed's `pattern_matches` column). */
  matches: number;
  /** floor(size / 4): trailing bytes that do not fill a word are not counted. */
  totalWords: number;
  /** matches * 100 / totalWords; 0 when the region holds no whole word. */
  percentage: number;
  /** percentage > threshold, the seed's rule (`match_percentage > 90.0`): 100 % never passes threshold 100. */
  success: boolean;
  /** Byte offset of the first aligned word that differs from the pattern; null when every word matches. */
  firstMismatchOffset: number | null;
}

/** The seed's success threshold in percent (section 2.4). */
export const DEFAULT_PATTERN_THRESHOLD = 90;

export function checkPattern(data: Uint8Array, pattern: number, threshold: number = DEFAULT_PATTERN_THRESHOLD): PatternResult {
  if (!Number.isInteger(pattern) || pattern < 0 || pattern > 0xffffffff) {
    throw new RangeError(`pattern must be an unsigned 32-bit integer, got ${pattern}`);
  }
  const totalWords = Math.floor(data.byteLength / 4);
  const view = new DataView(data.buffer, data.byteOffset, totalWords * 4);
  let matches = 0;
  let firstMismatchOffset: number | null = null;
  for (let offset = 0; offset < totalWords * 4; offset += 4) {
    if (view.getUint32(offset, true) === pattern) matches++;
    else if (firstMismatchOffset === null) firstMismatchOffset = offset;
  }
  const percentage = totalWords === 0 ? 0 : (matches * 100) / totalWords;
  return { matches, totalWords, percentage, success: percentage > threshold, firstMismatchOffset };
}
