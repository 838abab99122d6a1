// A recording written by the previous Bootscope (node-sqlite3-wasm, rollback journal, schema 2; committed
// as test/fixtures/recordings/wasm-era-arm32.db with the seed answers that version gave) opens with this
// one: it is converted to WAL and the current schema, the old version's leftover "<file>.lock" directory is removed
// with a message when no old process holds it (and refused while one does), and the seed's queries give
// the same answers as before.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { RecordingStore } from '../../src/store/recording-store';
import { SCHEMA_VERSION } from '../../src/store/schema';
import { SEED_QUERIES } from '../../src/analysis/seed-queries';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'recordings', 'wasm-era-arm32.db');
const ANSWERS = JSON.parse(fs.readFileSync(FIXTURE.replace(/\.db$/, '.answers.json'), 'utf8')) as Record<string, { columns: string[]; rows: unknown[][] }>;

const encode = (v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);

describe('a recording written by the previous version (node-sqlite3-wasm)', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-legacy-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  function copyFixture(name: string): string {
    const file = path.join(dir, name);
    fs.copyFileSync(FIXTURE, file);
    return file;
  }

  test('the fixture is what the old version wrote: rollback journal, schema 2', () => {
    const out = spawnSync('sqlite3', [FIXTURE, 'PRAGMA journal_mode; PRAGMA user_version;'], { encoding: 'utf8' });
    assert.equal(out.stdout, 'delete\n2\n');
  });

  test('opens, is converted to WAL and the current schema, and the seed queries give the answers the old version gave', () => {
    const file = copyFixture('converted.db');
    // The old version's lock directory and users registry, left by a process that is gone.
    fs.mkdirSync(`${file}.lock`);
    fs.mkdirSync(`${file}.users`);
    fs.writeFileSync(path.join(`${file}.users`, 'writer.json'), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: os.hostname(), mode: 'writer', startedAt: '', command: '' }));
    const lines: string[] = [];
    const store = RecordingStore.open(file, { readOnly: true, log: (l) => lines.push(l) });
    try {
      assert.ok(lines.some((l) => /removed wasm-era|removed converted\.db\.lock\//.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => new RegExp(`converted to WAL and schema ${SCHEMA_VERSION}`).test(l)), lines.join('\n'));
      assert.equal(fs.existsSync(`${file}.lock`), false);
      assert.equal(fs.existsSync(`${file}.users`), false);
      assert.deepEqual(store.query('PRAGMA integrity_check').rows, [['ok']]);
      assert.deepEqual(store.query('PRAGMA user_version').rows, [[SCHEMA_VERSION]]);
      for (const q of SEED_QUERIES) {
        const r = store.query(q.sql, q.takesSessionId ? [1] : []);
        assert.deepEqual({ columns: r.columns, rows: r.rows.map((row) => row.map(encode)) }, ANSWERS[q.id], q.id);
      }
      const [session] = store.listSessions();
      assert.deepEqual([session.status, session.instructionCount], ['completed', 4300]);
    } finally {
      store.close();
    }
    assert.equal(spawnSync('sqlite3', [file, 'PRAGMA journal_mode'], { encoding: 'utf8' }).stdout.trim(), 'wal');
    // Native readers keep reading it as before.
    const py = spawnSync('python3', ['-c', `import sqlite3; print(sqlite3.connect(${JSON.stringify(file)}).execute('SELECT COUNT(*) FROM instruction_traces').fetchone()[0])`], { encoding: 'utf8' });
    assert.equal(py.stdout.trim(), '4300', py.stderr);
  });

  test('the next recording into a converted file appends a session', () => {
    const file = copyFixture('append.db');
    const store = RecordingStore.open(file, { log: () => {} });
    try {
      const id = store.beginSession({ arch: 'arm', description: 'after conversion' });
      store.appendStep({ sessionId: id, sequenceNumber: 1, pc: 0x40000000, bytes: new Uint8Array(4), disassembly: 'nop', registers: { pc: 0x40000000 }, sp: 0, functionName: 'unknown', bootStage: 's' });
      store.endSession(id, 'completed', 'test');
      assert.deepEqual(store.listSessions().map((s) => [s.sessionId, s.status, s.instructionCount]), [[1, 'completed', 4300], [2, 'completed', 1]]);
    } finally {
      store.close();
    }
  });

  test('while an old-version process is registered and alive, the file is refused naming it and its lock kept', async () => {
    const file = copyFixture('held.db');
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      fs.mkdirSync(`${file}.lock`);
      fs.mkdirSync(`${file}.users`);
      fs.writeFileSync(path.join(`${file}.users`, 'writer.json'), JSON.stringify({ pid: holder.pid, hostname: os.hostname(), mode: 'writer' }));
      assert.throws(() => RecordingStore.open(file, { readOnly: true, log: () => {} }), new RegExp(`older Bootscope \\(pid ${holder.pid} on .*writer\\).*close that program`));
      assert.equal(fs.existsSync(`${file}.lock`), true, 'a live holder\'s lock is never removed');
    } finally {
      const exited = new Promise((resolve) => holder.once('exit', resolve));
      holder.kill('SIGKILL');
      await exited;
    }
    const store = RecordingStore.open(file, { readOnly: true, log: () => {} });
    store.close();
    assert.equal(fs.existsSync(`${file}.lock`), false, 'removed once the holder is gone');
  });
});
