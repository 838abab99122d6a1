// A recording whose memory is known independently of history.ts: generate() writes steps, stores (as
// plugin capture does), snapshots and trace gaps through RecordingStore while keeping the guest's whole
// memory window per instruction, so tests compare memoryAt, who-wrote and the CLI against the truth.
import type { RecordingStore } from '../../src/store/recording-store';
import { prng } from '../../src/store/synthetic-session';

/** The window of guest memory the generated sessions touch. */
export const BASE = 0x41000000;
export const SPAN = 320;
/** Snapshot regions: two inside the window with a hole between them, so views straddle their edges. */
export const REGIONS = [
  { name: 'low', start: BASE + 16, size: 128 },
  { name: 'high', start: BASE + 160, size: 128 },
];

export interface Write { seq: number; address: number; value: Uint8Array }
export interface Snapshot { seq: number; id: number }
export interface Gap { after: number }

export interface Generated {
  sessionId: number;
  steps: number;
  /** truth[n] = the window before instruction n executes (index 0 unused). */
  truth: Uint8Array[];
  writes: Write[];
  snapshots: Snapshot[];
  gaps: Gap[];
  /** Window bytes per snapshot, in order. */
  snapshotBytes: Map<number, Uint8Array>;
}

export interface GenerateOptions {
  steps: number;
  seed: number;
  /** Instructions at which a snapshot is taken (before they execute). */
  snapshotsAt: number[];
  /** After these instructions, unrecorded ones change memory (a trace gap). */
  gapsAfter: number[];
  /** Record the stores (plugin capture); false models a gdbstub recording. */
  recordWrites?: boolean;
}

export function generate(store: RecordingStore, o: GenerateOptions): Generated {
  const rand = prng(o.seed);
  const sessionId = store.beginSession({ arch: 'arm', description: `history seed ${o.seed}` });
  const memory = new Uint8Array(SPAN);
  for (let i = 0; i < SPAN; i++) memory[i] = Math.floor(rand() * 256);
  const truth: Uint8Array[] = [new Uint8Array(0)];
  const writes: Write[] = [];
  const snapshots: Snapshot[] = [];
  const snapshotBytes = new Map<number, Uint8Array>();
  const regs = new Map<string, bigint>([['r0', 0n], ['sp', BigInt(BASE + SPAN)], ['pc', 0x40000000n], ['cpsr', 0x1d3n]]);
  for (let seq = 1; seq <= o.steps; seq++) {
    regs.set('pc', 0x40000000n + BigInt(seq * 4));
    regs.set('r0', BigInt(seq));
    store.appendStep({
      sessionId, sequenceNumber: seq, pc: regs.get('pc') ?? 0n, bytes: new Uint8Array([0, 0, 0x80, 0xe5]), disassembly: 'str r0, [r0]',
      registers: regs, sp: regs.get('sp') ?? 0n, functionName: seq % 100 < 50 ? 'fill' : 'copy', bootStage: seq < o.steps / 2 ? 'early' : 'late',
      exceptionLevel: 1, thumb: false,
    });
    truth.push(memory.slice());
    if (o.snapshotsAt.includes(seq)) {
      const id = store.addSnapshot({
        sessionId, sequenceNumber: seq, trigger: 'interval',
        regions: REGIONS.map((r) => ({ name: r.name, start: r.start, data: memory.slice(r.start - BASE, r.start - BASE + r.size), physical: false })),
      });
      snapshots.push({ seq, id });
      snapshotBytes.set(id, memory.slice());
    }
    // 0-2 stores per instruction, sizes as the plugin reports them, some straddling the window's regions.
    const stores = rand() < 0.5 ? 0 : rand() < 0.7 ? 1 : 2;
    for (let k = 0; k < stores; k++) {
      const size = [1, 2, 4, 4, 4, 8, 16][Math.floor(rand() * 7)];
      const offset = Math.floor(rand() * (SPAN - size + 1));
      const value = new Uint8Array(size);
      for (let j = 0; j < size; j++) value[j] = Math.floor(rand() * 256);
      memory.set(value, offset);
      writes.push({ seq, address: BASE + offset, value });
      if (o.recordWrites !== false) store.appendMemoryWrite(sessionId, seq, BigInt(BASE + offset), value);
    }
    if (o.gapsAfter.includes(seq)) {
      // Unrecorded instructions change a few bytes.
      for (let j = 0; j < 24; j++) memory[Math.floor(rand() * SPAN)] = Math.floor(rand() * 256);
      store.addTraceGap(sessionId, seq, 'continue-unrecorded', 1000);
    }
  }
  store.endSession(sessionId, 'completed');
  return { sessionId, steps: o.steps, truth, writes, snapshots, gaps: o.gapsAfter.map((after) => ({ after })), snapshotBytes };
}

