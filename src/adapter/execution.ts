// Run control for one live debug session: continue, step (instruction or DWARF line, into/over/out),
// pause, and "do this while halted" (a snapshot requested while the guest runs). With recording on, every
// executed instruction goes through the Recorder (it single-steps and writes rows); with recording off,
// continue is QEMU's own `c` with the breakpoints inserted as Z0 for the duration of the run (GDB RSP
// "insert breakpoint"; inserted only while running, as gdb does, so single steps never trip over them).
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import type { Arch } from '../common/config';
import { archConventions, decodeStatus, registerForRole, type ArchConventions, type Disassembler } from '../arch';
import type { ProgramSymbols } from '../symbols';
import type { GdbTarget } from '../target/target';
import type { StopReply } from '../rsp/stopReply';
import type { Recorder, RunResult, UnrecordedStretch } from '../recorder/recorder';
import type { BreakpointTable } from './breakpoints';
import type { Granularity, Outcome, StepKind, StopReason } from './engine';

/** Upper bound of instructions one line step may take before it stops and says so. */
const MAX_LINE_STEP_INSTRUCTIONS = 200_000;

export interface ExecutionOptions {
  target: GdbTarget;
  recorder: Recorder;
  symbols: ProgramSymbols | undefined;
  disassembler: Disassembler;
  breakpoints: BreakpointTable;
  /** A recording limit was reached (maxInstructions, timeLimitSeconds, stopAt, idle guest). */
  onRecordingLimit?: (reason: RunResult['reason']) => void;
}

export class Execution {
  readonly arch: Arch;
  readonly conventions: ArchConventions;
  private registers_ = new Map<string, bigint>();
  private running_ = false;
  private userPause = false;
  private abort: AbortController | undefined;
  /** A `c` is outstanding: pausing it needs the 0x03 interrupt byte (never sent during a single step). */
  private contInFlight = false;
  /** Work queued while running (e.g. a snapshot): the run halts, does it, and resumes. */
  private readonly haltedWork: (() => Promise<void>)[] = [];
  /** What made the Recorder's idea of the current instruction out of date (QEMU ran or stepped without it,
   * a register or memory write): the next recorded row starts after a trace gap saying so. */
  private unrecorded: UnrecordedStretch | undefined;
  private readonly pcName: string;
  private readonly lrName: string | undefined;
  private readonly statusName: string | undefined;
  private readonly spName: string | undefined;

  constructor(private readonly o: ExecutionOptions) {
    this.arch = o.target.arch;
    this.conventions = archConventions(this.arch);
    const names = o.target.layout.registers.map((r) => r.name);
    const pc = registerForRole(this.arch, 'pc', names);
    if (!pc) throw new BootscopeError(ErrorCode.Target, `the target description of ${o.target.endpoint} has no program counter register`);
    this.pcName = pc;
    this.lrName = registerForRole(this.arch, 'lr', names);
    this.statusName = registerForRole(this.arch, 'status', names);
    this.spName = registerForRole(this.arch, 'sp', names);
  }

  get running(): boolean { return this.running_; }
  get registers(): ReadonlyMap<string, bigint> { return this.registers_; }
  get pc(): bigint { return this.registers_.get(this.pcName) ?? 0n; }
  get sp(): bigint | undefined { return this.spName ? this.registers_.get(this.spName) : undefined; }
  get lr(): bigint | undefined { return this.lrName ? this.registers_.get(this.lrName) : undefined; }
  get status(): bigint | undefined { return this.statusName ? this.registers_.get(this.statusName) : undefined; }
  get pcRegister(): string { return this.pcName; }
  get statusRegister(): string | undefined { return this.statusName; }

  /** Thumb state from the status register's T bit (always false on A64). */
  get thumb(): boolean {
    const s = this.status;
    return s !== undefined && decodeStatus(this.arch, s).thumb;
  }

  /** Re-reads the registers (after a stop, or after a register write). */
  async refresh(): Promise<void> {
    this.registers_ = new Map(this.o.target.decodeRegisters(await this.o.target.readRegisters()));
  }

  /** The target changed behind the recorder's back: the next recorded row must re-read the state. */
  markRecorderStale(reason = 'register-write', instructions: number | null = 0): void {
    const u = this.unrecorded ??= { reason, instructionsSkipped: 0 };
    if (!u.reason.split(', ').includes(reason)) u.reason += `, ${reason}`;
    u.instructionsSkipped = u.instructionsSkipped === null || instructions === null ? null : u.instructionsSkipped + instructions;
  }

  /** Before an on-demand snapshot: the recorder's current instruction must be the target's. */
  async syncRecorderForSnapshot(): Promise<void> {
    await this.syncRecorder();
  }

  // ---- public run control -------------------------------------------------------------------------------

  async continue(): Promise<Outcome> {
    return this.guard(async () => {
      for (;;) {
        const r = await this.runUntil(this.o.breakpoints.addresses());
        if (r.kind !== 'hit') return this.finish(r);
        const { stopIds } = this.o.breakpoints.hitAt(this.pc);
        if (stopIds.length) return { kind: 'stopped', reason: 'breakpoint', hitBreakpointIds: stopIds };
        // Bound here but its hit condition is not met yet: keep going.
      }
    });
  }

  async step(kind: StepKind, granularity: Granularity): Promise<Outcome> {
    return this.guard(async () => {
      if (kind === 'stepOut') return this.stepOut();
      const start = this.o.symbols?.lineAt(this.pc);
      if (granularity === 'line' && start) return this.lineStep(kind, start);
      const r = kind === 'next' ? await this.stepOverInstruction() : await this.stepInstruction();
      return this.finish(r, 'step');
    });
  }

  /** Pause a running continue/step: the recorder stops before its next instruction, a `c` is interrupted. */
  pause(): void {
    if (!this.running_) return;
    this.userPause = true;
    this.interruptRun();
  }

  /**
   * Runs `work` with the guest halted. While running, the run halts at the next instruction boundary,
   * does it, and resumes without a stopped event (e.g. "Capture Memory Snapshot" during a recording).
   */
  whileHalted<T>(work: () => Promise<T>): Promise<T> {
    if (!this.running_) return work();
    return new Promise<T>((resolve, reject) => {
      this.haltedWork.push(() => work().then(resolve, reject));
      this.interruptRun();
    });
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private interruptRun(): void {
    this.abort?.abort();
    if (this.contInFlight) this.o.target.interrupt().catch(() => undefined);
  }

  private async guard(body: () => Promise<Outcome>): Promise<Outcome> {
    if (this.running_) throw new BootscopeError(ErrorCode.Target, 'the guest is already running; pause it first');
    this.running_ = true;
    this.userPause = false;
    try {
      const outcome = await body();
      if (outcome.kind === 'stopped') await this.refresh();
      return outcome;
    } catch (e) {
      return { kind: 'exited', description: `the connection to QEMU failed: ${errorMessage(e)}`, error: true };
    } finally {
      this.running_ = false;
      this.abort = undefined;
      // Work queued in the instant the run ended.
      while (this.haltedWork.length) await (this.haltedWork.shift() as () => Promise<void>)();
    }
  }

  private finish(r: RunStop, stepReason: StopReason = 'step'): Outcome {
    switch (r.kind) {
      case 'exited': return { kind: 'exited', description: r.description };
      case 'paused': return { kind: 'stopped', reason: 'pause' };
      case 'watch': return { kind: 'stopped', reason: 'data breakpoint', hitBreakpointIds: r.ids, description: `data breakpoint at 0x${r.address.toString(16)}` };
      case 'limit': return { kind: 'stopped', reason: 'pause', description: r.description };
      case 'hit': {
        const { stopIds } = this.o.breakpoints.hitAt(this.pc);
        return stopIds.length ? { kind: 'stopped', reason: 'breakpoint', hitBreakpointIds: stopIds } : { kind: 'stopped', reason: stepReason };
      }
      case 'done': return { kind: 'stopped', reason: stepReason };
    }
  }

  private get recording(): boolean { return this.o.recorder.isRecording; }

  /** Brings the recorder in line with the target before it steps (after QEMU ran on its own). */
  private async syncRecorder(): Promise<void> {
    if (this.o.recorder.current === undefined) return; // run() begins with the current state itself
    if (this.unrecorded) {
      await this.o.recorder.resync(this.unrecorded);
      this.unrecorded = undefined;
    }
  }

  /** One instruction. */
  private async stepInstruction(): Promise<RunStop> {
    if (this.recording) {
      await this.syncRecorder();
      const r = await this.o.recorder.run({ steps: 1 });
      await this.refresh();
      return this.fromRecorder(r);
    }
    const stop = await this.o.target.step();
    this.markRecorderStale('step-unrecorded', 1);
    await this.refresh();
    return this.fromStop(stop, new Set());
  }

  /** One instruction, or a whole call when the instruction is a call (stop at the return address). */
  private async stepOverInstruction(): Promise<RunStop> {
    const call = await this.currentInstruction();
    if (!call || !this.conventions.isCall(call.mnemonic)) return this.stepInstruction();
    const returnAddress = this.pc + BigInt(call.size);
    return this.runUntil(this.o.breakpoints.addresses(), returnAddress);
  }

  private async stepOut(): Promise<Outcome> {
    const lr = this.lr;
    if (lr === undefined) return { kind: 'stopped', reason: 'step', description: 'no link register in this target description' };
    // The return address is LR while the function has not called anything yet (and LR is what a
    // non-leaf function pushed and pops back): reliable at function entry, a best effort elsewhere.
    const returnAddress = this.conventions.returnAddress(lr);
    const r = await this.runUntil(this.o.breakpoints.addresses(), returnAddress);
    return this.finish(r, 'step');
  }

  private async lineStep(kind: StepKind, start: { file: string; line: number }): Promise<Outcome> {
    const startFunction = this.o.symbols?.functionAt(this.pc)?.start;
    for (let n = 0; n < MAX_LINE_STEP_INSTRUCTIONS; n++) {
      if (this.userPause) return { kind: 'stopped', reason: 'pause' };
      const r = kind === 'next' ? await this.stepOverInstruction() : await this.stepInstruction();
      if (r.kind !== 'done' && r.kind !== 'hit') return this.finish(r);
      if (r.kind === 'hit') {
        const { stopIds } = this.o.breakpoints.hitAt(this.pc);
        if (stopIds.length) return { kind: 'stopped', reason: 'breakpoint', hitBreakpointIds: stopIds };
      }
      const here = this.o.symbols?.lineAt(this.pc);
      // Stop on the first instruction of another line, or in another function (a return, or a step into
      // code without line information, where the Disassembly view takes over).
      if (!here) {
        if (this.o.symbols?.functionAt(this.pc)?.start !== startFunction) return { kind: 'stopped', reason: 'step' };
        continue;
      }
      if (here.line !== start.line || here.file !== start.file) return { kind: 'stopped', reason: 'step' };
    }
    return { kind: 'stopped', reason: 'step', description: `line step gave up after ${MAX_LINE_STEP_INSTRUCTIONS} instructions on the same line` };
  }

  private async currentInstruction(): Promise<{ mnemonic: string; size: number } | undefined> {
    try {
      const bytes = await this.o.target.readMemory(this.pc, 4);
      return this.o.disassembler.disassemble(this.arch, this.thumb, bytes, this.pc);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs until one of `addresses` (or `extra`, a temporary breakpoint such as a return address) is about
   * to execute, a watchpoint fires, the user pauses, a recording limit is reached, or the guest exits.
   */
  private async runUntil(addresses: Set<bigint>, extra?: bigint): Promise<RunStop> {
    const all = new Set(addresses);
    if (extra !== undefined) all.add(extra);
    for (;;) {
      const r = this.recording ? await this.recordUntil(all) : await this.contUntil(all);
      // Halted only to do queued work (not a user pause): do it and carry on.
      if (r.kind === 'paused' && !this.userPause && this.haltedWork.length) {
        while (this.haltedWork.length) await (this.haltedWork.shift() as () => Promise<void>)();
        if (this.userPause) return { kind: 'paused' };
        continue;
      }
      if (r.kind === 'hit' && extra !== undefined && this.pc === extra && !addresses.has(this.pc)) return { kind: 'done' };
      return r;
    }
  }

  private async recordUntil(addresses: Set<bigint>): Promise<RunStop> {
    if (this.userPause) return { kind: 'paused' };
    await this.syncRecorder();
    this.abort = new AbortController();
    const r = await this.o.recorder.run({ breakpoints: addresses, signal: this.abort.signal });
    this.abort = undefined;
    await this.refresh();
    return this.fromRecorder(r);
  }

  private fromRecorder(r: RunResult): RunStop {
    switch (r.reason) {
      case 'breakpoint': return { kind: 'hit' };
      case 'step-limit': return this.o.breakpoints.addresses().has(this.pc) ? { kind: 'hit' } : { kind: 'done' };
      case 'cancelled': return { kind: 'paused' };
      case 'watchpoint': {
        const address = r.watchAddress ?? 0n;
        return { kind: 'watch', address, ids: this.o.breakpoints.dataHitAt(address) };
      }
      case 'target-exited': return { kind: 'exited', description: r.stop ? describeExit(r.stop) : 'the guest exited' };
      case 'max-instructions':
      case 'time-limit':
      case 'stop-at':
      case 'idle': {
        this.o.onRecordingLimit?.(r.reason);
        return { kind: 'limit', description: LIMIT_TEXT[r.reason] };
      }
    }
  }

  /** Recording off: step off the current instruction, then `c` with the breakpoints inserted as Z0. */
  private async contUntil(addresses: Set<bigint>): Promise<RunStop> {
    const t = this.o.target;
    if (this.userPause) return { kind: 'paused' };
    this.abort = new AbortController();
    // Step first: a breakpoint at the current pc must not stop us again at once.
    const first = await t.step();
    this.markRecorderStale('continue-unrecorded', null);
    await this.refresh();
    const afterStep = this.fromStop(first, addresses);
    if (afterStep.kind !== 'done' || this.abort.signal.aborted) return this.abort.signal.aborted && afterStep.kind === 'done' ? { kind: 'paused' } : afterStep;
    const inserted: { address: bigint; kind: number }[] = [];
    try {
      for (const address of addresses) {
        const kind = this.breakpointKind(address);
        if (await t.insertBreakpoint(0, address, kind)) inserted.push({ address, kind });
      }
      if (this.abort.signal.aborted) return { kind: 'paused' };
      let stop: StopReply;
      this.contInFlight = true;
      try {
        stop = await t.cont();
      } finally {
        this.contInFlight = false;
      }
      await this.refresh();
      const r = this.fromStop(stop, addresses);
      return r.kind === 'done' ? { kind: 'paused' } : r;
    } finally {
      for (const b of inserted) await t.removeBreakpoint(0, b.address, b.kind).catch(() => undefined);
    }
  }

  /** Z0 `kind` (the breakpoint length) for the code at `address`: Thumb or not from the ELF's mapping symbols. */
  private breakpointKind(address: bigint): number {
    const code = this.o.symbols?.codeKindAt(address);
    const thumb = code !== undefined ? code === 'thumb' : this.o.symbols?.functionAt(address)?.thumb ?? false;
    return this.conventions.breakpointKind(thumb);
  }

  private fromStop(stop: StopReply, addresses: Set<bigint>): RunStop {
    if (stop.kind === 'exited' || stop.kind === 'terminated') return { kind: 'exited', description: describeExit(stop) };
    if (stop.kind === 'signal' && stop.reason && (stop.reason.kind === 'watch' || stop.reason.kind === 'rwatch' || stop.reason.kind === 'awatch')) {
      return { kind: 'watch', address: stop.reason.address, ids: this.o.breakpoints.dataHitAt(stop.reason.address) };
    }
    if (addresses.has(this.pc)) return { kind: 'hit' };
    return { kind: 'done' };
  }
}

type RunStop =
  | { kind: 'hit' }
  | { kind: 'done' }
  | { kind: 'paused' }
  | { kind: 'watch'; address: bigint; ids: number[] }
  | { kind: 'limit'; description: string }
  | { kind: 'exited'; description: string };

const LIMIT_TEXT: Record<'max-instructions' | 'time-limit' | 'stop-at' | 'idle', string> = {
  'max-instructions': 'reached maxInstructions; recording is now off (continue runs without recording)',
  'time-limit': 'reached timeLimitSeconds; recording is now off (continue runs without recording)',
  'stop-at': 'reached stopAt',
  'idle': 'the guest is idle: a step did not complete (WFI with no interrupt pending)',
};

function describeExit(stop: StopReply): string {
  if (stop.kind === 'exited') return `the guest exited with status ${stop.status}`;
  if (stop.kind === 'terminated') return `the guest was terminated by signal ${stop.signal}`;
  return 'the guest stopped';
}
