// `bootscope state` and `bootscope who-wrote` as child processes (dist/cli.js) against real recording
// files: a generated plugin-style recording whose memory is known at every instruction
// (test/support/history-fixture.ts), and a gdbstub recording of the AArch32 demo guest from real QEMU,
// where memory is known exactly at the snapshots and nowhere else.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RecordingStore } from '../../src/store/recording-store';
import { hexOf } from '../../src/store/history';
import { prng } from '../../src/store/synthetic-session';
import { BASE, SPAN, generate, type Generated } from '../support/history-fixture';
import { recordDemo } from '../support/demo-recording';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ELF = path.join(ROOT, 'guest', 'build', 'demo-arm32.elf');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface StateJson {
  session: number;
  sequence_number: number;
  instructions: { first: number; last: number };
  pc: string;
  function_name: string;
  boot_stage: string;
  exception_level: number | null;
  registers: Record<string, string>;
  gap_before: { after_sequence_number: number; reason: string; instructions_skipped: number | null } | null;
  memory_writes_recorded: boolean;
  memory: { address: string; length: number; hex: string; known_bytes: number; runs: { address: string; offset: number; length: number; source: string; sequence_number?: number; snapshot_id?: number; region?: string; reason?: string }[] }[];
}

interface WriteJson { sequence_number: number; pc: string; function_name: string; boot_stage: string; address: string; size: number; value: string; old_value: string | null }

const skip = fs.existsSync(CLI) ? false : `needs ${CLI} (node esbuild.mjs)`;

describe('bootscope state / who-wrote on a recording with stores, snapshots and gaps', { skip }, () => {
  let dir: string;
  let file: string;
  let g: Generated;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-cli-history-'));
    file = path.join(dir, 'rec.db');
    const store = RecordingStore.open(file, { log: () => undefined });
    try {
      g = generate(store, { steps: 1200, seed: 21, snapshotsAt: [100, 500, 900], gapsAfter: [700] });
    } finally {
      store.close();
    }
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('state: registers, pc and function of the instruction, and memory that is the real bytes or ??', () => {
    const rand = prng(9);
    for (let i = 0; i < 6; i++) {
      const at = 1 + Math.floor(rand() * g.steps);
      const offset = Math.floor(rand() * (SPAN - 64));
      const r = cli('state', '--db', file, '--session', String(g.sessionId), '--at', String(at), '--memory', `0x${(BASE + offset).toString(16)}:64`, '--memory', `${BASE}:${SPAN}`);
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as StateJson;
      assert.equal(s.sequence_number, at);
      assert.deepEqual(s.instructions, { first: 1, last: g.steps });
      assert.equal(s.pc, `0x${(0x40000000 + at * 4).toString(16)}`);
      assert.equal(s.registers.r0, `0x${at.toString(16)}`, 'r0 holds the instruction number in the generated session');
      assert.equal(s.function_name, at % 100 < 50 ? 'fill' : 'copy');
      assert.equal(s.memory_writes_recorded, true);
      assert.deepEqual(s.gap_before, at === 701 ? { after_sequence_number: 700, reason: 'continue-unrecorded', instructions_skipped: 1000 } : null);
      for (const [m, start] of [[s.memory[0], offset], [s.memory[1], 0]] as const) {
        const truth = hexOf(g.truth[at].subarray(start, start + m.length));
        assert.equal(m.hex.length, truth.length);
        let known = 0;
        for (let k = 0; k < m.length; k++) {
          const byte = m.hex.slice(2 * k, 2 * k + 2);
          if (byte === '??') continue;
          known++;
          assert.equal(byte, truth.slice(2 * k, 2 * k + 2), `byte ${k} of ${m.address} at ${at}`);
        }
        assert.equal(m.known_bytes, known);
        assert.equal(m.runs.reduce((n, run) => n + run.length, 0), m.length);
        for (const run of m.runs) {
          if (run.source === 'write') assert.ok(g.writes.some((w) => w.seq === run.sequence_number && w.seq < at));
          if (run.source === 'snapshot') assert.ok(g.snapshots.some((x) => x.id === run.snapshot_id && x.seq === run.sequence_number));
          if (run.source === 'unknown') assert.ok(typeof run.reason === 'string' && run.reason.length > 0);
        }
      }
    }
  });

  test('state right after a snapshot knows every byte of its regions', () => {
    const r = cli('state', '--db', file, '--session', String(g.sessionId), '--at', '500', '--memory', `0x${(BASE + 16).toString(16)}:128`);
    assert.equal(r.status, 0, r.stderr);
    const m = (JSON.parse(r.stdout) as StateJson).memory[0];
    assert.equal(m.hex, hexOf(g.truth[500].subarray(16, 144)));
    assert.deepEqual(m.runs.map((x) => x.source), ['snapshot']);
  });

  test('who-wrote: the writes to a word, newest first, with values in memory order and old values', () => {
    const address = BASE + 200;
    const r = cli('who-wrote', '--db', file, '--session', String(g.sessionId), '--address', `0x${address.toString(16)}`, '--size', '4', '--before', '1000', '--limit', '500');
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as WriteJson[];
    const expected = g.writes.filter((w) => w.seq < 1000 && w.address < address + 4 && w.address + w.value.length > address).reverse();
    assert.deepEqual(rows.map((w) => [w.sequence_number, w.address, w.size, w.value]), expected.map((w) => [w.seq, `0x${w.address.toString(16)}`, w.value.length, hexOf(w.value)]));
    for (const w of rows) {
      const offset = Number(BigInt(w.address)) - BASE;
      if (w.old_value !== null) assert.equal(w.old_value, hexOf(g.truth[w.sequence_number].subarray(offset, offset + w.size)));
      assert.equal(w.pc, `0x${(0x40000000 + w.sequence_number * 4).toString(16)}`);
    }
  });

  test('a session that does not exist: exit 2 naming it and the sessions there are', () => {
    const r = cli('state', '--db', file, '--session', '7', '--at', '1');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /session 7 does not exist in .*rec\.db: sessions 1 to 1 exist/);
    const w = cli('who-wrote', '--db', file, '--session', '7', '--address', '0x41000000');
    assert.equal(w.status, 2);
    assert.match(w.stderr, /session 7 does not exist/);
  });

  test('an instruction that does not exist: exit 2 naming it and the valid range', () => {
    const r = cli('state', '--db', file, '--session', String(g.sessionId), '--at', '1201');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /instruction 1201 is not in session 1 of .*: it has instructions 1 to 1200/);
    const w = cli('who-wrote', '--db', file, '--session', String(g.sessionId), '--address', '0x41000000', '--before', '5000');
    assert.equal(w.status, 2);
    assert.match(w.stderr, /--before: instruction 5000 is not in session 1 .* instructions 1 to 1200/);
    const bad = cli('state', '--db', file, '--session', String(g.sessionId), '--at', '5', '--memory', '0x41000000');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--memory: expected ADDR:LEN/);
  });
});

describe('bootscope state on a gdbstub recording of the demo guest (real QEMU)', { skip: skip || (fs.existsSync(ELF) ? false : `needs ${ELF} (make -C guest)`) }, () => {
  let dir: string;
  let file: string;
  let sessionId: number;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-cli-history-demo-'));
    file = path.join(dir, 'demo.db');
    sessionId = (await recordDemo('demo-arm32', file)).sessionId;
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('at a snapshot the stack region is the snapshot\'s bytes; one instruction later it is unknown (no stores recorded)', () => {
    const store = RecordingStore.open(file, { readOnly: true, log: () => undefined });
    let snapshotSeq: number;
    let data: Uint8Array;
    let stepRow: unknown[];
    try {
      const snap = store.query(`SELECT s.sequence_number, r.data, r.start_address, r.size FROM memory_snapshots s JOIN memory_regions r ON r.snapshot_id = s.snapshot_id
          WHERE s.session_id = ${sessionId} AND r.region_name = 'stack_region' AND s.trigger = 'stage' ORDER BY s.sequence_number LIMIT 1 OFFSET 1`).rows[0];
      snapshotSeq = Number(snap[0]);
      data = snap[1] as Uint8Array;
      assert.equal(Number(snap[2]), 0x41000000);
      stepRow = store.query(`SELECT printf('0x%x', pc_address), function_name, boot_stage, exception_level FROM instruction_traces WHERE session_id = ${sessionId} AND sequence_number = ${snapshotSeq}`).rows[0];
    } finally {
      store.close(null);
    }
    const r = cli('state', '--db', file, '--session', String(sessionId), '--at', String(snapshotSeq), '--memory', `0x41000000:${data.length}`);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as StateJson;
    assert.deepEqual([s.pc, s.function_name, s.boot_stage, s.exception_level], stepRow);
    assert.equal(s.memory_writes_recorded, false);
    assert.equal(s.memory[0].hex, hexOf(data));
    assert.equal(s.memory[0].runs[0].region, 'stack_region');
    const later = JSON.parse(cli('state', '--db', file, '--session', String(sessionId), '--at', String(snapshotSeq + 1), '--memory', '0x41000f40:16').stdout) as StateJson;
    assert.equal(later.memory[0].hex, '??'.repeat(16));
    assert.match(later.memory[0].runs[0].reason ?? '', /recorded no memory writes \(gdbstub capture\)/);
    const w = cli('who-wrote', '--db', file, '--session', String(sessionId), '--address', '0x41000f40');
    assert.equal(w.status, 0);
    assert.deepEqual(JSON.parse(w.stdout), []);
    assert.match(w.stderr, /recorded no memory writes \(gdbstub capture\); record with --capture plugin/);
  });
});
