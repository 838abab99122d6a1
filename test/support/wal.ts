// Checks on a recording file from a second, independent SQLite connection (as another program would open it).
import { sqlite } from '../../src/store/sqlite';

/**
 * Runs PRAGMA wal_checkpoint(TRUNCATE) from a new connection and returns its `busy` flag: 1 while any
 * connection still holds a read snapshot or a write lock on the file (an unfinished statement or a killed
 * query that left something behind), 0 when the whole WAL could be checkpointed.
 */
export function checkpointBlocked(file: string): number {
  const { DatabaseSync } = sqlite();
  const db = new DatabaseSync(file);
  try {
    const r = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number };
    return Number(r.busy);
  } finally {
    db.close();
  }
}
