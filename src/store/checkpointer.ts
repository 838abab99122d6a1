// WAL checkpoints off the writer's thread. With SQLite's automatic checkpoint (wal_autocheckpoint, 1000
// pages) the COMMIT that takes the WAL past the threshold also copies the WAL into the database file and
// syncs both: about a quarter of a step row's SQLite time, on the thread that records. A writer
// RecordingStore instead sets wal_autocheckpoint = 0 and asks this worker thread, which holds its own
// connection to the file, for a PASSIVE checkpoint after each commit of steps: it runs beside the next batch
// (a checkpoint holds no lock a writer needs), on the other core. PASSIVE never waits for readers; like the
// automatic checkpoint it copies what no reader still needs, and the writer starts the WAL over once all of
// it is in the file, so the WAL stays as bounded as before. A request while one runs is folded into one.
// The writer starts the WAL over only if, when it begins a transaction, every frame is copied: should the
// worker fall behind (a slow disk, a loaded machine, a thread slow to start), the WAL would grow instead, so
// once MAX_BEHIND commits wait for a checkpoint the writer waits for the worker before its next transaction.
// If the worker cannot start or open the file, the writer goes back to the automatic checkpoint.
//
// Synchronous hand-off (SharedArrayBuffer + Atomics), no messages: the writer's thread may never return to
// its event loop while it records (a recorder's tight capture loop, the store benchmark). The worker's code
// is evaluated from a string, so no extra file has to be shipped beside dist/ bundles.
import { Worker } from 'node:worker_threads';

/** Int32 slots of the shared buffer. */
const REQUESTED = 0; // commits asked to be checkpointed (the writer counts up)
const DONE = 1;      // the REQUESTED value the last finished checkpoint covered
const STATE = 2;     // 0 starting, 1 ready, 2 exited (after closing its connection, or failed)
const EXIT = 3;      // 1: close the connection and end
const READY = 1;
const EXITED = 2;

/** Commits not yet checkpointed past which the writer waits for the worker: 3 batches of 20 000 steps are
 * ~13 MB of WAL, about three times what SQLite's automatic checkpoint lets it reach. */
export const MAX_BEHIND = 3;
/** The longest the writer waits for it before going on anyway. */
const CATCH_UP_WAIT_MS = 2000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const flags = new Int32Array(workerData.shared);
const done = () => { Atomics.store(flags, ${STATE}, ${EXITED}); Atomics.notify(flags, ${STATE}); };
let db;
try {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (w, ...rest) {
    const name = w instanceof Error ? w.name : typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
    if (name === 'ExperimentalWarning' && /SQLite/i.test(w instanceof Error ? w.message : String(w))) return;
    return emitWarning.call(this, w, ...rest);
  };
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  process.emitWarning = emitWarning;
  db = new DatabaseSync(workerData.file);
  db.exec('PRAGMA synchronous = NORMAL');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  Atomics.store(flags, ${STATE}, ${READY});
  Atomics.notify(flags, ${STATE});
  for (;;) {
    const requested = Atomics.load(flags, ${REQUESTED});
    if (Atomics.load(flags, ${EXIT}) === 1) break;
    if (requested === Atomics.load(flags, ${DONE})) { Atomics.wait(flags, ${REQUESTED}, requested); continue; }
    try { checkpoint.get(); } catch { /* a full disk, a busy file: the next request tries again */ }
    Atomics.store(flags, ${DONE}, requested);
    Atomics.notify(flags, ${DONE});
  }
} catch {
  /* could not open: STATE says exited, the writer turns the automatic checkpoint back on */
} finally {
  try { if (db) db.close(); } catch { /* exiting */ }
  done();
}
`;

/** How long close() waits for the worker to close its connection (normally well under a millisecond). */
const CLOSE_WAIT_MS = 10_000;

export class Checkpointer {
  private readonly flags: Int32Array;
  private worker: Worker | null;

  private constructor(worker: Worker, flags: Int32Array) {
    this.worker = worker;
    this.flags = flags;
  }

  /** A checkpoint worker for `file`, or null where worker threads are unavailable. */
  static start(file: string): Checkpointer | null {
    const shared = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
    const flags = new Int32Array(shared);
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, shared }, stdout: false, stderr: false });
    } catch {
      return null;
    }
    worker.unref(); // a store never closed must not keep the process alive
    worker.on('error', () => { Atomics.store(flags, STATE, EXITED); });
    return new Checkpointer(worker, flags);
  }

  /** false once the worker has exited on its own (it could not open the file): checkpoint automatically again. */
  get alive(): boolean {
    return this.worker !== null && Atomics.load(this.flags, STATE) !== EXITED;
  }

  /** Asks for a PASSIVE checkpoint; returns at once. Requests made while one runs are served by one. */
  request(): void {
    if (this.worker === null) return;
    Atomics.add(this.flags, REQUESTED, 1);
    Atomics.notify(this.flags, REQUESTED);
  }

  /**
   * Before the writer begins a transaction: when MAX_BEHIND or more commits wait for a checkpoint, waits
   * (at most CATCH_UP_WAIT_MS) until the worker has caught up, so that the transaction starts the WAL over
   * instead of growing it further.
   */
  catchUp(): void {
    if (this.worker === null) return;
    const deadline = Date.now() + CATCH_UP_WAIT_MS;
    for (;;) {
      const done = Atomics.load(this.flags, DONE);
      if (Atomics.load(this.flags, REQUESTED) - done < MAX_BEHIND || Atomics.load(this.flags, STATE) === EXITED) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      Atomics.wait(this.flags, DONE, done, left);
    }
  }

  /** Stops the worker and waits until its connection is closed, so that the writer's own close is the last
   * connection's (which checkpoints the rest and removes -wal and -shm). */
  stop(): void {
    if (this.worker === null) return;
    const worker = this.worker;
    this.worker = null;
    Atomics.store(this.flags, EXIT, 1);
    Atomics.add(this.flags, REQUESTED, 1);
    Atomics.notify(this.flags, REQUESTED);
    const deadline = Date.now() + CLOSE_WAIT_MS;
    for (let state = Atomics.load(this.flags, STATE); state !== EXITED; state = Atomics.load(this.flags, STATE)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      Atomics.wait(this.flags, STATE, state, Math.min(left, 50));
    }
    void worker.terminate().catch(() => { /* already gone */ });
  }
}
