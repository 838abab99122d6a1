// replay: the replay debugger on a 10 M-instruction synthetic recording with stores (the cached file bench/history.ts also uses),
// driven through the built adapter (dist/adapter.js) by DebugClient, i.e. with every DAP round trip VS Code
// makes. Issue 14's goal: moving to any instruction and showing its registers and a 4 KiB memory view in
// < 100 ms; stepping back as quick as stepping forward.
//
//   replay_open_ms            launch → stopped at the first instruction (session, snapshot index, first window)
//   replay_goto_view_ms       bootscope/goto N (random) → stopped → stackTrace → scopes → Registers → readMemory 4 KiB
//   replay_step_forward_ms    stepIn (instruction) → stopped → stackTrace → Registers, from random positions
//   replay_step_back_ms       stepBack (instruction), the same
//   replay_continue_*         continue / reverse-continue with a breakpoint never reached: the whole session searched
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../src/store/recording-store';
import { prng, recordSyntheticSession } from '../src/store/synthetic-session';

const SAMPLES = 30;
const ADAPTER = path.resolve(__dirname, '..', 'dist', 'adapter.js');

function stats(xs: number[]): { median: number; p90: number; max: number; samples: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => +s[Math.min(s.length - 1, Math.floor(s.length * q))].toFixed(2);
  return { median: at(0.5), p90: at(0.9), max: +s[s.length - 1].toFixed(2), samples: s.length };
}

const INSTRUCTIONS = Number(process.env.BENCH_HISTORY_INSTRUCTIONS ?? 10_000_000);

/**
 * The synthetic boot with stores (memory_writes) and a snapshot every 2000 instructions, generated once into
 * .cache/ under the name bench/history.ts uses for the same parameters, so the two sections share one file.
 * An empty -wal beside it is what a read-only reader leaves; a non-empty one means an unfinished write.
 */
function cachedRecording(cacheDir: string, log: (line: string) => void): { file: string; sessionId: number } {
  const file = path.join(cacheDir, `bench-history-v1-${INSTRUCTIONS}-every2000.db`);
  const wal = `${file}-wal`;
  if (fs.existsSync(file) && (!fs.existsSync(wal) || fs.statSync(wal).size === 0)) return { file, sessionId: 1 };
  fs.mkdirSync(cacheDir, { recursive: true });
  log(`bench: generating ${INSTRUCTIONS.toLocaleString('en-US')} instructions with stores into ${file} (once; cached)`);
  const partial = `${file}.partial`;
  for (const p of [file, partial]) for (const suffix of ['', '-wal', '-shm']) fs.rmSync(p + suffix, { force: true });
  const store = RecordingStore.open(partial, { log });
  let sessionId: number;
  try {
    sessionId = recordSyntheticSession(store, { instructions: INSTRUCTIONS, memoryWrites: true, snapshotEvery: 2000, description: 'bench: synthetic boot with stores' }).sessionId;
  } finally {
    store.close();
  }
  fs.renameSync(partial, file);
  return { file, sessionId };
}

export async function replayBench(cacheDir: string, log: (line: string) => void): Promise<Record<string, unknown>> {
  const rec = cachedRecording(cacheDir, log);
  const store = RecordingStore.open(rec.file, { readOnly: true, log });
  let first: number;
  let last: number;
  try {
    const r = store.query('SELECT MIN(sequence_number), MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [rec.sessionId]).rows[0];
    first = Number(r[0]);
    last = Number(r[1]);
  } finally {
    store.close(null);
  }
  const dc = new DebugClient('node', ADAPTER, 'bootscope');
  dc.defaultTimeout = 120_000;
  await dc.start();
  try {
    await dc.initializeRequest();
    let t = performance.now();
    const entry = dc.waitForEvent('stopped');
    // As VS Code does: configurationDone after `initialized`, without waiting for the launch response.
    await Promise.all([dc.launch({ replay: { database: rec.file, session: rec.sessionId } } as DebugProtocol.LaunchRequestArguments), dc.configurationDoneRequest()]);
    await entry;
    const openMs = performance.now() - t;

    const view = async (memory: boolean): Promise<void> => {
      const st = await dc.stackTraceRequest({ threadId: 1 });
      const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
      const regs = await dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference });
      if (regs.body.variables.length < 10) throw new Error(`replay bench: only ${regs.body.variables.length} registers shown`);
      if (memory) await dc.customRequest('readMemory', { memoryReference: '0x41000000', count: 4096 });
    };
    const rand = prng(7);
    const gotoMs: number[] = [];
    const forwardMs: number[] = [];
    const backMs: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const n = first + 1 + Math.floor(rand() * (last - first - 1));
      t = performance.now();
      const stopped = dc.waitForEvent('stopped');
      await dc.customRequest('bootscope/goto', { sequenceNumber: n });
      await stopped;
      await view(true);
      gotoMs.push(performance.now() - t);
      for (const [ms, step] of [[forwardMs, () => dc.stepInRequest({ threadId: 1, granularity: 'instruction' })], [backMs, () => dc.stepBackRequest({ threadId: 1, granularity: 'instruction' })]] as const) {
        t = performance.now();
        const s = dc.waitForEvent('stopped');
        await step();
        await s;
        await view(false);
        ms.push(performance.now() - t);
      }
    }

    // The worst case: a breakpoint the session never reaches (address 0x4), so continue searches the whole
    // session forwards, and reverse-continue the whole session backwards.
    await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: '0x4' }] });
    const continueRate = async (from: number, run: () => Promise<unknown>): Promise<{ instructions: number; ms: number; per_s: number }> => {
      let s = dc.waitForEvent('stopped');
      await dc.customRequest('bootscope/goto', { sequenceNumber: from });
      await s;
      const t0 = performance.now();
      s = dc.waitForEvent('stopped');
      await run();
      await s;
      const ms = performance.now() - t0;
      const st = await dc.customRequest('bootscope/recordingStatus') as DebugProtocol.Response & { body: { position?: number } };
      const instructions = Math.abs((st.body.position ?? from) - from);
      return { instructions, ms: +ms.toFixed(1), per_s: Math.round(instructions / (ms / 1000)) };
    };
    const forward = await continueRate(first, () => dc.continueRequest({ threadId: 1 }));
    const backward = await continueRate(last, () => dc.reverseContinueRequest({ threadId: 1 }));
    return {
      instructions: last - first + 1,
      file: path.basename(rec.file),
      goal_ms: 100,
      replay_open_ms: +openMs.toFixed(1),
      replay_goto_view_ms: stats(gotoMs),
      replay_step_forward_ms: stats(forwardMs),
      replay_step_back_ms: stats(backMs),
      replay_continue_forward: forward,
      replay_continue_backward: backward,
    };
  } finally {
    await dc.stop().catch(() => undefined);
  }
}

if (require.main === module) {
  replayBench(path.resolve(__dirname, '..', '.cache'), (line) => process.stderr.write(`${line}\n`))
    .then((r) => console.log(JSON.stringify({ replay: r }, null, 2)))
    .catch((e: unknown) => { console.error(e); process.exit(1); });
}
