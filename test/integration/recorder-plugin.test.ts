// Plugin capture end to end against the gdbstub stepper and against itself (issue 13, items 2-4): the same
// rows as the stepper on the same QEMU 10 (-icount), memory_writes that rebuild every snapshot, the corrupted
// build's overflow store, a window from a symbol, a throttled store, QEMU killed mid-capture, and the CLI's
// --capture choice with its one-line reason. Real QEMU (scripts/qemu10.sh and the system's), real SQLite files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeStatus } from '../../src/arch';
import type { RecordingConfig } from '../../src/common/config';
import { PluginRecordingSession } from '../../src/recorder/plugin-session';
import { chooseCapture } from '../../src/recorder/capture-choice';
import { RecordingStore, type StepRecord } from '../../src/store/recording-store';
import { loadSymbols } from '../../src/symbols';
import { demoConfig, recordDemo, GUEST_DIR, type DemoName } from '../support/demo-recording';
import { DETERMINISTIC, qemu10, STEPPED } from '../support/plugin-fixtures';

const q = qemu10();
const skip = 'skip' in q ? q.skip : false;
const binary = (arch: 'arm' | 'aarch64'): string => ('skip' in q ? '' : q.binaries[arch]);
const ROOT = path.resolve(__dirname, '..', '..');

/** Region bytes of every snapshot of a session, by snapshot sequence number then region name. */
function snapshotBytes(store: RecordingStore, sessionId: number): Array<{ seq: number; trigger: string; regions: Map<string, { start: bigint; data: Uint8Array; md5: string; matches: number | null }> }> {
  return store.snapshots(sessionId).map((s) => ({
    seq: s.sequenceNumber ?? 0,
    trigger: s.trigger ?? '',
    regions: new Map(store.regions(s.snapshotId, { withData: true }).map((r) => [r.regionName, { start: r.startAddress, data: r.data as Uint8Array, md5: r.checksum ?? '', matches: r.patternMatches }])),
  }));
}

/** Every memory_writes row of a session, in the order the instructions made them. */
function memoryWrites(store: RecordingStore, sessionId: number): Array<{ seq: number; address: bigint; value: Uint8Array }> {
  return store.query('SELECT sequence_number, address, value FROM memory_writes WHERE session_id = ? ORDER BY sequence_number, rowid', [sessionId]).rows
    .map((r) => ({ seq: Number(r[0]), address: BigInt(r[1] as number), value: r[2] as Uint8Array }));
}

/** `base` with every write of an instruction before `beforeSeq` put in place. */
function replay(base: Uint8Array, start: bigint, writes: ReadonlyArray<{ seq: number; address: bigint; value: Uint8Array }>, beforeSeq: number): Uint8Array {
  const out = Uint8Array.from(base);
  const end = start + BigInt(out.length);
  for (const w of writes) {
    if (w.seq >= beforeSeq) break;
    for (let i = 0; i < w.value.length; i++) {
      const a = w.address + BigInt(i);
      if (a >= start && a < end) out[Number(a - start)] = w.value[i];
    }
  }
  return out;
}

function allSteps(store: RecordingStore, sessionId: number): StepRecord[] {
  const out: StepRecord[] = [];
  for (let from = 1; ; from += 5000) {
    const chunk = store.steps(sessionId, from, 5000);
    out.push(...chunk);
    if (chunk.length < 5000) return out;
  }
}

/** Blocks the thread (a slow disk, a busy machine): the consumer stops reading and the plugin must wait. */
function throttle(store: RecordingStore, ms: number): void {
  const real = store.flush.bind(store);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  store.flush = () => { Atomics.wait(cell, 0, 0, ms); real(); };
}

for (const [build, arch] of [['demo-aarch64', 'aarch64'], ['demo-arm32', 'arm']] as const) {
  describe(`${build}: plugin capture and gdbstub capture of the same guest on QEMU 10 (-icount)`, { skip }, () => {
    let dir: string;
    let store: RecordingStore;
    let gdbId: number;
    let pluginId: number;
    let pluginWarnings: string[];
    let gdb: StepRecord[];
    let plugin: StepRecord[];

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `bootscope-plugin-rec-${arch}-`));
      const db = path.join(dir, 'both.db');
      // The stepper needs icount sleep=on under QEMU 10 (plugin-fixtures.ts); the free run is deterministic with sleep=off.
      gdbId = (await recordDemo(build, db, { capture: 'gdbstub' }, { qemuBinary: binary(arch), extraArgs: STEPPED })).sessionId;
      const p = await recordDemo(build, db, { capture: 'plugin' }, { qemuBinary: binary(arch), extraArgs: DETERMINISTIC });
      pluginId = p.sessionId;
      pluginWarnings = p.warnings;
      store = RecordingStore.open(db, { readOnly: true });
      gdb = allSteps(store, gdbId);
      plugin = allSteps(store, pluginId);
    });
    after(() => {
      store?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('every step until the first interrupt is the same row: pc, bytes, disassembly, registers, function, line, stage, EL, Thumb', () => {
      // The stepper also stops at an interrupt's vector without executing anything (plugin/README.md): the
      // traces are the same instruction for instruction up to the first such step, an exception entry.
      let i = 0;
      for (; i < Math.min(gdb.length, plugin.length); i++) {
        const [g, p] = [gdb[i], plugin[i]];
        if (g.pc !== p.pc) break;
        assert.deepEqual([...p.registers].sort(), [...g.registers].filter(([n]) => p.registers.has(n)).sort(), `registers at step ${i + 1}`);
        assert.deepEqual(
          [Buffer.from(p.bytes ?? []).toString('hex'), p.disassembly, p.functionName, p.sourceFile, p.sourceLine, p.bootStage, p.exceptionLevel, p.thumb, p.sp],
          [Buffer.from(g.bytes ?? []).toString('hex'), g.disassembly, g.functionName, g.sourceFile, g.sourceLine, g.bootStage, g.exceptionLevel, g.thumb, g.sp], `row ${i + 1}`);
      }
      assert.ok(i > 20_000, `the traces agree for ${i} steps`);
      if (i < Math.min(gdb.length, plugin.length)) {
        // Where they part, one of the two takes the timer interrupt (-icount sleep=on vs off): an exception entry.
        const mode = (s: StepRecord): string => decodeStatus(arch, s.registers.get('cpsr') ?? 0n).mode;
        const entry = mode(plugin[i]) !== mode(plugin[i - 1]) || mode(gdb[i]) !== mode(gdb[i - 1]) || (i + 1 < gdb.length && mode(gdb[i + 1]) !== mode(gdb[i - 1]));
        assert.ok(entry, `step ${i + 1}: plugin pc 0x${plugin[i].pc.toString(16)} (${mode(plugin[i])}), gdbstub pc 0x${gdb[i].pc.toString(16)} (${mode(gdb[i])}): not an interrupt`);
      }
      // The register set is the core set plus pc on both sides.
      assert.equal(plugin[0].registers.size, arch === 'arm' ? 17 : 34);
      assert.equal(plugin[plugin.length - 1].functionName, 'boot_done');
    });

    test('snapshots taken at the same instruction have the same MD5 and pattern results (device regions left out, with a warning)', () => {
      const mine = snapshotBytes(store, pluginId);
      const theirs = new Map(snapshotBytes(store, gdbId).map((s) => [s.seq, s]));
      let compared = 0;
      let agreeUntil = 0;
      while (agreeUntil < Math.min(gdb.length, plugin.length) && gdb[agreeUntil].pc === plugin[agreeUntil].pc) agreeUntil++;
      for (const s of mine) {
        const other = theirs.get(s.seq);
        if (!other || s.seq > agreeUntil) continue;
        for (const [name, r] of s.regions) {
          const g = other.regions.get(name);
          assert.ok(g, `${name} at ${s.seq}`);
          assert.equal(r.md5, g.md5, `${name} at instruction ${s.seq} (${s.trigger})`);
          assert.equal(r.matches, g.matches, `${name} pattern matches at ${s.seq}`);
        }
        compared++;
      }
      assert.ok(compared >= 8, `${compared} snapshots compared`);
      assert.deepEqual([...mine[0].regions.keys()], ['guest_base', 'stack_region', 'data_region', 'heap_region', 'pattern_region']);
      assert.ok(pluginWarnings.some((w) => /regions\[5\] "uart_region" .*not RAM/.test(w)), pluginWarnings.join('\n'));
      assert.ok(!pluginWarnings.some((w) => /differ from the gdbstub's read at the stop/.test(w)), pluginWarnings.join('\n'));
    });

    test('memory_writes replayed onto the start snapshot give every later snapshot, the end one included, byte for byte', () => {
      const snaps = snapshotBytes(store, pluginId);
      const writes = memoryWrites(store, pluginId);
      assert.ok(writes.length > 5000, `${writes.length} writes`);
      const start = snaps[0];
      assert.equal(start.trigger, 'start');
      assert.equal(snaps[snaps.length - 1].trigger, 'end');
      for (const s of snaps.slice(1)) {
        for (const [name, r] of s.regions) {
          const base = start.regions.get(name);
          assert.ok(base);
          const rebuilt = replay(base.data, base.start, writes, s.seq);
          assert.ok(Buffer.from(rebuilt).equals(Buffer.from(r.data)), `${name} at instruction ${s.seq} (${s.trigger})`);
        }
      }
      // Each write belongs to a recorded step.
      assert.ok(writes[writes.length - 1].seq <= plugin.length);
    });
  });
}

describe('demo-aarch64-corrupted: the overflow store into stack_region is in memory_writes with its pc', { skip }, () => {
  test('the first write of 0x0b0b0000 at stack_region + 0xf40 comes from vTaskB', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-overflow-'));
    try {
      const rec = await recordDemo('demo-aarch64-corrupted', path.join(dir, 'c.db'), { capture: 'plugin' }, { qemuBinary: binary('aarch64') });
      const store = RecordingStore.open(rec.database, { readOnly: true });
      try {
        const rows = store.query(`SELECT w.sequence_number, w.size, hex(w.value), t.pc_address, t.function_name FROM memory_writes w
          JOIN instruction_traces t ON t.session_id = w.session_id AND t.sequence_number = w.sequence_number
          WHERE w.session_id = ? AND w.address <= ? AND w.address + w.size > ? ORDER BY w.sequence_number`, [rec.sessionId, 0x41000f40, 0x41000f40]).rows;
        const overflow = rows.find((r) => String(r[2]).startsWith('00000B0B'));
        assert.ok(overflow, `writes at 0x41000f40: ${JSON.stringify(rows)}`);
        assert.equal(overflow[4], 'vTaskB');
        const symbols = loadSymbols([path.join(GUEST_DIR, 'build', 'demo-aarch64-corrupted.elf')]);
        assert.equal(symbols.functionAt(BigInt(overflow[3] as number))?.name, 'vTaskB');
      } finally {
        store.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('demo-aarch64: a record window starting at a symbol late in the boot', { skip }, () => {
  let dir: string;
  let store: RecordingStore;
  let full: StepRecord[];
  let windowed: StepRecord[];
  let windowId: number;
  let fullId: number;
  let scheduler: bigint;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-window-'));
    const db = path.join(dir, 'w.db');
    const opts = { qemuBinary: binary('aarch64'), extraArgs: DETERMINISTIC };
    fullId = (await recordDemo('demo-aarch64', db, { capture: 'plugin' }, opts)).sessionId;
    windowId = (await recordDemo('demo-aarch64', db, { capture: 'plugin', window: { start: { symbol: 'scheduler_start' } } }, opts)).sessionId;
    store = RecordingStore.open(db, { readOnly: true });
    full = allSteps(store, fullId);
    windowed = allSteps(store, windowId);
    const s = loadSymbols([path.join(GUEST_DIR, 'build', 'demo-aarch64.elf')]).lookup('scheduler_start');
    assert.ok(s !== undefined);
    scheduler = s;
  });
  after(() => {
    store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the first row is scheduler_start\'s first instruction, and trace_gaps says how many ran before it', () => {
    const k = full.findIndex((s) => s.pc === scheduler);
    assert.ok(k > 20_000, `scheduler_start first runs at instruction ${k + 1}`);
    assert.equal(windowed[0].pc, scheduler);
    assert.equal(windowed[0].sequenceNumber, 1);
    const gaps = store.query('SELECT after_sequence_number, reason, instructions_skipped FROM trace_gaps WHERE session_id = ?', [windowId]).rows;
    assert.deepEqual(gaps, [[0, 'window', k]]);
    // From there on, the same instructions with the same registers, to boot_done.
    assert.equal(windowed.length, full.length - k);
    for (let i = 0; i < windowed.length; i++) {
      assert.equal(windowed[i].pc, full[k + i].pc, `window step ${i + 1}`);
      assert.deepEqual([...windowed[i].registers].sort(), [...full[k + i].registers].sort(), `registers at window step ${i + 1}`);
    }
  });

  test('its start snapshot (a gdbstub read at the window\'s first instruction) equals the full run\'s memory there', () => {
    const k = full.findIndex((s) => s.pc === scheduler);
    const start = snapshotBytes(store, windowId)[0];
    assert.equal(start.trigger, 'start');
    const base = snapshotBytes(store, fullId)[0];
    const writes = memoryWrites(store, fullId);
    for (const [name, r] of start.regions) {
      const b = base.regions.get(name);
      assert.ok(b);
      assert.ok(Buffer.from(replay(b.data, b.start, writes, k + 1)).equals(Buffer.from(r.data)), name);
    }
  });
});

describe('demo-arm32: a slow store and a killed QEMU', { skip }, () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-slow-')); });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  const config = (db: string): RecordingConfig => {
    const c = demoConfig('demo-arm32', db, { capture: 'plugin' });
    return { ...c, qemu: { ...c.qemu!, binary: binary('arm'), extraArgs: [...c.qemu!.extraArgs, ...DETERMINISTIC] } };
  };

  test('a store that commits 40x slower loses nothing: same rows and stores as an unthrottled run', async () => {
    const fast = await recordDemo('demo-arm32' as DemoName, path.join(dir, 'fast.db'), { capture: 'plugin' }, { qemuBinary: binary('arm'), extraArgs: DETERMINISTIC });
    const slowDb = path.join(dir, 'slow.db');
    const slowStore = RecordingStore.open(slowDb, { batchRows: 500 });
    throttle(slowStore, 40);
    const t0 = Date.now();
    const slow = await recordDemo('demo-arm32', slowDb, { capture: 'plugin' }, { qemuBinary: binary('arm'), extraArgs: DETERMINISTIC, store: slowStore });
    const seconds = (Date.now() - t0) / 1000;
    slowStore.close();
    const a = RecordingStore.open(fast.database, { readOnly: true });
    const b = RecordingStore.open(slowDb, { readOnly: true });
    try {
      const sig = (s: RecordingStore, id: number): string[] => s.query(`SELECT COUNT(*), SUM(pc_address), MAX(sequence_number), (SELECT COUNT(*) FROM memory_writes WHERE session_id = ?),
        (SELECT SUM(address) FROM memory_writes WHERE session_id = ?) FROM instruction_traces WHERE session_id = ?`, [id, id, id]).rows[0].map(String);
      assert.deepEqual(sig(b, slow.sessionId), sig(a, fast.sessionId));
      assert.ok(seconds > 2, `the throttled run took ${seconds} s: the throttle was in effect`);
      assert.equal(b.getSession(slow.sessionId)?.status, 'completed');
    } finally {
      a.close();
      b.close();
    }
  });

  test('QEMU killed mid-capture: the session ends qemu-exited saying so, every committed row readable', async () => {
    const db = path.join(dir, 'killed.db');
    const s = RecordingStore.open(db, { batchRows: 500 });
    throttle(s, 40);
    const live: { session?: PluginRecordingSession } = {};
    let killed = false;
    const store = s;
    const realFlush = store.flush.bind(store);
    store.flush = () => {
      realFlush();
      if (!killed && live.session && (store.committedSequence(live.session.sessionId) ?? 0) >= 3000) {
        killed = true;
        process.kill(live.session.qemu.pid, 'SIGKILL');
      }
    };
    // A 4 KiB plugin buffer: records reach the throttled reader as the guest runs, so QEMU is blocked on a
    // full socket, well before boot_done, when the kill comes.
    const session = await PluginRecordingSession.start({ config: config(db), store, pluginBufferBytes: 4096 });
    live.session = session;
    const result = await session.record();
    assert.equal(result.reason, 'target-exited');
    const cause = await session.qemuExitCause(result.stop);
    await session.close('qemu-exited', `QEMU exited during recording: ${cause.reason}`);
    store.close();
    const r = RecordingStore.open(db, { readOnly: true });
    try {
      const info = r.getSession(session.sessionId);
      assert.equal(info?.status, 'qemu-exited');
      assert.match(info?.endReason ?? '', /killed by SIGKILL/);
      assert.match(info?.endReason ?? '', /without its END record/);
      const [count, min, max] = r.query('SELECT COUNT(*), MIN(sequence_number), MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [session.sessionId]).rows[0].map(Number);
      assert.ok(count >= 3000 && count < 25_000, `${count} rows: killed mid-capture`);
      assert.equal(max - min + 1, count);
      assert.equal(info?.instructionCount, count);
      const lastWrite = Number(r.query('SELECT MAX(sequence_number) FROM memory_writes WHERE session_id = ?', [session.sessionId]).rows[0][0]);
      assert.ok(lastWrite <= max);
      assert.deepEqual(r.query('PRAGMA integrity_check').rows, [['ok']]);
    } finally {
      r.close();
    }
  });
});

describe('CLI: record --capture and its one-line reason', { skip }, () => {
  const CLI = path.join(ROOT, 'dist', 'cli.js');
  let dir: string;
  let config10: string;
  const systemQemu = spawnSync('qemu-system-arm', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  const systemVersion = /version (\d+\.\d+\.\d+)/.exec(systemQemu)?.[1];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-cli-'));
    const raw = JSON.parse(fs.readFileSync(path.join(GUEST_DIR, 'demo-arm32.json'), 'utf8')) as { qemu: { binary: string; kernel: string }; elf: string };
    raw.qemu.binary = binary('arm');
    raw.qemu.kernel = path.join(GUEST_DIR, raw.qemu.kernel);
    raw.elf = path.join(GUEST_DIR, raw.elf);
    config10 = path.join(dir, 'qemu10.json');
    fs.writeFileSync(config10, JSON.stringify(raw));
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  const cli = (args: string[]): { code: number | null; stderr: string; stdout: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, stderr: r.stderr, stdout: r.stdout };
  };

  test('QEMU 10 without --capture: plugin capture, and one stderr line says why', () => {
    const r = cli(['record', '--config', config10, '--db', path.join(dir, 'a.db')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => /capture/.test(l) && /^bootscope: (plugin|gdbstub) capture/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^bootscope: plugin capture: .*qemu-system-arm is QEMU 10\.\d+\.\d+ \(>= 9\.2\) and the capture plugin is built$/);
  });

  test('--capture gdbstub on QEMU 10 steps, and says it was asked for', () => {
    const r = cli(['record', '--config', config10, '--db', path.join(dir, 'b.db'), '--capture', 'gdbstub', '--max-instructions', '300']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^bootscope: gdbstub capture \(single-stepping\), as --capture asks$/m);
    assert.match(r.stderr, /300 instructions/);
  });

  test(`the system's QEMU ${systemVersion ?? '?'} (< 9.2): gdbstub by default with the reason; --capture plugin is an error naming the version and the way out`, { skip: !systemVersion || Number(systemVersion.split('.')[0]) >= 10 ? 'no QEMU older than 9.2 on this machine' : false }, async () => {
    const cfg = demoConfig('demo-arm32', path.join(dir, 'c.db'));
    const auto = await chooseCapture(cfg);
    assert.equal(auto.capture, 'gdbstub');
    assert.equal(auto.reason, `gdbstub capture (single-stepping): qemu-system-arm is QEMU ${systemVersion}, and plugin capture needs QEMU 9.2 or newer (plugin API 4); run \`bash scripts/qemu10.sh\` (Debian 13's QEMU 10 beside the system's) and set "qemu.binary" to .cache/qemu10/bin/qemu-system-arm or -aarch64`);
    const r = cli(['record', '--config', path.join(GUEST_DIR, 'demo-arm32.json'), '--db', path.join(dir, 'c.db'), '--capture', 'plugin']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--capture: plugin capture is not possible here: qemu-system-arm is QEMU ${String(systemVersion).replace(/\./g, '\\.')}.*scripts/qemu10\\.sh.*qemu\\.binary.*--capture gdbstub`));
    assert.equal(fs.existsSync(path.join(dir, 'c.db')), false, 'nothing recorded');
  });
});
