// `bootscope record` of the demo guest (real QEMU) SIGKILLed at a random moment, five times into one file:
// each time the file passes integrity_check, keeps at least every row a reader saw committed just before
// the kill, shows the killed session as 'interrupted' on the next open, and the next `record` into the same
// file starts with no manual step; a sixth run records to the end.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { RecordingStore } from '../../src/store/recording-store';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const CONFIG = path.join(ROOT, 'guest', 'demo-arm32.json');

function sqlite3(file: string, sql: string): string {
  const r = spawnSync('sqlite3', [file, sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** Starts a recording, waits until it has committed rows, lets it run a random while, SIGKILLs it. */
async function recordAndKill(file: string, sessionId: number): Promise<number> {
  const child = spawn(process.execPath, [CLI, 'record', '--config', CONFIG, '--db', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const t0 = Date.now();
  const count = (): number => Number(sqlite3(file, `SELECT COUNT(*) FROM instruction_traces WHERE session_id = ${sessionId}`) || 0);
  while (!fs.existsSync(file) || !/recording session/.test(stderr) || count() === 0) {
    assert.ok(Date.now() - t0 < 60_000, `the recording never committed a row: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200 + Math.floor(Math.random() * 2500)));
  const seen = count();
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', `the recorder ended before the kill: ${stderr}`);
  return seen;
}

describe('the CLI recorder killed with SIGKILL', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-kill-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('five kills at random moments into one file, then a full recording into the same file', async (t) => {
    const file = path.join(dir, 'killed.db');
    const kept: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const seen = await recordAndKill(file, i);
      const store = RecordingStore.open(file, { readOnly: true, log: () => {} });
      try {
        assert.deepEqual(store.query('PRAGMA integrity_check').rows, [['ok']]);
        const s = store.getSession(i);
        assert.equal(s?.status, 'interrupted', `session ${i}`);
        const rows = Number(store.query('SELECT COUNT(*) FROM instruction_traces WHERE session_id = ?', [i]).rows[0][0]);
        assert.ok(rows >= seen, `session ${i}: ${rows} rows kept, ${seen} were seen committed before the kill`);
        assert.deepEqual(store.query('SELECT MIN(sequence_number), MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [i]).rows, [[1, rows]]);
        kept.push(`${seen}->${rows}`);
      } finally {
        store.close();
      }
    }
    t.diagnostic(`rows seen before each kill -> kept: ${kept.join(', ')}`);
    const last = spawnSync(process.execPath, [CLI, 'record', '--config', CONFIG, '--db', file], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(last.status, 0, last.stderr);
    assert.equal(last.stdout.trim(), '6');
    assert.equal(sqlite3(file, "SELECT group_concat(status, ' ') FROM boot_sessions"), 'interrupted interrupted interrupted interrupted interrupted completed');
    assert.equal(sqlite3(file, 'PRAGMA integrity_check'), 'ok');
  });
});
