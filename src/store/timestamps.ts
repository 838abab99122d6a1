// Recording timestamps: ISO-8601 UTC with microseconds ('2026-11-24T17:20:33.123456Z'), the text form the
// seed stores in `timestamp` columns. Text of this fixed shape sorts like time, and the seed's correlation
// query (section 4.3) joins instruction_traces to memory_snapshots on equal timestamps, so the writer keeps
// them strictly increasing (MonotonicClock) and snapshots copy the timestamp of their instruction row.

/** Microseconds since the Unix epoch, from the high-resolution clock (Date.now() only has milliseconds). */
export function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** µs since the epoch -> '2026-11-24T17:20:33.123456Z'. */
export function formatTimestampUs(us: number): string {
  if (!Number.isSafeInteger(us) || us < 0) throw new RangeError(`timestamp must be a non-negative integer of microseconds, got ${us}`);
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // '2026-11-24T17:20:33.123Z'
  const micros = String(us % 1000).padStart(3, '0');
  return `${iso.slice(0, 23)}${micros}Z`;
}

const TIMESTAMP_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/;

/** '2026-11-24T17:20:33.123456Z' -> µs since the epoch (fewer fraction digits accepted). */
export function parseTimestampUs(text: string): number {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) throw new RangeError(`not an ISO-8601 UTC timestamp: ${JSON.stringify(text)}`);
  const seconds = Date.parse(`${m[1]}Z`);
  const fraction = (m[2] ?? '').padEnd(6, '0');
  return seconds * 1000 + Number(fraction);
}

export function toTimestampUs(t: number | Date): number {
  return typeof t === 'number' ? Math.floor(t) : t.getTime() * 1000;
}

/**
 * Hands out strictly increasing µs timestamps: when the clock (or the caller) gives the same or an earlier
 * microsecond than the last one, the result is bumped to last + 1 µs. One clock per writer, shared by all
 * its sessions, so timestamps are unique across the file's sessions too (seed 4.3 joins without session_id).
 */
export class MonotonicClock {
  private lastUs = 0;

  next(candidateUs: number = nowUs()): number {
    const us = candidateUs > this.lastUs ? candidateUs : this.lastUs + 1;
    this.lastUs = us;
    return us;
  }
}

/**
 * formatTimestampUs for a writer's stream of rows: the text up to the seconds ('2026-11-24T17:20:33.') is
 * built once per second of recorded time (a Date and toISOString), each row only appends its 6 digits.
 */
export class TimestampFormatter {
  private second = -1;
  private prefix = '';

  format(us: number): string {
    const second = Math.floor(us / 1_000_000);
    if (second !== this.second) {
      if (!Number.isSafeInteger(us) || us < 0) throw new RangeError(`timestamp must be a non-negative integer of microseconds, got ${us}`);
      this.second = second;
      this.prefix = new Date(second * 1000).toISOString().slice(0, 20); // '2026-11-24T17:20:33.'
    }
    const micros = us - second * 1_000_000;
    return `${this.prefix}${micros < 100000 ? String(micros + 1_000_000).slice(1) : micros}Z`;
  }
}
