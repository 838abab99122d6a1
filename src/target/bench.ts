// Benchmark helpers for a connected GdbTarget: raw `s`+`g` steps per second (the recorder's hot loop
// without recording) and `m` throughput, pipelined (all chunks queued at once) vs one chunk per round trip.

import type { GdbTarget } from './target';

export interface TargetBenchmark {
  /** `s` followed by `g`, awaited one after the other, per second. */
  stepsPerSecond: number;
  steps: number;
  /** MB/s (10^6 bytes) reading `memoryBytes` with readMemory (chunks pipelined). */
  pipelinedMBps: number;
  /** MB/s reading the same bytes one 0x800 chunk per round trip. */
  unpipelinedMBps: number;
  memoryBytes: number;
}

export interface BenchmarkOptions {
  /** Steps to time (default 5000). The target is stepped for real: use a guest where that is harmless. */
  steps?: number;
  /** Readable memory to read (default 64 KiB at `memoryAddress`). */
  memoryAddress: bigint | number;
  memoryBytes?: number;
  /** Reads per measurement (default 10); the best run counts. */
  memoryRepeats?: number;
}

export async function benchmarkTarget(target: GdbTarget, opts: BenchmarkOptions): Promise<TargetBenchmark> {
  const steps = opts.steps ?? 5000;
  const bytes = opts.memoryBytes ?? 0x10000;
  const repeats = opts.memoryRepeats ?? 10;
  const base = BigInt(opts.memoryAddress);

  let t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) {
    await target.step();
    await target.readRegisters();
  }
  const stepSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

  let pipelined = Infinity;
  let unpipelined = Infinity;
  for (let r = 0; r < repeats; r++) {
    t0 = process.hrtime.bigint();
    await target.readMemory(base, bytes);
    pipelined = Math.min(pipelined, Number(process.hrtime.bigint() - t0) / 1e9);
    t0 = process.hrtime.bigint();
    for (let off = 0; off < bytes; off += 0x800) await target.readMemory(base + BigInt(off), Math.min(0x800, bytes - off));
    unpipelined = Math.min(unpipelined, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return {
    stepsPerSecond: steps / stepSeconds,
    steps,
    pipelinedMBps: bytes / pipelined / 1e6,
    unpipelinedMBps: bytes / unpipelined / 1e6,
    memoryBytes: bytes,
  };
}
