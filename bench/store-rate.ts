// store_rows_per_s: how fast RecordingStore takes realistic step rows into a fresh file. Rows are shaped as the
// recorder writes them (recorder.ts emitRow): a NEW Map of the 17 ARM32 registers per step (as
// GdbTarget.decodeRegisters returns it) with the pc and one or two others changed, 4 instruction bytes, a
// Capstone-like disassembly, function name, source file and line, stage, exception level, thumb. No
// snapshots: this is the step path only. The rows are made in slices of 10 000 outside the clock (making
// them is the recorder's cost, not the store's); the clock runs from open to close (last commit included).
import * as fs from 'node:fs';
import { RecordingStore, type OpenOptions, type StepRow } from '../src/store/recording-store';
import { prng } from '../src/store/synthetic-session';

export interface StoreRate {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Rows per second of this process's CPU time (user + system) in the store: what an idle core gives,
   * whatever else the (shared) machine runs meanwhile. */
  rowsPerCpuSecond: number;
  /** Rows per second of CPU time of the writer's own thread (process.threadCpuUsage, Node >= 23.9; else
   * null): what bounds a recorder when the other core is free for the store's worker thread. */
  rowsPerWriterThreadCpuSecond: number | null;
  fileBytes: number;
  bytesPerRow: number;
}

const FUNCTIONS = ['elfloader_main', 'load_images', 'init_kernel', 'map_kernel_window', 'memset', 'memcpy', 'vMemoryPatternPaint', 'uart_putc'];
const STAGES = ['elfloader', 'seL4_boot', 'rootserver_start', 'camkes_init', 'freertos_main', 'pattern_painting', 'scheduler_start'];
const MNEMONICS = ['ldr r3, [r2, #4]', 'str r1, [r0]', 'add r0, r0, #1', 'cmp r3, #0', 'bne #0x40000a10', 'mov r2, r1', 'push {r4, lr}'];
const NAMES = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'lr', 'pc', 'cpsr'];

/** Store options a variant of the benchmark changes (compare them with --compare, below). */
export type StoreVariant = Pick<OpenOptions, 'checkpointInWorker'>;

export function measureStoreRate(file: string, rows: number, variant: StoreVariant = {}): StoreRate {
  for (const suffix of ['', '-journal', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  const rand = prng(7);
  const values = NAMES.map(() => BigInt(Math.floor(rand() * 0x10000)));
  values[13] = 0x41001000n;
  values[16] = 0x600001d3n;
  const bytes = [0, 1, 2, 3].map((k) => new Uint8Array([0x04 * k, 0x30, 0x92, 0xe5]));
  let cpu = 0;
  const cpuSince = (c: NodeJS.CpuUsage): number => { const d = process.cpuUsage(c); return (d.user + d.system) / 1000; };
  const threadCpuUsage = (process as { threadCpuUsage?: (prev?: NodeJS.CpuUsage) => NodeJS.CpuUsage }).threadCpuUsage;
  let threadCpu = 0;
  let t0Thread = threadCpuUsage?.call(process);
  const threadSince = (): void => {
    if (!threadCpuUsage || !t0Thread) return;
    const d = threadCpuUsage.call(process, t0Thread);
    threadCpu += (d.user + d.system) / 1000;
  };
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  const store = RecordingStore.open(file, { log: () => {}, ...variant });
  const sessionId = store.beginSession({ arch: 'arm', description: 'store rate' });
  let elapsed = performance.now() - t0;
  cpu += cpuSince(c0);
  threadSince();
  let pc = 0x40000000;
  let timestampUs = 1_795_000_000_000_000;
  const SLICE = 10_000;
  for (let first = 1; first <= rows; first += SLICE) {
    const slice: StepRow[] = [];
    for (let seq = first; seq < first + SLICE && seq <= rows; seq++) {
      pc = rand() < 0.02 ? 0x40000000 + Math.floor(rand() * 0x4000) * 4 : pc + 4;
      values[15] = BigInt(pc);
      values[Math.floor(rand() * 13)] = BigInt(Math.floor(rand() * 0x100000000));
      if (rand() < 0.4) values[Math.floor(rand() * 13)] = BigInt(Math.floor(rand() * 0x100000000));
      const registers = new Map<string, bigint>();
      for (let k = 0; k < NAMES.length; k++) registers.set(NAMES[k], values[k]);
      timestampUs += 3;
      slice.push({
        sessionId, sequenceNumber: seq, timestampUs, pc: values[15], bytes: bytes[seq & 3],
        disassembly: MNEMONICS[seq % MNEMONICS.length], registers, sp: values[13],
        functionName: FUNCTIONS[(pc >>> 10) % FUNCTIONS.length], bootStage: STAGES[Math.floor((seq * STAGES.length) / (rows + 1))],
        exceptionLevel: 1, thumb: false, sourceFile: 'guest/src/elfloader.c', sourceLine: 40 + (pc & 0xff),
      });
    }
    c0 = process.cpuUsage();
    t0Thread = threadCpuUsage?.call(process);
    t0 = performance.now();
    for (const step of slice) store.appendStep(step);
    elapsed += performance.now() - t0;
    cpu += cpuSince(c0);
    threadSince();
  }
  c0 = process.cpuUsage();
  t0Thread = threadCpuUsage?.call(process);
  t0 = performance.now();
  store.endSession(sessionId, 'completed', 'store rate');
  store.close();
  elapsed += performance.now() - t0;
  cpu += cpuSince(c0);
  threadSince();
  const seconds = elapsed / 1000;
  let fileBytes = 0;
  for (const suffix of ['', '-wal']) fileBytes += fs.existsSync(file + suffix) ? fs.statSync(file + suffix).size : 0;
  return { rows, seconds, rowsPerSecond: rows / seconds, rowsPerCpuSecond: rows / (cpu / 1000),
    rowsPerWriterThreadCpuSecond: threadCpuUsage ? rows / (threadCpu / 1000) : null, fileBytes, bytesPerRow: fileBytes / rows };
}

/** Before/after within one run on a shared machine: the variants interleaved, `rounds` times each. */
export function compareStoreVariants(file: string, rows: number, variants: Record<string, StoreVariant>, rounds: number): Record<string, StoreRate[]> {
  const out: Record<string, StoreRate[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, variant] of Object.entries(variants)) (out[name] ??= []).push(measureStoreRate(file, rows, variant));
  }
  return out;
}

if (require.main === module) {
  // node --import tsx bench/store-rate.ts [file] [rows] [--compare [rounds]]
  const args = process.argv.slice(2);
  const compare = args.indexOf('--compare');
  const positional = compare < 0 ? args : args.slice(0, compare);
  const file = positional[0] ?? '/tmp/store-rate.db';
  const rows = Number(positional[1] ?? 200_000);
  if (compare < 0) {
    console.log(JSON.stringify(measureStoreRate(file, rows)));
  } else {
    const rounds = Number(args[compare + 1] ?? 3);
    const results = compareStoreVariants(file, rows, { autoCheckpoint: { checkpointInWorker: false }, workerCheckpoint: { checkpointInWorker: true } }, rounds);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const [name, rates] of Object.entries(results)) {
      console.log(JSON.stringify({
        variant: name, rows, rounds,
        rowsPerSecond: Math.round(median(rates.map((r) => r.rowsPerSecond))),
        rowsPerCpuSecond: Math.round(median(rates.map((r) => r.rowsPerCpuSecond))),
        rowsPerWriterThreadCpuSecond: Math.round(median(rates.map((r) => r.rowsPerWriterThreadCpuSecond ?? 0))),
        bytesPerRow: Math.round(median(rates.map((r) => r.bytesPerRow)) * 10) / 10,
        each: rates.map((r) => [Math.round(r.rowsPerSecond), Math.round(r.rowsPerCpuSecond), Math.round(r.rowsPerWriterThreadCpuSecond ?? 0)]),
      }));
    }
  }
}
