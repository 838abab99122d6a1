// The one place Bootscope touches SQLite: `node:sqlite` (SQLite compiled into Node since 22.13 and into the
// Electron of VS Code 1.103+), loaded lazily so that importing the store costs nothing and so that the
// ExperimentalWarning some Node versions print on the first load is swallowed here, for every entry point
// (CLI, standalone adapter, query worker, extension host). Also: opening a file read-only where SQLite
// cannot create the WAL index (read-only media), SQLite error classification, and value conversion.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export type { DatabaseSync, StatementSync } from 'node:sqlite';

/** A value as the store returns it: integers beyond 2^53 as bigint, BLOBs as Uint8Array. */
export type SQLiteValue = null | number | bigint | string | Uint8Array;

type SqliteModule = typeof import('node:sqlite');
let sqliteModule: SqliteModule | undefined;

function isSqliteExperimentalWarning(warning: string | Error, rest: unknown[]): boolean {
  const name = warning instanceof Error ? warning.name : typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  const message = warning instanceof Error ? warning.message : warning;
  return name === 'ExperimentalWarning' && /\bSQLite\b/i.test(message);
}

/** node:sqlite, loaded once, without the "SQLite is an experimental feature" warning (only that one). */
export function sqlite(): SqliteModule {
  if (sqliteModule) return sqliteModule;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    if (isSqliteExperimentalWarning(warning, rest)) return;
    (emitWarning as (w: string | Error, ...r: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    const loaded = process.getBuiltinModule('node:sqlite') as SqliteModule | undefined;
    if (!loaded) throw new Error('this Node has no node:sqlite');
    sqliteModule = loaded;
  } catch (e) {
    throw new Error(`Bootscope needs Node >= 22.13 (node:sqlite); this is Node ${process.versions.node}. Run scripts/setup.sh or install Node 24. (${(e as Error).message})`);
  } finally {
    process.emitWarning = emitWarning;
  }
  return sqliteModule;
}

/** SQLite's primary result code from a node:sqlite error (e.errcode holds the extended code), or undefined. */
export function sqliteCode(e: unknown): number | undefined {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

export const SQLITE_BUSY = 5;
export const SQLITE_LOCKED = 6;
export const SQLITE_READONLY = 8;
export const SQLITE_IOERR = 10;
export const SQLITE_CORRUPT = 11;
export const SQLITE_FULL = 13;
export const SQLITE_CANTOPEN = 14;

export function isBusy(e: unknown): boolean {
  const code = sqliteCode(e);
  return code === SQLITE_BUSY || code === SQLITE_LOCKED || (e instanceof Error && /database is locked/i.test(e.message));
}

/** The disk (or the file system's quota) is full: SQLITE_FULL, or an I/O error whose cause is ENOSPC. */
export function isDiskFull(e: unknown): boolean {
  const code = sqliteCode(e);
  if (code === SQLITE_FULL) return true;
  return e instanceof Error && /database or disk is full|ENOSPC|no space left/i.test(e.message);
}

/**
 * A parameter as SQLite should see it. node:sqlite binds every JS number as REAL, so `? / ?` with 7 and 2
 * would give 3.5 and `typeof(?)` 'real', unlike the sqlite3 CLI, Python and the previous store: integral
 * numbers are bound as INTEGER (through bigint) here. (Step rows skip this: every column they fill has
 * INTEGER affinity, which stores a whole REAL as INTEGER anyway.)
 */
export function toSqlParam(v: unknown): SQLiteValue {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return v === undefined ? null : v as SQLiteValue;
}

export function toSqlParams(params: readonly unknown[] | Readonly<Record<string, unknown>>): SQLiteValue[] | Record<string, SQLiteValue> {
  if (Array.isArray(params)) return params.map(toSqlParam);
  const out: Record<string, SQLiteValue> = {};
  for (const [k, v] of Object.entries(params)) out[k] = toSqlParam(v);
  return out;
}

/** Integers come back as bigint (statements read with readBigInts); safe ones are made numbers. */
export function fromSql(v: unknown): SQLiteValue {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v === undefined) return null;
  return v as SQLiteValue;
}

/** Column names of a prepared statement; [] where this Node lacks columns() (before 22.16) and nothing ran. */
export function columnNames(stmt: StatementSync): string[] | undefined {
  const withColumns = stmt as StatementSync & { columns?: () => { name: string }[] };
  return typeof withColumns.columns === 'function' ? withColumns.columns().map((c) => c.name) : undefined;
}

/**
 * Rows of `stmt` as arrays in column order, streamed (StatementSync.iterate), integers as fromSql makes them.
 * Nodes without setReturnArrays (before 22.16) give objects: result columns with the same name then share
 * the last one's value.
 */
export function* iterateArrays(stmt: StatementSync, params: readonly SQLiteValue[] | Readonly<Record<string, SQLiteValue>>, onKeys?: (names: string[]) => void): Generator<SQLiteValue[]> {
  stmt.setReadBigInts(true);
  const withArrays = stmt as StatementSync & { setReturnArrays?: (on: boolean) => void };
  const arrays = typeof withArrays.setReturnArrays === 'function';
  if (arrays) withArrays.setReturnArrays!(true);
  const bound = toSqlParams(params);
  const iterator = Array.isArray(bound) ? stmt.iterate(...bound) : stmt.iterate(bound);
  let first = true;
  for (const row of iterator as Iterable<unknown>) {
    if (first && !arrays) onKeys?.(Object.keys(row as Record<string, unknown>));
    first = false;
    const values = arrays ? (row as unknown[]) : Object.values(row as Record<string, unknown>);
    yield values.map(fromSql);
  }
}

export interface OpenedDatabase {
  db: DatabaseSync;
  /** Opened with SQLite's `immutable` flag because the WAL index could not be created (read-only media). */
  immutable: boolean;
}

/**
 * Opens `file` read-only. A WAL-mode file needs its `-shm` index, which SQLite cannot create on read-only
 * media (a read-only mount, a directory the user may not write): the plain open then fails with
 * SQLITE_CANTOPEN or SQLITE_READONLY. Nothing can be writing a file there, so it is then opened with
 * `immutable=1` (no locks, no -shm). A `-wal` that was left beside it on such media cannot be read that
 * way; `warn` says so, since its rows (committed after the last checkpoint) are then not visible.
 */
export function openReadOnly(file: string, busyTimeoutMs: number, warn: (line: string) => void): OpenedDatabase {
  const { DatabaseSync } = sqlite();
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get(); // the WAL index is opened on the first read
    return { db, immutable: false };
  } catch (e) {
    try { db?.close(); } catch { /* reopening below */ }
    const code = sqliteCode(e);
    if (code !== SQLITE_CANTOPEN && code !== SQLITE_READONLY) throw e;
    if (!fs.existsSync(file)) throw e;
    if (isWritableDirectory(path.dirname(file))) throw e; // not read-only media: the real error stands
  }
  const wal = `${file}-wal`;
  if (fs.existsSync(wal) && fs.statSync(wal).size > 0) {
    warn(`bootscope: ${file} is on read-only media and its ${path.basename(wal)} cannot be read there; rows committed after the last checkpoint are not shown. Copy the file together with ${path.basename(wal)} to writable storage to see them`);
  }
  const immutableDb = new DatabaseSync(`${pathToFileURL(file).href}?immutable=1`, { readOnly: true });
  return { db: immutableDb, immutable: true };
}

/** Whether this process may create files in `dir` (a read-only mount says EROFS, a 0555 dir EACCES). */
export function isWritableDirectory(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return false;
  }
  // access() ignores read-only mounts for root on some systems; statfs has no flag for it in Node, so try.
  const probe = path.join(dir, `.bootscope-probe-${process.pid}-${Date.now()}`);
  try {
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
    return true;
  } catch {
    return false;
  }
}
