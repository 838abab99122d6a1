// Crash safety: a child process records steps and is SIGKILLed at random moments and in the middle of a
// large transaction. Reopening must ignore the unfinished transaction's WAL frames, pass PRAGMA
// integrity_check, keep every batch the child reported committed, show the killed session 'interrupted'
// (to readers before any writer marks it) and let the next recording into the same file start with no
// manual step. A kill after an uncommitted transaction spilled pages into the WAL must not read them back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { RecordingStore } from '../../src/store/recording-store';

const storeModule = path.resolve('src/store/recording-store.ts');

/** Child: records steps forever; prints "committed <seq>" after each commit, "flushing" before a forced big one. */
function writerScript(file: string, mode: 'stream' | 'big-transaction'): string {
  return `
    const { RecordingStore } = require(${JSON.stringify(storeModule)});
    const big = ${JSON.stringify(mode)} === 'big-transaction';
    const store = RecordingStore.open(${JSON.stringify(file)}, {
      batchRows: big ? 1e9 : 500, flushIntervalMs: 100, log: () => {},
      onCommit: (m) => { for (const seq of m.values()) process.stdout.write('committed ' + seq + '\\n'); },
    });
    const sessionId = store.beginSession({ arch: 'arm', description: 'crash test' });
    const regs = new Map([['r0', 0n], ['r1', 0n], ['sp', 0x41001000n], ['pc', 0x40000000n]]);
    let seq = 0;
    function burst(n) {
      for (let i = 0; i < n; i++, seq++) {
        regs.set('pc', 0x40000000n + BigInt(seq * 4)); regs.set('r' + (seq % 2), BigInt(seq));
        store.appendStep({ sessionId, sequenceNumber: seq, pc: regs.get('pc'), bytes: new Uint8Array([1, 2, 3, 4]),
          disassembly: 'add r0, r0, #1', registers: regs, sp: 0x41001000n, functionName: 'main',
          bootStage: seq % 3000 < 1500 ? 'a' : 'b' });
      }
    }
    if (big) {
      burst(2000); store.flush();
      burst(300000);
      process.stdout.write('flushing\\n', () => store.flush());
    } else {
      const loop = () => { burst(200); setImmediate(loop); };
      loop();
    }
  `;
}

interface KilledRun { lastReported: number; walLeft: boolean }

function runAndKill(file: string, mode: 'stream' | 'big-transaction', killAfterMs: number): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '-e', writerScript(file, mode)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastReported = -1;
    let armed = false;
    let buffer = '';
    let stderr = '';
    const timeout = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child never reached the kill point; stderr: ${stderr}`)); }, 60_000);
    const arm = (): void => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^committed (\d+)$/.exec(line);
        if (m) lastReported = Number(m[1]);
        if (mode === 'stream' && m) arm();
        if (mode === 'big-transaction' && line === 'flushing') arm();
      }
    });
    child.on('exit', () => {
      clearTimeout(timeout);
      resolve({ lastReported, walLeft: fs.existsSync(`${file}-wal`) && fs.statSync(`${file}-wal`).size > 0 });
    });
  });
}

function checkRecovered(file: string, run: KilledRun): { sessionId: number; maxSeq: number; logLines: string[] } {
  // A reader first: it cannot write the status down, but must not show a dead recording as 'recording'.
  const reader = RecordingStore.open(file, { readOnly: true, log: () => {} });
  try {
    const sessions = reader.listSessions();
    assert.equal(sessions[sessions.length - 1].status, 'interrupted', 'a read-only open shows the dead session as interrupted');
  } finally {
    reader.close(null);
  }
  const logLines: string[] = [];
  const store = RecordingStore.open(file, { log: (l) => logLines.push(l), busyTimeoutMs: 500 });
  try {
    assert.deepEqual(store.query('PRAGMA integrity_check').rows, [['ok']]);
    const sessions = store.listSessions();
    const last = sessions[sessions.length - 1];
    assert.equal(last.status, 'interrupted');
    assert.ok(logLines.some((l) => l.includes(`session ${last.sessionId} was left in 'recording'`)), logLines.join('\n'));
    const maxSeq = Number(store.query('SELECT MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [last.sessionId]).rows[0][0] ?? -1);
    assert.ok(maxSeq >= run.lastReported, `file has up to step ${maxSeq}, child reported ${run.lastReported} committed`);
    assert.equal(last.instructionCount, maxSeq + 1);
    assert.equal(store.registersAt(last.sessionId, maxSeq)?.get('pc'), 0x40000000n + BigInt(maxSeq * 4));
    const visits = store.stages(last.sessionId);
    assert.equal(visits.reduce((n, v) => n + v.instructionCount, 0), maxSeq + 1);
    return { sessionId: last.sessionId, maxSeq, logLines };
  } finally {
    store.close();
  }
}

describe('writer killed with SIGKILL', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-crash-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('killed inside a large transaction: its WAL frames are ignored, the first batch kept, file intact', async () => {
    const file = path.join(dir, 'big.db');
    const run = await runAndKill(file, 'big-transaction', 300);
    assert.equal(run.walLeft, true, 'the kill should leave the WAL behind (the writer never closed)');
    const { maxSeq } = checkRecovered(file, run);
    assert.equal(maxSeq, 1999, 'only the first committed batch survives');
  });

  test('killed at random moments while streaming (5 runs on one file): every reported batch survives, the next record starts', async (t) => {
    const file = path.join(dir, 'stream.db');
    const kept: number[] = [];
    for (let i = 0; i < 5; i++) {
      // Each run records a new session into the same file: the file the previous kill left is its start.
      const run = await runAndKill(file, 'stream', 200 + Math.floor(Math.random() * 800));
      const { sessionId, maxSeq } = checkRecovered(file, run);
      assert.equal(sessionId, i + 1);
      kept.push(maxSeq + 1);
    }
    t.diagnostic(`steps kept per killed session: ${kept.join(', ')}`);
  });
  test('killed after an uncommitted UPDATE spilled into the WAL: the committed rows are what reopening reads', async () => {
    const file = path.join(dir, 'spilled.db');
    // The child records and closes 20,000 steps, then rewrites every row in one transaction with a 10-page
    // cache, so the changed pages are written into the file itself before it is killed.
    const script = `
      const { RecordingStore } = require(${JSON.stringify(storeModule)});
      const { DatabaseSync } = require('node:sqlite');
      const store = RecordingStore.open(${JSON.stringify(file)}, { log: () => {} });
      const sessionId = store.beginSession({ arch: 'arm', description: 'spill test' });
      const regs = new Map([['r0', 0n], ['pc', 0x40000000n]]);
      for (let seq = 0; seq < 20000; seq++) {
        regs.set('pc', 0x40000000n + BigInt(seq * 4)); regs.set('r0', BigInt(seq));
        store.appendStep({ sessionId, sequenceNumber: seq, pc: regs.get('pc'), bytes: new Uint8Array([1, 2, 3, 4]),
          disassembly: 'add r0, r0, #1', registers: regs, sp: 0x41001000n, functionName: 'main', bootStage: 'a' });
      }
      store.endSession(sessionId, 'completed');
      store.close();
      const db = new DatabaseSync(${JSON.stringify(file)});
      db.exec('PRAGMA cache_size = 10');
      db.exec('BEGIN');
      db.exec("UPDATE instruction_traces SET disassembly = 'uncommitted ' || sequence_number");
      process.stdout.write('updated\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
        child.stdout?.on('data', (d: Buffer) => { if (d.toString().includes('updated')) resolve(); });
        child.on('exit', () => reject(new Error(`child exited before its UPDATE; stderr: ${stderr}`)));
      });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(fs.statSync(`${file}-wal`).size > 1_000_000, 'the uncommitted UPDATE should have spilled pages into the WAL');
    const store = RecordingStore.open(file, { readOnly: true, log: () => {} });
    try {
      assert.deepEqual(store.query('PRAGMA integrity_check').rows, [['ok']]);
      assert.deepEqual(store.query("SELECT COUNT(*), SUM(disassembly = 'add r0, r0, #1') FROM instruction_traces").rows, [[20000, 20000]]);
      assert.equal(store.listSessions()[0].status, 'completed');
    } finally {
      store.close();
    }
  });
});
