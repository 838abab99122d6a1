// history: time travel's read path on a 10 M-instruction recording with stores (issue 14's goal: moving to
// any instruction and showing its registers and a 4 KiB memory view in < 100 ms). The recording is the
// synthetic boot of src/store/synthetic-session.ts with memoryWrites (a stack moving with sp, painting,
// 16-byte copies) and a snapshot every 2000 instructions as the demo's config takes them, generated once and
// cached under .cache/ (a few minutes; the file name carries the generator's parameters).
//
//   history_memory_at_ms        store.step(N) (every register) + memoryAt(N, stack_region, 4 KiB), random N
//   history_memory_at_sp_ms     the same with the 4 KiB view around sp at N (the live stack)
//   history_who_wrote_ms        whoWrote(a stack word, newest 100, with old values)
//   history_last_write_ms       lastWriteBefore(the same word, N)
//   history_open_ms             a fresh RecordingHistory's first memoryAt (loads the snapshot index)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordingStore } from '../src/store/recording-store';
import { RecordingHistory } from '../src/store/history';
import { prng, recordSyntheticSession } from '../src/store/synthetic-session';

const INSTRUCTIONS = Number(process.env.BENCH_HISTORY_INSTRUCTIONS ?? 10_000_000);
const SNAPSHOT_EVERY = 2000;
const SAMPLES = 40;

function stats(xs: number[]): { median: number; max: number; samples: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: +s[Math.floor(s.length / 2)].toFixed(2), max: +s[s.length - 1].toFixed(2), samples: s.length };
}

/** The cached recording, made when missing (generator version in the name: change it when the generator changes). */
export function historyRecording(cacheDir: string, log: (line: string) => void): { file: string; sessionId: number; generatedSeconds: number | null } {
  const file = path.join(cacheDir, `bench-history-v1-${INSTRUCTIONS}-every${SNAPSHOT_EVERY}.db`);
  // Written as .partial and renamed when complete: an existing file is a whole one (a reader's -wal beside it is fine).
  if (fs.existsSync(file)) return { file, sessionId: 1, generatedSeconds: null };
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  log(`bench: generating ${INSTRUCTIONS.toLocaleString('en-US')} instructions with stores into ${file} (once; cached)`);
  const t0 = performance.now();
  const partial = `${file}.partial`;
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(partial + suffix, { force: true });
  const store = RecordingStore.open(partial, { log });
  let sessionId: number;
  try {
    sessionId = recordSyntheticSession(store, { instructions: INSTRUCTIONS, memoryWrites: true, snapshotEvery: SNAPSHOT_EVERY, description: 'bench: synthetic boot with stores' }).sessionId;
  } finally {
    store.close();
  }
  fs.renameSync(partial, file);
  return { file, sessionId, generatedSeconds: (performance.now() - t0) / 1000 };
}

export function historyBench(cacheDir: string, log: (line: string) => void): Record<string, unknown> {
  const rec = historyRecording(cacheDir, log);
  const store = RecordingStore.open(rec.file, { readOnly: true, log });
  try {
    const counts = store.query('SELECT (SELECT COUNT(*) FROM memory_writes), (SELECT COUNT(*) FROM memory_snapshots)').rows[0];
    const t0 = performance.now();
    const history = new RecordingHistory(store);
    const { first, last } = history.instructionRange(rec.sessionId);
    history.memoryAt(rec.sessionId, first + Math.floor((last - first) / 2), 0x41000000n, 4096);
    const openMs = performance.now() - t0;
    const rand = prng(99);
    const at: number[] = [];
    const atSp: number[] = [];
    const who: number[] = [];
    const lastWrite: number[] = [];
    let knownBytes = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const n = first + Math.floor(rand() * (last - first + 1));
      let t = performance.now();
      const step = store.step(rec.sessionId, n);
      const view = history.memoryAt(rec.sessionId, n, 0x41000000n, 4096);
      at.push(performance.now() - t);
      for (const k of view.known) knownBytes += k;
      const sp = step?.sp ?? 0x41001000n;
      t = performance.now();
      store.step(rec.sessionId, n);
      history.memoryAt(rec.sessionId, n, (sp & ~0xfn) - 0x800n, 4096);
      atSp.push(performance.now() - t);
      const word = 0x41000000n + BigInt(Math.floor(rand() * 1024) * 4);
      t = performance.now();
      history.whoWrote(rec.sessionId, word, 4, { limit: 100 });
      who.push(performance.now() - t);
      t = performance.now();
      history.lastWriteBefore(rec.sessionId, word, 4, n);
      lastWrite.push(performance.now() - t);
    }
    return {
      instructions: last - first + 1,
      memory_writes: Number(counts[0]),
      snapshots: Number(counts[1]),
      file_bytes: fs.statSync(rec.file).size,
      generated_seconds: rec.generatedSeconds === null ? 'cached' : +rec.generatedSeconds.toFixed(1),
      goal_ms: 100,
      history_memory_at_ms: stats(at),
      history_memory_at_sp_ms: stats(atSp),
      history_who_wrote_ms: stats(who),
      history_last_write_ms: stats(lastWrite),
      history_open_ms: +openMs.toFixed(1),
      stack_view_known_fraction: +(knownBytes / (SAMPLES * 4096)).toFixed(3),
    };
  } finally {
    store.close(null);
  }
}
