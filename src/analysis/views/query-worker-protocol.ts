// Messages between QueryRunner and query-worker.ts (a child process, IPC with 'advanced' serialization).
// SQL runs there so a long query never blocks the extension host, and cancelling it is SIGKILL.

/** A value as the store returns it (integers beyond 2^53 come back as bigint). */
export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

export type QueryMode =
  /** User SQL, read-only: one statement, checked by checkReadOnlySql, on a read-only connection. */
  | 'read'
  /** Bootscope's own aggregation SQL (timeline, heatmap): read-only connection, no statement check. */
  | 'internal'
  /** Write mode of one console: every statement of the text, in one transaction. */
  | 'write';

export interface RunRequest {
  kind: 'run';
  id: number;
  file: string;
  sql: string;
  params?: SqlParams;
  /** For user SQL: bind each statement's `?` / :session parameters to this session (see sql-params.ts). */
  sessionId?: number | null;
  mode: QueryMode;
  /** Stop collecting rows after this many (the rest is counted, not kept, up to a limit); unlimited when absent. */
  maxRows?: number;
}

export type WorkerReply =
  /** `complete`: false when counting stopped (a million rows past maxRows): totalRows is then a lower bound. */
  | { kind: 'result'; id: number; columns: string[]; rows: SqlValue[][]; totalRows: number; complete: boolean; changes?: number; elapsedMs: number }
  | { kind: 'error'; id: number; message: string };
