// RecordingPoller: a recording another process writes is noticed (its WAL changes at every commit), an
// idle one is not, and a file that left the watched list is forgotten.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RecordingPoller } from '../../src/extension/recording-poller';
import { RecordingStore } from '../../src/store/recording-store';

describe('RecordingPoller', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-poller-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('fires for a commit by another process, not while the file is idle', () => {
    const file = path.join(dir, 'live.db');
    const store = RecordingStore.open(file, { log: () => {} });
    const id = store.beginSession({ arch: 'arm' });
    const changed: string[] = [];
    let files = [file];
    const poller = new RecordingPoller(() => files, (f) => changed.push(f), 60_000);
    try {
      poller.tick();
      poller.tick();
      assert.deepEqual(changed, [], 'nothing was written');
      // Another process commits (the sqlite3 CLI, as a stand-in for `bootscope record` in a terminal).
      const r = spawnSync('sqlite3', [file, `UPDATE boot_sessions SET instruction_count = 1 WHERE session_id = ${id}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      poller.tick();
      assert.deepEqual(changed, [file]);
      poller.tick();
      assert.deepEqual(changed, [file], 'one change, one event');
      files = [];
      poller.tick();
      files = [file];
      poller.tick();
      assert.deepEqual(changed, [file], 'a file that comes back starts from a fresh baseline');
    } finally {
      poller.dispose();
      store.close();
    }
  });
});
