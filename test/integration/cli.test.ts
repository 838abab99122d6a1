// The headless CLI as users run it: the built bundle dist/cli.js in a child process, against real QEMU and
// real SQLite files. Exit codes, errors that name the field, every command's output, and what survives when
// the recorder or QEMU is killed mid-recording.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingStore } from '../../src/store/recording-store';
import { GUEST_DIR } from '../support/demo-recording';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ARM_CONFIG = path.join(GUEST_DIR, 'demo-arm32.json');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * The guest QEMUs started by `pid`: direct children running qemu-system-* with a gdbstub (`-gdb`), which
 * leaves out the short-lived `qemu-system-* --version` probe the launcher runs first.
 */
function qemuChildren(pid: number): number[] {
  let children: string;
  try { children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8'); } catch { return []; }
  return children.trim().split(/\s+/).filter(Boolean).map(Number).filter((c) => {
    try {
      const argv = readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0');
      return argv.some((a) => /qemu-system-/.test(a)) && argv.includes('-gdb');
    } catch { return false; }
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Rows committed so far, read the way another process would (read-only connection). */
function committedRows(db: string): number | undefined {
  if (!existsSync(db)) return undefined;
  try {
    const s = RecordingStore.open(db, { readOnly: true });
    try { return Number(s.query('SELECT COUNT(*) FROM instruction_traces').rows[0][0]); } finally { s.close(); }
  } catch {
    return undefined; // busy or not created yet
  }
}

let dir: string;
const started: ChildProcess[] = [];
before(() => { dir = mkdtempSync(path.join(tmpdir(), 'bootscope-cli-')); });
after(() => {
  for (const c of started) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('bootscope CLI: arguments and configuration errors', () => {
  test('a missing --config is a usage error (exit 2) that shows the usage', () => {
    const r = cli(['record']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--config FILE is required/);
    assert.match(r.stderr, /Usage:/);
  });

  test('a bad attribute in the config file exits 2 naming the file, the attribute and the expected form', () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(ARM_CONFIG, 'utf8')), stepMode: 'fast' }));
    const r = cli(['record', '--config', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.json/);
    assert.match(r.stderr, /stepMode/);
    assert.match(r.stderr, /"interrupts"/);
  });

  test('a QEMU binary that does not exist exits 3 and says what to install', () => {
    const cfg = JSON.parse(readFileSync(ARM_CONFIG, 'utf8'));
    cfg.qemu.binary = 'qemu-system-nonexistent';
    cfg.qemu.kernel = path.join(GUEST_DIR, 'build', 'demo-arm32.elf');
    cfg.elf = cfg.qemu.kernel;
    const file = path.join(dir, 'noqemu.json');
    writeFileSync(file, JSON.stringify(cfg));
    const r = cli(['record', '--config', file, '--db', path.join(dir, 'noqemu.db')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /qemu-system-nonexistent/);
  });

  test('--max-instructions must be a whole number', () => {
    const r = cli(['record', '--config', ARM_CONFIG, '--max-instructions', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-instructions: expected a whole number, got "lots"/);
  });
});

describe('bootscope CLI: record, sessions, query, export, report on a real recording', () => {
  const db = (): string => path.join(dir, 'short.db');
  let sessionId: string;

  before(() => {
    const r = cli(['record', '--config', ARM_CONFIG, '--db', db(), '--max-instructions', '2500', '--description', 'cli test <b>&', '--report', path.join(dir, 'short.html')]);
    assert.equal(r.code, 0, r.stderr);
    sessionId = r.stdout.trim();
  });

  test('record prints only the session id on stdout and a summary on stderr', () => {
    assert.match(sessionId, /^\d+$/);
    assert.match(readFileSync(path.join(dir, 'short.html'), 'utf8'), /cli test &lt;b&gt;&amp;/);
  });

  test('sessions lists it with its instruction count and status', () => {
    const r = cli(['sessions', '--db', db()]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^${sessionId}\\t.*\\tcompleted\\t2500 instructions\\tcli test <b>&$`, 'm'));
  });

  test('query answers in table, csv and json; a write statement is refused with exit 4 and the data is intact', () => {
    const sql = 'SELECT boot_stage, COUNT(*) AS n FROM instruction_traces GROUP BY boot_stage ORDER BY MIN(sequence_number)';
    const json = JSON.parse(cli(['query', '--db', db(), sql, '--format', 'json']).stdout) as { boot_stage: string; n: number }[];
    assert.equal(json.reduce((a, r) => a + r.n, 0), 2500);
    assert.equal(json[0].boot_stage, 'elfloader');
    const csv = cli(['query', '--db', db(), sql, '--format', 'csv']).stdout.trim().split('\n');
    assert.equal(csv[0], 'boot_stage,n');
    assert.equal(csv.length, json.length + 1);
    assert.match(cli(['query', '--db', db(), sql]).stdout, /^boot_stage\s+n\n-+\s+-+\nelfloader/);
    const refused = cli(['query', '--db', db(), 'DELETE FROM instruction_traces']);
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /read-only|only SELECT|not allowed/i);
    assert.equal(JSON.parse(cli(['query', '--db', db(), 'SELECT COUNT(*) AS n FROM instruction_traces', '--format', 'json']).stdout)[0].n, 2500);
  });

  test('export writes RFC 4180 CSV of one session; an unknown table exits 2 naming the choices', () => {
    const out = path.join(dir, 'trace.csv');
    const r = cli(['export', '--db', db(), '--table', 'instruction_traces', '--session', sessionId, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, 'utf8');
    assert.ok(text.startsWith('trace_id,session_id,sequence_number,timestamp,pc_address,instruction_bytes,disassembly,registers,'), text.slice(0, 120));
    // registers is JSON: its quotes are doubled inside a quoted field
    assert.match(text.split('\r\n')[1], /,"\{""[a-z0-9]+"":/);
    assert.equal(text.split('\r\n').length - 2, 2500, 'header + 2500 rows, CRLF line ends');
    const bad = cli(['export', '--db', db(), '--table', 'sqlite_master', '--out', path.join(dir, 'x.csv')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--table: .*instruction_traces/);
  });

  test('report on a session that does not exist exits 2 and says how to list them', () => {
    const r = cli(['report', '--db', db(), '--session', '99', '--out', path.join(dir, 'none.html')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no session 99/);
    assert.match(r.stderr, /bootscope sessions/);
  });
});

describe('bootscope CLI: killed mid-recording', () => {
  test('SIGKILL of the recorder: QEMU goes too, and the file reopens intact with the session marked interrupted', async () => {
    const db = path.join(dir, 'killed.db');
    const child = spawn(process.execPath, [CLI, 'record', '--config', ARM_CONFIG, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    const qemu = await waitFor('QEMU to start', () => qemuChildren(child.pid as number)[0]);
    const before = await waitFor('3000 committed rows', () => { const n = committedRows(db); return n !== undefined && n >= 3000 ? n : undefined; });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await waitFor('QEMU to exit with its parent', () => (alive(qemu) ? undefined : true), 10_000);

    const store = RecordingStore.open(db); // writable: must get past the lock directory the kill left behind
    try {
      assert.deepEqual(store.query('PRAGMA integrity_check').rows, [['ok']]);
      const s = store.listSessions()[0];
      assert.equal(s.status, 'interrupted');
      const rows = Number(store.query('SELECT COUNT(*) FROM instruction_traces').rows[0][0]);
      assert.ok(rows >= before, `${rows} rows after the kill, ${before} seen committed before it`);
      const gaps = store.query('SELECT MAX(sequence_number) - MIN(sequence_number) + 1 - COUNT(*) FROM instruction_traces').rows[0][0];
      assert.equal(Number(gaps), 0);
    } finally {
      store.close();
    }
  });

  test('QEMU stopped by SIGTERM under the recorder: exit 3 (QEMU exits cleanly, but nobody asked it to), end_reason says a signal', async () => {
    const db = path.join(dir, 'qemu-sigterm.db');
    const child = spawn(process.execPath, [CLI, 'record', '--config', ARM_CONFIG, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const qemu = await waitFor('QEMU to start', () => qemuChildren(child.pid as number)[0]);
    await waitFor('1000 committed rows', () => { const n = committedRows(db); return n !== undefined && n >= 1000 ? n : undefined; });
    process.kill(qemu, 'SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 3, stderr);
    const store = RecordingStore.open(db, { readOnly: true });
    try {
      const s = store.listSessions()[0];
      assert.equal(s.status, 'qemu-exited');
      assert.match(s.endReason ?? '', /QEMU (was stopped by a signal from outside Bootscope|exited without the recording asking for it)/);
      assert.ok(s.instructionCount >= 1000);
    } finally {
      store.close();
    }
  });

  test('QEMU killed under the recorder: exit 3, the session closed as qemu-exited with an end time', async () => {
    const db = path.join(dir, 'qemu-died.db');
    const child = spawn(process.execPath, [CLI, 'record', '--config', ARM_CONFIG, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const qemu = await waitFor('QEMU to start', () => qemuChildren(child.pid as number)[0]);
    await waitFor('1000 committed rows', () => { const n = committedRows(db); return n !== undefined && n >= 1000 ? n : undefined; });
    process.kill(qemu, 'SIGKILL');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 3, stderr);
    const store = RecordingStore.open(db, { readOnly: true });
    try {
      const s = store.listSessions()[0];
      assert.equal(s.status, 'qemu-exited');
      assert.ok(s.endTime);
      assert.match(s.endReason ?? '', /QEMU/);
      assert.ok(s.instructionCount >= 1000);
    } finally {
      store.close();
    }
  });
});
