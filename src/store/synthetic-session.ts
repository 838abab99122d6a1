// A deterministic recording with the shape of a real ARM32 boot (seed 2.3.2 stages, 2.3.3 regions): pc
// advancing through ~20 functions, 1-2 registers changing per step, 7 stages with re-entries (~15
// transitions), and a snapshot of the seed's six regions at every transition, most of them unchanged while
// the pattern region gets painted. Used by the store/analysis tests and by measureStore() (bench).
import * as fs from 'node:fs';
import { RecordingStore, type OpenOptions } from './recording-store';

export interface SyntheticSessionOptions {
  instructions: number;
  /** Deterministic PRNG seed. */
  seed?: number;
  /** Function names to use instead of the default ones (e.g. hostile names for escaping tests). */
  functionNames?: string[];
  /** Stage names (in first-entry order) instead of the seed's seven. */
  stageNames?: string[];
  /** Take snapshots at stage transitions (default true). */
  snapshots?: boolean;
  description?: string;
  /** µs between consecutive steps (default 150, about what single-stepping QEMU takes). */
  stepUs?: number;
  /**
   * Record every store as plugin capture does (memory_writes): pushes, pops and locals on a stack that
   * moves with sp, the painting's pattern words, the scheduler's corruption, and now and then a 16-byte
   * copy; every region's bytes in the snapshots follow them. The UART registers change without a store
   * (a device), as on real hardware. Off by default: the other sessions' data stays as it was.
   */
  memoryWrites?: boolean;
  /** Also take a snapshot every N instructions (trigger 'interval'); 0 or undefined: only at transitions. */
  snapshotEvery?: number;
}

export interface SyntheticSession {
  sessionId: number;
  /** memory_writes rows written (0 unless memoryWrites). */
  memoryWrites: number;
  /** Stage name per visit, in order. */
  visits: string[];
  snapshotIds: number[];
  /** Sequence number of the first step (steps are firstSeq .. firstSeq + instructions - 1). */
  firstSeq: number;
}

/** Seed 2.3.2 stage names. */
export const SEED_STAGE_NAMES = ['elfloader', 'seL4_boot', 'rootserver_start', 'camkes_init', 'freertos_main', 'pattern_painting', 'scheduler_start'];

/** Seed 2.3.3 regions (name, start, size) and the pattern painted into some of them (seed 5.1). */
export const SEED_REGIONS: ReadonlyArray<{ name: string; start: number; size: number; pattern: number | null }> = [
  { name: 'guest_base', start: 0x40000000, size: 0x1000, pattern: null },
  { name: 'stack_region', start: 0x41000000, size: 0x1000, pattern: 0x12345678 },
  { name: 'data_region', start: 0x41200000, size: 0x1000, pattern: 0xcafebabe },
  { name: 'heap_region', start: 0x41400000, size: 0x1000, pattern: 0x55aa55aa },
  { name: 'pattern_region', start: 0x42000000, size: 0x4000, pattern: 0xdeadbeef },
  { name: 'uart_region', start: 0x9000000, size: 0x100, pattern: null },
];

const DEFAULT_FUNCTIONS = ['_start', 'elfloader_main', 'load_images', 'init_kernel', 'map_kernel_window', 'init_cpu',
  'create_rootserver_objects', 'camkes_start', 'run_init', 'main', 'vMemoryPatternPaint', 'vMemoryPatternVerify', 'memset',
  'memcpy', 'prvInitialiseNewTask', 'xTaskCreate', 'vTaskStartScheduler', 'xPortStartScheduler', 'uart_putc', 'unknown'];

const MNEMONICS = ['ldr r3, [r2, #4]', 'str r1, [r0]', 'add r0, r0, #1', 'cmp r3, #0', 'bne 0x40000a10', 'mov r2, r1',
  'sub sp, sp, #8', 'push {r4, lr}', 'pop {r4, pc}', 'bl 0x40000c00', 'ldr r0, [pc, #12]', 'orr r1, r1, #0x80'];

/** mulberry32: small deterministic PRNG (also drives the RSP decoder fuzz test). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Visit order: the seven stages with the painting/main pair re-entered, 15 visits in all. */
function visitPlan(stages: string[]): string[] {
  if (stages.length < 7) return stages;
  const [elf, sel4, root, camkes, main, paint, sched] = stages;
  return [elf, sel4, root, camkes, main, paint, main, paint, main, paint, main, paint, main, sched, main];
}

/** Writes one synthetic session through the public write API (as the recorder does) and ends it. */
export function recordSyntheticSession(store: RecordingStore, opts: SyntheticSessionOptions): SyntheticSession {
  const rand = prng(opts.seed ?? 1);
  const functions = opts.functionNames ?? DEFAULT_FUNCTIONS;
  const stageNames = opts.stageNames ?? SEED_STAGE_NAMES;
  const plan = visitPlan(stageNames);
  const stepUs = opts.stepUs ?? 150;
  const sessionId = store.beginSession({
    arch: 'arm', description: opts.description ?? 'synthetic ARM32 boot', qemuVersion: '7.2.0', freertosVersion: '10.5.1',
  });
  const regs = new Map<string, bigint>();
  for (let i = 0; i <= 12; i++) regs.set(`r${i}`, BigInt(Math.floor(rand() * 0x10000)));
  regs.set('sp', 0x41001000n);
  regs.set('lr', 0x40000100n);
  regs.set('pc', 0x40000000n);
  regs.set('cpsr', 0x600001d3n);
  const regNames = [...regs.keys()].filter((n) => n !== 'pc' && n !== 'sp');

  const memory = SEED_REGIONS.map((r) => new Uint8Array(r.size));
  for (let i = 0; i < memory[0].length; i++) memory[0][i] = Math.floor(rand() * 256); // boot code: static
  // Painting order: stack, data, heap, then the pattern region, word by word, during the painting stage.
  const paintTargets = [1, 2, 3, 4];
  let paintTarget = 0;
  let paintedWords = 0;
  let corrupted = false;
  const snapshotIds: number[] = [];
  const firstSeq = 1;
  let writes = 0;
  /** One store by step `seq`: recorded, and applied to the regions it lands in. */
  const store32 = (seq: number, address: number, value: Uint8Array): void => {
    store.appendMemoryWrite(sessionId, seq, BigInt(address), value);
    writes++;
    for (let k = 0; k < SEED_REGIONS.length; k++) {
      const r = SEED_REGIONS[k];
      for (let j = 0; j < value.length; j++) {
        const off = address + j - r.start;
        if (off >= 0 && off < r.size) memory[k][off] = value[j];
      }
    }
  };
  const le32 = (v: number): Uint8Array => new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
  let timestampUs = 1_795_000_000_000_000; // 2026-11-18, fixed so files are reproducible
  let functionIndex = 0;
  let pc = 0x40000000;
  const perVisit = Math.max(1, Math.floor(opts.instructions / plan.length));
  let seq = firstSeq;
  for (let v = 0; v < plan.length; v++) {
    const stage = plan[v];
    const count = v === plan.length - 1 ? opts.instructions - perVisit * (plan.length - 1) : perVisit;
    for (let i = 0; i < count; i++, seq++) {
      if (rand() < 0.02) { functionIndex = Math.floor(rand() * functions.length); pc = 0x40000000 + functionIndex * 0x400 + Math.floor(rand() * 64) * 4; } else pc += 4;
      regs.set('pc', BigInt(pc));
      const changes = 1 + (rand() < 0.4 ? 1 : 0);
      for (let c = 0; c < changes; c++) {
        const name = regNames[Math.floor(rand() * regNames.length)];
        regs.set(name, BigInt(Math.floor(rand() * 0x100000000)));
      }
      if (rand() < 0.05) regs.set('sp', (regs.get('sp') ?? 0n) + (rand() < 0.5 ? 8n : -8n));
      // The stores happen while step `seq` executes: after its row (state before it) and its snapshot.
      const stores: Array<[number, Uint8Array]> = [];
      if (stage === stageNames[5] && paintTarget < paintTargets.length && rand() < 0.2) {
        const k = paintTargets[paintTarget];
        if (opts.memoryWrites) stores.push([SEED_REGIONS[k].start + paintedWords * 4, le32(SEED_REGIONS[k].pattern ?? 0)]);
        else new DataView(memory[k].buffer).setUint32(paintedWords * 4, SEED_REGIONS[k].pattern ?? 0, true);
        if (++paintedWords * 4 >= memory[k].length) { paintTarget++; paintedWords = 0; }
      }
      if (stage === stageNames[6] && !corrupted) {
        // The scheduler's first task frame lands in the painted stack: the corruption analysis finds it.
        if (opts.memoryWrites) for (let a = 0x800; a < 0x840; a += 4) stores.push([SEED_REGIONS[1].start + a, le32(0x11111111)]);
        else memory[1].fill(0x11, 0x800, 0x840);
        corrupted = true;
      }
      if (opts.memoryWrites) {
        // A stack that moves with sp: pushes store two words below it, locals land just above it, and now
        // and then a 16-byte copy (memcpy with NEON/STP) goes to the data region.
        const sp = Number(regs.get('sp') ?? 0n);
        const r = rand();
        if (r < 0.05) stores.push([sp - 8, le32(Math.floor(rand() * 0x100000000))], [sp - 4, le32(pc + 8)]);
        else if (r < 0.25) stores.push([sp + Math.floor(rand() * 16) * 4, le32(Math.floor(rand() * 0x100000000))]);
        else if (r < 0.26) { const b = new Uint8Array(16); for (let j = 0; j < 16; j++) b[j] = Math.floor(rand() * 256); stores.push([SEED_REGIONS[2].start + Math.floor(rand() * 255) * 16, b]); }
        else if (r < 0.28) stores.push([sp + Math.floor(rand() * 64), new Uint8Array([Math.floor(rand() * 256)])]);
      }
      if (rand() < 0.001) memory[5][Math.floor(rand() * memory[5].length)] = Math.floor(rand() * 256); // UART registers
      timestampUs += stepUs;
      const word = Math.floor(rand() * 0x100000000);
      store.appendStep({
        sessionId, sequenceNumber: seq, timestampUs, pc: BigInt(pc),
        bytes: new Uint8Array([word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, (word >>> 24) & 0xff]),
        disassembly: MNEMONICS[Math.floor(rand() * MNEMONICS.length)], registers: regs, sp: regs.get('sp') ?? 0n,
        functionName: functions[functionIndex], bootStage: stage, exceptionLevel: null, thumb: false,
      });
      const interval = opts.snapshotEvery !== undefined && opts.snapshotEvery > 0 && seq % opts.snapshotEvery === 0;
      if ((i === 0 || interval) && opts.snapshots !== false) {
        snapshotIds.push(store.addSnapshot({
          sessionId, sequenceNumber: seq, trigger: v === 0 && i === 0 ? 'start' : i === 0 ? 'stage' : 'interval',
          regions: SEED_REGIONS.map((r, k) => ({ name: r.name, start: r.start, data: memory[k].slice(), expectedPattern: r.pattern, physical: false })),
        }));
      }
      for (const [address, value] of stores) store32(seq, address, value);
    }
  }
  store.endSession(sessionId, 'completed', 'synthetic session complete');
  return { sessionId, memoryWrites: writes, visits: plan, snapshotIds, firstSeq };
}

export interface StoreMeasurement {
  instructions: number;
  /** appendStep + commits, excluding snapshots. */
  stepsPerSecond: number;
  fileBytes: number;
  bytesPerInstruction: number;
  snapshots: number;
  regionBlobs: number;
  seconds: number;
}

/** Records a realistic synthetic session into a fresh `file` and reports speed and size (for bench/). */
export function measureStore(file: string, instructions = 100_000, openOptions: OpenOptions = {}): StoreMeasurement {
  for (const f of [file, `${file}-journal`]) fs.rmSync(f, { force: true });
  const started = performance.now();
  const store = RecordingStore.open(file, openOptions);
  let session: SyntheticSession;
  try {
    session = recordSyntheticSession(store, { instructions });
  } finally {
    store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const fileBytes = fs.statSync(file).size;
  const reader = RecordingStore.open(file, { readOnly: true });
  let blobs: number;
  try {
    blobs = Number(reader.query('SELECT COUNT(*) FROM region_blobs').rows[0][0]);
  } finally {
    reader.close();
  }
  return {
    instructions, stepsPerSecond: instructions / seconds, fileBytes, bytesPerInstruction: fileBytes / instructions,
    snapshots: session.snapshotIds.length, regionBlobs: blobs, seconds,
  };
}
