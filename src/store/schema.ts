// The recording file's schema: the seed's four tables (methodology section 2.2) with their exact names and
// columns first, then our additions as new columns and new tables, never renames. Versioned with
// PRAGMA user_version; MIGRATIONS are applied in order by applyMigrations and recorded in schema_migrations.
//
// Design notes (why the shape is what it is):
// - memory_regions is a VIEW over snapshot_regions + region_blobs: region contents are content-addressed
//   (md5 + size, bytes compared on a hit), so a snapshot whose regions did not change stores no new bytes,
//   while `SELECT data FROM memory_regions` still returns the raw BLOB (seed 4.1/4.3 only SELECT).
// - end_address = start_address + size (exclusive end).
// - Addresses are INTEGER; a 64-bit address >= 2^63 is stored as its two's-complement signed value
//   (SQLite integers are signed 64-bit). printf('0x%x', pc_address) prints it correctly in raw SQL.
// - instruction_traces.registers is delta-encoded (see registers.ts); registers_full = 1 marks keyframes.
// - boot_stages has one row per stage VISIT (a stage entered twice = two rows, enter_count 1 and 2);
//   boot_stage_summary aggregates the visits per stage.
// - Only features SQLite 3.40 (Debian's sqlite3 CLI and Python) reads are used.
// - Journal mode is WAL (set when a writer opens the file, see recording-store.ts): not part of a migration,
//   since it cannot change inside a transaction, and a file is converted the first time this version opens it.
//
// Adding a migration: append { version: N + 1, name, sql } to MIGRATIONS. Each runs in its own transaction
// and is recorded in schema_migrations; read-only opens accept any version <= SCHEMA_VERSION (readers look
// at columns with PRAGMA table_info where a newer column may be missing), so older files stay readable.
import type { DatabaseSync } from './sqlite';
import { BootscopeError, ErrorCode } from '../common/errors';

export const SESSION_STATUSES = ['recording', 'completed', 'stopped', 'qemu-exited', 'error', 'interrupted'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const SNAPSHOT_TRIGGERS = ['stage', 'interval', 'manual', 'start', 'end'] as const;
export type SnapshotTrigger = (typeof SNAPSHOT_TRIGGERS)[number];

interface Migration {
  version: number;
  name: string;
  sql: string;
}

const inList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

const V1_INITIAL = `
CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

-- seed 2.2 boot_sessions, then additions
CREATE TABLE boot_sessions (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    start_time TEXT NOT NULL,
    end_time TEXT,
    description TEXT,
    qemu_version TEXT,
    freertos_version TEXT,
    status TEXT NOT NULL DEFAULT 'recording' CHECK (status IN (${inList(SESSION_STATUSES)})),
    end_reason TEXT,
    arch TEXT,
    config_json TEXT,
    instruction_count INTEGER NOT NULL DEFAULT 0,
    elf_path TEXT,
    elf_md5 TEXT,
    gdb_host TEXT,
    gdb_port INTEGER,
    uart_log TEXT,
    keyframe_interval INTEGER        -- K: every K-th step row holds the full register state
);

-- seed 2.2 memory_snapshots, then additions
CREATE TABLE memory_snapshots (
    snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER REFERENCES boot_sessions(session_id),
    timestamp TEXT NOT NULL,
    boot_stage TEXT NOT NULL,
    pc_address INTEGER NOT NULL,
    memory_regions TEXT NOT NULL,  -- JSON metadata
    total_size INTEGER NOT NULL,
    sequence_number INTEGER,         -- the step at which it was taken (same timestamp as that step's row)
    trigger TEXT CHECK (trigger IN (${inList(SNAPSHOT_TRIGGERS)})),
    changed_regions INTEGER          -- regions whose checksum differs from the session's previous snapshot
);
CREATE INDEX idx_memory_snapshots_session ON memory_snapshots(session_id, sequence_number);
CREATE INDEX idx_memory_snapshots_timestamp ON memory_snapshots(timestamp);

-- Region contents, stored once per distinct (md5, size, bytes).
CREATE TABLE region_blobs (
    blob_id INTEGER PRIMARY KEY,
    md5 TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX idx_region_blobs_md5 ON region_blobs(md5, size);

-- One row per region per snapshot; pattern results are on aligned little-endian 32-bit words.
CREATE TABLE snapshot_regions (
    region_id INTEGER PRIMARY KEY AUTOINCREMENT,
    snapshot_id INTEGER NOT NULL REFERENCES memory_snapshots(snapshot_id),
    region_name TEXT NOT NULL,
    start_address INTEGER NOT NULL,
    end_address INTEGER NOT NULL,
    size INTEGER NOT NULL,
    blob_id INTEGER NOT NULL REFERENCES region_blobs(blob_id),
    expected_pattern INTEGER,
    pattern_matches INTEGER,
    checksum TEXT,
    total_words INTEGER,
    match_percentage REAL,
    success INTEGER,
    first_mismatch_offset INTEGER,
    threshold REAL,
    physical INTEGER,
    changed INTEGER                  -- 1 when checksum differs from this region in the previous snapshot
);
CREATE INDEX idx_snapshot_regions_snapshot ON snapshot_regions(snapshot_id);

-- seed 2.2 memory_regions: same columns in the same order, then additions.
CREATE VIEW memory_regions AS
SELECT r.region_id, r.snapshot_id, r.region_name, r.start_address, r.end_address, r.size, b.data,
       r.expected_pattern, r.pattern_matches, r.checksum,
       r.total_words, r.match_percentage, r.success, r.first_mismatch_offset, r.threshold, r.physical,
       r.changed, r.blob_id
FROM snapshot_regions r JOIN region_blobs b ON b.blob_id = r.blob_id;

-- seed 2.2 instruction_traces, then additions
CREATE TABLE instruction_traces (
    trace_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER REFERENCES boot_sessions(session_id),
    sequence_number INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    pc_address INTEGER NOT NULL,
    instruction_bytes BLOB,       -- Raw ARM instruction
    disassembly TEXT,            -- Human-readable disassembly
    registers TEXT,              -- JSON: all registers when registers_full = 1, else only changed ones
    stack_pointer INTEGER,
    function_name TEXT,
    boot_stage TEXT,
    exception_level INTEGER,
    thumb INTEGER,
    source_file TEXT,
    source_line INTEGER,
    registers_full INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX idx_instruction_traces_session_seq ON instruction_traces(session_id, sequence_number);
CREATE INDEX idx_instruction_traces_pc ON instruction_traces(pc_address);
CREATE INDEX idx_instruction_traces_timestamp ON instruction_traces(timestamp);
CREATE INDEX idx_instruction_traces_keyframes ON instruction_traces(session_id, sequence_number) WHERE registers_full = 1;

-- One row per stage visit (seed architecture figure: boot_stages).
CREATE TABLE boot_stages (
    stage_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES boot_sessions(session_id),
    ordinal INTEGER NOT NULL,                 -- 1, 2, 3 ... in order of entry within the session
    stage_name TEXT NOT NULL,
    enter_count INTEGER NOT NULL,             -- n-th entry into this stage within the session
    first_sequence_number INTEGER NOT NULL,
    last_sequence_number INTEGER NOT NULL,
    instruction_count INTEGER NOT NULL,
    start_time TEXT NOT NULL,                 -- timestamp of the visit's first step
    end_time TEXT NOT NULL,                   -- timestamp of the visit's last step
    duration_us INTEGER NOT NULL              -- end_time - start_time in microseconds (exact)
);
CREATE UNIQUE INDEX idx_boot_stages_session ON boot_stages(session_id, ordinal);

CREATE VIEW boot_stage_summary AS
SELECT session_id, stage_name,
       MIN(ordinal) AS first_ordinal,
       COUNT(*) AS enter_count,
       SUM(instruction_count) AS instruction_count,
       SUM(duration_us) AS duration_us,
       MIN(first_sequence_number) AS first_sequence_number,
       MAX(last_sequence_number) AS last_sequence_number,
       MIN(start_time) AS start_time,
       MAX(end_time) AS end_time
FROM boot_stages
GROUP BY session_id, stage_name;

-- seed architecture figure: metrics
CREATE TABLE metrics (
    metric_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER REFERENCES boot_sessions(session_id),
    name TEXT NOT NULL,
    value REAL,
    unit TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX idx_metrics_session ON metrics(session_id, name);
`;

// The seed's 4.1 timing query groups a session's steps by boot_stage with MIN/MAX(timestamp) and orders by
// MIN(sequence_number). With this index SQLite walks each stage's steps in index order instead of sorting the
// whole session (1M steps in the sqlite3 CLI: ~1.0 s -> ~0.4 s; adding timestamp to make it covering gained
// nothing and doubled its size). It replaces the timestamp index, which cost ~40 bytes per step and served
// only the seed's 4.3 join on timestamp; SQLite builds an automatic index for that join (~0.3 s on 1M).
// Net, a step costs ~13 bytes less.
const V2_STAGE_INDEX = `
DROP INDEX IF EXISTS idx_instruction_traces_timestamp;
CREATE INDEX idx_instruction_traces_stage ON instruction_traces(session_id, boot_stage, sequence_number);
`;

// node:sqlite + WAL (issue 12). idx_instruction_traces_pc served no query of ours nor of the seed (4.2 takes
// MIN/MAX(pc_address) per function, which an index on pc alone does not help) and cost every insert a
// B-tree update and ~20 bytes per step. recorder_process identifies the writer of a session (see
// recorder-process.ts) so readers tell a live recording from one whose process died, with no lock file.
const V3_WAL_WRITER = `
DROP INDEX IF EXISTS idx_instruction_traces_pc;
ALTER TABLE boot_sessions ADD COLUMN recorder_process TEXT;
`;

// Plugin capture and time travel (issues 13, 14). memory_writes: every store a recorded instruction made,
// as the plugin saw it: `address` is the virtual address of the first byte, `value` the `size` bytes written
// in memory order (little-endian on both targets; a BLOB because stores reach 16 bytes). The instruction
// that wrote is (session_id, sequence_number) in instruction_traces. Two indexes: by instruction (replaying
// the writes between a snapshot and instruction N) and by address (who wrote this word).
// trace_gaps: the guest ran instructions that were not recorded between `after_sequence_number` and the
// next recorded step (a continue without recording, a register or memory write by the user, a record
// window closing): the state across a gap is not the effect of the steps around it.
const V4_MEMORY_WRITES_GAPS = `
CREATE TABLE memory_writes (
    session_id INTEGER NOT NULL REFERENCES boot_sessions(session_id),
    sequence_number INTEGER NOT NULL,
    address INTEGER NOT NULL,
    size INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX idx_memory_writes_seq ON memory_writes(session_id, sequence_number);
CREATE INDEX idx_memory_writes_address ON memory_writes(session_id, address, sequence_number);
CREATE TABLE trace_gaps (
    gap_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES boot_sessions(session_id),
    after_sequence_number INTEGER NOT NULL,   -- last recorded step before the gap (0: before the first)
    reason TEXT NOT NULL,                     -- 'continue-unrecorded', 'register-write', 'memory-write', 'window', ...
    instructions_skipped INTEGER              -- how many instructions ran unrecorded, when known
);
CREATE INDEX idx_trace_gaps_session ON trace_gaps(session_id, after_sequence_number);
`;

/** Ordered: entry i upgrades a file from user_version i to i + 1. Append; never edit a shipped one. */
const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema (seed 2.2 tables + boot_stages, metrics, region_blobs)', sql: V1_INITIAL },
  { version: 2, name: 'per-stage index for the seed 4.1 timing query instead of the timestamp index', sql: V2_STAGE_INDEX },
  { version: 3, name: 'drop the unused pc index; boot_sessions.recorder_process (which process records the session)', sql: V3_WAL_WRITER },
  { version: 4, name: 'memory_writes (plugin capture) and trace_gaps (unrecorded stretches)', sql: V4_MEMORY_WRITES_GAPS },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export function schemaVersionOf(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version?: number } | undefined;
  return Number(row?.user_version ?? 0);
}

function isEmptyDatabase(db: DatabaseSync): boolean {
  const row = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").get() as { n?: number } | undefined;
  return Number(row?.n ?? 0) === 0;
}

/**
 * Brings `db` to SCHEMA_VERSION, each migration in its own transaction. A file that already has tables but
 * user_version 0 was not written by Bootscope (e.g. the seed's own Python tool): refuse rather than guess.
 */
export function applyMigrations(db: DatabaseSync, file: string): { from: number; to: number } {
  const from = schemaVersionOf(db);
  if (from > SCHEMA_VERSION) {
    throw new BootscopeError(ErrorCode.Database,
      `${file} has schema version ${from}, newer than this Bootscope understands (${SCHEMA_VERSION}); update Bootscope to open it`);
  }
  if (from === 0 && !isEmptyDatabase(db)) {
    throw new BootscopeError(ErrorCode.Database,
      `${file} is an SQLite file but not a Bootscope recording (user_version 0 and existing tables); choose another file`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      // Two processes opening a new (or old) file at once both saw the old version above; the write lock
      // orders them, and the second finds the migration applied already.
      if (schemaVersionOf(db) >= m.version) { db.exec('COMMIT'); continue; }
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      db.exec(`PRAGMA user_version = ${m.version}`);
      db.exec('COMMIT');
    } catch (e) {
      try { db.exec('ROLLBACK'); } catch { /* the transaction is gone already; report the first error */ }
      throw new BootscopeError(ErrorCode.Database, `${file}: schema migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return { from, to: SCHEMA_VERSION };
}
