// Every message between a webview panel (webview/*.ts, browser) and its host (src/extension/panels, or the
// test harness playing the host), typed once here and imported by both sides. Leaf layer: no imports.
// Values that can exceed 2^53 (addresses) travel as hex strings; bulk arrays travel as base64.

/** A boot_sessions row as the panels show it. */
export interface SessionSummary {
  sessionId: number;
  startTime: string;
  description: string | null;
  status: string | null;
  instructionCount: number;
  arch: string | null;
}

/** Messages every panel sends. */
export interface ReadyMessage {
  type: 'ready';
}

/** The host could not do what the webview asked; `message` says what failed and with which value. */
export interface HostErrorMessage {
  type: 'error';
  requestId?: number;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------
// Boot-stage timeline

/** One visit of a boot stage (a boot_stages row; seed 2.3.2 stages). */
export interface StageBand {
  name: string;
  /** n-th entry into this stage (a stage entered twice gives two bands). */
  visit: number;
  firstSeq: number;
  lastSeq: number;
  instructionCount: number;
  /** Wall time of the first and last step of the visit, µs since the epoch. */
  startUs: number;
  endUs: number;
}

export interface SnapshotMarker {
  snapshotId: number;
  sequenceNumber: number;
  timestampUs: number;
  timestamp: string;
  stage: string;
  trigger: string | null;
  pc: string;
}

export interface TimelineOverview {
  sessionId: number;
  firstSeq: number;
  lastSeq: number;
  instructionCount: number;
  stages: StageBand[];
  snapshots: SnapshotMarker[];
  /** How long the host spent in SQL for this overview (shown in the status line). */
  queryMs: number;
}

/** One executed instruction, shipped only when a window is narrow enough to show single steps. */
export interface InstructionRow {
  sequenceNumber: number;
  timestamp: string;
  pc: string;
  disassembly: string | null;
  functionName: string | null;
  stage: string | null;
}

/** One of the busiest functions of the session (lanes come most executed first). */
export interface TimelineLane {
  functionName: string;
  /** Executed instructions of this function per bucket (bucket i covers fromSeq + i*bucketSize ...). */
  counts: number[];
}

/** Activity of the lane functions in [fromSeq, toSeq], aggregated into buckets by SQL. */
export interface TimelineWindow {
  fromSeq: number;
  toSeq: number;
  bucketSize: number;
  bucketCount: number;
  lanes: TimelineLane[];
  /** Instructions of all other functions per bucket. */
  otherCounts: number[];
  /** Present when the window holds at most TIMELINE_ROW_LIMIT instructions. */
  instructions?: InstructionRow[];
  queryMs: number;
}

/** Windows narrower than this ship their instruction rows (hover shows the exact step). */
export const TIMELINE_ROW_LIMIT = 2000;

export type TimelineToHost =
  | ReadyMessage
  | { type: 'timeline/selectSession'; sessionId: number }
  | { type: 'timeline/requestWindow'; requestId: number; sessionId: number; fromSeq: number; toSeq: number; buckets: number }
  | { type: 'timeline/selectInstruction'; sessionId: number; sequenceNumber: number };

export type TimelineToWebview =
  | { type: 'timeline/init'; recordingName: string; sessions: SessionSummary[]; overview: TimelineOverview | null }
  | { type: 'timeline/window'; requestId: number; window: TimelineWindow }
  | { type: 'timeline/instructionSelected'; sessionId: number; sequenceNumber: number; row: InstructionRow | null }
  | HostErrorMessage;

// ---------------------------------------------------------------------------------------------------------
// Pattern heatmap

export interface HeatmapSnapshot {
  snapshotId: number;
  sequenceNumber: number | null;
  timestamp: string;
  stage: string;
  trigger: string | null;
}

/** A region with an expected pattern (seed 2.3.3 regions, 2.4 pattern validation). */
export interface HeatmapRegionSummary {
  name: string;
  startAddress: string;
  sizeBytes: number;
  totalWords: number;
  expectedPattern: number;
  snapshotCount: number;
}

/** Bit flags of one cell (word w in snapshot s) in RegionHeatmap.states. */
export const CELL_MATCHES = 1;
export const CELL_CHANGED = 2;
/** The region was not captured in that snapshot (read failed or not configured then). */
export const CELL_MISSING = 4;

export interface FirstCorruption {
  /** Word index within the region. */
  wordIndex: number;
  address: string;
  /** Index into RegionHeatmap.snapshots of the first snapshot where the word no longer matches. */
  snapshotIndex: number;
  snapshotId: number;
  stage: string;
  timestamp: string;
  value: number;
  expected: number;
}

export interface RegionHeatmap {
  regionName: string;
  startAddress: string;
  expectedPattern: number;
  totalWords: number;
  /** The words shown: [wordStart, wordStart + wordCount). */
  wordStart: number;
  wordCount: number;
  snapshots: HeatmapSnapshot[];
  /** base64 of little-endian uint32 words, snapshot-major: (s * wordCount + w) * 4. */
  valuesBase64: string;
  /** base64 of one byte per cell (CELL_* flags), snapshot-major like valuesBase64. */
  statesBase64: string;
  /** Over the whole region, not only the words shown. */
  firstCorruption: FirstCorruption | null;
  queryMs: number;
}

/** The heatmap never ships more than this many words of one region at once. */
export const HEATMAP_MAX_WORDS = 16384;

/** One recorded store (memory_writes) to a clicked word; values are hex bytes in memory order, as the CLI's who-wrote. */
export interface HeatmapWrite {
  sequenceNumber: number;
  pc: string;
  functionName: string | null;
  bootStage: string | null;
  address: string;
  size: number;
  value: string;
  /** Memory there before the store; null when not known. */
  oldValue: string | null;
}

/** Who wrote the word clicked in snapshot `snapshotId` (taken before instruction `sequenceNumber`). */
export interface HeatmapWrites {
  sessionId: number;
  regionName: string;
  address: string;
  snapshotId: number;
  sequenceNumber: number | null;
  /** false: the session recorded no stores (gdbstub capture), so nothing can be named. */
  writesRecorded: boolean;
  /** The last store to the word before the snapshot: the one whose value the snapshot shows. */
  lastBefore: HeatmapWrite | null;
  /** Every store to the word in the session, newest first, at most `limit`. */
  writes: HeatmapWrite[];
  limit: number;
}

export type HeatmapToHost =
  | ReadyMessage
  | { type: 'heatmap/selectSession'; sessionId: number }
  | { type: 'heatmap/requestRegion'; requestId: number; sessionId: number; regionName: string; wordStart: number; wordCount: number }
  | { type: 'heatmap/whoWrote'; requestId: number; sessionId: number; regionName: string; address: string; snapshotId: number; sequenceNumber: number | null }
  /** Move a replay debug session of this recording to the instruction (command bootscope.gotoInstruction). */
  | { type: 'heatmap/gotoInstruction'; sessionId: number; sequenceNumber: number };

export type HeatmapToWebview =
  | { type: 'heatmap/init'; recordingName: string; sessions: SessionSummary[]; sessionId: number | null; regions: HeatmapRegionSummary[] }
  | { type: 'heatmap/region'; requestId: number; heatmap: RegionHeatmap }
  | { type: 'heatmap/writes'; requestId: number; writes: HeatmapWrites }
  | HostErrorMessage;

// ---------------------------------------------------------------------------------------------------------
// Query console

/** A result cell: SQLite values, with integers beyond 2^53 as decimal strings and BLOBs summarised. */
export type GridCell = string | number | null | { blob: number; hex: string };

export interface QueryPreset {
  id: string;
  /** e.g. "4.1 Boot sequence timing". */
  label: string;
  sql: string;
}

export type SortDirection = 'asc' | 'desc';

export interface ResultPage {
  resultId: number;
  offset: number;
  rows: GridCell[][];
}

export interface QueryResultSummary {
  resultId: number;
  columns: string[];
  rowCount: number;
  /** Rows changed by a write-mode statement (absent for read-only runs). */
  changes?: number;
  elapsedMs: number;
  firstPage: ResultPage;
}

/** Rows per page the webview asks for; the grid keeps only the pages near the viewport. */
export const CONSOLE_PAGE_SIZE = 200;

export type ConsoleToHost =
  | ReadyMessage
  | { type: 'console/run'; requestId: number; sql: string; sessionId: number | null }
  | { type: 'console/cancel'; requestId: number }
  | { type: 'console/page'; resultId: number; offset: number; limit: number }
  | { type: 'console/sort'; resultId: number; column: number; direction: SortDirection }
  | { type: 'console/copy'; resultId: number; rows: number[] | 'all' }
  | { type: 'console/exportCsv'; resultId: number }
  | { type: 'console/setWriteMode'; enabled: boolean };

export type ConsoleToWebview =
  | { type: 'console/init'; recordingName: string; sessions: SessionSummary[]; sessionId: number | null; presets: QueryPreset[]; history: string[]; writeMode: boolean }
  | { type: 'console/started'; requestId: number }
  | { type: 'console/result'; requestId: number; result: QueryResultSummary }
  | { type: 'console/page'; page: ResultPage }
  | { type: 'console/sorted'; resultId: number; column: number; direction: SortDirection; firstPage: ResultPage }
  | { type: 'console/queryError'; requestId: number; message: string }
  | { type: 'console/cancelled'; requestId: number }
  | { type: 'console/history'; history: string[] }
  | { type: 'console/writeMode'; enabled: boolean }
  | { type: 'console/notice'; message: string }
  | HostErrorMessage;

/** Maps each panel kind to its two message directions (used by the generic host and the test harness). */
export interface PanelMessages {
  timeline: { toHost: TimelineToHost; toWebview: TimelineToWebview };
  heatmap: { toHost: HeatmapToHost; toWebview: HeatmapToWebview };
  console: { toHost: ConsoleToHost; toWebview: ConsoleToWebview };
}
export type PanelKind = keyof PanelMessages;
