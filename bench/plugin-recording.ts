// End-to-end plugin capture figures for `npm run bench` (issue 13): the whole recorder path — QEMU 10 with
// libbootscope.so, the stream decoder, the shared StepEnricher, memory_writes and snapshots — into a real
// recording file, against the gdbstub stepper recording the same guest on the same QEMU. Workload: Debian's
// U-Boot for qemu_arm64 (`-bios`, package u-boot-qemu), millions of instructions of real firmware. Also the
// store's write path alone with plugin-shaped rows (delta registers + stores), which must exceed 1 M rows/s.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRecordingConfig, type RecordingConfig } from '../src/common/config';
import { PluginRecordingSession } from '../src/recorder/plugin-session';
import { RecordingSession, statusFor } from '../src/recorder/session';
import { RecordingStore } from '../src/store/recording-store';

const REPO = path.resolve(__dirname, '..');
const UBOOT = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
/** Instructions recorded with plugin capture (from reset: a fixed prefix of U-Boot's boot). */
const PLUGIN_INSTRUCTIONS = Number(process.env.BENCH_PLUGIN_E2E ?? 5_000_000);
/** Seconds the gdbstub stepper records the same guest (its rate is flat: one round trip per instruction). */
const GDBSTUB_SECONDS = Number(process.env.BENCH_GDBSTUB_SECONDS ?? 8);
const STORE_ROWS = 1_000_000;

function ubootConfig(database: string, capture: 'plugin' | 'gdbstub', maxInstructions: number): RecordingConfig {
  return parseRecordingConfig({
    request: 'launch',
    capture,
    qemu: { binary: path.join(REPO, '.cache', 'qemu10', 'bin', 'qemu-system-aarch64'), machine: 'virt', cpu: 'cortex-a57', memory: '1024M', bios: UBOOT, extraArgs: ['-icount', 'shift=0,sleep=on'] },
    database,
    maxInstructions,
    stepMode: 'interrupts',
    // One RAM region (U-Boot's early stack and data below its relocation target) snapshotted every 1 M instructions.
    regions: [{ name: 'ram_low', start: '0x40000000', size: '0x10000' }],
    snapshots: { onStageChange: false, everyInstructions: 1_000_000 },
  }, REPO);
}

function fileBytes(db: string): number {
  return ['', '-wal'].reduce((n, s) => n + (fs.statSync(db + s, { throwIfNoEntry: false })?.size ?? 0), 0);
}

async function recordPlugin(db: string): Promise<{ instructions: number; seconds: number; sessionSeconds: number; bytes: number; writes: number }> {
  const t0 = performance.now();
  const session = await PluginRecordingSession.start({ config: ubootConfig(db, 'plugin', PLUGIN_INSTRUCTIONS) });
  const t1 = performance.now();
  const result = await session.record();
  const t2 = performance.now();
  const { status, reason } = statusFor(result.reason);
  const instructions = session.recorder.instructionCount;
  await session.close(status, reason);
  const t3 = performance.now();
  const store = RecordingStore.open(db, { readOnly: true });
  const writes = Number(store.query('SELECT COUNT(*) FROM memory_writes').rows[0][0]);
  store.close();
  return { instructions, seconds: (t2 - t1) / 1000, sessionSeconds: (t3 - t0) / 1000, bytes: fileBytes(db), writes };
}

async function recordGdbstub(db: string): Promise<{ instructions: number; seconds: number }> {
  const cfg = { ...ubootConfig(db, 'gdbstub', 0), timeLimitSeconds: GDBSTUB_SECONDS };
  const session = await RecordingSession.start({ config: cfg });
  const t1 = performance.now();
  const result = await session.record();
  const seconds = (performance.now() - t1) / 1000;
  const instructions = session.recorder.instructionCount;
  const { status, reason } = statusFor(result.reason);
  await session.close(status, reason);
  return { instructions, seconds };
}

/** The write path alone: rows as plugin capture appends them (pc + changed registers), one store per 5 rows. */
function storeRate(db: string): { rows_per_s: number; writes: number } {
  const store = RecordingStore.open(db);
  const sessionId = store.beginSession({ arch: 'aarch64' });
  const bytes = new Uint8Array([0x1f, 0x20, 0x03, 0xd5]);
  const value = new Uint8Array(8);
  const full = new Map<string, bigint>();
  for (let i = 0; i <= 30; i++) full.set(`x${i}`, BigInt(i));
  full.set('sp', 0x40010000n);
  full.set('cpsr', 0x3c5n);
  let writes = 0;
  const t0 = performance.now();
  for (let i = 1; i <= STORE_ROWS; i++) {
    const pc = 0x40000000n + BigInt((i % 4096) * 4);
    const regs = i === 1 ? new Map(full) : new Map<string, bigint>([['x3', BigInt(i)], ['pc', pc]]);
    if (i === 1) regs.set('pc', pc);
    if (i % 5 === 0) { store.appendMemoryWrite(sessionId, i - 1, 0x41000000n + BigInt(i % 512) * 8n, value); writes++; }
    store.appendStep({ sessionId, sequenceNumber: i, pc, bytes, disassembly: 'nop', registers: regs, sp: 0x40010000n, functionName: 'unknown', bootStage: 'boot', exceptionLevel: 1, thumb: false });
  }
  store.endSession(sessionId, 'completed', 'bench');
  const seconds = (performance.now() - t0) / 1000;
  store.close();
  return { rows_per_s: Math.round(STORE_ROWS / seconds), writes };
}

export async function pluginRecordingBench(tmp: string): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = { workload: `U-Boot qemu_arm64 (${UBOOT}, -bios, -icount shift=0,sleep=on) on QEMU 10` };
  result.store_plugin_rows = { ...storeRate(path.join(tmp, 'plugin-store.db')), rows: STORE_ROWS, goal_rows_per_s: 1_000_000 };
  process.stderr.write('bench: plugin store rate done\n');
  if (!fs.existsSync(path.join(REPO, '.cache', 'qemu10', '.complete'))) return { ...result, skipped: 'QEMU 10 missing: run bash scripts/qemu10.sh' };
  if (!fs.existsSync(UBOOT)) return { ...result, skipped: `${UBOOT} missing: apt-get install u-boot-qemu` };
  const pluginDb = path.join(tmp, 'plugin-e2e.db');
  const p = await recordPlugin(pluginDb);
  process.stderr.write(`bench: plugin capture: ${p.instructions} instructions in ${p.seconds.toFixed(2)} s\n`);
  const g = await recordGdbstub(path.join(tmp, 'gdbstub-e2e.db'));
  process.stderr.write(`bench: gdbstub capture: ${g.instructions} instructions in ${g.seconds.toFixed(2)} s\n`);
  const pluginRate = p.instructions / p.seconds;
  const gdbRate = g.instructions / g.seconds;
  return {
    ...result,
    plugin_instructions: p.instructions,
    plugin_record_s: +p.seconds.toFixed(3),
    plugin_session_s: +p.sessionSeconds.toFixed(3),
    plugin_instr_per_s: Math.round(pluginRate),
    plugin_memory_writes: p.writes,
    plugin_file_bytes: p.bytes,
    plugin_bytes_per_instruction: +(p.bytes / p.instructions).toFixed(1),
    gdbstub_instructions: g.instructions,
    gdbstub_instr_per_s: Math.round(gdbRate),
    plugin_vs_gdbstub: +(pluginRate / gdbRate).toFixed(1),
    goals: { plugin_instr_per_s: 250_000, plugin_vs_gdbstub: 100, bytes_per_instruction: 150 },
  };
}
