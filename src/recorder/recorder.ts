// The step loop: for every instruction, the state at which it is about to execute — pc, raw bytes,
// disassembly, full registers, stack pointer, function, source line, boot stage, exception level — and
// memory snapshots when the snapshot policy says so. It drives a connected GdbTarget and appends rows to
// a RecordingStore; it knows nothing about DAP, the CLI or how QEMU was started.
//
// Hot path, per instruction (see docs/performance.md): one `s` round trip, then `g` and `m pc` sent
// together (one round trip; `m` targets the predicted pc = previous pc + size, re-read only after a branch),
// and the CPU-side work for instruction N (disassembly, symbols, the row) overlaps the `s` round trip of
// instruction N+1. Snapshots are read before the next `s` is sent, so they show memory exactly at that row.
import type { Arch, RecordingConfig, RegionConfig } from '../common/config';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import { decodeStatus, instructionLength } from '../arch/registers';
import type { Disassembler } from '../arch/disassembler';
import type { Symbols } from '../symbols/symbols';
import type { GdbTarget, StopReply } from '../target/target';
import type { RecordingStore, RegionCapture } from '../store/recording-store';
import type { SnapshotTrigger } from './snapshot-policy';
import { type InstructionState, type PendingRow, StepEnricher } from './step-enricher';

export type { InstructionState } from './step-enricher';

export type RunEndReason =
  | 'max-instructions' | 'stop-at' | 'breakpoint' | 'time-limit' | 'cancelled' | 'idle' | 'target-exited'
  | 'step-limit' | 'watchpoint';

export interface RunLimits {
  /** Stop after this many more instructions (counted from the start of this run). */
  steps?: number;
  /** Addresses where the run stops before executing the instruction (breakpoints). */
  breakpoints?: ReadonlySet<bigint>;
  signal?: AbortSignal;
}

export interface RunResult {
  reason: RunEndReason;
  /** The data address of a watchpoint hit (reason 'watchpoint'). */
  watchAddress?: bigint;
  /** The stop reply that ended the run when the target exited. */
  stop?: StopReply;
  pc: bigint;
  instructions: number;
}

export interface RecorderProgress {
  instructions: number;
  stage: string;
  pc: bigint;
  functionName: string;
  /** Instructions per second over the last progress interval. */
  rate: number;
  snapshots: number;
}

export interface RecorderOptions {
  target: GdbTarget;
  store: RecordingStore;
  sessionId: number;
  config: RecordingConfig;
  disassembler: Disassembler;
  symbols?: Symbols;
  onProgress?: (p: RecorderProgress) => void;
  onWarning?: (message: string) => void;
  /** How long one step may take before the guest counts as idle (WFI with nothing pending). */
  idleStepTimeoutMs?: number;
}

/** µs since the epoch with sub-ms resolution, monotonic within the process. */
function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** What happened behind the recorder's back before a resync (a trace_gaps row). */
export interface UnrecordedStretch {
  /** 'continue-unrecorded', 'step-unrecorded', 'register-write', 'memory-write'; several joined by ', '. */
  reason: string;
  /** Instructions the guest executed unrecorded, when known (0 for a register or memory write alone). */
  instructionsSkipped: number | null;
}

export class Recorder {
  readonly arch: Arch;
  private readonly roles: StepEnricher['roles'];
  /** Stage, snapshot triggers and the step row: the path shared with plugin capture. */
  private readonly enricher: StepEnricher;
  private readonly stopAt: Set<bigint>;
  private readonly regionsToCapture: readonly RegionConfig[];
  private state: InstructionState | undefined;
  private snapshotCount = 0;
  private lastSnapshotId: number | undefined;
  private recording: boolean;
  private readonly started = Date.now();
  private progressAt = 0;
  private progressSeq = 0;
  /** pc -> the pc that followed it last time (a branch target buffer): loops predict their back edge. */
  private readonly successors = new Map<bigint, bigint>();
  /** Instruction-byte reads that missed both predictions and cost one more round trip (bench figure). */
  mispredictedReads = 0;

  constructor(private readonly o: RecorderOptions) {
    this.arch = o.target.arch;
    this.enricher = new StepEnricher({ store: o.store, sessionId: o.sessionId, arch: this.arch, config: o.config, disassembler: o.disassembler, symbols: o.symbols });
    this.roles = this.enricher.roles;
    this.regionsToCapture = o.config.regions;
    this.recording = o.config.record;
    this.stopAt = new Set();
    if (o.config.stopAt !== undefined) this.stopAt.add(this.resolveAddress(o.config.stopAt, 'stopAt'));
  }

  get instructionCount(): number { return this.enricher.count; }
  get currentStage(): string { return this.enricher.currentStage; }
  get snapshots(): number { return this.snapshotCount; }
  get lastSnapshot(): number | undefined { return this.lastSnapshotId; }
  get isRecording(): boolean { return this.recording; }
  get current(): InstructionState | undefined { return this.state; }

  /** Turns recording on or off; stepping still works with it off (nothing is written). */
  setRecording(on: boolean): void { this.recording = on; }

  /** Resolves `0x...` or a symbol name to an address; errors name the attribute. */
  resolveAddress(spec: string, field: string): bigint {
    if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(spec.trim())) return BigInt(spec.trim());
    const addr = this.o.symbols?.lookup(spec);
    if (addr === undefined) {
      throw new BootscopeError(ErrorCode.Config, `${field}: symbol "${spec}" is not in the ELF's symbol table; give an address like "0x40003000" or a function name from nm`);
    }
    return addr;
  }

  /** Reads the state at the current pc and records it as the first instruction (plus the start snapshot). */
  async begin(): Promise<InstructionState> {
    const s = await this.readState(undefined);
    this.state = s;
    await this.recordCurrent(true);
    return s;
  }

  /**
   * Re-reads the state at the current pc after the target ran or changed without the recorder (QEMU's own
   * `c` with recording off, a register or memory write from the debugger) and records it as the next row,
   * so the next run() steps from the real state instead of a stale one. The row before it did not lead to
   * it: a trace_gaps row after the last recorded step says why (`gap.reason`) and how many instructions ran
   * unrecorded when known, so time travel never replays across it as if nothing happened.
   */
  async resync(gap: UnrecordedStretch = { reason: 'unrecorded', instructionsSkipped: null }): Promise<InstructionState> {
    if (!this.state) return this.begin();
    if (this.recording) this.o.store.addTraceGap(this.o.sessionId, this.instructionCount, gap.reason, gap.instructionsSkipped);
    this.state = await this.readState(undefined);
    await this.recordCurrent(false);
    return this.state;
  }

  /** Steps one instruction and records it. */
  async stepOne(signal?: AbortSignal): Promise<RunResult> {
    return this.run({ steps: 1, signal });
  }

  /**
   * Steps and records until a limit: `limits.steps` more instructions, a breakpoint address, the configured
   * stopAt/maxInstructions/timeLimitSeconds, cancellation, an idle guest, or the target exiting.
   */
  async run(limits: RunLimits = {}): Promise<RunResult> {
    if (!this.state) await this.begin();
    const startSeq = this.enricher.count;
    const maxTotal = this.o.config.maxInstructions;
    const deadline = this.o.config.timeLimitSeconds ? this.started + this.o.config.timeLimitSeconds * 1000 : Infinity;
    const bps = limits.breakpoints;
    let idleStreak = 0;
    // The row of the last instruction read, written after the next `s` is on the wire (overlap).
    let pending: PendingRow | undefined;
    const flushPending = (): void => { if (pending) { this.emitRow(pending); pending = undefined; } };
    try {
      for (;;) {
        // Limits checked before the instruction at the current pc executes.
        if (limits.steps !== undefined && this.enricher.count - startSeq >= limits.steps) return this.result('step-limit');
        if (maxTotal > 0 && this.enricher.count >= maxTotal) return this.result('max-instructions');
        if (limits.signal?.aborted) return this.result('cancelled');
        if (Date.now() >= deadline) return this.result('time-limit');

        const cur = this.state as InstructionState;
        const stepP = this.stepGuarded();
        flushPending();
        const stop = await stepP;
        if (stop.kind === 'exited' || stop.kind === 'terminated') {
          return { reason: 'target-exited', stop, pc: cur.pc, instructions: this.enricher.count };
        }
        const next = await this.readState(cur);
        if (next.pc === cur.pc && stop.idle) {
          // The step timed out and was interrupted without the pc moving: the guest waits for an interrupt
          // that is not coming (e.g. WFI with IRQs masked). A few in a row end the run instead of hanging.
          if (++idleStreak >= 3) return this.result('idle');
          continue;
        }
        idleStreak = 0;
        this.state = next;
        const row = this.advance(next);
        const atBreakpoint = bps?.has(next.pc) === true;
        const atStop = this.stopAt.has(next.pc);
        // A watchpoint (Z2-Z4) set by the debugger fires during the step that accessed the data: QEMU adds
        // `watch:ADDR` to that step's stop reply. The access has happened; stop after recording it.
        const watch = stop.kind === 'signal' && stop.reason && 'address' in stop.reason ? stop.reason.address : undefined;
        if (row.trigger || atBreakpoint || atStop || watch !== undefined) {
          this.emitRow(row);
          if (row.trigger) await this.snapshot(row.trigger, next, row.stage);
          if (atBreakpoint) return this.result('breakpoint');
          if (atStop) return this.result('stop-at');
          if (watch !== undefined) return { ...this.result('watchpoint'), watchAddress: watch };
        } else {
          pending = row;
        }
        this.reportProgress(false);
      }
    } finally {
      flushPending();
    }
  }

  /** Captures every configured region now (on demand or at the end) at the current instruction. */
  async captureSnapshot(trigger: SnapshotTrigger): Promise<number | undefined> {
    if (!this.state) await this.begin();
    return this.snapshot(trigger, this.state as InstructionState, this.enricher.currentStage);
  }

  /** Forces a progress callback (e.g. at the end of a run). */
  reportProgress(force: boolean): void {
    if (!this.o.onProgress) return;
    const now = Date.now();
    if (!force && now - this.progressAt < 250) return;
    const dt = (now - (this.progressAt || this.started)) / 1000;
    const rate = dt > 0 ? (this.enricher.count - this.progressSeq) / dt : 0;
    this.progressAt = now;
    this.progressSeq = this.enricher.count;
    const s = this.state;
    this.o.onProgress({
      instructions: this.enricher.count,
      stage: this.enricher.currentStage,
      pc: s?.pc ?? 0n,
      functionName: s ? this.enricher.functionAt(s.pc) : 'unknown',
      rate,
      snapshots: this.snapshotCount,
    });
  }

  private result(reason: RunEndReason): RunResult {
    this.reportProgress(true);
    return { reason, pc: this.state?.pc ?? 0n, instructions: this.enricher.count };
  }

  /** One `s`; if the guest does not stop within the idle timeout, interrupt it (WFI must not hang us). */
  private async stepGuarded(): Promise<StopReply & { idle?: boolean }> {
    const timeoutMs = this.o.idleStepTimeoutMs ?? 2000;
    const step = this.o.target.step();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    try {
      const first = await Promise.race([step, timedOut]);
      if (first !== 'timeout') return first;
      this.o.onWarning?.(`the guest did not complete a step within ${timeoutMs} ms (waiting for an interrupt?); interrupting it`);
      await this.o.target.interrupt();
      const stop = await step;
      return { ...stop, idle: true };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads registers and the instruction bytes at pc in one round trip: `g` and `m` are pipelined. The bytes
   * are read at the fall-through pc and, when the previous instruction branched elsewhere last time it ran,
   * at that remembered target too (both `m` go out with the `g`), so loops and calls cost no extra round
   * trip. Only a pc neither predicted costs one more `m`. The bytes are always read at this step: code is
   * copied and remapped during a boot, so bytes seen earlier at an address prove nothing now.
   */
  private async readState(prev: InstructionState | undefined): Promise<InstructionState> {
    const t = this.o.target;
    const fallThrough = prev ? prev.pc + BigInt(prev.bytes.length) : undefined;
    const remembered = prev ? this.successors.get(prev.pc) : undefined;
    const target = remembered !== undefined && remembered !== fallThrough ? remembered : undefined;
    const regsP = t.readRegisters();
    const fallBytesP = fallThrough !== undefined ? t.readMemory(fallThrough, 4).catch(() => undefined) : undefined;
    const targetBytesP = target !== undefined ? t.readMemory(target, 4).catch(() => undefined) : undefined;
    const raw = await regsP;
    const timestampUs = nowUs();
    const registers = t.decodeRegisters(raw);
    const pc = registers.get(this.roles.pc);
    if (pc === undefined) throw new BootscopeError(ErrorCode.Target, `the target's register layout has no "${this.roles.pc}" register; cannot record`);
    if (prev) this.successors.set(prev.pc, pc);
    const status = registers.get(this.roles.status) ?? 0n;
    const thumb = this.arch === 'arm' && decodeStatus(this.arch, status).thumb;
    const fallBytes = fallBytesP ? await fallBytesP : undefined;
    const targetBytes = targetBytesP ? await targetBytesP : undefined;
    let word = pc === fallThrough ? fallBytes : pc === target ? targetBytes : undefined;
    if (word === undefined) {
      if (prev) this.mispredictedReads++;
      word = await this.readInstructionBytes(pc);
    }
    const len = instructionLength(this.arch, thumb, word);
    return { sequenceNumber: this.enricher.count + 1, timestampUs, pc, bytes: word.subarray(0, len), thumb, registers };
  }

  private async readInstructionBytes(pc: bigint): Promise<Uint8Array> {
    try {
      return await this.o.target.readMemory(pc, 4);
    } catch {
      // The last halfword of a mapped page may be followed by an unmapped one: a 16-bit Thumb
      // instruction still reads with 2 bytes.
      try { return await this.o.target.readMemory(pc, 2); } catch { return new Uint8Array(0); }
    }
  }

  /** Records `this.state` as the first instruction of the recording (and the start snapshot). */
  private async recordCurrent(isFirst: boolean): Promise<void> {
    const s = this.state as InstructionState;
    const row = this.advance(s);
    this.emitRow(row);
    const trigger = isFirst ? 'start' : row.trigger;
    if (trigger) await this.snapshot(trigger, s, row.stage);
  }

  private advance(s: InstructionState): PendingRow {
    return this.enricher.advance(s);
  }

  /** Writes one instruction row (buffered by the store). */
  private emitRow(row: PendingRow): void {
    if (!this.recording) return;
    this.enricher.emit(row);
  }

  private async snapshot(trigger: SnapshotTrigger, s: InstructionState, stage: string): Promise<number | undefined> {
    if (this.regionsToCapture.length === 0) return undefined;
    const t = this.o.target;
    const regions: RegionCapture[] = [];
    // Physical regions are read with QEMU's PhyMemMode on; group them so the mode flips at most twice.
    const groups: [boolean, RegionConfig[]][] = [
      [false, this.regionsToCapture.filter((r) => !(r.physical || this.o.config.physicalMemory))],
      [true, this.regionsToCapture.filter((r) => r.physical || this.o.config.physicalMemory)],
    ];
    for (const [physical, list] of groups) {
      if (list.length === 0) continue;
      if (physical) await t.setPhysicalMemoryMode(true);
      try {
        // All regions' chunks go out pipelined together.
        const reads = await Promise.allSettled(list.map((r) => t.readMemory(BigInt(r.start), r.size)));
        reads.forEach((res, i) => {
          const r = list[i];
          if (res.status === 'fulfilled') {
            regions.push({ name: r.name, start: r.start, data: res.value, expectedPattern: r.pattern, threshold: this.o.config.snapshots.threshold, physical });
          } else {
            this.o.onWarning?.(`snapshot ${trigger} at instruction ${s.sequenceNumber}: region "${r.name}" (0x${r.start.toString(16)}, ${r.size} bytes) could not be read: ${errorMessage(res.reason)}`);
          }
        });
      } finally {
        if (physical) await t.setPhysicalMemoryMode(false);
      }
    }
    const id = this.o.store.addSnapshot({
      sessionId: this.o.sessionId,
      sequenceNumber: s.sequenceNumber,
      timestampUs: s.timestampUs,
      bootStage: stage,
      pc: s.pc,
      trigger,
      regions,
    });
    this.snapshotCount += 1;
    this.lastSnapshotId = id;
    return id;
  }
}
