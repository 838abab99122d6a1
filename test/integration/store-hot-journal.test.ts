// hot-journal.ts against SQLite's own rollback: a child process churns a node-sqlite3-wasm database (UPDATE,
// INSERT, DELETE with a tiny page cache, so pages spill into the file mid-transaction) and is SIGKILLed inside
// a transaction. One copy of the file and its journal is rolled back by the native sqlite3 CLI (real POSIX
// locks, so it sees the journal as hot), another by recoverHotJournal: the two files must be byte-identical,
// intact, and hold exactly the rows of the last committed transaction.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { journalOf, recoverHotJournal } from '../../src/store/hot-journal';
import { lockDirOf } from '../../src/store/file-users';

/** argv: file, round, pauseAfter. Pauses (waiting to be killed) inside transaction `round` after `pauseAfter`
 *  inserts; with pauseAfter < 0 it never pauses. Prints the row count a COMMIT will leave before it, and again after. */
const CHURN = `
  const { Database } = require('node-sqlite3-wasm');
  const [file, round, pauseAfter] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
  const db = new Database(file);
  db.exec('PRAGMA cache_size = 20');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)');
  db.exec('CREATE INDEX t_v ON t(v)');
  db.exec('BEGIN');
  for (let i = 0; i < 5000; i++) db.run('INSERT INTO t (v, b) VALUES (?, ?)', ['init' + i, new Uint8Array(100)]);
  db.exec('COMMIT');
  const count = () => db.get('SELECT COUNT(*) AS n FROM t').n;
  process.stdout.write('committed ' + count() + '\\n');
  let n = 1;
  function transaction() {
    db.exec('BEGIN');
    db.run("UPDATE t SET v = 'u' || ? || '-' || id WHERE id % 7 = ?", [n, n % 7]);
    for (let i = 0; i < 3000; i++) {
      if (n === round && i === pauseAfter) { process.stdout.write('paused\\n'); setInterval(() => {}, 1000); return; }
      db.run('INSERT INTO t (v, b) VALUES (?, ?)', ['n' + n + '-' + i, new Uint8Array(50 + (i % 200))]);
    }
    db.run('DELETE FROM t WHERE id % 11 = ?', [n % 11]);
    process.stdout.write('committing ' + count() + '\\n');
    db.exec('COMMIT');
    process.stdout.write('committed ' + count() + '\\n');
    n++;
    setImmediate(transaction);
  }
  transaction();
`;

/** Runs the churn child; SIGKILLs it when it pauses, or `killAfterMs` after its first commit. */
function churnAndKill(file: string, round: number, pauseAfter: number, killAfterMs = 0): Promise<{ committedRows: number; committingRows: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHURN, file, String(round), String(pauseAfter)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let committedRows = -1;
    let committingRows = -1;
    let armed = false;
    let buffer = '';
    let stderr = '';
    const timeout = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`churn child stuck; stderr: ${stderr}`)); }, 60_000);
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^committed (\d+)$/.exec(line);
        if (m) committedRows = Number(m[1]);
        const pending = /^committing (\d+)$/.exec(line);
        if (pending) committingRows = Number(pending[1]);
        if (line === 'paused') child.kill('SIGKILL');
        if (m && pauseAfter < 0 && !armed) { armed = true; setTimeout(() => child.kill('SIGKILL'), killAfterMs); }
      }
    });
    child.on('exit', () => { clearTimeout(timeout); resolve({ committedRows, committingRows }); });
  });
}

/** Two copies of `file` + journal: one rolled back by the sqlite3 CLI, one by recoverHotJournal. */
function rollBackBothWays(file: string, work: string): { native: string; ours: string; outcome: string } {
  fs.mkdirSync(path.join(work, 'native'), { recursive: true });
  fs.mkdirSync(path.join(work, 'ours'), { recursive: true });
  const native = path.join(work, 'native', 'churn.db');
  const ours = path.join(work, 'ours', 'churn.db');
  for (const copy of [native, ours]) {
    fs.copyFileSync(file, copy);
    if (fs.existsSync(journalOf(file))) fs.copyFileSync(journalOf(file), journalOf(copy));
  }
  assert.equal(sqlite3(native, 'PRAGMA integrity_check'), 'ok');
  const outcome = recoverHotJournal(ours, () => undefined);
  return { native, ours, outcome };
}

function sqlite3(file: string, sql: string): string {
  return execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim();
}

describe('recoverHotJournal rolls back exactly as SQLite does', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-journal-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  // Pause points: before any insert (only the UPDATE's pages journaled), after a few hundred (spilled pages,
  // several journal headers), late in a later transaction (a longer file, a journal past 1 MB).
  for (const [round, pauseAfter] of [[1, 0], [1, 400], [2, 1500], [3, 2900]] as const) {
    test(`killed inside transaction ${round} after ${pauseAfter} inserts: same bytes as sqlite3's rollback, committed rows only`, async () => {
      const work = path.join(dir, `r${round}-${pauseAfter}`);
      fs.mkdirSync(work);
      const file = path.join(work, 'churn.db');
      const { committedRows } = await churnAndKill(file, round, pauseAfter);
      assert.ok(fs.statSync(journalOf(file)).size > 0, 'the kill should leave a hot journal');
      const { native, ours, outcome } = rollBackBothWays(file, work);
      assert.equal(outcome, 'rolled-back');
      assert.equal(fs.existsSync(journalOf(ours)), false, 'journal deleted after the rollback');
      assert.equal(fs.existsSync(lockDirOf(ours)), false, 'lock released after the rollback');
      assert.ok(fs.readFileSync(ours).equals(fs.readFileSync(native)), 'rolled-back file differs from sqlite3\'s');
      assert.equal(sqlite3(ours, 'PRAGMA integrity_check'), 'ok');
      assert.equal(Number(sqlite3(ours, 'SELECT COUNT(*) FROM t')), committedRows);
    });
  }

  test('killed at random moments (also inside COMMIT): same bytes as sqlite3\'s rollback each time', async (t) => {
    let journals = 0;
    for (let k = 0; k < 4; k++) {
      const work = path.join(dir, `random-${k}`);
      fs.mkdirSync(work);
      const file = path.join(work, 'churn.db');
      const { committedRows, committingRows } = await churnAndKill(file, 0, -1, 50 + Math.floor(Math.random() * 700));
      if (fs.existsSync(journalOf(file))) journals++;
      const { native, ours } = rollBackBothWays(file, work);
      assert.ok(fs.readFileSync(ours).equals(fs.readFileSync(native)), `kill ${k}: rolled-back file differs from sqlite3's`);
      // A kill right after a COMMIT finished, before "committed" reached us, keeps that transaction: also whole.
      const rows = Number(sqlite3(ours, 'SELECT COUNT(*) FROM t'));
      assert.ok(rows === committedRows || rows === committingRows, `kill ${k}: ${rows} rows, neither the last committed state (${committedRows}) nor the one being committed (${committingRows})`);
    }
    t.diagnostic(`kills that left a journal: ${journals}/4`);
  });

  test('a journal another live connection holds the lock for is left alone', () => {
    const file = path.join(dir, 'busy.db');
    fs.writeFileSync(file, 'not touched');
    fs.writeFileSync(journalOf(file), 'not touched either');
    fs.mkdirSync(lockDirOf(file));
    try {
      assert.equal(recoverHotJournal(file, () => undefined), 'busy');
      assert.equal(fs.readFileSync(journalOf(file), 'utf8'), 'not touched either');
      assert.equal(fs.readFileSync(file, 'utf8'), 'not touched');
    } finally {
      fs.rmdirSync(lockDirOf(file));
    }
  });

  test('a journal whose header was zeroed (not hot) is kept and the file untouched', () => {
    const file = path.join(dir, 'zeroed.db');
    fs.writeFileSync(file, Buffer.alloc(4096, 7));
    fs.writeFileSync(journalOf(file), Buffer.alloc(1024));
    assert.equal(recoverHotJournal(file, () => undefined), 'none');
    assert.ok(fs.existsSync(journalOf(file)));
    assert.ok(fs.readFileSync(file).equals(Buffer.alloc(4096, 7)));
  });
});
