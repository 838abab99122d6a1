// The one path from "the state before instruction N" to a step row, shared by every capture backend (the
// gdbstub stepper in recorder.ts, the QEMU plugin in plugin-recorder.ts): sequence number, boot stage
// (StageDetector), whether a snapshot is due (SnapshotPolicy), function and source line (symbols),
// disassembly, exception level and Thumb state (status register), then RecordingStore.appendStep, which
// delta-encodes the registers. Per-instruction facts that depend only on (pc, bytes) — function, line,
// disassembly — are computed once per distinct (pc, bytes, IT state) and cached.
import type { Arch, RecordingConfig } from '../common/config';
import { decodeStatus, registerRoles, type RegisterRoles } from '../arch/registers';
import type { Disassembler } from '../arch/disassembler';
import type { Symbols } from '../symbols/symbols';
import type { RecordingStore } from '../store/recording-store';
import { resolveStageRules, StageDetector } from './stage-detector';
import { SnapshotPolicy, type SnapshotTrigger } from './snapshot-policy';

export const UNKNOWN_FUNCTION = 'unknown';

/** The state at one instruction, before it executes. */
export interface InstructionState {
  sequenceNumber: number;
  timestampUs: number;
  pc: bigint;
  bytes: Uint8Array;
  thumb: boolean;
  /** Every register (gdbstub), or only those that changed since the previous row plus the pc (plugin). */
  registers: Map<string, bigint>;
}

/** An instruction counted and staged, not yet written. */
export interface PendingRow {
  state: InstructionState;
  stage: string;
  stageChanged: boolean;
  /** The snapshot due at this instruction, if any. */
  trigger: SnapshotTrigger | undefined;
}

export interface StepEnricherOptions {
  store: RecordingStore;
  sessionId: number;
  arch: Arch;
  config: RecordingConfig;
  disassembler: Disassembler;
  symbols?: Symbols;
}

/** What depends only on (pc, bytes, IT state): computed once per distinct instruction. */
interface StaticFacts {
  bytes: Uint8Array;
  itState: number;
  functionName: string;
  sourceFile: string | undefined;
  sourceLine: number | undefined;
  disassembly: string;
  next: StaticFacts | undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class StepEnricher {
  readonly roles: RegisterRoles;
  private readonly stages: StageDetector;
  private readonly policy: SnapshotPolicy;
  private seq = 0;
  private lastStage: string | undefined;
  /** Status register and stack pointer as of the last row: a plugin row carries only changed registers. */
  private status = 0n;
  private sp = 0n;
  /** pc -> facts per distinct bytes at that pc (code is copied and rewritten during a boot). */
  private readonly facts = new Map<bigint, StaticFacts>();

  constructor(private readonly o: StepEnricherOptions) {
    this.roles = registerRoles(o.arch);
    this.stages = new StageDetector(resolveStageRules(o.config.stages, o.symbols));
    this.policy = new SnapshotPolicy(o.config.snapshots, o.config.regions.length);
  }

  /** Instructions counted so far (the last sequence number handed out). */
  get count(): number { return this.seq; }
  get currentStage(): string { return this.stages.currentStage; }

  /** Counts the instruction and detects its stage (cheap; decides whether a snapshot is due). */
  advance(s: InstructionState): PendingRow {
    this.seq += 1;
    s.sequenceNumber = this.seq;
    const stage = this.stages.next(s.pc);
    const changed = this.lastStage === undefined || stage !== this.lastStage;
    const first = this.lastStage === undefined;
    this.lastStage = stage;
    const trigger = first ? undefined : this.policy.due(s.sequenceNumber, changed);
    return { state: s, stage, stageChanged: changed, trigger };
  }

  /** The function name at `pc` (symbols), `unknown` when none covers it. */
  functionAt(pc: bigint): string {
    return this.o.symbols?.functionAt(pc)?.name ?? UNKNOWN_FUNCTION;
  }

  /** Writes one instruction row (buffered by the store). */
  emit(row: PendingRow): void {
    const s = row.state;
    const regs = s.registers;
    const status = regs.get(this.roles.status);
    if (status !== undefined) this.status = status;
    const sp = regs.get(this.roles.sp);
    if (sp !== undefined) this.sp = sp;
    const decoded = decodeStatus(this.o.arch, this.status);
    const f = this.factsFor(s, decoded.itState);
    this.o.store.appendStep({
      sessionId: this.o.sessionId,
      sequenceNumber: s.sequenceNumber,
      timestampUs: s.timestampUs,
      pc: s.pc,
      bytes: s.bytes,
      disassembly: f.disassembly,
      registers: regs,
      sp: this.sp,
      functionName: f.functionName,
      bootStage: row.stage,
      exceptionLevel: decoded.exceptionLevel,
      thumb: s.thumb,
      sourceFile: f.sourceFile,
      sourceLine: f.sourceLine,
    });
  }

  private factsFor(s: InstructionState, itState: number): StaticFacts {
    const head = this.facts.get(s.pc);
    for (let f = head; f; f = f.next) {
      if (f.itState === itState && sameBytes(f.bytes, s.bytes)) return f;
    }
    const { symbols, disassembler } = this.o;
    const line = symbols?.lineAt(s.pc);
    // In a Thumb IT block the condition lives in CPSR.IT, not in the instruction bytes.
    const dis = s.bytes.length ? disassembler.disassemble(this.o.arch, s.thumb, s.bytes, s.pc, itState) : undefined;
    const f: StaticFacts = {
      bytes: s.bytes,
      itState,
      functionName: symbols?.functionAt(s.pc)?.name ?? UNKNOWN_FUNCTION,
      sourceFile: line?.file,
      sourceLine: line?.line,
      disassembly: dis?.text ?? (s.bytes.length ? '(undecodable)' : '(unreadable)'),
      next: head,
    };
    this.facts.set(s.pc, f);
    return f;
  }
}
