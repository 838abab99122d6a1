// What the view queries need from a recording: run SQL, get columns and rows. QueryRunner (a worker
// thread, the panels' choice) provides it; so could anything else that speaks SQL to the file.
import type { QueryOutcome, RunOptions } from './query-runner';
import type { SessionSummary } from '../../protocol/messages';
import type { SqlValue } from './query-worker-protocol';

export interface SqlSource {
  run(sql: string, o?: RunOptions): Promise<QueryOutcome>;
}

/** Rows as objects keyed by column name (for the view queries, whose columns are all distinct). */
export async function rowsOf(src: SqlSource, sql: string, params: readonly SqlValue[] = []): Promise<Record<string, SqlValue>[]> {
  const r = await src.run(sql, { params, mode: 'internal' });
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
}

/** An address column as a 0x-prefixed hex string (negative values are 64-bit two's complement; schema.ts). */
export function hexAddress(v: SqlValue): string {
  if (typeof v !== 'number' && typeof v !== 'bigint') return '';
  return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

export const num = (v: SqlValue): number => (v === null ? 0 : Number(v));
export const str = (v: SqlValue): string => (v === null ? '' : typeof v === 'string' ? v : String(v));
export const strOrNull = (v: SqlValue): string | null => (v === null ? null : str(v));

/** boot_sessions rows, newest last (the panels select the newest by default). */
export async function listSessionSummaries(src: SqlSource): Promise<SessionSummary[]> {
  const rows = await rowsOf(src, `SELECT session_id, start_time, description, status, instruction_count, arch
                                  FROM boot_sessions ORDER BY session_id`);
  return rows.map((r) => ({
    sessionId: num(r.session_id), startTime: str(r.start_time), description: strOrNull(r.description),
    status: strOrNull(r.status), instructionCount: num(r.instruction_count), arch: strOrNull(r.arch),
  }));
}
