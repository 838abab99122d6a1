// The query worker (dist/query-worker.js, what the SQL console, notebooks and panels run SQL through) on the
// WAL store: a query without end is cut at the row cap and stops counting (saying the total is a lower
// bound) instead of exhausting memory or running forever; it reads a recording another connection is
// writing, seeing each commit; a cancelled query leaves no snapshot or lock behind.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import { RecordingStore } from '../../src/store/recording-store';
import { checkpointBlocked } from '../support/wal';

const WORKER = path.resolve(__dirname, '../../dist/query-worker.js');
const ENDLESS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c';

describe('query worker', () => {
  let dir: string;
  let file: string;
  let writer: RecordingStore;
  let sessionId: number;
  let runner: QueryRunner;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-worker-'));
    file = path.join(dir, 'live.db');
    writer = RecordingStore.open(file, { log: () => {} });
    sessionId = writer.beginSession({ arch: 'arm' });
    runner = new QueryRunner(file, WORKER);
  });
  after(() => {
    runner.dispose();
    writer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a query without end: the first maxRows rows, counting stops a million rows later, complete=false', async () => {
    const r = await runner.run(ENDLESS, { mode: 'read', maxRows: 500 });
    assert.equal(r.rows.length, 500);
    assert.deepEqual(r.rows[499], [500]);
    assert.equal(r.complete, false);
    assert.equal(r.totalRows, 1_000_500);
  });

  test('a finite result is counted exactly', async () => {
    const r = await runner.run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 2000) SELECT x FROM c', { mode: 'read', maxRows: 500 });
    assert.deepEqual([r.rows.length, r.totalRows, r.complete], [500, 2000, true]);
  });

  test('sees every commit of a writer on another connection, on its kept connection', async () => {
    const count = async (): Promise<number> => Number((await runner.run('SELECT COUNT(*) FROM instruction_traces', { mode: 'internal' })).rows[0][0]);
    assert.equal(await count(), 0);
    for (let batch = 1; batch <= 3; batch++) {
      for (let i = 1; i <= 100; i++) {
        const seq = (batch - 1) * 100 + i;
        writer.appendStep({ sessionId, sequenceNumber: seq, pc: 4 * seq, bytes: new Uint8Array(4), disassembly: 'nop', registers: { pc: 4 * seq }, sp: 0, functionName: 'f', bootStage: 's' });
      }
      writer.flush();
      assert.equal(await count(), batch * 100);
    }
  });

  test('a cancelled query leaves no read snapshot behind', async () => {
    const controller = new AbortController();
    const pending = runner.run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c, instruction_traces', { mode: 'read', signal: controller.signal });
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    await assert.rejects(pending, /cancelled/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(checkpointBlocked(file), 0);
  });
});
