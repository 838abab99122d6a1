// The seed's analysis SQL (methodology sections 4.1-4.3) on a REAL recording of the AArch32 demo guest's boot:
// each query runs verbatim through RecordingStore.query, the sqlite3 CLI and Python's sqlite3 module, the three
// must agree, and the answers must be true to the guest: stages in boot order (guest/README.md), painted
// regions at >= 99 % at the end (recounted from the raw bytes), function names and address ranges that
// arm-none-eabi-nm gives for the ELF, and 4.3's rows at the painting function. Then deleteSession on a copy.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfigFile } from '../../src/cli/config-file';
import { RecordingSession, statusFor } from '../../src/recorder/session';
import { RecordingStore, type SQLiteValue } from '../../src/store/recording-store';
import { recordSyntheticSession } from '../../src/store/synthetic-session';
import { SEED_QUERIES, type SeedQuery } from '../../src/analysis/seed-queries';
import type { RecordingConfig } from '../../src/common/config';

const CONFIG_FILE = 'guest/demo-arm32.json';

type Value = number | string | null;
interface Answer { columns: string[]; rows: Value[][] }

/** Integers beyond 2^53 never occur in this 32-bit guest's recording; bigint would not compare with JSON. */
function plain(v: SQLiteValue | undefined): Value {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) throw new TypeError('no seed query selects a BLOB');
  return v;
}

function viaStore(file: string, q: SeedQuery, sessionId: number): Answer {
  const store = RecordingStore.open(file, { readOnly: true });
  try {
    const r = store.query(q.sql, q.takesSessionId ? [sessionId] : []);
    return { columns: r.columns, rows: r.rows.map((row) => row.map(plain)) };
  } finally {
    store.close();
  }
}

/** sqlite3 CLI in JSON mode; the anonymous `?` is bound as ?1 (.parameter set). */
function viaCli(file: string, q: SeedQuery, sessionId: number): Answer {
  const script = `.parameter init\n${q.takesSessionId ? `.parameter set ?1 ${sessionId}\n` : ''}.mode json\n${q.sql}\n`;
  const out = execFileSync('sqlite3', ['-bail', file], { input: script, encoding: 'utf8' }).trim();
  const objects = out === '' ? [] : JSON.parse(out) as Record<string, Value>[];
  const columns = objects.length ? Object.keys(objects[0]) : [];
  return { columns, rows: objects.map((o) => columns.map((c) => o[c])) };
}

const PYTHON = `
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
cur = con.execute(sys.argv[2], tuple(int(a) for a in sys.argv[3:]))
rows = cur.fetchall()
print(json.dumps({'columns': [d[0] for d in cur.description], 'rows': rows}))
`;

function viaPython(file: string, q: SeedQuery, sessionId: number): Answer {
  const args = ['-c', PYTHON, file, q.sql, ...(q.takesSessionId ? [String(sessionId)] : [])];
  return JSON.parse(execFileSync('python3', args, { encoding: 'utf8' })) as Answer;
}

interface NmSymbol { name: string; start: number; end: number }

/** Function symbols of the guest ELF as binutils sees them (independent of our ELF reader). */
function nmFunctions(elf: string): Map<string, NmSymbol> {
  const out = execFileSync('arm-none-eabi-nm', ['-S', '--defined-only', elf], { encoding: 'utf8' });
  const map = new Map<string, NmSymbol>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tT] (\S+)$/.exec(line.trim());
    if (!m) continue;
    const value = parseInt(m[1], 16);
    const start = value - (value % 2); // a Thumb function's symbol has bit 0 set
    map.set(m[3], { name: m[3], start, end: start + parseInt(m[2], 16) });
  }
  return map;
}

function queryById(id: string): SeedQuery {
  const q = SEED_QUERIES.find((s) => s.id === id);
  if (!q) throw new Error(`no seed query ${id}`);
  return q;
}

/** Aligned little-endian 32-bit words equal to `pattern` (the store's rule, recomputed here from raw bytes). */
function countPatternWords(data: Uint8Array, pattern: number): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let n = 0;
  for (let o = 0; o + 4 <= data.byteLength; o += 4) if (view.getUint32(o, true) === pattern >>> 0) n++;
  return n;
}

describe('seed SQL 4.1-4.3 on a real recording of the AArch32 demo boot', () => {
  let dir: string;
  let file: string;
  let config: RecordingConfig;
  let sessionId: number;
  let instructionCount: number;
  let recordingSeconds: number;
  const answers = new Map<string, Answer>();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-seed-'));
    file = path.join(dir, 'demo-arm32.db');
    config = { ...loadConfigFile(CONFIG_FILE), database: file };
    const t0 = Date.now();
    const session = await RecordingSession.start({ config });
    try {
      const result = await session.record();
      assert.equal(result.reason, 'stop-at', `the boot should reach stopAt (${config.stopAt}); it ended with ${result.reason}`);
      await session.recorder.captureSnapshot('end');
      const { status, reason } = statusFor(result.reason);
      await session.close(status, reason);
    } finally {
      await session.close('error', 'test failed while recording');
    }
    recordingSeconds = (Date.now() - t0) / 1000;
    sessionId = session.sessionId;
    instructionCount = session.recorder.instructionCount;
  }, { timeout: 110_000 });

  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  test('the recording reached boot_done and closed completed', (t) => {
    const store = RecordingStore.open(file, { readOnly: true });
    try {
      const s = store.getSession(sessionId);
      assert.equal(s?.status, 'completed');
      assert.equal(s?.instructionCount, instructionCount);
      const last = store.query('SELECT function_name FROM instruction_traces WHERE session_id = ? ORDER BY sequence_number DESC LIMIT 1', [sessionId]);
      assert.deepEqual(last.rows, [['boot_done']]);
    } finally {
      store.close();
    }
    t.diagnostic(`recorded ${instructionCount} instructions in ${recordingSeconds.toFixed(1)} s`);
  });

  for (const q of SEED_QUERIES) {
    test(`${q.title}: RecordingStore, the sqlite3 CLI and Python's sqlite3 return the same rows`, () => {
      const ours = viaStore(file, q, sessionId);
      assert.ok(ours.rows.length > 0, `${q.id} returned no rows`);
      assert.deepEqual(viaCli(file, q, sessionId), ours, 'sqlite3 CLI differs');
      assert.deepEqual(viaPython(file, q, sessionId), ours, 'Python sqlite3 differs');
      answers.set(q.id, ours);
    });
  }

  const answer = (id: string): Answer => answers.get(id) ?? viaStore(file, queryById(id), sessionId);

  test('4.1 timing lists the configured stages in boot order, counting every instruction', () => {
    const { columns, rows } = answer('seed-4.1-timing');
    assert.deepEqual(columns, ['boot_stage', 'start_time', 'end_time', 'instruction_count']);
    // guest/README.md: the boot runs the stages in the order the config lists them.
    assert.deepEqual(rows.map((r) => r[0]), config.stages.map((s) => s.name));
    for (const [stage, start, end] of rows) assert.ok(String(start) <= String(end), `${String(stage)}: start after end`);
    assert.equal(rows.reduce((n, r) => n + Number(r[3]), 0), instructionCount);

    const store = RecordingStore.open(file, { readOnly: true });
    try {
      // The recorder's own per-visit bookkeeping (boot_stages) must agree with the GROUP BY over the steps.
      const perStage = new Map<string, number>();
      for (const v of store.stages(sessionId)) perStage.set(v.stageName, (perStage.get(v.stageName) ?? 0) + v.instructionCount);
      assert.deepEqual(new Map(rows.map((r) => [String(r[0]), Number(r[3])])), perStage);
    } finally {
      store.close();
    }
  });

  test('4.1 timing: each stage begins at the function the guest runs there first', () => {
    const firstFunctions = viaStore(file, {
      id: 'first', title: 'first', takesSessionId: true,
      sql: `SELECT boot_stage, function_name, pc_address FROM instruction_traces WHERE session_id = ?1 AND sequence_number IN
              (SELECT MIN(sequence_number) FROM instruction_traces WHERE session_id = ?1 GROUP BY boot_stage)
            ORDER BY sequence_number`,
    }, sessionId).rows;
    // guest/README.md "Boot flow and memory map": the entry function of each stage.
    assert.deepEqual(firstFunctions.map((r) => [r[0], r[1]]), [
      ['elfloader', 'elfloader_start'], ['seL4_boot', 'sel4_boot'], ['rootserver_start', 'rootserver_main'],
      ['camkes_init', 'camkes_init'], ['freertos_main', 'freertos_main'], ['pattern_painting', 'vPaintMemoryPattern'],
      ['scheduler_start', 'scheduler_start'],
    ]);
    const nm = nmFunctions(config.elf as string);
    for (const [stage, fn, pc] of firstFunctions) {
      assert.equal(pc, nm.get(String(fn))?.start, `${String(stage)} should begin at ${String(fn)}'s first instruction`);
    }
  });

  test('4.1 evolution: every painted region climbs from 0 % to >= 99 %, as its raw bytes say', () => {
    const { columns, rows } = answer('seed-4.1-evolution');
    assert.deepEqual(columns, ['timestamp', 'region_name', 'match_percentage']);
    const painted = config.regions.filter((r) => r.pattern !== undefined).map((r) => r.name).sort();
    const byRegion = new Map<string, number[]>();
    for (const [, region, pct] of rows) {
      const list = byRegion.get(String(region)) ?? [];
      list.push(Number(pct));
      byRegion.set(String(region), list);
    }
    assert.deepEqual([...byRegion.keys()].sort(), painted);
    for (const [region, pcts] of byRegion) {
      assert.equal(pcts[0], 0, `${region} is not painted before the boot`);
      assert.ok(pcts[pcts.length - 1] >= 99, `${region} ends at ${pcts[pcts.length - 1]} %`);
    }

    // Recount the last snapshot's words from `SELECT data FROM memory_regions` (the raw bytes).
    const store = RecordingStore.open(file, { readOnly: true });
    try {
      const last = store.snapshots(sessionId).at(-1);
      assert.ok(last);
      for (const r of store.regions(last.snapshotId, { withData: true })) {
        if (r.expectedPattern === null) continue;
        const words = countPatternWords(r.data ?? new Uint8Array(), r.expectedPattern);
        assert.equal(r.patternMatches, words, `${r.regionName}: stored matches differ from the bytes`);
        assert.equal(byRegion.get(r.regionName)?.at(-1), (words * 100) / (r.size / 4));
      }
    } finally {
      store.close();
    }
  });

  test('4.2 lists the guest functions arm-none-eabi-nm knows, within their address ranges', () => {
    const { columns, rows } = answer('seed-4.2-functions');
    assert.deepEqual(columns, ['function_name', 'execution_count', 'active_stages', 'start_addr', 'end_addr']);
    const nm = nmFunctions(config.elf as string);
    for (const [name, count, , start, end] of rows) {
      const sym = nm.get(String(name));
      assert.ok(sym, `${String(name)} is not a function of ${config.elf}`);
      assert.ok(Number(count) > 0);
      assert.ok(Number(start) >= sym.start && Number(end) < sym.end, `${String(name)}: ${String(start)}-${String(end)} outside its symbol`);
    }
    const names = rows.map((r) => String(r[0]));
    for (const expected of ['elfloader_start', 'elfloader_main', 'copy_stage', 'sel4_boot', 'sel4_handle_syscall', 'rootserver_main',
      'camkes_init', 'freertos_main', 'vPaintMemoryPattern', 'scheduler_start', 'vTaskA', 'vTaskB', 'vTaskSwitchContext',
      'vPortTickHandler', 'irq_entry', 'boot_done']) {
      assert.ok(names.includes(expected), `${expected} executed but is missing from 4.2`);
    }
    // The painting loop dominates the boot (4 regions, 7,168 words, a few instructions each).
    assert.equal(names[0], 'vPaintMemoryPattern');
    const unknown = Number(viaStore(file, { id: 'u', title: 'u', takesSessionId: true,
      sql: "SELECT COUNT(*) FROM instruction_traces WHERE session_id = ? AND function_name = 'unknown'" }, sessionId).rows[0][0]);
    assert.equal(rows.reduce((n, r) => n + Number(r[1]), 0) + unknown, instructionCount);
  });

  test('4.3 returns the painting function\'s instructions joined to every region of the snapshots taken there', () => {
    const { columns, rows } = answer('seed-4.3-correlation');
    assert.deepEqual(columns, ['timestamp', 'pc_address', 'disassembly', 'region_name', 'pattern_matches']);
    const paint = nmFunctions(config.elf as string).get('vPaintMemoryPattern');
    assert.ok(paint);
    for (const [, pc] of rows) assert.ok(Number(pc) >= paint.start && Number(pc) < paint.end, `pc ${String(pc)} outside vPaintMemoryPattern`);
    const regionNames = config.regions.map((r) => r.name).sort();
    const byTimestamp = new Map<string, Value[][]>();
    for (const row of rows) byTimestamp.set(String(row[0]), [...(byTimestamp.get(String(row[0])) ?? []), row]);
    for (const [ts, group] of byTimestamp) assert.deepEqual(group.map((r) => String(r[3])).sort(), regionNames, `snapshot at ${ts}`);
    // The first is the stage snapshot at the function's first instruction, before a word is painted.
    assert.equal(rows[0][1], paint.start);
    for (const r of rows.filter((row) => row[0] === rows[0][0] && row[4] !== null)) assert.equal(r[4], 0, `${String(r[3])} already painted`);
    // Painting only adds matching words while the function runs.
    const seen = new Map<string, number>();
    for (const [, , , region, matches] of rows) {
      if (matches === null) continue;
      assert.ok(Number(matches) >= (seen.get(String(region)) ?? 0), `${String(region)} lost matching words while painting`);
      seen.set(String(region), Number(matches));
    }
    assert.ok([...seen.values()].some((m) => m > 0), 'no painted word seen in any painting snapshot');
  });

  test('deleteSession removes the boot, keeps another session whole, and the file passes integrity_check', () => {
    const copy = path.join(dir, 'delete.db');
    fs.copyFileSync(file, copy);
    const store = RecordingStore.open(copy, { log: () => undefined });
    try {
      const other = recordSyntheticSession(store, { instructions: 3000, seed: 7, description: 'the session that stays' });
      const sessionTables = ['instruction_traces', 'boot_stages', 'memory_snapshots', 'metrics'];
      const otherRows = (): number[] => sessionTables.map((t) => Number(store.query(`SELECT COUNT(*) FROM ${t} WHERE session_id = ?`, [other.sessionId]).rows[0][0]));
      const rowsBefore = otherRows();
      const stepsBefore = store.steps(other.sessionId, other.firstSeq, 3000);
      const regionsBefore = store.query(`SELECT r.region_id, r.checksum, b.data FROM snapshot_regions r JOIN region_blobs b USING (blob_id)
          WHERE r.snapshot_id IN (SELECT snapshot_id FROM memory_snapshots WHERE session_id = ?) ORDER BY r.region_id`, [other.sessionId]).rows;

      store.deleteSession(sessionId);

      assert.deepEqual(store.listSessions().map((s) => s.sessionId), [other.sessionId]);
      assert.deepEqual(otherRows(), rowsBefore);
      assert.deepEqual(store.steps(other.sessionId, other.firstSeq, 3000), stepsBefore);
      const regionsAfter = store.query(`SELECT r.region_id, r.checksum, b.data FROM snapshot_regions r JOIN region_blobs b USING (blob_id)
          WHERE r.snapshot_id IN (SELECT snapshot_id FROM memory_snapshots WHERE session_id = ?) ORDER BY r.region_id`, [other.sessionId]).rows;
      assert.deepEqual(regionsAfter, regionsBefore, 'the other session\'s region bytes changed');
      for (const t of sessionTables) {
        assert.deepEqual(store.query(`SELECT COUNT(*) FROM ${t} WHERE session_id = ?`, [sessionId]).rows, [[0]], `${t} still has the deleted session`);
      }
      assert.deepEqual(store.query('SELECT COUNT(*) FROM region_blobs WHERE blob_id NOT IN (SELECT blob_id FROM snapshot_regions)').rows, [[0]], 'orphaned region bytes');
      assert.deepEqual(store.query('SELECT COUNT(*) FROM snapshot_regions WHERE snapshot_id NOT IN (SELECT snapshot_id FROM memory_snapshots)').rows, [[0]]);
      assert.deepEqual(store.query('PRAGMA integrity_check').rows, [['ok']]);
      assert.deepEqual(store.query('PRAGMA foreign_key_check').rows, []);
    } finally {
      store.close();
    }
    assert.equal(execFileSync('sqlite3', [copy, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim(), 'ok');
  });
});
