// The seam between the DAP session and what it debugs. A DebugEngine holds the state at the current
// position (registers, memory, threads) and moves that position: run or step, forwards or — for an engine
// that can — backwards. Two implementations: LiveEngine (QEMU's gdbstub + the Recorder, live-engine.ts)
// and ReplayEngine (a recording file, replay-engine.ts). debug-session.ts only translates DAP to these
// calls. Optional capabilities are separate interfaces an engine may implement (as gdbstub's
// target/ext/base/reverse_exec.rs does), checked with the `has…` guards below instead of `if (live)`.
import type { ArchConventions } from '../arch';
import type { WriteRow } from '../store/history';
import type { Arch } from '../common/config';
import type { RegisterInfo } from '../rsp/targetXml';
import type { ProgramSymbols } from '../symbols';
import type { BreakpointTable, DataBreakpoint } from './breakpoints';
import type { RecordingStatus, SnapshotCaptured } from './custom-requests';
import type { SessionStatus } from '../store/schema';

export type StepKind = 'stepIn' | 'next' | 'stepOut';
export type Granularity = 'instruction' | 'line';
export type Direction = 'forward' | 'backward';

/** DAP StoppedEvent reasons we use. */
export type StopReason = 'entry' | 'breakpoint' | 'function breakpoint' | 'instruction breakpoint' | 'data breakpoint' | 'step' | 'pause' | 'goto';

export type Outcome =
  | { kind: 'stopped'; reason: StopReason; description?: string; hitBreakpointIds?: number[] }
  | { kind: 'exited'; description: string; error?: boolean };

/** Things an engine tells the session between requests. */
export interface EngineListener {
  /** Text for the Debug Console (`console`), the guest's UART (`stdout`) or a failure (`stderr`). */
  output(text: string, category: 'console' | 'stdout' | 'stderr'): void;
  /** Counters changed (recording progress): the status event and a progress notification. */
  progress(text: string | undefined): void;
  /** The debuggee went away on its own (QEMU exited, the connection dropped). */
  gone(description: string): void;
}

/** A Boot scope row. */
export interface BootVariable {
  name: string;
  value: string;
}

export interface DebugEngine {
  readonly arch: Arch;
  readonly conventions: ArchConventions;
  readonly symbols: ProgramSymbols | undefined;
  /** The ELF the sources' build-relative DWARF names are looked up from. */
  readonly elfPath: string | undefined;
  /** Stop at the first state instead of running once the client has configured breakpoints. */
  readonly stopOnEntry: boolean;
  /** Registers as target.xml describes them (the Variables view's order and widths). */
  readonly registerInfo: readonly RegisterInfo[];
  readonly breakpoints: BreakpointTable;
  /** True while a run or step is in progress (the state below is then the last stop's). */
  readonly running: boolean;
  readonly registers: ReadonlyMap<string, bigint>;
  readonly pc: bigint;
  readonly thumb: boolean;
  readonly pcRegister: string;
  readonly statusRegister: string | undefined;

  /** Reads the first state; resolves when the engine is ready for requests. */
  begin(): Promise<void>;
  /** vCPU ids (QEMU's gdbstub threads) and which one is stopped. */
  threads(): Promise<{ ids: string[]; current: string }>;
  /** The registers of another vCPU. */
  registersOfThread(id: string): Promise<ReadonlyMap<string, bigint>>;
  /** A register outside the core set (FP/SIMD), read on demand. */
  readRegister(info: RegisterInfo): Promise<bigint>;
  /**
   * The readable prefix of [address, address + length) and how many bytes after it cannot be read (DAP
   * readMemory's `unreadableBytes`: a client reads on after them). Unmapped (live) or never captured (replay).
   */
  readMemoryPrefix(address: bigint, length: number): Promise<{ data: Uint8Array; unreadableBytes: number }>;
  /** Exactly `length` bytes, or an error saying which are missing. */
  readMemory(address: bigint, length: number): Promise<Uint8Array>;

  continue(direction: Direction): Promise<Outcome>;
  step(kind: StepKind, granularity: Granularity, direction: Direction): Promise<Outcome>;
  pause(): void;
  /** Runs `work` with the debuggee halted (a running live guest halts, does it, and resumes). */
  whileHalted<T>(work: () => Promise<T>): Promise<T>;
  /** Installs data breakpoints, setting `verified` / `message` on each. */
  setDataBreakpoints(list: DataBreakpoint[]): Promise<void>;

  /** The Boot scope at the current position. */
  bootVariables(): BootVariable[];
  /** The `bootscope/status` body. */
  status(terminated: boolean): RecordingStatus;
  /** Ends the engine (live: ends the session row, stops a launched QEMU). Idempotent. */
  end(status: Exclude<SessionStatus, 'recording'>, reason: string): Promise<void>;
  /** Disconnect without terminating: true when the engine detached and left the debuggee running. */
  detach(args: { suspendDebuggee?: boolean; terminateDebuggee?: boolean }): Promise<boolean>;
}

/** Registers and memory can be changed (live targets). */
export interface TargetWrites {
  /** Writes a register and gives back the value the target now holds. */
  writeRegister(name: string, value: bigint): Promise<bigint>;
  writeMemory(address: bigint, data: Uint8Array): Promise<void>;
  /** QEMU's HMP command line (`monitor info mtree`). */
  monitor(command: string): Promise<string>;
}

/** Recording can be switched and snapshots taken on demand (live targets). */
export interface RecordingControl {
  setRecording(on: boolean): Promise<void>;
  captureSnapshot(): Promise<SnapshotCaptured>;
}

/** Where "Go to Instruction…" can move: a sequence number, a stage visit, a snapshot. */
export type GotoTarget =
  | { sequenceNumber: number }
  | { stage: string; visit?: number }
  | { snapshotId: number };

/** Positions are recorded instructions (replay). */
export interface TimeTravel {
  /** The current instruction's sequence number. */
  readonly position: number;
  readonly firstPosition: number;
  readonly lastPosition: number;
  goto(target: GotoTarget): Promise<Outcome>;
  /** Recorded writes to [address, address + size), newest first (see RecordingHistory.whoWrote). */
  writesTo(address: bigint, size: number, opts: { before?: number; limit?: number }): { writesRecorded: boolean; writes: WriteRow[] };
}

export function hasTargetWrites(e: DebugEngine): e is DebugEngine & TargetWrites {
  return typeof (e as Partial<TargetWrites>).writeRegister === 'function';
}

export function hasRecordingControl(e: DebugEngine): e is DebugEngine & RecordingControl {
  return typeof (e as Partial<RecordingControl>).setRecording === 'function';
}

export function hasTimeTravel(e: DebugEngine): e is DebugEngine & TimeTravel {
  return typeof (e as Partial<TimeTravel>).goto === 'function';
}
