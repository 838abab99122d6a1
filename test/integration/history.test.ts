// RecordingHistory (src/store/history.ts) against real SQLite files whose truth is known independently: a
// generated session keeps the guest's whole memory window per instruction while it writes steps, stores,
// snapshots and gaps through RecordingStore, and the answers are checked against that memory (never an
// invented byte) and against a brute-force reading of the rules (every byte the rules can know is known).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecordingStore, type SQLiteValue } from '../../src/store/recording-store';
import { RecordingHistory, hexOf } from '../../src/store/history';
import { prng, recordSyntheticSession } from '../../src/store/synthetic-session';
import { BootscopeError } from '../../src/common/errors';
import { BASE, SPAN, REGIONS, generate, type Generated, type Write } from '../support/history-fixture';

const quiet = (): void => undefined;
let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-history-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** The rules of history.ts, byte by byte over every row: what a byte at `offset` before `n` is, if known. */
function bruteForce(g: Generated, n: number, offset: number, writesRecorded: boolean): number | undefined {
  const address = BASE + offset;
  const gapIn = (lo: number, hi: number): boolean => g.gaps.some((x) => x.after >= lo && x.after <= hi);
  const inRegion = REGIONS.some((r) => address >= r.start && address < r.start + r.size);
  const covering = (w: Write): boolean => address >= w.address && address < w.address + w.value.length;
  if (!writesRecorded) {
    const s = g.snapshots.find((x) => x.seq === n);
    return s && inRegion ? (g.snapshotBytes.get(s.id) as Uint8Array)[offset] : undefined;
  }
  const before = g.snapshots.filter((s) => s.seq <= n && inRegion && !gapIn(s.seq, n - 1));
  const snapshot = before[before.length - 1];
  const lastWrite = g.writes.filter((w) => w.seq < n && covering(w) && !gapIn(w.seq, n - 1) && (!snapshot || w.seq >= snapshot.seq)).pop();
  if (lastWrite) return lastWrite.value[address - lastWrite.address];
  if (snapshot) return (g.snapshotBytes.get(snapshot.id) as Uint8Array)[offset];
  const later = g.snapshots.find((s) => s.seq > n && inRegion);
  if (later && !gapIn(n, later.seq - 1) && !g.writes.some((w) => w.seq >= n && w.seq < later.seq && covering(w))) {
    return (g.snapshotBytes.get(later.id) as Uint8Array)[offset];
  }
  return undefined;
}

function checkView(history: RecordingHistory, g: Generated, n: number, offset: number, length: number, writesRecorded = true): void {
  const view = history.memoryAt(g.sessionId, n, BigInt(BASE + offset), length);
  for (let k = 0; k < length; k++) {
    const expected = bruteForce(g, n, offset + k, writesRecorded);
    const where = `byte 0x${(BASE + offset + k).toString(16)} before instruction ${n}`;
    if (view.known[k]) {
      assert.equal(view.bytes[k], g.truth[n][offset + k], `${where}: known, so it must be the guest's real byte`);
    }
    assert.equal(view.known[k] === 1, expected !== undefined, `${where}: the rules say ${expected === undefined ? 'unknown' : 'known'}`);
    if (expected !== undefined) assert.equal(view.bytes[k], expected, where);
  }
  // Runs tile the view and name real sources.
  let covered = 0;
  for (const run of view.runs) {
    assert.equal(run.offset, covered);
    covered += run.length;
    if (run.source.kind === 'write') {
      const seq = run.source.sequenceNumber;
      assert.ok(g.writes.some((w) => w.seq === seq), `run at ${run.offset} names write ${seq}, which exists`);
      assert.ok(seq < n);
    }
  }
  assert.equal(covered, length);
}

describe('memoryAt on a plugin-capture recording (stores, snapshots, gaps)', () => {
  let store: RecordingStore;
  let g: Generated;
  let history: RecordingHistory;
  before(() => {
    store = RecordingStore.open(path.join(dir, 'plugin.db'), { keyframeInterval: 64, log: quiet });
    // Snapshots right after gaps too (451, 901): they show what the unrecorded instructions did, so they say
    // nothing about memory before the gap (between the gaps after 300 and 450 only stores are known).
    g = generate(store, { steps: 1500, seed: 11, snapshotsAt: [200, 451, 600, 601, 901, 1100], gapsAfter: [300, 450, 900, 1300] });
    history = new RecordingHistory(store);
  });
  after(() => store.close());

  test('every byte at random instructions is the real byte or unknown exactly where the rules say', () => {
    const rand = prng(5);
    for (let i = 0; i < 120; i++) {
      const n = 1 + Math.floor(rand() * g.steps);
      const offset = Math.floor(rand() * (SPAN - 40));
      checkView(history, g, n, offset, 1 + Math.floor(rand() * 40));
    }
  });

  test('the whole window around snapshots, gaps and the ends', () => {
    for (const n of [1, 2, 199, 200, 201, 300, 301, 400, 449, 450, 451, 452, 600, 601, 602, 800, 900, 901, 1100, 1299, 1300, 1301, 1500]) checkView(history, g, n, 0, SPAN);
  });

  test('before the first snapshot, bytes come from the later snapshot when nothing wrote them in between', () => {
    const view = history.memoryAt(g.sessionId, 5, BigInt(BASE + 16), 128);
    const fromLater = view.runs.filter((r) => r.source.kind === 'snapshot' && r.source.sequenceNumber === 200);
    assert.ok(fromLater.length > 0, 'some bytes of region low are known from the snapshot at 200');
  });

  test('a byte written after the last gap reads from the write, and names it', () => {
    const w = g.writes.find((x) => x.seq > 1301 && x.seq < 1450 && x.value.length === 4) as Write;
    const view = history.memoryAt(g.sessionId, w.seq + 1, BigInt(w.address), 4);
    const last = view.runs[view.runs.length - 1];
    assert.deepEqual(last.source, { kind: 'write', sequenceNumber: w.seq }, 'the last byte comes from the write just before');
    assert.deepEqual(view.bytes.subarray(last.offset), w.value.subarray(last.offset));
  });

  test('outside every region and never written since the last gap: unknown, with the gap in the reason', () => {
    // Bytes 0..15 are in no region; find one nobody wrote between the gap after 1300 and 1500.
    const offset = [...Array(16).keys()].find((k) => !g.writes.some((w) => w.seq > 1300 && BASE + k >= w.address && BASE + k < w.address + w.value.length));
    assert.ok(offset !== undefined, 'the generated session leaves one such byte');
    const view = history.memoryAt(g.sessionId, 1500, BigInt(BASE + offset), 1);
    assert.equal(view.known[0], 0);
    assert.ok(view.runs[0].source.kind === 'unknown' && view.runs[0].source.reason.includes('gap after instruction 1300'), JSON.stringify(view.runs[0].source));
  });

  test('whoWrote lists the overlapping writes newest first with old values from before each', () => {
    const address = BigInt(BASE + 170);
    const rows = history.whoWrote(g.sessionId, address, 4, { limit: 1000 });
    const expected = g.writes.filter((w) => w.address < BASE + 174 && w.address + w.value.length > BASE + 170).reverse();
    assert.deepEqual(rows.map((r) => [r.sequence_number, r.address, r.value]), expected.map((w) => [w.seq, `0x${w.address.toString(16)}`, hexOf(w.value)]));
    for (const r of rows) {
      assert.equal(r.function_name, r.sequence_number % 100 < 50 ? 'fill' : 'copy');
      assert.equal(r.pc, `0x${(0x40000000 + r.sequence_number * 4).toString(16)}`);
      const offset = Number(BigInt(r.address) - BigInt(BASE));
      const truthBefore = hexOf(g.truth[r.sequence_number].subarray(offset, offset + r.size));
      if (r.old_value !== null) assert.equal(r.old_value, truthBefore, `old value of write ${r.sequence_number}`);
    }
    assert.ok(rows.some((r) => r.old_value !== null), 'some old values are known');
  });

  test('whoWrote with before/after bounds and lastWriteBefore', () => {
    const address = BigInt(BASE + 40);
    const all = history.whoWrote(g.sessionId, address, 8, { limit: 10_000 });
    const bounded = history.whoWrote(g.sessionId, address, 8, { after: 300, before: 700, limit: 10_000 });
    assert.deepEqual(bounded, all.filter((r) => r.sequence_number > 300 && r.sequence_number < 700));
    assert.deepEqual(history.lastWriteBefore(g.sessionId, address, 8, 700), all.find((r) => r.sequence_number < 700));
    assert.deepEqual(history.whoWrote(g.sessionId, address, 8, { limit: 3 }), all.slice(0, 3));
  });

  test('gapsBetween says which gaps a move crosses, in either direction', () => {
    assert.deepEqual(history.gapsBetween(g.sessionId, 450, 451).map((x) => x.afterSequenceNumber), [450]);
    assert.deepEqual(history.gapsBetween(g.sessionId, 451, 900).map((x) => x.afterSequenceNumber), []);
    assert.deepEqual(history.gapsBetween(g.sessionId, 1500, 1).map((x) => x.afterSequenceNumber), [300, 450, 900, 1300]);
    assert.equal(history.gapsBetween(g.sessionId, 1, 1500)[0].reason, 'continue-unrecorded');
  });

  test('an instruction or session that does not exist is a usage error naming the valid range', () => {
    assert.throws(() => history.memoryAt(g.sessionId, 1501, BigInt(BASE), 4), (e: unknown) => e instanceof BootscopeError && e.code === 'usage' && /instruction 1501 .* instructions 1 to 1500/.test(e.message));
    assert.throws(() => history.memoryAt(99, 1, BigInt(BASE), 4), (e: unknown) => e instanceof BootscopeError && /session 99 does not exist/.test(e.message));
  });
});

describe('memoryAt on a gdbstub recording (snapshots only)', () => {
  let store: RecordingStore;
  let g: Generated;
  let history: RecordingHistory;
  before(() => {
    store = RecordingStore.open(path.join(dir, 'gdbstub.db'), { log: quiet });
    g = generate(store, { steps: 400, seed: 3, snapshotsAt: [1, 250], gapsAfter: [], recordWrites: false });
    history = new RecordingHistory(store);
  });
  after(() => store.close());

  test('memory is known only at a snapshot instruction, and only inside its regions', () => {
    assert.equal(history.writesRecorded(g.sessionId), false);
    for (const n of [1, 2, 249, 250, 251, 400]) checkView(history, g, n, 0, SPAN, false);
    const view = history.memoryAt(g.sessionId, 251, BigInt(BASE + 20), 4);
    assert.ok(view.runs[0].source.kind === 'unknown' && /gdbstub capture/.test(view.runs[0].source.reason));
  });
});

describe('firstPatternBreak', () => {
  test('names the first store of a non-pattern byte after the region was complete', () => {
    const store = RecordingStore.open(path.join(dir, 'pattern.db'), { log: quiet });
    try {
      const sessionId = store.beginSession({ arch: 'arm' });
      const region = new Uint8Array(64);
      const regs = { pc: 0n, r0: 0n };
      const pattern = new Uint8Array([0xef, 0xbe, 0xad, 0xde]);
      for (let seq = 1; seq <= 40; seq++) {
        store.appendStep({ sessionId, sequenceNumber: seq, pc: BigInt(0x1000 + seq * 4), bytes: new Uint8Array(4), disassembly: 'str', registers: { ...regs, pc: BigInt(0x1000 + seq * 4) }, sp: 0n, functionName: seq < 20 ? 'paint' : 'overflow', bootStage: 'main' });
        if (seq === 20) store.addSnapshot({ sessionId, sequenceNumber: seq, trigger: 'manual', regions: [{ name: 'stack', start: BASE, data: region.slice(), expectedPattern: 0xdeadbeef }] });
        if (seq <= 16) { region.set(pattern, (seq - 1) * 4); store.appendMemoryWrite(sessionId, seq, BigInt(BASE + (seq - 1) * 4), pattern); }
        // After the snapshot: a pattern store (no break), a store outside the region, then a straddling
        // store whose only non-pattern byte is inside: that one breaks it.
        if (seq === 25) store.appendMemoryWrite(sessionId, seq, BigInt(BASE + 8), pattern);
        if (seq === 27) store.appendMemoryWrite(sessionId, seq, BigInt(BASE + 64), new Uint8Array([1, 2, 3, 4]));
        if (seq === 30) store.appendMemoryWrite(sessionId, seq, BigInt(BASE - 2), new Uint8Array([9, 9, 0xef, 0x00]));
      }
      store.endSession(sessionId, 'completed');
      const history = new RecordingHistory(store);
      const found = history.firstPatternBreak(sessionId, 'stack');
      assert.ok(found);
      assert.deepEqual(found.completeAt.sequenceNumber, 20);
      assert.equal(found.write?.sequence_number, 30);
      assert.equal(found.write?.function_name, 'overflow');
      assert.equal(found.write?.old_value, null, 'the two bytes below the region were never recorded, so the old value is unknown');
      assert.deepEqual(found.gaps, []);
    } finally {
      store.close();
    }
  });
});

describe('the synthetic boot with stores (the benchmark\'s recording)', () => {
  test('each snapshot is the previous one plus the recorded stores between, except the UART (a device)', () => {
    const store = RecordingStore.open(path.join(dir, 'synthetic.db'), { log: quiet });
    try {
      const s = recordSyntheticSession(store, { instructions: 30_000, memoryWrites: true, snapshotEvery: 3000 });
      assert.ok(s.memoryWrites > 5000, `${s.memoryWrites} stores`);
      const history = new RecordingHistory(store);
      const snaps = store.snapshots(s.sessionId);
      let uartDiffers = false;
      for (let i = 1; i < snaps.length; i++) {
        const seq = snaps[i].sequenceNumber as number;
        for (const r of store.regions(snaps[i].snapshotId, { withData: true })) {
          // Memory before the instruction before the snapshot, then that instruction's own stores.
          const view = history.memoryAt(s.sessionId, seq - 1, r.startAddress, r.size);
          const bytes = Uint8Array.from(view.bytes);
          for (const w of history.whoWrote(s.sessionId, r.startAddress, r.size, { after: seq - 2, before: seq })) {
            const value = Buffer.from(w.value, 'hex');
            for (let j = 0; j < value.length; j++) {
              const off = Number(BigInt(w.address) - r.startAddress) + j;
              if (off >= 0 && off < r.size) bytes[off] = value[j];
            }
          }
          assert.ok(!view.known.includes(0), `${r.regionName} is fully known before ${seq - 1}`);
          if (r.regionName === 'uart_region') { uartDiffers ||= hexOf(bytes) !== hexOf(r.data as Uint8Array); continue; }
          assert.equal(hexOf(bytes), hexOf(r.data as Uint8Array), `${r.regionName} at snapshot ${snaps[i].snapshotId} (instruction ${seq})`);
        }
      }
      assert.ok(uartDiffers, 'the UART registers change without a store somewhere, so replaying stores cannot show them');
    } finally {
      store.close();
    }
  });
});

describe('docs/recording-format.md: memory at N in plain SQL', () => {
  test('the documented query gives memoryAt\'s bytes wherever rules 1 and 2 decide, NULL elsewhere', () => {
    const doc = fs.readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'recording-format.md'), 'utf8');
    const found = /```sql\n(-- Memory before instruction \?2[\s\S]*?)```/.exec(doc);
    assert.ok(found, 'the query is in the document');
    const sql: string = found[1];
    const store = RecordingStore.open(path.join(dir, 'doc-sql.db'), { log: quiet });
    try {
      const g = generate(store, { steps: 1500, seed: 11, snapshotsAt: [200, 600, 601, 1100], gapsAfter: [450, 900, 1300] });
      const history = new RecordingHistory(store);
      let compared = 0;
      for (const n of [1, 150, 200, 201, 451, 700, 901, 1101, 1301, 1500]) {
        const view = history.memoryAt(g.sessionId, n, BigInt(BASE), SPAN);
        const rows: SQLiteValue[][] = store.query(sql, [g.sessionId, n, BASE, SPAN]).rows;
        assert.equal(rows.length, SPAN);
        for (const run of view.runs) {
          for (let k = run.offset; k < run.offset + run.length; k++) {
            const byte = rows[k][1];
            if (run.source.kind === 'snapshot' && run.source.sequenceNumber > n) { assert.equal(byte, null, 'rule 3 is not in the query'); continue; }
            assert.equal(byte, view.known[k] ? view.bytes[k].toString(16).padStart(2, '0').toUpperCase() : null, `byte ${k} before ${n}`);
            compared++;
          }
        }
      }
      assert.ok(compared > 2500, `${compared} bytes compared`);
    } finally {
      store.close();
    }
  });
});
