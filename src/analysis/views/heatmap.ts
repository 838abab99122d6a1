// Pattern heatmap data (seed 2.4 pattern validation, 2.3.3 regions): for one region, every 32-bit word in
// every snapshot of the session, classified as matching the expected painted pattern or not, and as
// changed since the previous snapshot or not; plus the first corruption — the earliest snapshot in which a
// word that matched stops matching (lowest address first). Words are aligned little-endian, as
// src/store/pattern.ts counts them.
import {
  CELL_CHANGED, CELL_MATCHES, CELL_MISSING, HEATMAP_MAX_WORDS,
  type FirstCorruption, type HeatmapRegionSummary, type HeatmapSnapshot, type RegionHeatmap,
} from '../../protocol/messages';
import { hexAddress, num, rowsOf, str, strOrNull, type SqlSource } from './sql-source';

/** Regions of the session that have an expected pattern, lowest address first. */
export async function listPatternRegions(src: SqlSource, sessionId: number): Promise<HeatmapRegionSummary[]> {
  const rows = await rowsOf(src,
    `SELECT mr.region_name AS name, MIN(mr.start_address) AS start, MAX(mr.size) AS size,
            MAX(mr.expected_pattern) AS pattern, COUNT(*) AS snapshots
     FROM memory_regions mr JOIN memory_snapshots ms ON ms.snapshot_id = mr.snapshot_id
     WHERE ms.session_id = ? AND mr.expected_pattern IS NOT NULL
     GROUP BY mr.region_name ORDER BY start, name`, [sessionId]);
  return rows.map((r) => ({
    name: str(r.name), startAddress: hexAddress(r.start), sizeBytes: num(r.size), totalWords: Math.floor(num(r.size) / 4),
    expectedPattern: num(r.pattern) >>> 0, snapshotCount: num(r.snapshots),
  }));
}

/** Cells of one region: words [wordStart, wordStart + wordCount) × all snapshots of the session. */
export async function loadRegionHeatmap(src: SqlSource, sessionId: number, regionName: string, wordStart = 0, wordCount = HEATMAP_MAX_WORDS): Promise<RegionHeatmap> {
  const started = performance.now();
  const rows = await rowsOf(src,
    `SELECT ms.snapshot_id, ms.sequence_number, ms.timestamp, ms.boot_stage, ms.trigger,
            mr.data, mr.expected_pattern, mr.start_address
     FROM memory_snapshots ms
     LEFT JOIN memory_regions mr ON mr.snapshot_id = ms.snapshot_id AND mr.region_name = ?
     WHERE ms.session_id = ? ORDER BY ms.sequence_number, ms.snapshot_id`, [regionName, sessionId]);
  const snapshots: HeatmapSnapshot[] = rows.map((r) => ({
    snapshotId: num(r.snapshot_id), sequenceNumber: r.sequence_number === null ? null : num(r.sequence_number),
    timestamp: str(r.timestamp), stage: str(r.boot_stage), trigger: strOrNull(r.trigger),
  }));
  const present = rows.filter((r) => r.data instanceof Uint8Array);
  if (present.length === 0) throw new Error(`region "${regionName}" has no snapshot in session ${sessionId}`);
  const expected = num(present.find((r) => r.expected_pattern !== null)?.expected_pattern ?? 0) >>> 0;
  const startAddress = BigInt.asUintN(64, BigInt(present[0].start_address as number | bigint));
  const totalWords = Math.max(...present.map((r) => Math.floor((r.data as Uint8Array).byteLength / 4)));
  wordStart = Math.max(0, Math.min(Math.floor(wordStart), Math.max(0, totalWords - 1)));
  wordCount = Math.max(0, Math.min(Math.floor(wordCount), HEATMAP_MAX_WORDS, totalWords - wordStart));

  const S = rows.length;
  const values = new Uint32Array(S * wordCount);
  const states = new Uint8Array(S * wordCount);
  const wordsOf = (d: Uint8Array | null): DataView | null => (d ? new DataView(d.buffer, d.byteOffset, Math.floor(d.byteLength / 4) * 4) : null);
  let firstCorruption: FirstCorruption | null = null;
  let previous: DataView | null = null;
  for (let s = 0; s < S; s++) {
    const data = rows[s].data instanceof Uint8Array ? (rows[s].data as Uint8Array) : null;
    const view = wordsOf(data);
    // First corruption over the whole region, not only the words shown.
    if (!firstCorruption && view && previous) {
      const n = Math.min(view.byteLength, previous.byteLength) / 4;
      for (let w = 0; w < n; w++) {
        if (previous.getUint32(w * 4, true) === expected && view.getUint32(w * 4, true) !== expected) {
          firstCorruption = {
            wordIndex: w, address: `0x${(startAddress + BigInt(w * 4)).toString(16)}`, snapshotIndex: s,
            snapshotId: snapshots[s].snapshotId, stage: snapshots[s].stage, timestamp: snapshots[s].timestamp,
            value: view.getUint32(w * 4, true), expected,
          };
          break;
        }
      }
    }
    for (let i = 0; i < wordCount; i++) {
      const w = wordStart + i;
      const cell = s * wordCount + i;
      if (!view || w * 4 + 4 > view.byteLength) { states[cell] = CELL_MISSING; continue; }
      const v = view.getUint32(w * 4, true);
      values[cell] = v;
      let st = v === expected ? CELL_MATCHES : 0;
      if (previous && w * 4 + 4 <= previous.byteLength && previous.getUint32(w * 4, true) !== v) st |= CELL_CHANGED;
      states[cell] = st;
    }
    if (view) previous = view;
  }
  return {
    regionName, startAddress: `0x${startAddress.toString(16)}`, expectedPattern: expected, totalWords, wordStart, wordCount, snapshots,
    valuesBase64: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64'),
    statesBase64: Buffer.from(states.buffer, states.byteOffset, states.byteLength).toString('base64'),
    firstCorruption, queryMs: performance.now() - started,
  };
}
