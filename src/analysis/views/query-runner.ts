// Runs SQL against a recording file in a child process (query-worker.ts), one request at a time, with
// cancellation. Used by every panel host and the notebook controller; vscode-free so tests drive it as is.
// A process, not a worker thread: node:sqlite runs a statement in native code that worker.terminate()
// cannot interrupt (a runaway query would keep the thread, its read snapshot and the next request), while
// SIGKILL ends it at once and the OS drops its SQLite locks. In VS Code the child is the extension host's
// own binary run as Node (ELECTRON_RUN_AS_NODE), so nothing else needs installing.
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { BootscopeError, ErrorCode } from '../../common/errors';
import type { QueryMode, RunRequest, SqlParams, SqlValue, WorkerReply } from './query-worker-protocol';

export type { QueryMode, SqlParams, SqlValue } from './query-worker-protocol';

export interface QueryOutcome {
  columns: string[];
  rows: SqlValue[][];
  /** Rows the statement produced (rows.length is smaller when maxRows cut the result). */
  totalRows: number;
  /** false when the worker stopped counting (far past maxRows): totalRows is then "at least". */
  complete: boolean;
  changes?: number;
  elapsedMs: number;
}

export interface RunOptions {
  params?: SqlParams;
  sessionId?: number | null;
  mode?: QueryMode;
  maxRows?: number;
  signal?: AbortSignal;
}

interface Pending {
  req: RunRequest;
  resolve: (o: QueryOutcome) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** The bundled worker beside the bundle that loads this module (dist/extension.js -> dist/query-worker.js).
 * Code not running from dist (tests under tsx) passes the path of the built dist/query-worker.js. */
export function defaultWorkerPath(): string {
  return path.join(__dirname, 'query-worker.js');
}

export class QueryRunner {
  private worker: ChildProcess | undefined;
  private queue: Pending[] = [];
  private current: Pending | undefined;
  private nextId = 1;
  private disposed = false;

  constructor(readonly file: string, private readonly workerPath: string = defaultWorkerPath()) {}

  /** Runs `sql`; rejects with a BootscopeError (Database: SQLite's message; Cancelled: aborted). */
  run(sql: string, o: RunOptions = {}): Promise<QueryOutcome> {
    if (this.disposed) return Promise.reject(new BootscopeError(ErrorCode.Database, `query runner for ${this.file} is closed`));
    return new Promise<QueryOutcome>((resolve, reject) => {
      const req: RunRequest = { kind: 'run', id: this.nextId++, file: this.file, sql, params: o.params, sessionId: o.sessionId, mode: o.mode ?? 'read', maxRows: o.maxRows };
      const p: Pending = { req, resolve, reject, signal: o.signal };
      if (o.signal?.aborted) { reject(cancelled()); return; }
      p.onAbort = () => this.cancel(req.id);
      o.signal?.addEventListener('abort', p.onAbort, { once: true });
      this.queue.push(p);
      this.pump();
    });
  }

  /** Cancels request `id` (queued or running). A running one takes its worker down; the next starts anew. */
  cancel(id: number): void {
    const queued = this.queue.findIndex((p) => p.req.id === id);
    if (queued >= 0) {
      const [p] = this.queue.splice(queued, 1);
      this.settle(p, undefined, cancelled());
      return;
    }
    if (this.current?.req.id === id) this.killCurrent(cancelled());
  }

  /** Cancels everything and stops the worker. */
  dispose(): void {
    this.disposed = true;
    for (const p of this.queue.splice(0)) this.settle(p, undefined, cancelled());
    if (this.current) this.killCurrent(cancelled());
    this.worker?.kill('SIGKILL');
    this.worker = undefined;
  }

  /** The id the next run() will get (lets a caller cancel a request it is about to start). */
  get lastRequestId(): number {
    return this.nextId - 1;
  }

  private ensureWorker(): ChildProcess {
    if (this.worker) return this.worker;
    const w = fork(this.workerPath, [], {
      execArgv: [],
      serialization: 'advanced', // bigint and Uint8Array values cross as they are
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    w.on('message', (m: WorkerReply) => this.onReply(m));
    w.on('error', (e) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      if (this.current) this.killCurrent(new BootscopeError(ErrorCode.Database, `query worker failed: ${e.message}`));
    });
    w.on('exit', () => {
      if (this.worker !== w) return;
      this.worker = undefined;
      if (this.current) this.killCurrent(new BootscopeError(ErrorCode.Database, 'query worker exited unexpectedly'));
    });
    this.worker = w;
    return w;
  }

  /** An idle worker must not keep the process (CLI, test runner) alive; a busy one must. */
  private static hold(w: ChildProcess | undefined, busy: boolean): void {
    if (!w) return;
    if (busy) { w.ref(); w.channel?.ref(); } else { w.unref(); w.channel?.unref(); }
  }

  private pump(): void {
    if (this.current) return;
    if (this.queue.length === 0) {
      QueryRunner.hold(this.worker, false);
      return;
    }
    this.current = this.queue.shift();
    const w = this.ensureWorker();
    QueryRunner.hold(w, true);
    w.send(this.current!.req);
  }

  private onReply(m: WorkerReply): void {
    const p = this.current;
    if (!p || p.req.id !== m.id) return;
    this.current = undefined;
    if (m.kind === 'result') this.settle(p, { columns: m.columns, rows: m.rows, totalRows: m.totalRows, complete: m.complete, changes: m.changes, elapsedMs: m.elapsedMs });
    else this.settle(p, undefined, new BootscopeError(ErrorCode.Database, m.message));
    this.pump();
  }

  private killCurrent(err: Error): void {
    const p = this.current!;
    this.current = undefined;
    const w = this.worker;
    this.worker = undefined;
    // SIGKILL stops SQLite wherever it is; the OS releases its locks. The next request gets a new process.
    w?.kill('SIGKILL');
    this.settle(p, undefined, err);
    this.pump();
  }

  private settle(p: Pending, outcome: QueryOutcome | undefined, err?: Error): void {
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    if (err) p.reject(err);
    else p.resolve(outcome!);
  }
}

function cancelled(): BootscopeError {
  return new BootscopeError(ErrorCode.Cancelled, 'query cancelled');
}

