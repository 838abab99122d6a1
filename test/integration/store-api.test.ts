// RecordingStore against real SQLite files: register reconstruction, stage visits, snapshot dedup and
// timestamps, recovery of interrupted sessions, read-only and single-writer rules, the query guard.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RecordingStore } from '../../src/store/recording-store';
import { recordSyntheticSession, SEED_REGIONS } from '../../src/store/synthetic-session';
import { BootscopeError } from '../../src/common/errors';
import { SCHEMA_VERSION } from '../../src/store/schema';
import { SEED_BOOT_SEQUENCE_TIMING } from '../../src/analysis/seed-queries';
import { currentRecorderProcess } from '../../src/store/recorder-process';
import { sqlite } from '../../src/store/sqlite';

const quiet = (): void => undefined;
let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-store-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });
const fileIn = (name: string): string => path.join(dir, name);

/** Writes `n` steps with random 64-bit register changes and returns the full state after each step. */
function writeRandomSteps(store: RecordingStore, sessionId: number, n: number): Map<number, Map<string, bigint>> {
  let seed = 7;
  const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  const regs = new Map<string, bigint>();
  for (let i = 0; i < 31; i++) regs.set(`x${i}`, BigInt(i));
  regs.set('sp', 0xffff_8000_0000_1000n).set('pc', 0xffff_0000_4000_0000n).set('cpsr', 0x3c5n);
  const truth = new Map<number, Map<string, bigint>>();
  for (let seq = 0; seq < n; seq++) {
    regs.set('pc', (regs.get('pc') ?? 0n) + 4n);
    const name = `x${Math.floor(rand() * 31)}`;
    regs.set(name, BigInt(Math.floor(rand() * 2 ** 32)) * BigInt(Math.floor(rand() * 2 ** 32)));
    store.appendStep({
      sessionId, sequenceNumber: seq, pc: regs.get('pc') ?? 0n, bytes: new Uint8Array([0x1f, 0x20, 0x03, 0xd5]),
      disassembly: 'nop', registers: regs, sp: regs.get('sp') ?? 0n, functionName: 'unknown',
      bootStage: seq < n / 2 ? 'early' : 'late', exceptionLevel: 1, thumb: false,
    });
    truth.set(seq, new Map(regs));
  }
  return truth;
}

describe('registers', () => {
  let store: RecordingStore;
  let sessionId: number;
  let truth: Map<number, Map<string, bigint>>;
  before(() => {
    store = RecordingStore.open(fileIn('regs.db'), { keyframeInterval: 64, log: quiet });
    sessionId = store.beginSession({ arch: 'aarch64' });
    truth = writeRandomSteps(store, sessionId, 1000);
    store.endSession(sessionId, 'completed');
  });
  after(() => store.close());

  test('registersAt rebuilds the exact 64-bit state at every step', () => {
    for (let seq = 0; seq < 1000; seq++) assert.deepEqual(store.registersAt(sessionId, seq), truth.get(seq), `step ${seq}`);
  });

  test('only the first row and every 64th row are keyframes', () => {
    const { rows } = store.query('SELECT sequence_number FROM instruction_traces WHERE registers_full = 1 ORDER BY 1');
    assert.deepEqual(rows.map((r) => r[0]), Array.from({ length: 16 }, (_, i) => i * 64));
  });

  test('a delta row stores only pc and the changed register', () => {
    const { rows } = store.query('SELECT registers FROM instruction_traces WHERE sequence_number = 5');
    assert.ok(Object.keys(JSON.parse(String(rows[0][0])) as object).length <= 2);
  });

  test('steps() pages carry the full state of every step', () => {
    const page = store.steps(sessionId, 100, 50);
    assert.equal(page.length, 50);
    page.forEach((s) => assert.deepEqual(s.registers, truth.get(s.sequenceNumber)));
  });

  test('a 64-bit pc above 2^63 round-trips through pc_address', () => {
    assert.equal(store.step(sessionId, 10)?.pc, 0xffff_0000_4000_0000n + 44n);
  });

  test('the documented plain-SQL lookup of one register agrees with registersAt', () => {
    const { rows } = store.query(`SELECT json_extract(registers, '$.x3') FROM instruction_traces
      WHERE session_id = ? AND sequence_number <= ? AND json_type(registers, '$.x3') IS NOT NULL
      ORDER BY sequence_number DESC LIMIT 1`, [sessionId, 777]);
    const raw = rows[0][0];
    const value = typeof raw === 'string' ? BigInt(raw) : BigInt(raw as number);
    assert.equal(value, truth.get(777)?.get('x3'));
  });
});

describe('sessions, stages and snapshots', () => {
  let store: RecordingStore;
  let sessionId: number;
  before(() => {
    store = RecordingStore.open(fileIn('synthetic.db'), { log: quiet });
    sessionId = recordSyntheticSession(store, { instructions: 15_000 }).sessionId;
  });
  after(() => store.close());

  test('endSession sets status, reason and instruction count', () => {
    const s = store.getSession(sessionId);
    assert.deepEqual([s?.status, s?.endReason, s?.instructionCount], ['completed', 'synthetic session complete', 15_000]);
  });

  test('every stage visit is a row, re-entries counted', () => {
    const visits = store.stages(sessionId);
    assert.equal(visits.length, 15);
    assert.deepEqual(visits.filter((v) => v.stageName === 'pattern_painting').map((v) => v.enterCount), [1, 2, 3, 4]);
    assert.equal(visits.reduce((n, v) => n + v.instructionCount, 0), 15_000);
  });

  test('stage visits tile the sequence numbers without gaps', () => {
    const visits = store.stages(sessionId);
    for (let i = 1; i < visits.length; i++) assert.equal(visits[i].firstSequenceNumber, visits[i - 1].lastSequenceNumber + 1);
  });

  test('step timestamps are strictly increasing', () => {
    const { rows } = store.query('SELECT COUNT(*) FROM instruction_traces a JOIN instruction_traces b ON b.sequence_number = a.sequence_number + 1 AND b.session_id = a.session_id WHERE b.timestamp <= a.timestamp');
    assert.equal(rows[0][0], 0);
  });

  test('every snapshot joins exactly one instruction row on timestamp', () => {
    const { rows } = store.query('SELECT ms.snapshot_id, COUNT(it.trace_id) FROM memory_snapshots ms LEFT JOIN instruction_traces it ON it.timestamp = ms.timestamp GROUP BY ms.snapshot_id');
    assert.equal(rows.length, 15);
    rows.forEach((r) => assert.equal(r[1], 1));
  });

  test('unchanged region contents are stored once', () => {
    const { rows } = store.query('SELECT COUNT(*), COUNT(DISTINCT blob_id), (SELECT COUNT(*) FROM region_blobs) FROM snapshot_regions');
    const [regions, distinct, blobs] = rows[0].map(Number);
    assert.equal(regions, 15 * SEED_REGIONS.length);
    assert.equal(distinct, blobs);
    assert.ok(blobs < regions / 2, `${blobs} blobs for ${regions} regions`);
  });

  test('regions(withData) returns the bytes whose md5 is the checksum', () => {
    const [snap] = store.snapshots(sessionId);
    for (const r of store.regions(snap.snapshotId, { withData: true })) {
      assert.equal(r.data?.byteLength, r.size);
      assert.equal(r.endAddress - r.startAddress, BigInt(r.size));
    }
  });

  test('a snapshot with no step row at that sequence number needs a stage and pc', () => {
    const id = store.beginSession({ arch: 'arm' });
    assert.throws(() => store.addSnapshot({ sessionId: id, sequenceNumber: 0, trigger: 'start', regions: [] }), BootscopeError);
    store.endSession(id, 'stopped');
  });

  test('a sequence number that does not increase is refused', () => {
    const id = store.beginSession({ arch: 'arm' });
    const step = { sessionId: id, sequenceNumber: 5, pc: 0, bytes: new Uint8Array(4), disassembly: 'nop', registers: { pc: 0 }, sp: 0, functionName: 'unknown', bootStage: 's' };
    store.appendStep(step);
    assert.throws(() => store.appendStep(step), /greater than the previous/);
    store.endSession(id, 'stopped');
  });
});

describe('query guard', () => {
  let store: RecordingStore;
  before(() => {
    store = RecordingStore.open(fileIn('guard.db'), { log: quiet });
    recordSyntheticSession(store, { instructions: 200, snapshots: false });
  });
  after(() => store.close());

  for (const sql of [
    'DELETE FROM instruction_traces',
    'WITH x AS (SELECT 1) DELETE FROM instruction_traces',
    'SELECT 1; DELETE FROM instruction_traces',
    'PRAGMA user_version = 99',
    'PRAGMA user_version(99)',
    'PRAGMA journal_mode',
    "ATTACH 'other.db' AS o",
    "VACUUM INTO 'copy.db'",
    'CREATE TEMP TABLE t(x)',
  ]) {
    test(`refuses: ${sql}`, () => assert.throws(() => store.query(sql), /query refused/));
  }

  test('binds whole numbers as INTEGER, as the sqlite3 CLI and Python do (node:sqlite would bind REAL)', () => {
    assert.deepEqual(store.query('SELECT ? / ?, typeof(?), ? / 2', [7, 2, 3, 7.5]).rows, [[3, 'integer', 3.75]]);
    assert.deepEqual(store.query('SELECT :a / :b', { a: 9, b: 2 }).rows, [[4]]);
  });

  test('allows a SELECT with a semicolon inside a string and a trailing semicolon', () => {
    assert.deepEqual(store.query("SELECT 'a;b' AS s;").rows, [['a;b']]);
  });

  test('allows read-only PRAGMAs and EXPLAIN QUERY PLAN', () => {
    assert.equal(store.query('PRAGMA user_version').rows[0][0], SCHEMA_VERSION);
    assert.ok(store.query('EXPLAIN QUERY PLAN SELECT * FROM instruction_traces WHERE pc_address = 1').rows.length > 0);
  });

  // node:sqlite's StatementSync.columns() exists from Node 22.16; on 22.13-22.15 names come with the first row.
  const hasColumns = typeof (sqlite().StatementSync.prototype as { columns?: unknown }).columns === 'function';
  test('returns column names even when no row matches', { skip: hasColumns ? false : `Node ${process.versions.node} has no StatementSync.columns()` }, () => {
    assert.deepEqual(store.query('SELECT trace_id, pc_address FROM instruction_traces WHERE 0').columns, ['trace_id', 'pc_address']);
  });

  test('maxRows truncates and says so', () => {
    const r = store.query('SELECT trace_id FROM instruction_traces', [], { maxRows: 10 });
    assert.deepEqual([r.rows.length, r.truncated], [10, true]);
  });
});

describe('opening', () => {
  test('a read-only store refuses writes', () => {
    const file = fileIn('ro.db');
    RecordingStore.open(file, { log: quiet }).close();
    const ro = RecordingStore.open(file, { readOnly: true, log: quiet });
    try {
      assert.throws(() => ro.beginSession({ arch: 'arm' }), /read-only/);
    } finally { ro.close(); }
  });

  test('opening a missing file read-only fails naming the file', () => {
    assert.throws(() => RecordingStore.open(fileIn('missing.db'), { readOnly: true, log: quiet }), /missing\.db does not exist/);
  });

  test('a file from a newer schema version is refused', () => {
    const file = fileIn('future.db');
    RecordingStore.open(file, { log: quiet }).close();
    spawnSync('sqlite3', [file, 'PRAGMA user_version = 99']);
    assert.throws(() => RecordingStore.open(file, { log: quiet }), /schema version 99, newer/);
  });

  test('a version 1 file is upgraded when first opened (read-only too, on writable storage): data kept, seed 4.1 walks the stage index', () => {
    const file = fileIn('v1.db');
    const store = RecordingStore.open(file, { log: quiet });
    const { sessionId } = recordSyntheticSession(store, { instructions: 3000 });
    store.close();
    // Turn it back into what version 1 wrote (sqlite3 CLI: independent of our code).
    const down = spawnSync('sqlite3', [file, `DROP INDEX idx_instruction_traces_stage;
      CREATE INDEX idx_instruction_traces_timestamp ON instruction_traces(timestamp);
      CREATE INDEX idx_instruction_traces_pc ON instruction_traces(pc_address);
      ALTER TABLE boot_sessions DROP COLUMN recorder_process;
      DROP TABLE memory_writes; DROP TABLE trace_gaps;
      DELETE FROM schema_migrations WHERE version >= 2; PRAGMA user_version = 1; PRAGMA journal_mode = DELETE;`], { encoding: 'utf8' });
    assert.equal(down.status, 0, down.stderr);
    const lines: string[] = [];
    const up = RecordingStore.open(file, { readOnly: true, log: (l) => lines.push(l) });
    try {
      assert.ok(lines.some((l) => new RegExp(`converted to WAL and schema ${SCHEMA_VERSION}`).test(l)), lines.join('\n'));
      assert.equal(up.query('PRAGMA user_version').rows[0][0], SCHEMA_VERSION);
      assert.equal(spawnSync('sqlite3', [file, 'PRAGMA journal_mode'], { encoding: 'utf8' }).stdout.trim(), 'wal');
      assert.deepEqual(up.query('SELECT version FROM schema_migrations ORDER BY version').rows, [[1], [2], [3], [4]]);
      const indexes = up.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'instruction_traces'").rows.map((r) => r[0]);
      assert.ok(indexes.includes('idx_instruction_traces_stage') && !indexes.includes('idx_instruction_traces_timestamp'), String(indexes));
      assert.ok(!indexes.includes('idx_instruction_traces_pc'), 'migration 3 drops the unused pc index');
      assert.equal(up.getSession(sessionId)?.instructionCount, 3000);
      const plan = up.query(`EXPLAIN QUERY PLAN ${SEED_BOOT_SEQUENCE_TIMING}`, [sessionId]).rows.map((r) => String(r[r.length - 1])).join('\n');
      assert.match(plan, /USING INDEX idx_instruction_traces_stage/);
      assert.equal(up.query(SEED_BOOT_SEQUENCE_TIMING, [sessionId]).rows.reduce((n, r) => n + Number(r[3]), 0), 3000);
    } finally {
      up.close();
    }
  });

  test('a foreign SQLite file is refused', () => {
    const file = fileIn('foreign.db');
    spawnSync('sqlite3', [file, 'CREATE TABLE t(x)']);
    assert.throws(() => RecordingStore.open(file, { log: quiet }), /not a Bootscope recording/);
  });

  test('a second writer in another live process records its own session and leaves this one recording', () => {
    const file = fileIn('two-writers.db');
    const store = RecordingStore.open(file, { log: quiet });
    try {
      const mine = store.beginSession({ arch: 'arm', description: 'first writer' });
      const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
        const { RecordingStore } = require(${JSON.stringify(path.resolve('src/store/recording-store.ts'))});
        const s = RecordingStore.open(${JSON.stringify(file)}, { log: (l) => console.log(l) });
        const id = s.beginSession({ arch: 'arm', description: 'second writer' });
        s.endSession(id, 'completed', 'done'); s.close(); console.log('session ' + id);`], { encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /^session 2$/m);
      assert.doesNotMatch(child.stdout, /marked 'interrupted'/, 'a live writer\'s session must not be marked interrupted');
      assert.deepEqual(store.listSessions().map((s) => [s.sessionId, s.status]), [[mine, 'recording'], [2, 'completed']]);
    } finally { store.close(); }
  });

  test('a session whose recorder pid now belongs to another live process (this one) is marked interrupted on reopen', () => {
    const file = fileIn('interrupted.db');
    const store = RecordingStore.open(file, { log: quiet });
    const id = store.beginSession({ arch: 'arm' });
    store.appendStep({ sessionId: id, sequenceNumber: 1, pc: 4, bytes: new Uint8Array(4), disassembly: 'nop', registers: { pc: 4 }, sp: 0, functionName: 'unknown', bootStage: 's' });
    store.close(null); // leave it 'recording', as a killed writer would
    // The recorder's pid is this live process, but with another start time: a dead writer whose pid was reused.
    const [host, boot, pid] = currentRecorderProcess().split(' ');
    const fake = spawnSync('sqlite3', [file, `UPDATE boot_sessions SET recorder_process = '${host} ${boot} ${pid} 1' WHERE session_id = ${id}`], { encoding: 'utf8' });
    assert.equal(fake.status, 0, fake.stderr);
    const reader = RecordingStore.open(file, { readOnly: true, log: quiet });
    try {
      assert.equal(reader.getSession(id)?.status, 'interrupted', 'a reader sees it as interrupted before any writer marks it');
    } finally { reader.close(); }
    const lines: string[] = [];
    const reopened = RecordingStore.open(file, { log: (l) => lines.push(l) });
    try {
      const s = reopened.getSession(id);
      assert.deepEqual([s?.status, s?.instructionCount], ['interrupted', 1]);
      assert.equal(s?.endTime, reopened.step(id, 1)?.timestamp);
      assert.ok(lines.some((l) => l.includes(`session ${id}`)));
    } finally { reopened.close(); }
  });
});
