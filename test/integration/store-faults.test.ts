// Faults around a recording file, with real processes and real file systems: two recorders writing one file
// at once; a reader (`bootscope query`) killed or interrupted mid-query while a recording runs; a recording
// on read-only media (a read-only bind mount, and a 0555 directory read by an unprivileged user) opened by
// every read command; a full file system (a small tmpfs mounted here) ending a `bootscope record` of the
// demo guest with a message naming the full disk. Mounting needs root: those tests say so and skip otherwise.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { RecordingStore } from '../../src/store/recording-store';
import { recordSyntheticSession } from '../../src/store/synthetic-session';
import { SCHEMA_VERSION } from '../../src/store/schema';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const STORE = path.join(ROOT, 'src', 'store', 'recording-store.ts');
const isRoot = process.getuid?.() === 0;

/** Child: records `steps` steps as one session (commits every 500 rows); prints "committed N", then "done ID". */
function writerChild(file: string, steps: number, paceEvery = 0): ChildProcess {
  const script = `
    const { RecordingStore } = require(${JSON.stringify(STORE)});
    const store = RecordingStore.open(${JSON.stringify(file)}, { batchRows: 500, log: () => {},
      onCommit: (m) => { for (const seq of m.values()) process.stdout.write('committed ' + seq + '\\n'); } });
    const sessionId = store.beginSession({ arch: 'arm', description: 'writer ' + process.pid });
    const regs = new Map([['r0', 0n], ['sp', 0x41001000n], ['pc', 0n]]);
    let seq = 1;
    function burst() {
      for (let i = 0; i < 200 && seq <= ${steps}; i++, seq++) {
        regs.set('pc', BigInt(0x40000000 + seq * 4)); regs.set('r0', BigInt(seq));
        store.appendStep({ sessionId, sequenceNumber: seq, pc: regs.get('pc'), bytes: new Uint8Array([1, 2, 3, 4]),
          disassembly: 'add r0, r0, #1', registers: regs, sp: 0x41001000n, functionName: 'main', bootStage: seq % 4000 < 2000 ? 'a' : 'b' });
      }
      if (seq <= ${steps}) setTimeout(burst, ${paceEvery}); else { store.endSession(sessionId, 'completed', 'done'); store.close(); console.log('done ' + sessionId); }
    }
    burst();`;
  return spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function cli(args: string[], opts: { uid?: number } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, uid: opts.uid, gid: opts.uid });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sqlite3(file: string, sql: string): string {
  const r = spawnSync('sqlite3', [file, sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('recording file faults', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-faults-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('processes opening one new file at the same moment all succeed (the schema is created once)', async () => {
    // Each process reads user_version 0 before any has created the tables; without re-checking under the
    // write lock the later ones failed with "table schema_migrations already exists" (15 rounds of 6: 15 failed).
    for (let round = 0; round < 4; round++) {
      const file = path.join(dir, `opened-at-once-${round}.db`);
      const children = Array.from({ length: 5 }, () => spawn(process.execPath, ['--import', 'tsx', '-e',
        `require(${JSON.stringify(STORE)}).RecordingStore.open(${JSON.stringify(file)}, { log: () => {} }).close();`],
      { stdio: ['ignore', 'pipe', 'pipe'] }));
      for (const r of await Promise.all(children.map(finished))) assert.equal(r.code, 0, r.stderr);
      assert.equal(sqlite3(file, 'SELECT group_concat(version) FROM schema_migrations'), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1).join(','));
    }
  });

  test('two recorders writing two sessions into one file at once both complete and lose no row', async () => {
    const file = path.join(dir, 'two.db');
    const [a, b] = [writerChild(file, 30_000, 2), writerChild(file, 30_000, 2)];
    const [ra, rb] = await Promise.all([finished(a), finished(b)]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(sqlite3(file, 'PRAGMA integrity_check'), 'ok');
    assert.equal(sqlite3(file, "SELECT group_concat(session_id || ':' || status || ':' || instruction_count || ':' || (SELECT COUNT(*) FROM instruction_traces t WHERE t.session_id = s.session_id), ' ') FROM boot_sessions s"),
      '1:completed:30000:30000 2:completed:30000:30000');
    // They really overlapped: each session started before the other ended.
    assert.equal(sqlite3(file, 'SELECT (SELECT start_time FROM boot_sessions WHERE session_id = 2) < (SELECT end_time FROM boot_sessions WHERE session_id = 1) AND (SELECT start_time FROM boot_sessions WHERE session_id = 1) < (SELECT end_time FROM boot_sessions WHERE session_id = 2)'), '1');
  });

  test('a reader killed (SIGKILL) or interrupted (SIGINT) mid-query never disturbs a recording', async () => {
    const file = path.join(dir, 'reader-killed.db');
    const writer = writerChild(file, 60_000, 5);
    const done = finished(writer);
    let committed = 0;
    writer.stdout?.on('data', (d: Buffer) => { for (const m of d.toString().matchAll(/committed (\d+)/g)) committed = Number(m[1]); });
    while (committed === 0) await new Promise((r) => setTimeout(r, 50));
    for (const signal of ['SIGKILL', 'SIGINT'] as const) {
      // A query that reads forever: it holds a read snapshot of the file the whole time.
      const reader = spawn(process.execPath, [CLI, 'query', '--db', file, '--format', 'csv',
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x, (SELECT COUNT(*) FROM instruction_traces) FROM c'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const readerDone = finished(reader);
      await new Promise<void>((resolve) => reader.stdout?.once('data', () => resolve()));
      const before = committed;
      reader.kill(signal);
      await readerDone;
      const t0 = Date.now();
      while (committed <= before + 1000 && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
      assert.ok(committed > before + 1000, `the recording stopped committing after the reader got ${signal} (${before} -> ${committed})`);
    }
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sqlite3(file, 'SELECT status, instruction_count, (SELECT COUNT(*) FROM instruction_traces) FROM boot_sessions'), 'completed|60000|60000');
    assert.equal(sqlite3(file, 'PRAGMA integrity_check'), 'ok');
  });

  describe('a recording on read-only media opens for every read command', { skip: isRoot ? false : 'needs root to mount a read-only bind mount and to run as another user' }, () => {
    let src: string;
    before(() => {
      src = path.join(dir, 'media');
      fs.mkdirSync(src);
      const store = RecordingStore.open(path.join(src, 'rec.db'), { log: () => {} });
      recordSyntheticSession(store, { instructions: 3000 });
      store.close();
      fs.chmodSync(path.join(src, 'rec.db'), 0o644);
      assert.equal(fs.existsSync(path.join(src, 'rec.db-shm')), false, 'a closed recording leaves no -shm for a reader to use');
    });

    function everyReadCommand(file: string, out: string, uid?: number): void {
      const sessions = cli(['sessions', '--db', file], { uid });
      assert.equal(sessions.status, 0, sessions.stderr);
      assert.match(sessions.stdout, /^1\t.*\tcompleted\t3000 instructions/m);
      const query = cli(['query', '--db', file, '--format', 'csv', 'SELECT COUNT(*) AS n FROM instruction_traces'], { uid });
      assert.equal(query.status, 0, query.stderr);
      assert.equal(query.stdout, 'n\n3000\n');
      const report = cli(['report', '--db', file, '--out', path.join(out, 'report.html')], { uid });
      assert.equal(report.status, 0, report.stderr);
      const exported = cli(['export', '--db', file, '--table', 'boot_stages', '--out', path.join(out, 'stages.csv')], { uid });
      assert.equal(exported.status, 0, exported.stderr);
      assert.equal(fs.readFileSync(path.join(out, 'stages.csv'), 'utf8').trim().split('\n').length, 16); // header + 15 visits
    }

    test('a read-only bind mount', () => {
      const mnt = path.join(dir, 'ro-mount');
      fs.mkdirSync(mnt);
      const out = fs.mkdtempSync(path.join(dir, 'out-'));
      assert.equal(spawnSync('mount', ['--bind', src, mnt]).status, 0);
      try {
        assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', mnt]).status, 0);
        assert.throws(() => fs.writeFileSync(path.join(mnt, 'probe'), ''), /EROFS/);
        everyReadCommand(path.join(mnt, 'rec.db'), out);
      } finally {
        spawnSync('umount', [mnt]);
      }
    });

    test('a 0555 directory read by an unprivileged user', () => {
      const ro = path.join(dir, 'ro-dir');
      fs.mkdirSync(ro);
      fs.copyFileSync(path.join(src, 'rec.db'), path.join(ro, 'rec.db'));
      fs.chmodSync(path.join(ro, 'rec.db'), 0o644);
      fs.chmodSync(ro, 0o555);
      fs.chmodSync(dir, 0o755);
      const out = fs.mkdtempSync(path.join(dir, 'out-'));
      fs.chmodSync(out, 0o777);
      const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
      everyReadCommand(path.join(ro, 'rec.db'), out, nobody);
      assert.deepEqual(fs.readdirSync(ro), ['rec.db'], 'nothing was created beside the file');
    });
  });

  test('a full file system ends `bootscope record` naming the full disk; the session says why; committed rows stay readable',
    { skip: isRoot ? false : 'needs root to mount a small tmpfs' }, () => {
      const mnt = path.join(dir, 'small-fs');
      fs.mkdirSync(mnt);
      assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]).status, 0);
      try {
        const file = path.join(mnt, 'full.db');
        const rec = cli(['record', '--config', path.join(ROOT, 'guest', 'demo-arm32.json'), '--db', file]);
        assert.equal(rec.status, 4, `exit 4 (database) expected; stderr: ${rec.stderr}`);
        assert.match(rec.stderr, /the disk is full \(SQLITE_FULL \/ ENOSPC\)/);
        const store = RecordingStore.open(file, { readOnly: true, log: () => {} });
        try {
          const [s] = store.listSessions();
          assert.equal(s.status, 'error');
          assert.match(s.endReason ?? '', /^disk full: .*the disk is full/);
          assert.ok(s.instructionCount > 1000, `only ${s.instructionCount} rows before the disk filled`);
          assert.deepEqual(store.query('SELECT COUNT(*), MAX(sequence_number) FROM instruction_traces').rows, [[s.instructionCount, s.instructionCount]]);
          assert.deepEqual(store.query('PRAGMA integrity_check').rows, [['ok']]);
        } finally {
          store.close();
        }
      } finally {
        spawnSync('umount', ['-l', mnt]);
      }
    });
});
