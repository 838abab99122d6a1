// The guard for user-written SQL (query console, notebooks, `bootscope query`): one statement, and only
// one that cannot change the file. node:sqlite has no sqlite3_stmt_readonly(), and its authorizer only
// exists from Node 24.10, so the check is (1) a tokenizer that finds statement boundaries outside strings and comments, (2) a
// whitelist of leading keywords and read-only PRAGMAs, and (3) the compiled program itself: EXPLAIN lists
// the VDBE opcodes, and any write transaction (Transaction p2 != 0), OpenWrite, schema or cookie change,
// VACUUM, journal-mode change or ATTACH/DETACH call rejects the statement before it runs.
import type { DatabaseSync } from './sqlite';
import { BootscopeError, ErrorCode } from '../common/errors';

const READ_ONLY_PRAGMAS = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list',
  'foreign_key_check', 'integrity_check', 'quick_check', 'user_version', 'schema_version', 'application_id',
  'page_count', 'page_size', 'freelist_count', 'database_list', 'compile_options', 'collation_list',
  'function_list', 'pragma_list', 'encoding', 'data_version',
]);

/** Read-only PRAGMAs whose `(argument)` names a table or index; for every other one `(x)` would SET it. */
const PRAGMAS_WITH_ARGUMENT = new Set(['table_info', 'table_xinfo', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list',
  'foreign_key_check', 'integrity_check', 'quick_check', 'table_list']);

const WRITE_OPCODES = new Set(['OpenWrite', 'Vacuum', 'JournalMode', 'SetCookie', 'ParseSchema', 'CreateBtree',
  'Destroy', 'Clear', 'Expire', 'DropTable', 'DropIndex', 'DropTrigger', 'IncrVacuum', 'Checkpoint']);

/**
 * When `sql[i]` opens a string, a quoted identifier or a comment, the index just past its end (or the end of
 * the text when it is unterminated); otherwise -1. The one SQL lexer rule that statement splitting and
 * parameter scanning (analysis/views/sql-params.ts) both need: `;` and `?` inside these mean nothing.
 */
export function skipSqlQuotedOrComment(sql: string, i: number): number {
  const c = sql[i];
  const n = sql.length;
  if (c === "'" || c === '"' || c === '`') {
    let j = i + 1;
    while (j < n && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1; // '' is an escaped quote
    return Math.min(n, j + 1);
  }
  if (c === '[') {
    const close = sql.indexOf(']', i);
    return close < 0 ? n : close + 1;
  }
  if (c === '-' && sql[i + 1] === '-') {
    const nl = sql.indexOf('\n', i);
    return nl < 0 ? n : nl + 1;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const close = sql.indexOf('*/', i + 2);
    return close < 0 ? n : close + 2;
  }
  return -1;
}

/** Splits SQL into statements, ignoring `;` inside strings, quoted identifiers and comments. */
export function splitSqlStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const skipped = skipSqlQuotedOrComment(sql, i);
    if (skipped >= 0) {
      i = skipped;
    } else if (sql[i] === ';') {
      out.push(sql.slice(start, i));
      i++;
      start = i;
    } else {
      i++;
    }
  }
  out.push(sql.slice(start));
  return out.filter((s) => stripComments(s).trim() !== '');
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*(\n|$)/g, ' ').replace(/\/\*[\s\S]*?(\*\/|$)/g, ' ');
}

function reject(reason: string, sql: string): never {
  throw new BootscopeError(ErrorCode.Database, `query refused: ${reason}: ${sql.trim().slice(0, 120)}`);
}

/**
 * Returns the single statement of `sql` (without a trailing `;`) if it is read-only; throws a
 * BootscopeError (ErrorCode.Database) saying why otherwise.
 */
export function checkReadOnlySql(db: DatabaseSync, sql: string): string {
  const statements = splitSqlStatements(sql);
  if (statements.length === 0) reject('no SQL statement', sql);
  if (statements.length > 1) reject(`one statement at a time (found ${statements.length})`, sql);
  const statement = statements[0];
  const words = stripComments(statement).trim().split(/[\s(]+/);
  const keyword = words[0].toUpperCase();
  if (keyword === 'EXPLAIN') return statement; // EXPLAIN [QUERY PLAN] compiles but never executes its statement
  if (keyword === 'PRAGMA') {
    const body = stripComments(statement).trim().slice('PRAGMA'.length).trim();
    const name = (/^(?:[\w]+\.)?(\w+)/.exec(body)?.[1] ?? '').toLowerCase();
    if (body.includes('=')) reject('PRAGMA assignments change the file or the connection', sql);
    if (body.includes('(') && !PRAGMAS_WITH_ARGUMENT.has(name)) reject(`PRAGMA ${name}(...) sets a value`, sql);
    if (!READ_ONLY_PRAGMAS.has(name)) reject(`PRAGMA ${name} is not in the read-only list (${[...READ_ONLY_PRAGMAS].join(', ')})`, sql);
    return statement; // whitelisted reads; some (integrity_check) compile an Expire opcode that writes nothing
  } else if (keyword !== 'SELECT' && keyword !== 'WITH' && keyword !== 'VALUES') {
    reject(`only SELECT, WITH, VALUES, EXPLAIN and read-only PRAGMA statements are allowed, not ${keyword}`, sql);
  }
  let program: Record<string, unknown>[];
  try {
    program = db.prepare(`EXPLAIN ${statement}`).all() as Record<string, unknown>[];
  } catch (e) {
    throw new BootscopeError(ErrorCode.Database, `query failed: ${(e as Error).message}`, { cause: e });
  }
  for (const op of program) {
    const opcode = String(op.opcode);
    const p4 = String(op.p4 ?? '');
    if (WRITE_OPCODES.has(opcode)) reject(`it would write (${opcode})`, sql);
    if (opcode === 'Transaction' && Number(op.p2) !== 0) reject('it opens a write transaction', sql);
    if ((opcode === 'Function' || opcode === 'PureFunc') && /^sqlite_(attach|detach)\b/.test(p4)) reject('ATTACH/DETACH are not allowed', sql);
  }
  return statement;
}
