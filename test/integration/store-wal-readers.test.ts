// Reading a recording while it is recorded, with the tools the README names: the CLI records the demo guest
// (real QEMU) while the sqlite3 CLI (default read-write open, a new process each time, as users run it) and
// a Python reader each run `SELECT COUNT(*) FROM instruction_traces; PRAGMA quick_check` every 20 ms. No
// reader may see an error, counts never decrease, and at the end the file passes integrity_check and holds
// exactly the instructions the recorder reported. (With the previous WASM store this corrupted the file.)
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SQL = 'SELECT COUNT(*) FROM instruction_traces; PRAGMA quick_check;';

interface ReaderLog { counts: number[]; errors: string[] }

const PYTHON_READER = `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=5)
while True:
    try:
        n = db.execute("SELECT COUNT(*) FROM instruction_traces").fetchone()[0]
        q = db.execute("PRAGMA quick_check").fetchall()
        print(n if q == [("ok",)] else "ERROR quick_check " + repr(q), flush=True)
    except Exception as e:
        print("ERROR " + repr(e), flush=True)
    time.sleep(0.02)
`;

describe('native readers while the CLI records the demo guest', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-readers-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('sqlite3 CLI and Python every 20 ms: no errors, counts never decrease, file intact, count as reported', async () => {
    const file = path.join(dir, 'live.db');
    const recorder = spawn(process.execPath, [CLI, 'record', '--config', path.join(ROOT, 'guest', 'demo-arm32.json'), '--db', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let recStderr = '';
    recorder.stderr?.on('data', (d: Buffer) => { recStderr += d.toString(); });
    const recorded = new Promise<number | null>((resolve) => recorder.on('exit', (code) => resolve(code)));
    let recording = true;
    void recorded.then(() => { recording = false; });
    // Readers start once the schema exists (sqlite3 would otherwise create an empty file of its own).
    while (recording && !/recording session \d+/.test(recStderr)) await new Promise((r) => setTimeout(r, 20));

    const cliLog: ReaderLog = { counts: [], errors: [] };
    const cliLoop = (async () => {
      while (recording) {
        const r = spawnSync('sqlite3', [file, SQL], { encoding: 'utf8' });
        const lines = r.stdout.trim().split('\n');
        if (r.status !== 0 || r.stderr !== '' || lines[1] !== 'ok') cliLog.errors.push(`status ${r.status}: ${r.stderr}${r.stdout}`);
        else cliLog.counts.push(Number(lines[0]));
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const pyLog: ReaderLog = { counts: [], errors: [] };
    const py = spawn('python3', ['-c', PYTHON_READER, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pyBuffer = '';
    py.stdout?.on('data', (d: Buffer) => {
      pyBuffer += d.toString();
      const lines = pyBuffer.split('\n');
      pyBuffer = lines.pop() ?? '';
      for (const l of lines) {
        if (l.startsWith('ERROR')) pyLog.errors.push(l);
        else pyLog.counts.push(Number(l));
      }
    });
    py.stderr?.on('data', (d: Buffer) => { pyLog.errors.push(d.toString()); });

    const code = await recorded;
    await cliLoop;
    py.kill('SIGTERM');
    assert.equal(code, 0, recStderr);
    const reported = Number(/bootscope: (\d+) instructions in/.exec(recStderr)?.[1]);
    assert.ok(reported > 10_000, recStderr);

    for (const [name, log] of [['sqlite3 CLI', cliLog], ['Python', pyLog]] as const) {
      assert.deepEqual(log.errors, [], `${name} reader saw errors`);
      assert.ok(log.counts.length >= 20, `${name} read only ${log.counts.length} times`);
      for (let i = 1; i < log.counts.length; i++) assert.ok(log.counts[i] >= log.counts[i - 1], `${name}: count went from ${log.counts[i - 1]} to ${log.counts[i]}`);
      assert.ok(new Set(log.counts).size >= 3, `${name} never saw the recording grow: ${[...new Set(log.counts)].join(', ')}`);
    }
    const end = spawnSync('sqlite3', [file, "PRAGMA integrity_check; SELECT COUNT(*) FROM instruction_traces; SELECT status || ' ' || instruction_count FROM boot_sessions;"], { encoding: 'utf8' });
    assert.equal(end.stdout, `ok\n${reported}\ncompleted ${reported}\n`, end.stderr);
  });
});
