// Query process entry (bundled as dist/query-worker.js, forked by QueryRunner): runs one SQL request at a
// time against a recording file on its own node:sqlite connection, so a long query never freezes the
// extension host, and a cancel is SIGKILL. The file is in WAL mode: this read-only connection never blocks
// the recorder, and a process killed mid-query leaves nothing behind (SQLite's locks die with it).
import { checkReadOnlySql, splitSqlStatements } from '../../store/read-only-sql';
import { columnNames, iterateArrays, openReadOnly, sqlite, toSqlParams, type DatabaseSync } from '../../store/sqlite';
import type { RunRequest, SqlParams, SqlValue, WorkerReply } from './query-worker-protocol';
import { sessionParameters } from './sql-params';

const BUSY_TIMEOUT_MS = 3000;
/** Rows counted (not kept) past maxRows before giving up on an exact total: a runaway query must end. */
const COUNT_BEYOND_CAP = 1_000_000;

/** One read-only connection per file, kept between requests (panels poll a recording that grows). */
const readers = new Map<string, DatabaseSync>();

function post(reply: WorkerReply): void {
  process.send?.(reply);
}

function reader(file: string): DatabaseSync {
  let db = readers.get(file);
  if (!db) {
    db = openReadOnly(file, BUSY_TIMEOUT_MS, () => undefined).db;
    readers.set(file, db);
  }
  return db;
}

function collect(db: DatabaseSync, sql: string, req: RunRequest, params: SqlParams | undefined): { columns: string[]; rows: SqlValue[][]; totalRows: number; complete: boolean; changes?: number } {
  const stmt = db.prepare(sql);
  const names = columnNames(stmt);
  if (names !== undefined && names.length === 0) {
    const bound = toSqlParams(params ?? []);
    const r = Array.isArray(bound) ? stmt.run(...bound) : stmt.run(bound);
    return { columns: [], rows: [], totalRows: 0, complete: true, changes: Number(r.changes) };
  }
  const rows: SqlValue[][] = [];
  let totalRows = 0;
  let complete = true;
  const max = req.maxRows ?? Number.POSITIVE_INFINITY;
  let keys: string[] | undefined; // before Node 22.16 (no columns()): the first row's names
  const iterator = iterateArrays(stmt, params ?? [], (names) => { keys = names; });
  try {
    for (const row of iterator) {
      if (rows.length < max) rows.push(row);
      else if (totalRows >= max + COUNT_BEYOND_CAP) { complete = false; break; }
      totalRows += 1;
    }
  } finally {
    iterator.return(undefined);
  }
  const columns = names ?? keys ?? [];
  return { columns, rows, totalRows, complete };
}

function run(req: RunRequest): void {
  const started = performance.now();
  let writer: DatabaseSync | undefined;
  try {
    let db: DatabaseSync;
    let statements: string[];
    if (req.mode === 'write') {
      const { DatabaseSync } = sqlite();
      writer = new DatabaseSync(req.file, { enableForeignKeyConstraints: true });
      writer.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      writer.exec('BEGIN IMMEDIATE');
      db = writer;
      statements = splitSqlStatements(req.sql);
    } else {
      db = reader(req.file);
      statements = [req.mode === 'read' ? checkReadOnlySql(db, req.sql) : req.sql];
    }
    let last = { columns: [] as string[], rows: [] as SqlValue[][], totalRows: 0, complete: true };
    let changes: number | undefined;
    for (const sql of statements) {
      const params = req.params ?? (req.sessionId !== undefined ? sessionParameters(sql, req.sessionId) : undefined);
      const r = collect(db, sql, req, params);
      if (r.changes !== undefined) changes = (changes ?? 0) + r.changes;
      else last = r;
    }
    if (writer) writer.exec('COMMIT');
    post({ kind: 'result', id: req.id, ...last, changes: req.mode === 'write' ? changes ?? 0 : undefined, elapsedMs: performance.now() - started });
  } catch (e) {
    try { if (writer?.isOpen) writer.exec('ROLLBACK'); } catch { /* no transaction left to roll back */ }
    if (req.mode !== 'write') {
      // A reader that failed (file replaced, schema changed) is reopened by the next request.
      try { readers.get(req.file)?.close(); } catch { /* already closed */ }
      readers.delete(req.file);
    }
    post({ kind: 'error', id: req.id, message: (e as Error).message });
  } finally {
    try { writer?.close(); } catch { /* already reported */ }
  }
}

process.on('message', (req: RunRequest) => run(req));
// The runner going away (extension host closed, test ended) ends this process too.
process.on('disconnect', () => process.exit(0));
