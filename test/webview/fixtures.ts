// Recordings for the webview and notebook tests, written through the RecordingStore API: a realistic
// synthetic boot (seed stages and regions, stack corrupted when the scheduler starts) and a small session
// whose guest-derived strings are markup, to prove every panel shows them as text.
// Files are cached under .cache/webview-fixtures/ (keyed by FIXTURE_VERSION) and written atomically, so
// test files running in parallel share them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordingStore } from '../../src/store/recording-store';
import { recordSyntheticSession } from '../../src/store/synthetic-session';

const FIXTURE_VERSION = 3; // 3: schema version 2
const CACHE = path.resolve(__dirname, '../../.cache/webview-fixtures');

export const HOSTILE = '<img src=x onerror=alert(1)>';
export const HOSTILE_STAGE = '<script>alert(2)</script>';
export const HOSTILE_DISASSEMBLY = 'ldr r0, [r1] <b onmouseover=alert(3)>';

export interface DemoRecording {
  file: string;
  /** The realistic boot session. */
  bootSession: number;
  /** The session with hostile names. */
  hostileSession: number;
  instructions: number;
}

function cached(name: string, build: (tmp: string) => void): string {
  fs.mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, `${name}.v${FIXTURE_VERSION}.db`);
  if (fs.existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) fs.rmSync(f, { force: true });
  build(tmp); // closes its store: the WAL is checkpointed into the file and removed
  fs.renameSync(tmp, file);
  return file;
}

function writeHostileSession(store: RecordingStore): number {
  const sessionId = store.beginSession({ arch: 'arm', description: `hostile names ${HOSTILE}` });
  const regs = new Map<string, bigint>([['r0', 0n], ['sp', 0x41001000n], ['pc', 0x40000000n], ['cpsr', 0x600001d3n]]);
  const region = new Uint8Array(256);
  const view = new DataView(region.buffer);
  let us = 1_795_100_000_000_000;
  for (let seq = 1; seq <= 300; seq++) {
    regs.set('pc', BigInt(0x40000000 + seq * 4));
    regs.set('r0', BigInt(seq));
    if (seq === 150) for (let w = 0; w < 64; w++) view.setUint32(w * 4, 0xdeadbeef, true);
    if (seq === 250) view.setUint32(40, 0x41414141, true);
    us += 100;
    store.appendStep({
      sessionId, sequenceNumber: seq, timestampUs: us, pc: BigInt(0x40000000 + seq * 4), bytes: new Uint8Array([0, 0, 0x91, 0xe5]),
      disassembly: HOSTILE_DISASSEMBLY, registers: regs, sp: 0x41001000n, functionName: seq < 200 ? HOSTILE : 'main',
      bootStage: seq < 100 ? HOSTILE_STAGE : 'freertos_main',
    });
    if (seq === 1 || seq === 100 || seq === 200 || seq === 260) {
      store.addSnapshot({ sessionId, sequenceNumber: seq, trigger: seq === 1 ? 'start' : 'stage', regions: [{ name: HOSTILE, start: 0x42000000, data: region.slice(), expectedPattern: 0xdeadbeef }] });
    }
  }
  store.endSession(sessionId, 'completed', 'hostile fixture complete');
  return sessionId;
}

/** The standard demo recording for panel tests: a 40k-step boot plus the hostile-names session. */
export function demoRecording(instructions = 40_000): DemoRecording {
  let bootSession = 1;
  let hostileSession = 2;
  const file = cached(`demo-${instructions}`, (tmp) => {
    const store = RecordingStore.open(tmp, { create: true, log: () => undefined });
    try {
      bootSession = recordSyntheticSession(store, { instructions, description: 'synthetic ARM32 boot (stack corrupted at scheduler start)' }).sessionId;
      hostileSession = writeHostileSession(store);
    } finally {
      store.close();
    }
  });
  return { file, bootSession, hostileSession, instructions };
}

/** A 1M-step recording for the timeline's scale test (about 30 s to write the first time, then cached). */
export function largeRecording(instructions = 1_000_000): DemoRecording {
  const file = cached(`large-${instructions}`, (tmp) => {
    const store = RecordingStore.open(tmp, { create: true, log: () => undefined });
    try {
      recordSyntheticSession(store, { instructions, snapshots: true });
    } finally {
      store.close();
    }
  });
  return { file, bootSession: 1, hostileSession: -1, instructions };
}

/** A private copy of a recording (for tests that write to it). */
export function copyRecording(file: string, dir: string): string {
  const copy = path.join(dir, path.basename(file).replace(/\.db$/, '.copy.db'));
  fs.copyFileSync(file, copy);
  return copy;
}
