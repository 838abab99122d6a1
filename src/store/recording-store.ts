// RecordingStore: the one API over a recording file (schema.ts). The write side is a single batched writer:
// appendStep buffers rows and commits them as one transaction every `batchRows` rows or `flushIntervalMs`,
// delta-encodes registers (registers.ts), derives boot-stage visits from the steps' bootStage, and dedups
// snapshot contents. The read side gives typed rows to the CLI, adapter, tree view and webviews, plus a
// guarded generic query() for user SQL. The file is on node:sqlite in WAL mode (sqlite.ts): one writer and
// any number of readers, in any process, Bootscope's or not. Sessions whose recording process died read as
// 'interrupted' (recorder-process.ts); a writer's open() writes that status down.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { BootscopeError, ErrorCode } from '../common/errors';
import { applyMigrations, schemaVersionOf, SCHEMA_VERSION, type SessionStatus, type SnapshotTrigger } from './schema';
import { checkPattern, DEFAULT_PATTERN_THRESHOLD } from './pattern';
import {
  applyRegisterJson, encodeFullRegisters, toRegisterState, updateRegisterState,
  type RegisterInput, type RegisterState,
} from './registers';
import { formatTimestampUs, MonotonicClock, nowUs, TimestampFormatter, toTimestampUs } from './timestamps';
import { checkReadOnlySql } from './read-only-sql';
import {
  columnNames, isBusy, isDiskFull, isWritableDirectory, iterateArrays, openReadOnly, sqlite, toSqlParam,
  type DatabaseSync, type SQLiteValue, type StatementSync,
} from './sqlite';
import { clearLegacyLock } from './legacy-lock';
import { currentRecorderProcess, recorderLiveness } from './recorder-process';
import { Checkpointer } from './checkpointer';

export type { SQLiteValue } from './sqlite';

export interface OpenOptions {
  /** Open without writing; the file must exist. Default false. */
  readOnly?: boolean;
  /** Create the file when missing (writers only). Default true. */
  create?: boolean;
  /** Wait this long for another writer's transaction before "database is locked". Default 5000. */
  busyTimeoutMs?: number;
  /** Commit buffered steps when this many are pending. Default 20000. */
  batchRows?: number;
  /** Commit buffered steps at the latest this long after the first was buffered. Default 250. */
  flushIntervalMs?: number;
  /** Every K-th step row of a session is a full-register keyframe. Default 256. */
  keyframeInterval?: number;
  /** Called after each commit of steps with the last committed sequence number per session. */
  onCommit?: (committed: ReadonlyMap<number, number>) => void;
  /** Recovery and lock messages. Default: console.error. */
  log?: (line: string) => void;
  /** Writers: checkpoint the WAL on a worker thread instead of in the commit that fills it (checkpointer.ts).
   * Default true; false keeps SQLite's automatic checkpoint (the benchmark compares both). */
  checkpointInWorker?: boolean;
}

export interface SessionStart {
  description?: string;
  qemuVersion?: string;
  freertosVersion?: string;
  arch: string;
  configJson?: string;
  elfPath?: string;
  elfMd5?: string;
  gdbHost?: string;
  gdbPort?: number;
}

export interface StepRow {
  sessionId: number;
  /** Strictly increasing within the session. */
  sequenceNumber: number;
  /** µs since the epoch, or a Date; default: the clock. Always made strictly increasing. */
  timestampUs?: number | Date;
  pc: bigint | number;
  bytes: Uint8Array;
  disassembly: string;
  /** The FULL register state, or (after the session's first row) at least every register that changed
   * since the previous row: the writer keeps the state and stores only what changed (registers.ts). */
  registers: RegisterInput;
  sp: bigint | number;
  /** 'unknown' when no symbol covers the pc (seed 4.2 filters on it). */
  functionName: string;
  bootStage: string;
  exceptionLevel?: number | null;
  thumb?: boolean | null;
  sourceFile?: string | null;
  sourceLine?: number | null;
  /** Store the full register state in this row (e.g. after an attach or a register write). */
  keyframe?: boolean;
}

export interface RegionCapture {
  name: string;
  start: bigint | number;
  data: Uint8Array;
  /** Painted 32-bit word to check (seed 2.4); null/undefined: no check. */
  expectedPattern?: number | null;
  /** Success threshold in percent; default 90 (seed 2.4). */
  threshold?: number;
  physical?: boolean;
}

export interface SnapshotCapture {
  sessionId: number;
  /** The step at which it is taken; its instruction row gives the snapshot its timestamp (seed 4.3). */
  sequenceNumber: number;
  /** Used only when no step row with sequenceNumber exists (e.g. a 'start' snapshot). */
  timestampUs?: number | Date;
  /** Default: the step row's boot_stage. */
  bootStage?: string;
  /** Default: the step row's pc_address. */
  pc?: bigint | number;
  trigger: SnapshotTrigger;
  regions: RegionCapture[];
}

export interface SessionInfo {
  sessionId: number;
  startTime: string;
  endTime: string | null;
  description: string | null;
  qemuVersion: string | null;
  freertosVersion: string | null;
  status: SessionStatus;
  endReason: string | null;
  arch: string | null;
  configJson: string | null;
  instructionCount: number;
  elfPath: string | null;
  elfMd5: string | null;
  gdbHost: string | null;
  gdbPort: number | null;
  uartLog: string | null;
  keyframeInterval: number | null;
}

export interface StageVisit {
  stageId: number;
  sessionId: number;
  ordinal: number;
  stageName: string;
  enterCount: number;
  firstSequenceNumber: number;
  lastSequenceNumber: number;
  instructionCount: number;
  startTime: string;
  endTime: string;
  durationUs: number;
}

export interface SnapshotInfo {
  snapshotId: number;
  sessionId: number;
  timestamp: string;
  bootStage: string;
  pc: bigint;
  sequenceNumber: number | null;
  trigger: SnapshotTrigger | null;
  totalSize: number;
  changedRegions: number | null;
}

export interface RegionInfo {
  regionId: number;
  snapshotId: number;
  regionName: string;
  startAddress: bigint;
  endAddress: bigint;
  size: number;
  expectedPattern: number | null;
  patternMatches: number | null;
  totalWords: number | null;
  matchPercentage: number | null;
  success: boolean | null;
  firstMismatchOffset: number | null;
  threshold: number | null;
  checksum: string | null;
  physical: boolean | null;
  changed: boolean | null;
  /** Present when asked for (regions(id, { withData: true })). */
  data?: Uint8Array;
}

export interface StepRecord {
  sessionId: number;
  sequenceNumber: number;
  timestamp: string;
  pc: bigint;
  bytes: Uint8Array | null;
  disassembly: string | null;
  /** Full register state at this step, rebuilt from the nearest keyframe. */
  registers: RegisterState;
  /** Names stored in this row (all of them for a keyframe, the changed ones otherwise). */
  changedRegisters: string[];
  registersFull: boolean;
  sp: bigint | null;
  functionName: string | null;
  bootStage: string | null;
  exceptionLevel: number | null;
  thumb: boolean | null;
  sourceFile: string | null;
  sourceLine: number | null;
}

export interface QueryResult {
  columns: string[];
  rows: SQLiteValue[][];
  /** true when more rows existed than `maxRows`. */
  truncated: boolean;
}

export type Row = Record<string, SQLiteValue>;

/** A cached statement: integers read as bigint (addresses may exceed 2^53), rows as objects. */
export interface RowStatement {
  run(values?: readonly SQLiteValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  all(values?: readonly SQLiteValue[]): Row[];
  get(values?: readonly SQLiteValue[]): Row | null;
}

function rowStatement(s: StatementSync): RowStatement {
  s.setReadBigInts(true);
  return {
    run: (values = []) => s.run(...values.map(toSqlParam)),
    all: (values = []) => s.all(...values.map(toSqlParam)) as Row[],
    get: (values = []) => (s.get(...values.map(toSqlParam)) as Row | undefined) ?? null,
  };
}

/** Stage visit being written (mirrors one boot_stages row). */
interface VisitState {
  stageId: number | null;
  ordinal: number;
  stageName: string;
  enterCount: number;
  firstSeq: number;
  lastSeq: number;
  count: number;
  startUs: number;
  endUs: number;
  /** In dirtyVisits (written at the next flush). */
  dirty: boolean;
}

interface SessionWriteState {
  sessionId: number;
  registers: RegisterState | null;
  rowsSinceKeyframe: number;
  lastSeq: number | null;
  committedSeq: number | null;
  instructionCount: number;
  visit: VisitState | null;
  ordinal: number;
  enterCounts: Map<string, number>;
  lastChecksums: Map<string, string>;
  /** In pendingSessions (has rows buffered). */
  pending: boolean;
}

const STEP_COLUMNS = ['session_id', 'sequence_number', 'timestamp', 'pc_address', 'instruction_bytes', 'disassembly',
  'registers', 'stack_pointer', 'function_name', 'boot_stage', 'exception_level', 'thumb', 'source_file', 'source_line',
  'registers_full'] as const;

/** Step rows per INSERT statement in flush() (x 15 columns = 750 parameters, far below SQLite's 32766). */
const INSERT_CHUNK = 50;

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** An address as SQLite stores it: the two's-complement signed 64-bit value (see schema.ts). */
export function addressToSql(a: bigint | number): number | bigint {
  // The common case (a 32-bit or small 64-bit address) without creating BigInts: once per step, twice.
  if (typeof a === 'number' && Number.isSafeInteger(a) && a >= 0) return a;
  if (typeof a === 'bigint' && a >= 0n && a <= MAX_SAFE_BIG) return Number(a);
  const signed = BigInt.asIntN(64, BigInt(a));
  return signed >= BigInt(Number.MIN_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(signed) : signed;
}

export function addressFromSql(v: SQLiteValue): bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt.asUintN(64, BigInt(v));
  throw new TypeError(`expected an integer address, got ${typeof v}`);
}

const num = (v: SQLiteValue): number => Number(v);
const numOrNull = (v: SQLiteValue): number | null => (v === null ? null : Number(v));
const strOrNull = (v: SQLiteValue): string | null => (v === null ? null : String(v));
const boolOrNull = (v: SQLiteValue): boolean | null => (v === null ? null : Number(v) !== 0);
const blobOrNull = (v: SQLiteValue): Uint8Array | null => (v instanceof Uint8Array ? v : null);

/** Why a session reads 'interrupted' when its recording process is gone (readers and writers alike). */
export const INTERRUPTED_REASON = 'the recording process ended without closing the session (killed or crashed)';

export class RecordingStore {
  private readonly statements = new Map<string, RowStatement>();
  private readonly sessions = new Map<number, SessionWriteState>();
  /** Buffered step rows, flat: STEP_COLUMNS.length values per row (no array per row to collect); the array
   * is kept across flushes (rows beyond pendingRows are stale) so it does not regrow for every batch. */
  private pending: SQLiteValue[] = [];
  private pendingRows = 0;
  /** Buffered memory_writes rows, 5 values each (session, sequence, address, size, value); committed with the steps. */
  private pendingWrites: SQLiteValue[] = [];
  private pendingWriteRows = 0;
  private insertWriteChunk: StatementSync | null = null;
  private insertStep: StatementSync | null = null;
  private insertStepChunk: StatementSync | null = null;
  private readonly timestamps = new TimestampFormatter();
  /** Set once the disk filled up: nothing more is written, endSession records why. */
  private diskFull: BootscopeError | null = null;
  private readonly hasRecorderColumn: boolean;
  private pendingSessions = new Set<SessionWriteState>();
  private readonly dirtyVisits = new Map<VisitState, SessionWriteState>();
  private flushTimer: NodeJS.Timeout | null = null;
  private deferredError: unknown = null;
  private readonly clock = new MonotonicClock();
  private closed = false;
  /** Runs the WAL checkpoints of a writer (checkpointer.ts) once it commits steps; null: SQLite's automatic
   * checkpoint does (before the first steps, so that a writer that only changes a session starts no thread). */
  private checkpointer: Checkpointer | null = null;
  private checkpointInWorker = false;

  private constructor(
    readonly file: string,
    private readonly db: DatabaseSync,
    readonly readOnly: boolean,
    private readonly options: Required<Omit<OpenOptions, 'onCommit' | 'readOnly' | 'create' | 'checkpointInWorker'>> & Pick<OpenOptions, 'onCommit'>,
    /** Opened with immutable=1 on read-only media (sqlite.ts openReadOnly). */
    readonly immutable = false,
  ) {
    this.hasRecorderColumn = (db.prepare("SELECT COUNT(*) AS n FROM pragma_table_info('boot_sessions') WHERE name = 'recorder_process'").get() as { n: number }).n > 0;
  }

  /**
   * Opens (and for writers creates and migrates) a recording file. A writer converts the file to WAL (files
   * of Bootscope < 0.2 used a rollback journal) and marks sessions whose recording process died as
   * 'interrupted'. A reader of a file an older version wrote converts it first when it can write there;
   * on read-only media it reads it as it is. Throws BootscopeError(ErrorCode.Database) saying what to do.
   */
  static open(file: string, opts: OpenOptions = {}): RecordingStore {
    const readOnly = opts.readOnly ?? false;
    const create = !readOnly && (opts.create ?? true);
    const log = opts.log ?? ((line: string) => console.error(line));
    if (!create && !fs.existsSync(file)) {
      throw new BootscopeError(ErrorCode.Database, `recording file ${file} does not exist; record a session first or check the path`);
    }
    const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    const options = {
      busyTimeoutMs,
      batchRows: opts.batchRows ?? 20000,
      flushIntervalMs: opts.flushIntervalMs ?? 250,
      keyframeInterval: opts.keyframeInterval ?? 256,
      onCommit: opts.onCommit,
      log,
    };
    let db: DatabaseSync | undefined;
    try {
      clearLegacyLock(file, log);
      if (readOnly) {
        if (needsUpgrade(file)) {
          RecordingStore.open(file, { ...opts, readOnly: false, create: false }).close(null);
          log(`bootscope: ${file}: converted to WAL and schema ${SCHEMA_VERSION} (written by an older Bootscope); other programs read it as before`);
        }
        const opened = openReadOnly(file, busyTimeoutMs, log);
        db = opened.db;
        const version = schemaVersionOf(db);
        if (version === 0 || version > SCHEMA_VERSION) {
          throw new BootscopeError(ErrorCode.Database, version === 0
            ? `${file} is not a Bootscope recording (no schema version)`
            : `${file} has schema version ${version}, newer than this Bootscope understands (${SCHEMA_VERSION}); update Bootscope`);
        }
        return new RecordingStore(file, db, true, options, opened.immutable);
      }
      const { DatabaseSync } = sqlite();
      db = new DatabaseSync(file, { open: true, readOnly: false, enableForeignKeyConstraints: true });
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      const mode = (db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: string } | undefined)?.journal_mode;
      if (mode !== 'wal') {
        throw new BootscopeError(ErrorCode.Database, `${file}: cannot switch to WAL journal mode (SQLite kept '${mode}'); put the recording on a local file system (WAL needs shared memory, which network file systems lack)`);
      }
      // NORMAL: a commit is durable once the WAL is synced at checkpoints; a crash loses no committed
      // transaction of a still-running machine, and a power cut at most the last ones (never corrupts).
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec('PRAGMA cache_size = -16000');
      db.exec('PRAGMA temp_store = MEMORY');
      applyMigrations(db, file);
      const store = new RecordingStore(file, db, false, options);
      store.markInterruptedSessions();
      store.checkpointInWorker = opts.checkpointInWorker ?? true;
      return store;
    } catch (e) {
      try { db?.close(); } catch { /* already failing */ }
      if (e instanceof BootscopeError) throw e;
      if (isBusy(e)) {
        throw new BootscopeError(ErrorCode.Database, `${file}: database is locked: another process held a write transaction longer than ${busyTimeoutMs} ms; retry, or close the other writer`, { cause: e });
      }
      if (isDiskFull(e)) {
        throw new BootscopeError(ErrorCode.Database, `cannot open recording ${file}: the disk is full (SQLITE_FULL / ENOSPC); free space on the file system that holds it, then retry`, { cause: e });
      }
      throw new BootscopeError(ErrorCode.Database, `cannot open recording ${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Whether the process recording a 'recording' session is gone (then the session reads 'interrupted'). */
  private recorderGone(recorderProcess: SQLiteValue | undefined): boolean {
    if (!this.hasRecorderColumn) return true; // written by Bootscope < 0.2, whose processes are checked by legacy-lock.ts
    const identity = recorderProcess === undefined || recorderProcess === null ? null : String(recorderProcess);
    if (identity === null) return true;
    return recorderLiveness(identity) === 'dead';
  }

  private markInterruptedSessions(): void {
    const rows = this.stmt("SELECT session_id, recorder_process FROM boot_sessions WHERE status = 'recording'").all();
    for (const row of rows) {
      if (!this.recorderGone(row.recorder_process)) continue; // another live writer records it (WAL: many sessions at once)
      const id = num(row.session_id);
      this.transaction(() => this.stmt(`UPDATE boot_sessions SET status = 'interrupted', end_reason = ?,
          end_time = COALESCE((SELECT MAX(timestamp) FROM instruction_traces WHERE session_id = ?), start_time),
          instruction_count = (SELECT COUNT(*) FROM instruction_traces WHERE session_id = ?)
        WHERE session_id = ? AND status = 'recording'`).run([`${INTERRUPTED_REASON}; marked on reopen`, id, id, id]));
      this.options.log(`bootscope: ${this.file}: session ${id} was left in 'recording' by a process that ended; marked 'interrupted'`);
    }
  }

  private stmt(sql: string): RowStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = rowStatement(this.db.prepare(sql));
      this.statements.set(sql, s);
    }
    return s;
  }

  private assertWritable(): void {
    if (this.closed) throw new BootscopeError(ErrorCode.Database, `${this.file} is closed`);
    if (this.readOnly) throw new BootscopeError(ErrorCode.Database, `${this.file} was opened read-only`);
    if (this.deferredError) {
      const e = this.deferredError;
      this.deferredError = null;
      throw e;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BootscopeError(ErrorCode.Database, `${this.file} is closed`);
  }

  private writeState(sessionId: number): SessionWriteState {
    const state = this.sessions.get(sessionId);
    if (!state) {
      throw new BootscopeError(ErrorCode.Database, `session ${sessionId} is not being recorded by this writer (beginSession first)`);
    }
    return state;
  }

  /** Runs `body` in one write transaction (BEGIN IMMEDIATE waits up to the busy timeout for another writer). */
  private transaction<T>(body: () => T): T {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if (isBusy(e)) {
        throw new BootscopeError(ErrorCode.Database, `${this.file}: database is locked: another process held a write transaction longer than ${this.options.busyTimeoutMs} ms; retry, or close the other writer`, { cause: e });
      }
      throw this.databaseError('starting a write transaction', e);
    }
    try {
      const result = body();
      this.db.exec('COMMIT');
      this.requestCheckpoint();
      return result;
    } catch (e) {
      try { this.db.exec('ROLLBACK'); } catch { /* SQLite already rolled back (e.g. SQLITE_FULL) */ }
      throw e;
    }
  }

  /** A BootscopeError for a failed write, naming a full disk as such (and remembering it: no more writes). */
  private databaseError(what: string, e: unknown): BootscopeError {
    if (e instanceof BootscopeError) return e;
    if (isDiskFull(e)) {
      this.diskFull ??= new BootscopeError(ErrorCode.Database,
        `${this.file}: the disk is full (SQLITE_FULL / ENOSPC) while ${what}; every transaction committed before is kept. Free space on the file system that holds the recording, then record again`, { cause: e });
      return this.diskFull;
    }
    return new BootscopeError(ErrorCode.Database, `${this.file}: ${what} failed: ${(e as Error).message}`, { cause: e });
  }

  // ---- write side ----

  beginSession(s: SessionStart): number {
    this.assertWritable();
    const startTime = formatTimestampUs(this.clock.next());
    const id = this.transaction(() => num(this.stmt(`INSERT INTO boot_sessions (start_time, description, qemu_version,
        freertos_version, status, arch, config_json, elf_path, elf_md5, gdb_host, gdb_port, keyframe_interval, recorder_process)
        VALUES (?, ?, ?, ?, 'recording', ?, ?, ?, ?, ?, ?, ?, ?)`).run([startTime, s.description ?? null, s.qemuVersion ?? null,
      s.freertosVersion ?? null, s.arch, s.configJson ?? null, s.elfPath ?? null, s.elfMd5 ?? null, s.gdbHost ?? null,
      s.gdbPort ?? null, this.options.keyframeInterval, currentRecorderProcess()]).lastInsertRowid));
    this.sessions.set(id, {
      sessionId: id, registers: null, rowsSinceKeyframe: 0, lastSeq: null, committedSeq: null, instructionCount: 0,
      visit: null, ordinal: 0, enterCounts: new Map(), lastChecksums: new Map(), pending: false,
    });
    return id;
  }

  /** Sets descriptive columns of a session (e.g. the QEMU version once known, the UART log at the end). */
  updateSession(sessionId: number, fields: { description?: string; qemuVersion?: string; freertosVersion?: string; uartLog?: string; gdbHost?: string; gdbPort?: number }): void {
    this.assertWritable();
    const columns: Record<string, string> = { description: 'description', qemuVersion: 'qemu_version', freertosVersion: 'freertos_version', uartLog: 'uart_log', gdbHost: 'gdb_host', gdbPort: 'gdb_port' };
    const sets: string[] = [];
    const values: SQLiteValue[] = [];
    for (const [key, column] of Object.entries(columns)) {
      const v = (fields as Record<string, string | number | undefined>)[key];
      if (v !== undefined) { sets.push(`${column} = ?`); values.push(v); }
    }
    if (sets.length === 0) return;
    try {
      this.transaction(() => this.stmt(`UPDATE boot_sessions SET ${sets.join(', ')} WHERE session_id = ?`).run([...values, sessionId]));
    } catch (e) {
      throw this.databaseError(`updating session ${sessionId}`, e);
    }
  }

  /** Buffers one executed instruction; committed with others in one transaction (see OpenOptions). */
  appendStep(step: StepRow): void {
    this.assertWritable();
    const state = this.writeState(step.sessionId);
    if (!Number.isSafeInteger(step.sequenceNumber) || (state.lastSeq !== null && step.sequenceNumber <= state.lastSeq)) {
      throw new BootscopeError(ErrorCode.Database, `session ${step.sessionId}: sequence number ${step.sequenceNumber} must be an integer greater than the previous one (${state.lastSeq})`);
    }
    const us = this.clock.next(step.timestampUs === undefined ? undefined : toTimestampUs(step.timestampUs));
    const timestamp = this.timestamps.format(us);
    const keyframe = state.registers === null || step.keyframe === true || state.rowsSinceKeyframe + 1 >= this.options.keyframeInterval;
    let registersJson: string;
    if (state.registers === null) {
      state.registers = toRegisterState(step.registers);
      registersJson = encodeFullRegisters(state.registers);
    } else {
      // One pass over the registers: the state is updated in place and the delta JSON built as it goes.
      const delta = updateRegisterState(state.registers, step.registers);
      registersJson = keyframe ? encodeFullRegisters(state.registers) : delta;
    }
    state.rowsSinceKeyframe = keyframe ? 0 : state.rowsSinceKeyframe + 1;
    state.lastSeq = step.sequenceNumber;
    state.instructionCount++;

    const p = this.pending;
    let k = this.pendingRows * 15;
    p[k++] = step.sessionId; p[k++] = step.sequenceNumber; p[k++] = timestamp; p[k++] = addressToSql(step.pc);
    p[k++] = step.bytes; p[k++] = step.disassembly; p[k++] = registersJson; p[k++] = addressToSql(step.sp);
    p[k++] = step.functionName; p[k++] = step.bootStage; p[k++] = step.exceptionLevel ?? null;
    p[k++] = step.thumb === undefined || step.thumb === null ? null : step.thumb ? 1 : 0;
    p[k++] = step.sourceFile ?? null; p[k++] = step.sourceLine ?? null; p[k] = keyframe ? 1 : 0;
    this.pendingRows++;
    if (!state.pending) { state.pending = true; this.pendingSessions.add(state); }
    this.trackStage(state, step.bootStage, step.sequenceNumber, us);

    if (this.pendingRows >= this.options.batchRows) this.flush();
    else if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        try { this.flush(); } catch (e) { this.deferredError = e; }
      }, this.options.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /**
   * Buffers one store made by step `sequenceNumber` (memory_writes): `value` is the bytes written at
   * `address`, in memory order. Committed with the buffered steps, in their transaction. A recorder appends
   * a step's stores before the step itself, so the commit a step row triggers carries its stores too.
   */
  appendMemoryWrite(sessionId: number, sequenceNumber: number, address: bigint, value: Uint8Array): void {
    const p = this.pendingWrites;
    let k = this.pendingWriteRows * 5;
    p[k++] = sessionId; p[k++] = sequenceNumber; p[k++] = addressToSql(address); p[k++] = value.length; p[k] = value;
    this.pendingWriteRows++;
    if (this.pendingWriteRows >= this.options.batchRows) this.flush();
  }

  /** Stage transitions come from the steps themselves: a change of bootStage starts a new visit row. */
  private trackStage(state: SessionWriteState, stageName: string, seq: number, us: number): void {
    let visit = state.visit;
    if (visit === null || visit.stageName !== stageName) {
      const enterCount = (state.enterCounts.get(stageName) ?? 0) + 1;
      state.enterCounts.set(stageName, enterCount);
      visit = { stageId: null, ordinal: ++state.ordinal, stageName, enterCount, firstSeq: seq, lastSeq: seq, count: 0, startUs: us, endUs: us, dirty: false };
      state.visit = visit;
    }
    visit.lastSeq = seq;
    visit.endUs = us;
    visit.count++;
    if (!visit.dirty) { visit.dirty = true; this.dirtyVisits.set(visit, state); }
  }

  /** Commits every buffered step (and the stage visits and counts they changed) in one transaction. */
  flush(): void {
    if (this.closed || this.readOnly) return;
    if (this.flushTimer !== null) { clearTimeout(this.flushTimer); this.flushTimer = null; }
    if (this.pendingRows === 0 && this.pendingWriteRows === 0 && this.dirtyVisits.size === 0) return;
    if (this.diskFull) throw this.diskFull;
    const p = this.pending;
    const rowCount = this.pendingRows;
    const visits = [...this.dirtyVisits];
    const sessions = [...this.pendingSessions];
    const newVisits: VisitState[] = [];
    // Reused for the life of the connection. INSERT_CHUNK rows per statement: one VDBE run and one
    // sqlite_sequence update (trace_id is AUTOINCREMENT, seed 2.2) per chunk instead of per row (x1.5-3).
    const oneRow = `(${STEP_COLUMNS.map(() => '?').join(', ')})`;
    const insertStep = this.insertStep ??= this.db.prepare(`INSERT INTO instruction_traces (${STEP_COLUMNS.join(', ')}) VALUES ${oneRow}`);
    const insertChunk = this.insertStepChunk ??= this.db.prepare(`INSERT INTO instruction_traces (${STEP_COLUMNS.join(', ')}) VALUES ${Array<string>(INSERT_CHUNK).fill(oneRow).join(', ')}`);
    const insertVisit = this.stmt(`INSERT INTO boot_stages (session_id, ordinal, stage_name, enter_count, first_sequence_number,
        last_sequence_number, instruction_count, start_time, end_time, duration_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const updateVisit = this.stmt('UPDATE boot_stages SET last_sequence_number = ?, instruction_count = ?, end_time = ?, duration_us = ? WHERE stage_id = ?');
    const updateCount = this.stmt('UPDATE boot_sessions SET instruction_count = ? WHERE session_id = ?');
    const w = this.pendingWrites;
    const writeRows = this.pendingWriteRows;
    const insertWrite = this.stmt('INSERT INTO memory_writes (session_id, sequence_number, address, size, value) VALUES (?, ?, ?, ?, ?)');
    const insertWrites = this.insertWriteChunk ??= this.db.prepare(`INSERT INTO memory_writes (session_id, sequence_number, address, size, value) VALUES ${Array<string>(INSERT_CHUNK).fill('(?, ?, ?, ?, ?)').join(', ')}`);
    if (this.checkpointInWorker && rowCount > 0) this.startCheckpointer();
    this.checkpointer?.catchUp();
    try {
      this.transaction(() => {
        const width = STEP_COLUMNS.length;
        const chunkValues = INSERT_CHUNK * width;
        const end = rowCount * width;
        let i = 0;
        for (; i + chunkValues <= end; i += chunkValues) insertChunk.run(...p.slice(i, i + chunkValues));
        for (; i < end; i += width) {
          insertStep.run(p[i], p[i + 1], p[i + 2], p[i + 3], p[i + 4], p[i + 5], p[i + 6], p[i + 7], p[i + 8], p[i + 9], p[i + 10], p[i + 11], p[i + 12], p[i + 13], p[i + 14]);
        }
        for (const [visit, state] of visits) {
          const endTime = this.timestamps.format(visit.endUs);
          if (visit.stageId === null) {
            visit.stageId = num(insertVisit.run([state.sessionId, visit.ordinal, visit.stageName, visit.enterCount, visit.firstSeq,
              visit.lastSeq, visit.count, this.timestamps.format(visit.startUs), endTime, visit.endUs - visit.startUs]).lastInsertRowid);
            newVisits.push(visit);
          } else {
            updateVisit.run([visit.lastSeq, visit.count, endTime, visit.endUs - visit.startUs, visit.stageId]);
          }
        }
        for (const state of sessions) updateCount.run([state.instructionCount, state.sessionId]);
        const writeEnd = writeRows * 5;
        let j = 0;
        for (; j + INSERT_CHUNK * 5 <= writeEnd; j += INSERT_CHUNK * 5) insertWrites.run(...w.slice(j, j + INSERT_CHUNK * 5));
        for (; j < writeEnd; j += 5) insertWrite.run([w[j], w[j + 1], w[j + 2], w[j + 3], w[j + 4]]);
      });
    } catch (e) {
      for (const v of newVisits) v.stageId = null; // rolled back: insert again next time
      const error = this.databaseError(`writing ${rowCount} steps and ${writeRows} memory writes`, e);
      // After a full disk they cannot be written; keeping them would make every later call fail the same
      // way. What was committed before stays, and endSession records why the session ended.
      if (error === this.diskFull) this.clearPending();
      throw error;
    }
    this.clearPending();
    const committed = new Map<number, number>();
    for (const state of sessions) {
      state.committedSeq = state.lastSeq;
      if (state.lastSeq !== null) committed.set(state.sessionId, state.lastSeq);
    }
    if (committed.size > 0) this.options.onCommit?.(committed);
  }

  /** The first commit of steps starts the checkpoint worker and turns SQLite's automatic checkpoint off. */
  private startCheckpointer(): void {
    this.checkpointInWorker = false; // once
    const checkpointer = Checkpointer.start(this.file);
    if (checkpointer === null) return;
    try {
      this.db.exec('PRAGMA wal_autocheckpoint = 0');
      this.checkpointer = checkpointer;
    } catch {
      checkpointer.stop();
    }
  }

  /** After each commit: the checkpoint worker copies the WAL into the file beside the next batch. */
  private requestCheckpoint(): void {
    const checkpointer = this.checkpointer;
    if (checkpointer === null) return;
    if (checkpointer.alive) { checkpointer.request(); return; }
    // The worker could not open the file (or died): SQLite's automatic checkpoint again, so the WAL stays bounded.
    this.checkpointer = null;
    checkpointer.stop();
    try { this.db.exec('PRAGMA wal_autocheckpoint = 1000'); } catch { /* the next commit's error says why */ }
  }

  private clearPending(): void {
    this.pendingRows = 0;
    this.pendingWriteRows = 0;
    for (const state of this.pendingSessions) state.pending = false;
    this.pendingSessions = new Set();
    for (const visit of this.dirtyVisits.keys()) visit.dirty = false;
    this.dirtyVisits.clear();
  }

  /** Last sequence number of `sessionId` known to be committed to the file by this writer. */
  committedSequence(sessionId: number): number | null {
    return this.sessions.get(sessionId)?.committedSeq ?? null;
  }

  /**
   * Stores a snapshot of memory regions taken at step `sequenceNumber`. Flushes pending steps first so the
   * snapshot's timestamp is that of an instruction row already in the file (seed 4.3 joins on it).
   * Computes MD5, aligned pattern results and first mismatch; region bytes already stored are not stored
   * again. Returns the snapshot_id.
   */
  addSnapshot(s: SnapshotCapture): number {
    this.assertWritable();
    const state = this.writeState(s.sessionId);
    this.flush();
    const step = this.stmt('SELECT timestamp, pc_address, boot_stage FROM instruction_traces WHERE session_id = ? AND sequence_number = ?')
      .get([s.sessionId, s.sequenceNumber]);
    const timestamp = step ? String(step.timestamp) : formatTimestampUs(this.clock.next(s.timestampUs === undefined ? undefined : toTimestampUs(s.timestampUs)));
    const bootStage = s.bootStage ?? (step ? strOrNull(step.boot_stage) : null);
    const pc = s.pc ?? (step ? addressFromSql(step.pc_address) : null);
    if (bootStage === null || pc === null) {
      throw new BootscopeError(ErrorCode.Database, `snapshot at step ${s.sequenceNumber} of session ${s.sessionId}: no such step is recorded, so bootStage and pc must be given`);
    }

    const prepared = s.regions.map((r) => {
      const md5 = createHash('md5').update(r.data).digest('hex');
      const threshold = r.threshold ?? DEFAULT_PATTERN_THRESHOLD;
      const pattern = r.expectedPattern === undefined || r.expectedPattern === null ? null : checkPattern(r.data, r.expectedPattern, threshold);
      const previous = state.lastChecksums.get(r.name);
      return { r, md5, threshold, pattern, changed: previous === undefined ? null : previous !== md5 };
    });
    const metadata = prepared.map(({ r, md5, changed }) => ({
      name: r.name, start: Number(BigInt.asUintN(64, BigInt(r.start))), size: r.data.byteLength, checksum: md5, changed,
    }));
    const totalSize = prepared.reduce((sum, p) => sum + p.r.data.byteLength, 0);
    const changedRegions = prepared.filter((p) => p.changed !== false).length;

    const snapshotId = this.transaction(() => {
      const id = num(this.stmt(`INSERT INTO memory_snapshots (session_id, timestamp, boot_stage, pc_address, memory_regions,
          total_size, sequence_number, trigger, changed_regions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run([s.sessionId, timestamp, bootStage, addressToSql(pc), JSON.stringify(metadata), totalSize, s.sequenceNumber, s.trigger, changedRegions]).lastInsertRowid);
      for (const { r, md5, threshold, pattern, changed } of prepared) {
        const blobId = this.blobIdFor(md5, r.data);
        const start = BigInt.asUintN(64, BigInt(r.start));
        this.stmt(`INSERT INTO snapshot_regions (snapshot_id, region_name, start_address, end_address, size, blob_id,
            expected_pattern, pattern_matches, checksum, total_words, match_percentage, success, first_mismatch_offset,
            threshold, physical, changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run([
          id, r.name, addressToSql(start), addressToSql(start + BigInt(r.data.byteLength)), r.data.byteLength, blobId,
          r.expectedPattern ?? null, pattern?.matches ?? null, md5, pattern?.totalWords ?? Math.floor(r.data.byteLength / 4),
          pattern?.percentage ?? null, pattern === null ? null : pattern.success ? 1 : 0, pattern?.firstMismatchOffset ?? null,
          pattern === null ? null : threshold, r.physical === undefined ? null : r.physical ? 1 : 0,
          changed === null ? null : changed ? 1 : 0,
        ]);
      }
      return id;
    });
    for (const { r, md5 } of prepared) state.lastChecksums.set(r.name, md5);
    return snapshotId;
  }

  /** Content-addressed region bytes: an existing blob with the same md5, size AND bytes is reused. */
  private blobIdFor(md5: string, data: Uint8Array): number {
    for (const row of this.stmt('SELECT blob_id, data FROM region_blobs WHERE md5 = ? AND size = ?').all([md5, data.byteLength])) {
      const stored = row.data;
      if (stored instanceof Uint8Array && Buffer.compare(stored, data) === 0) return num(row.blob_id);
    }
    return num(this.stmt('INSERT INTO region_blobs (md5, size, data) VALUES (?, ?, ?)').run([md5, data.byteLength, data]).lastInsertRowid);
  }

  /**
   * Marks that the guest ran instructions that were not recorded after step `afterSequenceNumber` (0: before
   * the first) and before the next recorded step (a trace_gaps row): memory and registers across it are not
   * the effect of the recorded steps. `instructionsSkipped` when known, else null. Pending steps are
   * committed first, so a reader sees the gap with the steps before it.
   */
  addTraceGap(sessionId: number, afterSequenceNumber: number, reason: string, instructionsSkipped: number | null = null): void {
    this.assertWritable();
    this.flush();
    try {
      this.transaction(() => this.stmt('INSERT INTO trace_gaps (session_id, after_sequence_number, reason, instructions_skipped) VALUES (?, ?, ?, ?)')
        .run([sessionId, afterSequenceNumber, reason, instructionsSkipped]));
    } catch (e) {
      throw this.databaseError(`marking a trace gap after step ${afterSequenceNumber} of session ${sessionId}`, e);
    }
  }

  addMetric(sessionId: number, name: string, value: number, unit?: string): void {
    this.assertWritable();
    this.stmt('INSERT INTO metrics (session_id, name, value, unit, recorded_at) VALUES (?, ?, ?, ?, ?)')
      .run([sessionId, name, value, unit ?? null, formatTimestampUs(nowUs())]);
  }

  /** Commits pending steps and closes the session: end_time, status, end_reason, instruction_count. */
  endSession(sessionId: number, status: Exclude<SessionStatus, 'recording'>, endReason?: string): void {
    if (this.closed) throw new BootscopeError(ErrorCode.Database, `${this.file} is closed`);
    if (this.readOnly) throw new BootscopeError(ErrorCode.Database, `${this.file} was opened read-only`);
    this.deferredError = null; // a failed timed flush is reported by the flush below, or by diskFull
    try {
      this.flush();
    } catch (e) {
      if (!this.diskFull) throw e;
    }
    const state = this.sessions.get(sessionId);
    const endTime = formatTimestampUs(this.clock.next());
    // After a full disk the session ends as an error whatever the caller asked, with the reason in words.
    const finalStatus = this.diskFull ? 'error' : status;
    const reason = this.diskFull ? `disk full: ${this.diskFull.message}${endReason ? ` (then: ${endReason})` : ''}` : endReason ?? null;
    try {
      this.transaction(() => {
        const changes = this.stmt(`UPDATE boot_sessions SET status = ?, end_reason = ?, end_time = ?,
            instruction_count = (SELECT COUNT(*) FROM instruction_traces WHERE session_id = ?) WHERE session_id = ?`)
          .run([finalStatus, reason, endTime, sessionId, sessionId]).changes;
        if (Number(changes) === 0) throw new BootscopeError(ErrorCode.Database, `no session ${sessionId} in ${this.file}`);
      });
    } catch (e) {
      throw this.databaseError(`ending session ${sessionId}`, e);
    }
    if (state) this.sessions.delete(sessionId);
  }

  /** Flushes, ends the sessions this writer still has open as 'stopped' unless told otherwise, closes. */
  /**
   * Removes a session and everything recorded in it (steps, stage visits, snapshots, metrics), and the
   * region contents no other snapshot shares. One transaction: a crash leaves the session whole or gone.
   */
  deleteSession(sessionId: number): void {
    this.assertWritable();
    if (this.pendingRows > 0 || this.pendingWriteRows > 0) this.flush();
    this.transaction(() => {
      const exists = this.stmt('SELECT 1 AS one FROM boot_sessions WHERE session_id = ?').get([sessionId]);
      if (!exists) throw new BootscopeError(ErrorCode.Database, `session ${sessionId} does not exist in ${this.file}; list sessions with \`bootscope sessions\``);
      this.stmt('DELETE FROM memory_writes WHERE session_id = ?').run([sessionId]);
      this.stmt('DELETE FROM trace_gaps WHERE session_id = ?').run([sessionId]);
      this.stmt('DELETE FROM instruction_traces WHERE session_id = ?').run([sessionId]);
      this.stmt('DELETE FROM boot_stages WHERE session_id = ?').run([sessionId]);
      this.stmt('DELETE FROM metrics WHERE session_id = ?').run([sessionId]);
      this.stmt('DELETE FROM snapshot_regions WHERE snapshot_id IN (SELECT snapshot_id FROM memory_snapshots WHERE session_id = ?)').run([sessionId]);
      this.stmt('DELETE FROM memory_snapshots WHERE session_id = ?').run([sessionId]);
      this.stmt('DELETE FROM region_blobs WHERE blob_id NOT IN (SELECT blob_id FROM snapshot_regions)').run([]);
      this.stmt('DELETE FROM boot_sessions WHERE session_id = ?').run([sessionId]);
    });
    this.sessions.delete(sessionId);
  }

  close(openSessionsStatus: Exclude<SessionStatus, 'recording'> | null = 'stopped'): void {
    if (this.closed) return;
    try {
      if (!this.readOnly) {
        if (openSessionsStatus !== null) {
          for (const id of [...this.sessions.keys()]) this.endSession(id, openSessionsStatus, 'recording file closed');
        }
        if (!this.diskFull) this.flush();
      }
    } finally {
      this.closed = true;
      if (this.flushTimer !== null) clearTimeout(this.flushTimer);
      this.statements.clear();
      this.checkpointer?.stop(); // its connection first, so that this one is the last
      this.checkpointer = null;
      this.db.close(); // the last connection checkpoints the WAL into the file and removes -wal and -shm
    }
  }

  // ---- read side ----

  /** Pending steps are committed before any read, so reads see everything appended so far. */
  private beforeRead(): void {
    this.assertOpen();
    if (!this.readOnly && (this.pendingRows > 0 || this.pendingWriteRows > 0)) this.flush();
  }

  listSessions(): SessionInfo[] {
    this.beforeRead();
    return this.stmt('SELECT * FROM boot_sessions ORDER BY session_id').all().map((r) => this.sessionInfo(r));
  }

  getSession(sessionId: number): SessionInfo | null {
    this.beforeRead();
    const row = this.stmt('SELECT * FROM boot_sessions WHERE session_id = ?').get([sessionId]);
    return row ? this.sessionInfo(row) : null;
  }

  /** A 'recording' session whose process is gone reads 'interrupted' (the next writer writes it down). */
  private sessionInfo(r: Row): SessionInfo {
    const info = sessionFromRow(r);
    if (info.status === 'recording' && !this.sessions.has(info.sessionId) && this.recorderGone(r.recorder_process)) {
      info.status = 'interrupted';
      info.endReason = INTERRUPTED_REASON;
    }
    return info;
  }

  /** Stage visits in order of entry (one row per transition). */
  stages(sessionId: number): StageVisit[] {
    this.beforeRead();
    return this.stmt('SELECT * FROM boot_stages WHERE session_id = ? ORDER BY ordinal').all([sessionId]).map((r) => ({
      stageId: num(r.stage_id), sessionId: num(r.session_id), ordinal: num(r.ordinal), stageName: String(r.stage_name),
      enterCount: num(r.enter_count), firstSequenceNumber: num(r.first_sequence_number), lastSequenceNumber: num(r.last_sequence_number),
      instructionCount: num(r.instruction_count), startTime: String(r.start_time), endTime: String(r.end_time), durationUs: num(r.duration_us),
    }));
  }

  snapshots(sessionId: number): SnapshotInfo[] {
    this.beforeRead();
    return this.stmt('SELECT * FROM memory_snapshots WHERE session_id = ? ORDER BY snapshot_id').all([sessionId]).map((r) => ({
      snapshotId: num(r.snapshot_id), sessionId: num(r.session_id), timestamp: String(r.timestamp), bootStage: String(r.boot_stage),
      pc: addressFromSql(r.pc_address), sequenceNumber: numOrNull(r.sequence_number), trigger: strOrNull(r.trigger) as SnapshotTrigger | null,
      totalSize: num(r.total_size), changedRegions: numOrNull(r.changed_regions),
    }));
  }

  regions(snapshotId: number, opts: { withData?: boolean } = {}): RegionInfo[] {
    this.beforeRead();
    const sql = opts.withData
      ? 'SELECT * FROM memory_regions WHERE snapshot_id = ? ORDER BY region_id'
      : 'SELECT * FROM snapshot_regions WHERE snapshot_id = ? ORDER BY region_id';
    return this.stmt(sql).all([snapshotId]).map((r) => {
      const info: RegionInfo = {
        regionId: num(r.region_id), snapshotId: num(r.snapshot_id), regionName: String(r.region_name),
        startAddress: addressFromSql(r.start_address), endAddress: addressFromSql(r.end_address), size: num(r.size),
        expectedPattern: numOrNull(r.expected_pattern), patternMatches: numOrNull(r.pattern_matches), totalWords: numOrNull(r.total_words),
        matchPercentage: numOrNull(r.match_percentage), success: boolOrNull(r.success), firstMismatchOffset: numOrNull(r.first_mismatch_offset),
        threshold: numOrNull(r.threshold), checksum: strOrNull(r.checksum), physical: boolOrNull(r.physical), changed: boolOrNull(r.changed),
      };
      if (opts.withData) info.data = blobOrNull(r.data) ?? new Uint8Array();
      return info;
    });
  }

  /**
   * A cached read statement on this connection, for the store's own read modules (history.ts): integers
   * read as bigint, rows as objects. Pending steps are committed first, as for every read.
   */
  readStatement(sql: string): RowStatement {
    this.beforeRead();
    return this.stmt(sql);
  }

  /** Full register state at step `sequenceNumber` (from the nearest keyframe at or before it). */
  registersAt(sessionId: number, sequenceNumber: number): RegisterState | null {
    this.beforeRead();
    const rows = this.rowsFromKeyframe(sessionId, sequenceNumber, 'sequence_number, registers');
    if (rows.length === 0) return null;
    const state: RegisterState = new Map();
    for (const r of rows) applyRegisterJson(state, strOrNull(r.registers));
    return state;
  }

  /** Rows of the session from the last keyframe at or before `seq` up to `seq`, ascending. */
  private rowsFromKeyframe(sessionId: number, seq: number, columns: string): Row[] {
    const keyframe = this.stmt(`SELECT sequence_number FROM instruction_traces INDEXED BY idx_instruction_traces_keyframes
        WHERE session_id = ? AND sequence_number <= ? AND registers_full = 1 ORDER BY sequence_number DESC LIMIT 1`).get([sessionId, seq]);
    if (!keyframe) return [];
    return this.stmt(`SELECT ${columns} FROM instruction_traces WHERE session_id = ? AND sequence_number BETWEEN ? AND ? ORDER BY sequence_number`)
      .all([sessionId, num(keyframe.sequence_number), seq]);
  }

  step(sessionId: number, sequenceNumber: number): StepRecord | null {
    const [record] = this.steps(sessionId, sequenceNumber, 1);
    return record && record.sequenceNumber === sequenceNumber ? record : null;
  }

  /** Up to `count` steps with sequence_number >= fromSeq, each with its full register state. */
  steps(sessionId: number, fromSeq: number, count: number): StepRecord[] {
    this.beforeRead();
    const rows = this.stmt('SELECT * FROM instruction_traces WHERE session_id = ? AND sequence_number >= ? ORDER BY sequence_number LIMIT ?')
      .all([sessionId, fromSeq, count]);
    if (rows.length === 0) return [];
    const state: RegisterState = new Map();
    const firstSeq = num(rows[0].sequence_number);
    if (num(rows[0].registers_full) !== 1) {
      for (const r of this.rowsFromKeyframe(sessionId, firstSeq - 1, 'registers')) applyRegisterJson(state, strOrNull(r.registers));
    }
    return rows.map((r) => {
      const changed = applyRegisterJson(state, strOrNull(r.registers));
      return {
        sessionId: num(r.session_id), sequenceNumber: num(r.sequence_number), timestamp: String(r.timestamp), pc: addressFromSql(r.pc_address),
        bytes: blobOrNull(r.instruction_bytes), disassembly: strOrNull(r.disassembly), registers: new Map(state), changedRegisters: changed,
        registersFull: num(r.registers_full) === 1, sp: r.stack_pointer === null ? null : addressFromSql(r.stack_pointer),
        functionName: strOrNull(r.function_name), bootStage: strOrNull(r.boot_stage), exceptionLevel: numOrNull(r.exception_level),
        thumb: boolOrNull(r.thumb), sourceFile: strOrNull(r.source_file), sourceLine: numOrNull(r.source_line),
      };
    });
  }

  /**
   * Runs one read-only statement of user SQL (read-only-sql.ts refuses anything that could write). Rows are
   * streamed and at most `maxRows` kept (default QUERY_ROW_CAP): `truncated` says more existed. Values are
   * as SQLite returns them (integers beyond 2^53 as bigint, BLOBs as Uint8Array).
   */
  query(sql: string, params: SQLiteValue[] | Record<string, SQLiteValue> = [], opts: { maxRows?: number } = {}): QueryResult {
    const { columns, rows } = this.iterateQuery(sql, params);
    const maxRows = opts.maxRows ?? QUERY_ROW_CAP;
    const out: SQLiteValue[][] = [];
    let truncated = false;
    try {
      for (const row of rows) {
        if (out.length >= maxRows) { truncated = true; break; }
        out.push(row);
      }
    } finally {
      rows.return(undefined);
    }
    return { columns: columns.length > 0 || out.length === 0 ? columns : out[0].map((_, i) => `column${i + 1}`), rows: out, truncated };
  }

  /**
   * Like query(), but yields rows one at a time (CSV export of large results, `bootscope query`). In WAL
   * mode an open iterator holds only a read snapshot: writers go on; the WAL cannot be checkpointed past it.
   */
  iterateQuery(sql: string, params: SQLiteValue[] | Record<string, SQLiteValue> = []): { columns: string[]; rows: Generator<SQLiteValue[]> } {
    this.beforeRead();
    const statement = checkReadOnlySql(this.db, sql);
    let prepared: StatementSync;
    try {
      prepared = this.db.prepare(statement);
    } catch (e) {
      throw new BootscopeError(ErrorCode.Database, `query failed: ${(e as Error).message}`, { cause: e });
    }
    const known = columnNames(prepared);
    const columns: string[] = known ?? [];
    const file = this.file;
    const fail = (e: unknown): BootscopeError => new BootscopeError(ErrorCode.Database, isBusy(e)
      ? `${file}: database is locked: another process held it longer than the busy timeout; retry` : `query failed: ${(e as Error).message}`, { cause: e });
    const source = iterateArrays(prepared, params, (names) => { if (!known) columns.push(...names); });
    // Before Node 22.16 (no StatementSync.columns()) the names come with the first row: read it now, so
    // callers printing a header first have them (a result with no rows then has no column names).
    let peeked: IteratorResult<SQLiteValue[]> | undefined;
    if (!known) {
      try { peeked = source.next(); } catch (e) { throw fail(e); }
    }
    function* rows(): Generator<SQLiteValue[]> {
      try {
        if (peeked) {
          if (peeked.done) return;
          yield peeked.value;
        }
        yield* source;
      } catch (e) {
        throw fail(e);
      } finally {
        source.return(undefined);
      }
    }
    const generator = rows();
    let started = false;
    // A generator that never ran ignores return() without running its `finally`: reset the statement here,
    // or an export whose output failed before the first row would leave it holding a read snapshot.
    const iterator: Generator<SQLiteValue[]> = {
      next: () => { started = true; return generator.next(); },
      return: (value) => {
        if (!started) source.return(undefined);
        started = true;
        return generator.return(value);
      },
      throw: (e) => { started = true; return generator.throw(e); },
      [Symbol.iterator]() { return this; },
      [Symbol.dispose]() { iterator.return(undefined); },
    };
    return { columns, rows: iterator };
  }
}

/** Rows `query()` keeps in memory by default; the CLI, console and notebooks say when a result was cut. */
export const QUERY_ROW_CAP = 100_000;

/**
 * Whether a reader should first let a writer convert `file`: a rollback-journal file (written by Bootscope
 * < 0.2: header bytes 18-19 are 1, WAL makes them 2) or an older schema (user_version, header offset 60),
 * on storage this process can write. Read from the header: no SQLite connection, no lock.
 */
function needsUpgrade(file: string): boolean {
  const header = Buffer.alloc(100);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    if (fs.readSync(fd, header, 0, 100, 0) < 100) return false; // empty or not SQLite: open() says what it is
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (header.toString('latin1', 0, 15) !== 'SQLite format 3') return false;
  const wal = header[18] === 2 && header[19] === 2;
  const version = header.readUInt32BE(60);
  if (version === 0 || version > SCHEMA_VERSION || (wal && version === SCHEMA_VERSION)) return false;
  try {
    fs.accessSync(file, fs.constants.W_OK);
  } catch {
    return false;
  }
  return isWritableDirectory(path.dirname(file));
}

function sessionFromRow(r: Row): SessionInfo {
  return {
    sessionId: num(r.session_id), startTime: String(r.start_time), endTime: strOrNull(r.end_time), description: strOrNull(r.description),
    qemuVersion: strOrNull(r.qemu_version), freertosVersion: strOrNull(r.freertos_version), status: String(r.status) as SessionStatus,
    endReason: strOrNull(r.end_reason), arch: strOrNull(r.arch), configJson: strOrNull(r.config_json), instructionCount: num(r.instruction_count),
    elfPath: strOrNull(r.elf_path), elfMd5: strOrNull(r.elf_md5), gdbHost: strOrNull(r.gdb_host), gdbPort: numOrNull(r.gdb_port),
    uartLog: strOrNull(r.uart_log), keyframeInterval: numOrNull(r.keyframe_interval),
  };
}
