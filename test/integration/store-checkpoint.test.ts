// WAL checkpoints on the writer's worker thread (src/store/checkpointer.ts): the writer's automatic
// checkpoint is off, the worker copies the WAL into the database file while the writer goes on, the WAL
// stays bounded with readers present (and starts over once a reader that pinned it lets go), and close()
// leaves a single file (the worker's connection is closed first, so the writer's is the last).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecordingStore } from '../../src/store/recording-store';
import { sqlite } from '../../src/store/sqlite';
import { MAX_BEHIND } from '../../src/store/checkpointer';

const quiet = (): void => undefined;
let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-checkpoint-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const BATCH = 20_000;
const walSize = (file: string): number => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);

/** Appends one batch of steps (the default batchRows: one commit) after `first`. */
function appendBatch(store: RecordingStore, sessionId: number, first: number): number {
  const regs = new Map<string, bigint>([['r0', 0n], ['r1', 0n], ['sp', 0x41000000n], ['pc', 0n]]);
  for (let seq = first; seq < first + BATCH; seq++) {
    regs.set('pc', BigInt(0x40000000 + seq * 4)).set('r0', BigInt(seq & 0xffff));
    store.appendStep({
      sessionId, sequenceNumber: seq, timestampUs: 1_795_000_000_000_000 + seq, pc: 0x40000000 + seq * 4,
      bytes: new Uint8Array([0x04, 0x30, 0x92, 0xe5]), disassembly: 'ldr r3, [r2, #4]', registers: regs, sp: 0x41000000,
      functionName: 'memset', bootStage: seq < 100_000 ? 'elfloader' : 'seL4_boot', sourceFile: 'guest/src/elfloader.c', sourceLine: seq & 0xff,
    });
  }
  return first + BATCH;
}

describe('WAL checkpoints on a worker thread', () => {
  test('the writer goes on while the worker copies the WAL into the file; WAL bounded; close leaves one file', async () => {
    const file = path.join(dir, 'bounded.db');
    const store = RecordingStore.open(file, { log: quiet });
    const sessionId = store.beginSession({ arch: 'arm' });
    const reader = new (sqlite().DatabaseSync)(file, { readOnly: true });
    const count = reader.prepare('SELECT COUNT(*) AS n FROM instruction_traces');
    let next = 1;
    let maxWal = 0;
    for (let batch = 0; batch < 12; batch++) {
      next = appendBatch(store, sessionId, next);
      assert.equal(Number((count.get() as { n: number | bigint }).n), next - 1, 'a reader sees each committed batch');
      maxWal = Math.max(maxWal, walSize(file));
      await new Promise((r) => setTimeout(r, 5));
    }
    // 240 000 rows are ~50 MB; the WAL never held more than a few batches (~4.5 MB each): with MAX_BEHIND
    // commits not yet checkpointed the writer waits for the worker before the next one.
    assert.ok(maxWal < 24 * 1024 * 1024, `WAL grew to ${maxWal} bytes`);
    assert.ok(fs.statSync(file).size > 30 * 1024 * 1024, 'the worker checkpointed into the database file while the writer was open');
    reader.close();
    store.close();
    assert.equal(fs.existsSync(`${file}-wal`), false, 'close checkpointed and removed the WAL');
    assert.equal(fs.existsSync(`${file}-shm`), false);
    const check = new (sqlite().DatabaseSync)(file, { readOnly: true });
    assert.equal((check.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    assert.equal(Number((check.prepare('SELECT COUNT(*) AS n FROM instruction_traces').get() as { n: number | bigint }).n), next - 1);
    check.close();
  });

  test('a reader holding a snapshot pins the WAL; once it lets go the WAL starts over instead of growing', () => {
    const file = path.join(dir, 'pinned.db');
    const store = RecordingStore.open(file, { log: quiet });
    const sessionId = store.beginSession({ arch: 'arm' });
    let next = appendBatch(store, sessionId, 1);
    const reader = new (sqlite().DatabaseSync)(file, { readOnly: true });
    reader.exec('BEGIN');
    const seen = Number((reader.prepare('SELECT COUNT(*) AS n FROM instruction_traces').get() as { n: number | bigint }).n);
    for (let batch = 0; batch < 4; batch++) next = appendBatch(store, sessionId, next);
    assert.equal(Number((reader.prepare('SELECT COUNT(*) AS n FROM instruction_traces').get() as { n: number | bigint }).n), seen, 'the reader keeps its snapshot');
    const pinned = walSize(file);
    reader.exec('COMMIT');
    reader.close();
    for (let batch = 0; batch < 8; batch++) next = appendBatch(store, sessionId, next);
    // The WAL file keeps its high-water mark; it must not grow by the 8 batches (~35 MB) written after. While
    // the first checkpoint after the release copies the pinned batches, the writer may add up to MAX_BEHIND
    // batches (~4.5 MB each) before it waits; then the WAL starts over.
    assert.ok(walSize(file) <= pinned + (MAX_BEHIND + 1) * 4.5 * 1024 * 1024, `WAL grew from ${pinned} to ${walSize(file)} bytes after the reader let go`);
    store.close();
    assert.equal(fs.existsSync(`${file}-wal`), false);
  });

  test('checkpointInWorker: false keeps SQLite\'s automatic checkpoint, same rows', () => {
    const file = path.join(dir, 'auto.db');
    const store = RecordingStore.open(file, { log: quiet, checkpointInWorker: false });
    const sessionId = store.beginSession({ arch: 'arm' });
    let next = 1;
    for (let batch = 0; batch < 3; batch++) next = appendBatch(store, sessionId, next);
    store.close();
    const check = new (sqlite().DatabaseSync)(file, { readOnly: true });
    assert.equal(Number((check.prepare('SELECT COUNT(*) AS n FROM instruction_traces').get() as { n: number | bigint }).n), next - 1);
    check.close();
  });
});
