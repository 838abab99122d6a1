// Worker-thread entry (bundled as dist/query-worker.js): runs one SQL request at a time against a recording
// file on its own node-sqlite3-wasm connection, so a long query never freezes the extension host and a
// cancel is a plain worker.terminate() (see QueryRunner, which also frees the lock this worker held).
import { parentPort } from 'node:worker_threads';
import * as fs from 'node:fs';
import { Database, type BindValues, type Statement } from 'node-sqlite3-wasm';
import { checkReadOnlySql, splitSqlStatements } from '../../store/read-only-sql';
import { lockDirOf } from '../../store/file-users';
import type { RunRequest, SqlParams, SqlValue, WorkerReply } from './query-worker-protocol';
import { sessionParameters } from './sql-params';

/** node-sqlite3-wasm (0.8.60) returns rows as objects; the column list of a prepared statement (needed
 * for results with no rows) is only reachable through this internal method of Statement. */
interface StatementInternals { _getColumnNames?: () => string[] }

const BUSY_RETRY_MS = 3000;

function post(reply: WorkerReply): void {
  parentPort?.postMessage(reply);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the file lock (retrying while another connection, e.g. the recorder, holds it) and reports it. */
function beginTransaction(db: Database, req: RunRequest): void {
  const deadline = Date.now() + BUSY_RETRY_MS;
  for (;;) {
    try {
      if (req.mode === 'write') {
        db.exec('BEGIN IMMEDIATE');
      } else {
        // A deferred transaction plus one read takes the shared lock and keeps it until COMMIT, so the
        // lock directory seen below is ours for the whole query.
        db.exec('PRAGMA temp_store = MEMORY'); // GROUP BY / ORDER BY sorters spill to memory, not the VFS
        db.exec('BEGIN');
        db.get('SELECT 1 FROM sqlite_master LIMIT 1');
      }
      break;
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if (!/locked|busy/i.test((e as Error).message) || Date.now() > deadline) throw e;
      sleep(50);
    }
  }
  try {
    const st = fs.statSync(lockDirOf(req.file), { bigint: false });
    post({ kind: 'locked', id: req.id, lockIno: st.ino, lockBirthtimeMs: st.birthtimeMs });
  } catch {
    // No lock directory: nothing to free on cancel.
  }
}

function toBindValues(params: SqlParams | undefined): BindValues | undefined {
  if (params === undefined) return undefined;
  return Array.isArray(params) ? [...(params as readonly SqlValue[])] : { ...(params as Readonly<Record<string, SqlValue>>) };
}

function collect(stmt: Statement, req: RunRequest, params: SqlParams | undefined): { columns: string[]; rows: SqlValue[][]; totalRows: number } {
  const columns = (stmt as unknown as StatementInternals)._getColumnNames?.() ?? [];
  const rows: SqlValue[][] = [];
  let totalRows = 0;
  const max = req.maxRows ?? Number.POSITIVE_INFINITY;
  for (const row of stmt.iterate(toBindValues(params))) {
    totalRows += 1;
    if (rows.length < max) rows.push(columns.length ? columns.map((c) => (row as Record<string, SqlValue>)[c]) : Object.values(row) as SqlValue[]);
  }
  return { columns: columns.length ? columns : [], rows, totalRows };
}

function run(req: RunRequest): void {
  const started = performance.now();
  let db: Database | undefined;
  try {
    db = new Database(req.file, { fileMustExist: true, readOnly: req.mode !== 'write' });
    beginTransaction(db, req);
    let statements: string[];
    if (req.mode === 'read') statements = [checkReadOnlySql(db, req.sql)];
    else if (req.mode === 'write') statements = splitSqlStatements(req.sql);
    else statements = [req.sql];
    let last = { columns: [] as string[], rows: [] as SqlValue[][], totalRows: 0 };
    let changes: number | undefined;
    for (const sql of statements) {
      const params = req.params ?? (req.sessionId !== undefined ? sessionParameters(sql, req.sessionId) : undefined);
      const stmt = db.prepare(sql);
      try {
        const names = (stmt as unknown as StatementInternals)._getColumnNames?.() ?? [];
        if (names.length > 0) {
          last = collect(stmt, req, params);
        } else {
          const r = stmt.run(toBindValues(params));
          changes = (changes ?? 0) + r.changes;
        }
      } finally {
        stmt.finalize();
      }
    }
    db.exec('COMMIT');
    post({ kind: 'result', id: req.id, ...last, changes: req.mode === 'write' ? changes ?? 0 : undefined, elapsedMs: performance.now() - started });
  } catch (e) {
    try { if (db?.isOpen && db.inTransaction) db.exec('ROLLBACK'); } catch { /* the error below says what failed */ }
    post({ kind: 'error', id: req.id, message: (e as Error).message });
  } finally {
    try { db?.close(); } catch { /* already reported */ }
  }
}

parentPort?.on('message', (req: RunRequest) => run(req));
