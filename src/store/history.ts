// Memory at any instruction and "who wrote this word" (issue 14), read from a recording: the snapshots
// (memory_snapshots / snapshot_regions / region_blobs) plus the stores plugin capture recorded
// (memory_writes), cut where the trace has gaps (trace_gaps). Store layer: reads the file, never a target.
//
// Time model (the same as instruction_traces): "at N" is the state BEFORE instruction N executes. A
// snapshot with sequence_number S holds memory before S executes (the recorder reads it after the row of S
// and before stepping S); memory_writes rows with sequence_number W are the stores W made while executing,
// so they are visible from W + 1 on. A trace_gaps row with after_sequence_number A says unrecorded
// instructions ran after A executed and before A + 1: nothing recorded before it explains the state after.
//
// The value of a byte before N is, in this order (never invented):
//   1. the last recorded write W < N to it, when no gap lies in [W, N - 1] and W is not older than the
//      snapshot of rule 2 (a snapshot at S supersedes writes before S);
//   2. else the byte in the nearest snapshot S <= N (of a region covering it) with no gap in [S, N - 1];
//   3. else the byte in the nearest snapshot S > N with no gap in [N, S - 1] and no recorded write to it in
//      [N, S - 1];
//   4. else unknown.
// Rules 1 and 3 need the session to have recorded its stores (plugin capture). Without memory_writes (a
// gdbstub recording) a snapshot is exact only at its own instruction, so a byte is known only when N is a
// snapshot's sequence number. Stores by devices and DMA (and MMIO registers changing on their own) are
// invisible to the plugin: memory the guest does not write itself is only as exact as the snapshots.
// Addresses are virtual, as memory_writes' are; regions captured through the physical-memory view
// (snapshot_regions.physical = 1) are not used, since their addresses are not comparable.
//
// Performance (10 M instructions, 4 KiB view, < 100 ms): the snapshot list and the gaps are held in memory
// per session (a few thousand rows, reloaded when the file gains snapshots or gaps); region bytes are read
// with substr() so only the view's bytes leave SQLite; the last write per byte uses the address index
// (session_id, address, sequence_number): one seek per possible start address (view - 15 .. view end),
// newest first, bounded below by the byte's snapshot, and stopped as soon as no older write can matter.
import { BootscopeError, ErrorCode } from '../common/errors';
import { addressFromSql, addressToSql, type RecordingStore, type Row } from './recording-store';
import type { SQLiteValue } from './sqlite';

/** Stores are 1, 2, 4, 8 or 16 bytes (plugin/FORMAT.md, MEMW): a write covering byte b starts at b - 15 or later. */
export const MAX_WRITE_BYTES = 16;
/** Instructions before N whose writes memoryAt reads in one statement (by instruction) before it looks
 * further back per address. ~3000 stores at a store every third instruction: a few ms. */
const RECENT_WINDOW = 8192;
/** Addresses looked up per statement in memoryAt's first pass over the address index. */
const FIRST_PASS_BATCH = 32;
/** The largest view memoryAt reads at once. */
export const MAX_VIEW_BYTES = 1 << 20;

/** Where a byte's value before instruction N comes from. */
export type ByteSource =
  /** Written by instruction `sequenceNumber` (< N). */
  | { kind: 'write'; sequenceNumber: number }
  /** Held in snapshot `snapshotId` taken before instruction `sequenceNumber` executed (<= N, or > N by rule 3). */
  | { kind: 'snapshot'; snapshotId: number; sequenceNumber: number; region: string }
  /** Not known; `reason` says why in words. */
  | { kind: 'unknown'; reason: string };

/** A run of consecutive bytes of a view with one source. `offset` is from the view's start. */
export interface MemoryRun {
  offset: number;
  length: number;
  source: ByteSource;
}

export interface MemoryState {
  sessionId: number;
  /** The state before this instruction executes. */
  sequenceNumber: number;
  address: bigint;
  /** The view's bytes; an unknown byte is 0 here and 0 in `known`. */
  bytes: Uint8Array;
  /** 1 where the byte is known, 0 where it is not. */
  known: Uint8Array;
  runs: MemoryRun[];
  /** Whether the session recorded its stores (memory_writes, plugin capture). */
  writesRecorded: boolean;
}

/**
 * One recorded store. Values are lower-case hex of the bytes in memory order ("78563412" for the
 * little-endian word 0x12345678); `old_value` is memory before the store (memoryAt at its instruction),
 * null when any of its bytes is unknown. Names are snake_case: the rows are the CLI's JSON as they are.
 */
export interface WriteRow {
  sequence_number: number;
  pc: string;
  function_name: string | null;
  boot_stage: string | null;
  /** Hex "0x...". */
  address: string;
  size: number;
  value: string;
  old_value: string | null;
}

export interface TraceGap {
  gapId: number;
  /** Unrecorded instructions ran after this one executed and before the next recorded one. */
  afterSequenceNumber: number;
  reason: string;
  instructionsSkipped: number | null;
}

export interface PatternBreak {
  region: string;
  start: bigint;
  end: bigint;
  pattern: number;
  /** The first snapshot in which every word of the region held the pattern. */
  completeAt: { snapshotId: number; sequenceNumber: number };
  /** The first recorded write after it that stored a byte other than the pattern's into the region; null if none. */
  write: WriteRow | null;
  /** Gaps between completeAt and the write (or the end): the pattern may have been broken unrecorded there. */
  gaps: TraceGap[];
}

interface SnapshotRegionEntry {
  name: string;
  start: bigint;
  end: bigint;
  blobId: number;
}

interface SnapshotEntry {
  snapshotId: number;
  sequenceNumber: number;
  regions: SnapshotRegionEntry[];
}

interface RegionSpan {
  start: bigint;
  end: bigint;
  entries: Array<{ s: SnapshotEntry; r: SnapshotRegionEntry }>;
}

/** What memoryAt needs in memory per session (small), with the tokens that tell when to reload it. */
interface SessionIndex {
  sessionId: number;
  token: string;
  first: number;
  last: number;
  /** Each region as captured (name, start, end) with its snapshots, ascending by sequence number then id. */
  spans: RegionSpan[];
  /** Ascending by afterSequenceNumber. */
  gaps: TraceGap[];
  writesRecorded: boolean;
}

const num = (v: SQLiteValue | undefined): number => Number(v);

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const hexAddress = (a: bigint): string => `0x${a.toString(16)}`;

/** Reads memory history from one recording file. Cheap to create; holds a small cache per session. */
export class RecordingHistory {
  private readonly sessions = new Map<number, SessionIndex>();
  /** Set while one call reads many times from the same state of the file (whoWrote's old values). */
  private pinned: SessionIndex | undefined;

  constructor(private readonly store: RecordingStore) {}

  /** First and last recorded instruction of a session; throws a usage error naming what exists. */
  instructionRange(sessionId: number): { first: number; last: number } {
    const index = this.index(sessionId);
    return { first: index.first, last: index.last };
  }

  /** Throws a usage error naming the valid range when `sequenceNumber` is not an instruction of the session. */
  checkInstruction(sessionId: number, sequenceNumber: number): void {
    const { first, last } = this.index(sessionId);
    if (!Number.isSafeInteger(sequenceNumber) || sequenceNumber < first || sequenceNumber > last) {
      throw new BootscopeError(ErrorCode.Usage, `instruction ${sequenceNumber} is not in session ${sessionId} of ${this.store.file}: it has instructions ${first} to ${last}`);
    }
  }

  /** Whether the session recorded its stores (plugin capture); without them memory is known only at snapshots. */
  writesRecorded(sessionId: number): boolean {
    return this.index(sessionId).writesRecorded;
  }

  /** Gaps crossed going from the state before `fromSeq` to the state before `toSeq` (either direction). */
  gapsBetween(sessionId: number, fromSeq: number, toSeq: number): TraceGap[] {
    const [lo, hi] = fromSeq <= toSeq ? [fromSeq, toSeq] : [toSeq, fromSeq];
    return this.index(sessionId).gaps.filter((g) => g.afterSequenceNumber >= lo && g.afterSequenceNumber < hi);
  }

  /** Memory [address, address + length) before instruction `sequenceNumber` executes (rules at the top of this file). */
  memoryAt(sessionId: number, sequenceNumber: number, address: bigint, length: number): MemoryState {
    const index = this.index(sessionId);
    this.checkInstruction(sessionId, sequenceNumber);
    if (!Number.isSafeInteger(length) || length < 1 || length > MAX_VIEW_BYTES) {
      throw new BootscopeError(ErrorCode.Usage, `memory length ${length} must be 1 to ${MAX_VIEW_BYTES} bytes`);
    }
    if (address < 0n || address + BigInt(length) > 1n << 64n) {
      throw new BootscopeError(ErrorCode.Usage, `memory range 0x${address.toString(16)} + ${length} is outside the 64-bit address space`);
    }
    const n = sequenceNumber;
    const viewEnd = address + BigInt(length);
    const bytes = new Uint8Array(length);
    const known = new Uint8Array(length);
    const sources: (ByteSource | undefined)[] = new Array<ByteSource | undefined>(length);
    // Writes and snapshots at or before this bound are cut off from N by a gap.
    const gapBefore = lastGapBefore(index.gaps, n);
    const lowest = gapBefore === null ? -Infinity : gapBefore.afterSequenceNumber + 1;

    // Rule 2 first (it bounds rule 1): the nearest snapshot at or before N per byte.
    const snapSeq = new Float64Array(length).fill(-Infinity);
    const snapRegion: (SnapshotRegionEntry | undefined)[] = new Array<SnapshotRegionEntry | undefined>(length);
    const snapEntry: (SnapshotEntry | undefined)[] = new Array<SnapshotEntry | undefined>(length);
    // Per region span, its latest snapshot at or before N (not before the last gap; exactly N without
    // recorded stores); the nearest of them wins where spans overlap.
    const before: Array<{ s: SnapshotEntry; r: SnapshotRegionEntry }> = [];
    for (const span of index.spans) {
      if (span.end <= address || span.start >= viewEnd) continue;
      const i = upperIndex(span.entries, n) - 1;
      if (i < 0) continue;
      const c = span.entries[i];
      if (c.s.sequenceNumber < lowest || (!index.writesRecorded && c.s.sequenceNumber !== n)) continue;
      before.push(c);
    }
    before.sort((x, y) => (y.s.sequenceNumber - x.s.sequenceNumber) || (y.s.snapshotId - x.s.snapshotId));
    for (const { s, r } of before) {
      const lo = r.start > address ? r.start : address;
      const hi = r.end < viewEnd ? r.end : viewEnd;
      for (let k = Number(lo - address); k < Number(hi - address); k++) {
        if (snapEntry[k] !== undefined) continue;
        snapEntry[k] = s;
        snapRegion[k] = r;
        snapSeq[k] = s.sequenceNumber;
      }
    }

    // Rule 1: the last write before N per byte, not older than the byte's snapshot nor than the last gap.
    const bestSeq = new Float64Array(length).fill(-Infinity);
    if (index.writesRecorded) {
      const bound = new Float64Array(length);
      for (let k = 0; k < length; k++) bound[k] = Math.max(lowest, snapSeq[k]);
      this.lastWrites(sessionId, address, length, bound, n - 1, bytes, bestSeq);
    }
    for (let k = 0; k < length; k++) {
      if (bestSeq[k] !== -Infinity) {
        known[k] = 1;
        sources[k] = { kind: 'write', sequenceNumber: bestSeq[k] };
      }
    }
    // Rule 2's bytes where no later write overrides them.
    this.fillFromSnapshots(address, length, bytes, known, sources, snapEntry, snapRegion);

    // Rule 3: a later snapshot, for bytes still unknown, when no gap and no write to them lies between.
    if (index.writesRecorded && known.includes(0)) {
      this.fromLaterSnapshots(sessionId, index, n, address, length, bytes, known, sources);
    }

    for (let k = 0; k < length; k++) {
      if (known[k]) continue;
      sources[k] = { kind: 'unknown', reason: unknownReason(index, gapBefore, snapEntry[k] !== undefined, n) };
    }
    return { sessionId, sequenceNumber: n, address, bytes, known, runs: toRuns(sources), writesRecorded: index.writesRecorded };
  }

  /**
   * Recorded writes overlapping [address, address + size), newest first: instructions after `after` and
   * before `before` (exclusive; defaults: the whole session), at most `limit` (default 100).
   */
  whoWrote(sessionId: number, address: bigint, size: number, opts: { before?: number; after?: number; limit?: number } = {}): WriteRow[] {
    this.index(sessionId);
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_VIEW_BYTES) {
      throw new BootscopeError(ErrorCode.Usage, `size ${size} must be 1 to ${MAX_VIEW_BYTES} bytes`);
    }
    const limit = opts.limit ?? 100;
    const hi = (opts.before ?? Number.MAX_SAFE_INTEGER) - 1;
    const lo = (opts.after ?? -1) + 1;
    if (hi < lo || limit <= 0) return [];
    const end = address + BigInt(size);
    const found: { seq: number; rowid: bigint; address: bigint; size: number; value: Uint8Array }[] = [];
    const add = (r: Row): void => {
      found.push({ seq: num(r.sequence_number), rowid: BigInt(r.rowid as bigint), address: addressFromSql(r.address), size: num(r.size), value: r.value as Uint8Array });
    };
    const lowest = address - BigInt(MAX_WRITE_BYTES - 1);
    if (size <= 64) {
      // A word or a few: per possible start address, the newest `limit` overlapping writes (one index seek
      // each, however often the word was written), then merged.
      const stmt = this.store.readStatement(`SELECT rowid, sequence_number, address, size, value FROM memory_writes
          WHERE session_id = ? AND address = ? AND sequence_number BETWEEN ? AND ? AND size > ?
          ORDER BY sequence_number DESC, rowid DESC LIMIT ?`);
      // Stores starting inside the range first (every one of them overlaps it); then those starting below
      // it, which overlap only when long enough: rarely, so SQLite reads many rows to find few. Only rows
      // newer than the limit-th newest found so far can still make the list, which bounds that walk.
      for (let a = address; a < end; a++) for (const r of stmt.all([sessionId, addressToSql(a), lo, hi, 0, limit])) add(r);
      let from = lo;
      if (found.length >= limit) from = Math.max(lo, found.map((w) => w.seq).sort((x, y) => y - x)[limit - 1]);
      for (let a = lowest < 0n ? 0n : lowest; a < address; a++) {
        for (const r of stmt.all([sessionId, addressToSql(a), from, hi, Number(address - a), limit])) add(r);
      }
    } else {
      // A larger range: one statement; SQLite walks whichever index is narrower (the instructions or the addresses).
      for (const r of this.store.readStatement(`SELECT rowid, sequence_number, address, size, value FROM memory_writes
          WHERE session_id = ? AND address BETWEEN ? AND ? AND sequence_number BETWEEN ? AND ? AND address + size > ?
          ORDER BY sequence_number DESC, rowid DESC LIMIT ?`).all([sessionId, addressToSql(lowest < 0n ? 0n : lowest), addressToSql(end - 1n), lo, hi, addressToSql(address), limit])) add(r);
    }
    found.sort((x, y) => (y.seq - x.seq) || (y.rowid > x.rowid ? 1 : y.rowid < x.rowid ? -1 : 0));
    // One look at the file's state for all the rows' old values (index() would check it per row).
    this.pinned = this.index(sessionId);
    try {
      return found.slice(0, limit).map((w) => this.writeRow(sessionId, w.seq, w.address, w.value));
    } finally {
      this.pinned = undefined;
    }
  }

  /** The last recorded write to any byte of [address, address + size) before instruction `sequenceNumber`. */
  lastWriteBefore(sessionId: number, address: bigint, size: number, sequenceNumber: number): WriteRow | null {
    return this.whoWrote(sessionId, address, size, { before: sequenceNumber, limit: 1 })[0] ?? null;
  }

  /**
   * The first recorded write that stored a non-pattern byte into painted region `regionName` after the
   * first snapshot in which the region was complete (every word the pattern). Null when no snapshot of the
   * session has the region complete.
   */
  firstPatternBreak(sessionId: number, regionName: string): PatternBreak | null {
    const index = this.index(sessionId);
    const complete = this.store.readStatement(`SELECT s.snapshot_id, s.sequence_number, r.start_address, r.end_address, r.expected_pattern
        FROM memory_snapshots s JOIN snapshot_regions r ON r.snapshot_id = s.snapshot_id
        WHERE s.session_id = ? AND r.region_name = ? AND r.expected_pattern IS NOT NULL AND r.total_words > 0
          AND r.pattern_matches = r.total_words AND s.sequence_number IS NOT NULL
        ORDER BY s.sequence_number, s.snapshot_id LIMIT 1`).get([sessionId, regionName]);
    if (!complete) {
      const exists = this.store.readStatement(`SELECT 1 AS one FROM snapshot_regions r JOIN memory_snapshots s ON s.snapshot_id = r.snapshot_id
          WHERE s.session_id = ? AND r.region_name = ? LIMIT 1`).get([sessionId, regionName]);
      if (!exists) throw new BootscopeError(ErrorCode.Usage, `session ${sessionId} has no region named "${regionName}" in any snapshot`);
      return null;
    }
    const start = addressFromSql(complete.start_address);
    const end = addressFromSql(complete.end_address);
    const pattern = Number(BigInt.asUintN(32, BigInt(complete.expected_pattern as bigint)));
    const completeAt = { snapshotId: num(complete.snapshot_id), sequenceNumber: num(complete.sequence_number) };
    const patternBytes = new Uint8Array(4);
    new DataView(patternBytes.buffer).setUint32(0, pattern, true);
    // Writes overlapping the region from the snapshot on, in order (instruction index), paged.
    const page = this.store.readStatement(`SELECT rowid, sequence_number, address, size, value FROM memory_writes
        WHERE session_id = ? AND sequence_number >= ? AND address > ? AND address < ?
          AND (sequence_number > ? OR (sequence_number = ? AND rowid > ?))
        ORDER BY sequence_number, rowid LIMIT 256`);
    let cursorSeq = completeAt.sequenceNumber - 1;
    let cursorRowid = -1n;
    const lowAddress = addressToSql(start - BigInt(MAX_WRITE_BYTES));
    const highAddress = addressToSql(end);
    for (;;) {
      const rows = page.all([sessionId, completeAt.sequenceNumber, lowAddress, highAddress, cursorSeq, cursorSeq, cursorRowid]);
      for (const r of rows) {
        const a = addressFromSql(r.address);
        const value = r.value as Uint8Array;
        for (let k = 0; k < value.length; k++) {
          const b = a + BigInt(k);
          if (b < start || b >= end) continue;
          if (value[k] !== patternBytes[Number((b - start) % 4n)]) {
            const seq = num(r.sequence_number);
            return { region: regionName, start, end, pattern, completeAt, write: this.writeRow(sessionId, seq, a, value), gaps: this.gapsBetween(sessionId, completeAt.sequenceNumber, seq + 1) };
          }
        }
      }
      if (rows.length < 256) break;
      const lastRow = rows[rows.length - 1];
      cursorSeq = num(lastRow.sequence_number);
      cursorRowid = BigInt(lastRow.rowid as bigint);
    }
    return { region: regionName, start, end, pattern, completeAt, write: null, gaps: this.gapsBetween(sessionId, completeAt.sequenceNumber, index.last + 1) };
  }

  // ---- internals ----

  private writeRow(sessionId: number, seq: number, address: bigint, value: Uint8Array): WriteRow {
    const step = this.store.readStatement('SELECT pc_address, function_name, boot_stage FROM instruction_traces WHERE session_id = ? AND sequence_number = ?').get([sessionId, seq]);
    const before = this.memoryAt(sessionId, seq, address, value.length);
    return {
      sequence_number: seq,
      pc: step ? hexAddress(addressFromSql(step.pc_address)) : '',
      function_name: step ? strOrNull(step.function_name) : null,
      boot_stage: step ? strOrNull(step.boot_stage) : null,
      address: hexAddress(address),
      size: value.length,
      value: hexOf(value),
      old_value: before.known.includes(0) ? null : hexOf(before.bytes),
    };
  }

  /**
   * Rule 1: for each byte k of the view, the newest write with bound[k] <= seq <= maxSeq covering it, into
   * bytes/bestSeq. First the recent past in one statement: the writes of the last RECENT_WINDOW
   * instructions (or since the bytes' snapshot, when nearer) overlapping the view, by the instruction index.
   * That settles every byte whose snapshot is that recent, and most of a live stack. Bytes still open
   * (no snapshot, or one further back) are looked up per possible start address in the address index,
   * newest first: a first pass takes the newest row at each address, a second goes deeper only where an
   * older row could still beat what the bytes it may cover have. Each page starts its index range at the
   * previous page's last row, so going deep costs no rescans.
   */
  private lastWrites(sessionId: number, address: bigint, length: number, bound: Float64Array, maxSeq: number, bytes: Uint8Array, bestSeq: Float64Array): void {
    const bestRowid = new Array<bigint>(length).fill(-1n);
    const end = address + BigInt(length);
    const first = address - BigInt(MAX_WRITE_BYTES - 1);
    const lowAddress = first < 0n ? 0n : first;
    let lowestBound = Infinity;
    for (let k = 0; k < length; k++) lowestBound = Math.min(lowestBound, bound[k]);
    // A few bytes (an old value, a word): a handful of address seeks beat reading thousands of recent stores.
    const recentFrom = length <= MAX_WRITE_BYTES * 4 ? maxSeq + 1 : Math.max(lowestBound, maxSeq + 1 - RECENT_WINDOW);
    const apply = (off: number, seq: number, rowid: bigint, value: Uint8Array): void => {
      for (let j = 0; j < value.length; j++) {
        const k = off + j;
        if (k < 0 || k >= length || seq < bound[k]) continue;
        if (seq > bestSeq[k] || (seq === bestSeq[k] && rowid > bestRowid[k])) {
          bestSeq[k] = seq;
          bestRowid[k] = rowid;
          bytes[k] = value[j];
        }
      }
    };
    if (recentFrom <= maxSeq) {
      for (const r of this.store.readStatement(`SELECT rowid, sequence_number, address, value FROM memory_writes INDEXED BY idx_memory_writes_seq
          WHERE session_id = ? AND sequence_number BETWEEN ? AND ? AND address BETWEEN ? AND ?`)
        .all([sessionId, Number.isFinite(recentFrom) ? recentFrom : -1, maxSeq, addressToSql(lowAddress), addressToSql(end - 1n)])) {
        apply(Number(addressFromSql(r.address) - address), num(r.sequence_number), BigInt(r.rowid as bigint), r.value as Uint8Array);
      }
    }
    const olderTo = recentFrom - 1; // what is left to search: rows up to here
    let open = false;
    for (let k = 0; k < length && !open; k++) open = bestSeq[k] === -Infinity && bound[k] <= olderTo;
    if (!open) return;

    // `size > ?`: only rows long enough to reach a byte still worth improving. SQLite checks it row by row
    // in C, so a byte nobody ever wrote costs a walk of the index, not a row per store shipped to JS.
    const page = this.store.readStatement(`SELECT rowid, sequence_number, size, value FROM memory_writes
        WHERE session_id = ? AND address = ? AND sequence_number BETWEEN ? AND ?
          AND NOT (sequence_number = ? AND rowid >= ?) AND size > ?
        ORDER BY sequence_number DESC, rowid DESC LIMIT ?`);
    interface Cursor { a: bigint; off: number; from: number; to: number; seq: number; rowid: bigint; done: boolean }
    /**
     * For rows at or below the cursor: the nearest byte offset from `a` that such a row could still improve
     * (it must reach it: size > offset), and the lowest sequence number worth reading; null when none.
     */
    const need = (c: Cursor): { minOffset: number; lowSeq: number } | null => {
      let minOffset = Infinity;
      let lowSeq = Infinity;
      for (let k = c.from; k < c.to; k++) {
        if (bound[k] > c.seq) continue;
        if (bestSeq[k] > c.seq || (bestSeq[k] === c.seq && bestRowid[k] >= c.rowid)) continue;
        minOffset = Math.min(minOffset, k - c.off);
        lowSeq = Math.min(lowSeq, Math.max(bound[k], bestSeq[k]));
      }
      return minOffset === Infinity ? null : { minOffset, lowSeq };
    };
    const fetch = (c: Cursor, limit: number): void => {
      const n = need(c);
      if (n === null) { c.done = true; return; }
      const rows = page.all([sessionId, addressToSql(c.a), Number.isFinite(n.lowSeq) ? n.lowSeq : -1, c.seq, c.seq, c.rowid, n.minOffset, limit]);
      for (const r of rows) {
        const seq = num(r.sequence_number);
        const rowid = BigInt(r.rowid as bigint);
        apply(c.off, seq, rowid, r.value as Uint8Array);
        c.seq = seq;
        c.rowid = rowid;
      }
      if (rows.length < limit) c.done = true;
    };
    const cursors: Cursor[] = [];
    for (let a = lowAddress; a < end; a++) {
      // View bytes a write at `a` can cover: [from, to); only those still open matter.
      const off = Number(a - address);
      const from = a < address ? 0 : off;
      const to = Math.min(length, off + MAX_WRITE_BYTES);
      let wanted = false;
      for (let k = from; k < to && !wanted; k++) wanted = bestSeq[k] === -Infinity && bound[k] <= olderTo;
      // rowid 2^63 - 1: nothing excluded at the first page's top sequence number.
      if (wanted) cursors.push({ a, off, from, to, seq: olderTo, rowid: 0x7fffffffffffffffn, done: false });
    }
    // First pass, FIRST_PASS_BATCH addresses per statement (each its own index seek inside SQLite: one
    // call from JS instead of one per address). Settles most bytes before anyone goes deep.
    const batch = this.store.readStatement(Array.from({ length: FIRST_PASS_BATCH }, () => `SELECT * FROM (SELECT rowid AS rowid, address, sequence_number, value
        FROM memory_writes WHERE session_id = ? AND address = ? AND sequence_number BETWEEN ? AND ? AND size > ?
        ORDER BY sequence_number DESC, rowid DESC LIMIT 1)`).join(' UNION ALL '));
    for (let i = 0; i < cursors.length; i += FIRST_PASS_BATCH) {
      const group = cursors.slice(i, i + FIRST_PASS_BATCH);
      const params: SQLiteValue[] = [];
      const byAddress = new Map<bigint, Cursor>();
      for (const c of group) {
        const n = need(c);
        if (n === null) { c.done = true; params.push(sessionId, 0, 1, 0, 0); continue; } // an empty range
        byAddress.set(c.a, c);
        params.push(sessionId, addressToSql(c.a), Number.isFinite(n.lowSeq) ? n.lowSeq : -1, c.seq, n.minOffset);
      }
      for (let k = group.length; k < FIRST_PASS_BATCH; k++) params.push(sessionId, 0, 1, 0, 0);
      const found = new Set<Cursor>();
      for (const r of batch.all(params)) {
        const c = byAddress.get(addressFromSql(r.address));
        if (!c) continue;
        found.add(c);
        const seq = num(r.sequence_number);
        const rowid = BigInt(r.rowid as bigint);
        apply(c.off, seq, rowid, r.value as Uint8Array);
        c.seq = seq;
        c.rowid = rowid;
      }
      for (const c of group) if (!found.has(c)) c.done = true;
    }
    for (const c of cursors) {
      if (c.done) continue;
      for (let limit = 16; !c.done; limit = Math.min(limit * 4, 4096)) fetch(c, limit);
    }
  }

  private fillFromSnapshots(address: bigint, length: number, bytes: Uint8Array, known: Uint8Array, sources: (ByteSource | undefined)[],
    entries: (SnapshotEntry | undefined)[], regions: (SnapshotRegionEntry | undefined)[]): void {
    const blob = this.store.readStatement('SELECT substr(data, ?, ?) AS part FROM region_blobs WHERE blob_id = ?');
    for (let k = 0; k < length;) {
      const s = entries[k];
      const r = regions[k];
      if (s === undefined || r === undefined || known[k]) { k++; continue; }
      // A run of bytes from the same snapshot region: read them in one substr().
      let e = k + 1;
      while (e < length && entries[e] === s && regions[e] === r) e++;
      const offset = Number(address + BigInt(k) - r.start);
      const part = blob.get([offset + 1, e - k, r.blobId])?.part;
      const data = part instanceof Uint8Array ? part : new Uint8Array(0);
      const source: ByteSource = { kind: 'snapshot', snapshotId: s.snapshotId, sequenceNumber: s.sequenceNumber, region: r.name };
      for (let j = k; j < e; j++) {
        if (known[j] || j - k >= data.length) continue;
        bytes[j] = data[j - k];
        known[j] = 1;
        sources[j] = source;
      }
      k = e;
    }
  }

  /** Rule 3: bytes still unknown from the nearest later snapshot, when nothing recorded or unrecorded changed them. */
  private fromLaterSnapshots(sessionId: number, index: SessionIndex, n: number, address: bigint, length: number,
    bytes: Uint8Array, known: Uint8Array, sources: (ByteSource | undefined)[]): void {
    const gapAfter = index.gaps.find((g) => g.afterSequenceNumber >= n);
    // No gap may lie in [N, S - 1]: the first gap at or after N (after A) allows snapshots up to S = A only.
    const limit = gapAfter === undefined ? Infinity : gapAfter.afterSequenceNumber;
    const viewEnd = address + BigInt(length);
    const entries: (SnapshotEntry | undefined)[] = new Array<SnapshotEntry | undefined>(length);
    const regions: (SnapshotRegionEntry | undefined)[] = new Array<SnapshotRegionEntry | undefined>(length);
    // Per region span, its first snapshot after N with no gap in between; the nearest wins.
    const after: Array<{ s: SnapshotEntry; r: SnapshotRegionEntry }> = [];
    for (const span of index.spans) {
      if (span.end <= address || span.start >= viewEnd) continue;
      const i = upperIndex(span.entries, n);
      if (i >= span.entries.length || span.entries[i].s.sequenceNumber > limit) continue;
      after.push(span.entries[i]);
    }
    after.sort((x, y) => (x.s.sequenceNumber - y.s.sequenceNumber) || (y.s.snapshotId - x.s.snapshotId));
    for (const { s, r } of after) {
      const lo = r.start > address ? r.start : address;
      const hi = r.end < viewEnd ? r.end : viewEnd;
      for (let k = Number(lo - address); k < Number(hi - address); k++) {
        if (known[k] || entries[k] !== undefined) continue;
        entries[k] = s;
        regions[k] = r;
      }
    }
    // A recorded write in [N, S - 1] to such a byte means the snapshot shows the value after it: not before N.
    const firstWrite = this.store.readStatement(`SELECT sequence_number, size FROM memory_writes
        WHERE session_id = ? AND address = ? AND sequence_number BETWEEN ? AND ? AND size > ?
        ORDER BY sequence_number LIMIT 1`);
    const first = address - BigInt(MAX_WRITE_BYTES - 1);
    for (let a = first < 0n ? 0n : first; a < viewEnd; a++) {
      const from = a < address ? 0 : Number(a - address);
      const to = Math.min(length, Number(a - address) + MAX_WRITE_BYTES);
      let maxSnapshot = -Infinity;
      for (let k = from; k < to; k++) if (entries[k]) maxSnapshot = Math.max(maxSnapshot, (entries[k] as SnapshotEntry).sequenceNumber);
      if (maxSnapshot === -Infinity) continue;
      // Page through this address's writes in [N, maxSnapshot - 1]; each disqualifies the bytes it covers
      // whose snapshot comes after it. Usually there are none.
      let fromSeq = n;
      for (;;) {
        const row = firstWrite.get([sessionId, addressToSql(a), fromSeq, maxSnapshot - 1, from - Number(a - address)]);
        if (!row) break;
        const seq = num(row.sequence_number);
        const off = Number(a - address);
        for (let j = 0; j < num(row.size); j++) {
          const k = off + j;
          if (k >= 0 && k < length && entries[k] !== undefined && (entries[k] as SnapshotEntry).sequenceNumber > seq) {
            entries[k] = undefined;
            regions[k] = undefined;
          }
        }
        fromSeq = seq + 1;
        let candidates = false;
        for (let k = from; k < to && !candidates; k++) candidates = entries[k] !== undefined && (entries[k] as SnapshotEntry).sequenceNumber > fromSeq;
        if (!candidates) break;
      }
    }
    this.fillFromSnapshots(address, length, bytes, known, sources, entries, regions);
  }

  /** The session's snapshots and gaps, reloaded when the file gained any (a recording still being written). */
  private index(sessionId: number): SessionIndex {
    if (this.pinned && this.pinned.sessionId === sessionId) return this.pinned;
    if (!Number.isSafeInteger(sessionId)) throw new BootscopeError(ErrorCode.Usage, `session ${sessionId} is not a session id`);
    const token = this.token(sessionId);
    const cached = this.sessions.get(sessionId);
    if (cached && cached.token === token) return cached;
    const session = this.store.readStatement('SELECT session_id, config_json FROM boot_sessions WHERE session_id = ?').get([sessionId]);
    if (!session) {
      const ids = this.store.readStatement('SELECT MIN(session_id) AS lo, MAX(session_id) AS hi, COUNT(*) AS n FROM boot_sessions').get();
      const which = ids && num(ids.n) > 0 ? `sessions ${num(ids.lo)} to ${num(ids.hi)} exist (see \`bootscope sessions\`)` : 'it has no sessions';
      throw new BootscopeError(ErrorCode.Usage, `session ${sessionId} does not exist in ${this.store.file}: ${which}`);
    }
    const firstRow = this.store.readStatement('SELECT MIN(sequence_number) AS s FROM instruction_traces WHERE session_id = ?').get([sessionId]);
    const lastRow = this.store.readStatement('SELECT MAX(sequence_number) AS s FROM instruction_traces WHERE session_id = ?').get([sessionId]);
    if (!firstRow || firstRow.s === null) {
      throw new BootscopeError(ErrorCode.Usage, `session ${sessionId} of ${this.store.file} has no recorded instructions`);
    }
    const byId = new Map<number, SnapshotEntry>();
    const spans = new Map<string, RegionSpan>();
    for (const r of this.store.readStatement(`SELECT s.snapshot_id, s.sequence_number, r.region_name, r.start_address, r.end_address, r.blob_id, r.physical
        FROM memory_snapshots s JOIN snapshot_regions r ON r.snapshot_id = s.snapshot_id
        WHERE s.session_id = ? AND s.sequence_number IS NOT NULL ORDER BY s.sequence_number, s.snapshot_id, r.region_id`).all([sessionId])) {
      const id = num(r.snapshot_id);
      let entry = byId.get(id);
      if (!entry) {
        entry = { snapshotId: id, sequenceNumber: num(r.sequence_number), regions: [] };
        byId.set(id, entry);
      }
      if (r.physical !== null && num(r.physical) === 1) continue;
      const region: SnapshotRegionEntry = { name: String(r.region_name), start: addressFromSql(r.start_address), end: addressFromSql(r.end_address), blobId: num(r.blob_id) };
      entry.regions.push(region);
      const key = `${region.name}\u0000${region.start}\u0000${region.end}`;
      let span = spans.get(key);
      if (!span) spans.set(key, span = { start: region.start, end: region.end, entries: [] });
      span.entries.push({ s: entry, r: region }); // rows come ascending by sequence number, then id
    }
    const gaps: TraceGap[] = this.store.readStatement(`SELECT gap_id, after_sequence_number, reason, instructions_skipped FROM trace_gaps
        WHERE session_id = ? ORDER BY after_sequence_number, gap_id`).all([sessionId]).map((r) => ({
      gapId: num(r.gap_id), afterSequenceNumber: num(r.after_sequence_number), reason: String(r.reason),
      instructionsSkipped: r.instructions_skipped === null ? null : num(r.instructions_skipped),
    }));
    const anyWrite = this.store.readStatement('SELECT 1 AS one FROM memory_writes WHERE session_id = ? LIMIT 1').get([sessionId]);
    const index: SessionIndex = {
      sessionId, token, first: num(firstRow.s), last: num((lastRow as Row).s), spans: [...spans.values()], gaps,
      writesRecorded: anyWrite !== null || captureIsPlugin(session.config_json),
    };
    this.sessions.set(sessionId, index);
    return index;
  }

  /** Changes when the session gains steps, snapshots, gaps or writes (cheap: index seeks). */
  private token(sessionId: number): string {
    const parts = [
      this.store.readStatement('SELECT MAX(sequence_number) AS v FROM instruction_traces WHERE session_id = ?').get([sessionId])?.v,
      this.store.readStatement('SELECT MAX(sequence_number) AS v FROM memory_snapshots WHERE session_id = ?').get([sessionId])?.v,
      this.store.readStatement('SELECT COUNT(*) AS v FROM memory_snapshots WHERE session_id = ?').get([sessionId])?.v,
      this.store.readStatement('SELECT COUNT(*) AS v FROM trace_gaps WHERE session_id = ?').get([sessionId])?.v,
      this.store.readStatement('SELECT MAX(sequence_number) AS v FROM memory_writes WHERE session_id = ?').get([sessionId])?.v,
    ];
    return parts.map((v) => String(v ?? '')).join('/');
  }
}

function strOrNull(v: SQLiteValue | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** Whether a session's configuration asked for plugin capture (its stores are recorded). */
function captureIsPlugin(configJson: SQLiteValue | undefined): boolean {
  if (typeof configJson !== 'string') return false;
  try {
    const parsed = JSON.parse(configJson) as { capture?: unknown };
    return parsed.capture === 'plugin';
  } catch {
    return false;
  }
}

/** The last gap whose unrecorded instructions ran before the state at `n` (after_sequence_number < n). */
function lastGapBefore(gaps: readonly TraceGap[], n: number): TraceGap | null {
  let found: TraceGap | null = null;
  for (const g of gaps) {
    if (g.afterSequenceNumber < n) found = g;
    else break;
  }
  return found;
}

/** Index of the first entry whose snapshot has sequence_number > n (binary search). */
function upperIndex(entries: ReadonlyArray<{ s: SnapshotEntry }>, n: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].s.sequenceNumber <= n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function unknownReason(index: SessionIndex, gapBefore: TraceGap | null, hadSnapshot: boolean, n: number): string {
  if (hadSnapshot) return 'the snapshot holds fewer bytes than its region claims';
  if (!index.writesRecorded) {
    return `this session recorded no memory writes (gdbstub capture): memory is known only at snapshots, and no snapshot at instruction ${n} covers it`;
  }
  if (gapBefore !== null) {
    return `no recorded write or snapshot since the trace gap after instruction ${gapBefore.afterSequenceNumber} (${gapBefore.reason}) covers it`;
  }
  return 'no snapshot covers it and no recorded write before it';
}

/** Consecutive bytes with the same source, as runs. */
function toRuns(sources: readonly (ByteSource | undefined)[]): MemoryRun[] {
  const runs: MemoryRun[] = [];
  for (let k = 0; k < sources.length; k++) {
    const s = sources[k] as ByteSource;
    const last = runs[runs.length - 1];
    if (last && sameSource(last.source, s)) last.length++;
    else runs.push({ offset: k, length: 1, source: s });
  }
  return runs;
}

function sameSource(a: ByteSource, b: ByteSource): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'write' && b.kind === 'write') return a.sequenceNumber === b.sequenceNumber;
  if (a.kind === 'snapshot' && b.kind === 'snapshot') return a.snapshotId === b.snapshotId && a.region === b.region;
  return a.kind === 'unknown' && b.kind === 'unknown' && a.reason === b.reason;
}
