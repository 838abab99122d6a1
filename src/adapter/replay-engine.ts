// The replay engine: a recorded session of a recording file as a debuggee that moves both ways. The
// position is a recorded instruction (the state BEFORE it executes, as instruction_traces has it);
// registers come from the store (keyframes + deltas, a window of rows around the position so stepping
// back costs what stepping forward does); memory and "who wrote" from a RecordedMemory (the store's
// history module: nearest snapshot + memory_writes, unknown bytes reported as such). Breakpoints are
// searches over instruction_traces (pc) and memory_writes (data breakpoints stop on writes, both ways).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { archConventions, decodeStatus, instructionLength, isArch, registerForRole, type ArchConventions } from '../arch';
import type { Arch } from '../common/config';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import type { RegisterInfo } from '../rsp/targetXml';
import { loadSymbols, type ProgramSymbols } from '../symbols';
import { addressToSql, type RecordingStore, type SessionInfo, type SnapshotInfo, type StepRecord } from '../store/recording-store';
import type { SQLiteValue } from '../store/sqlite';
import type { WriteRow } from '../store/history';
import { BreakpointTable, type DataBreakpoint } from './breakpoints';
import type { RecordingStatus } from './custom-requests';
import type { BootVariable, DebugEngine, Direction, EngineListener, GotoTarget, Granularity, Outcome, StepKind, StopReason, TimeTravel } from './engine';
import { hex } from './register-view';

/**
 * What the replay needs of the store's memory history (src/store/history.ts, RecordingHistory): memory at
 * an instruction with known/unknown bytes, recorded writes to a range, and the gaps of the trace.
 */
export interface RecordedMemory {
  writesRecorded(sessionId: number): boolean;
  /** Bytes [address, address + length) before instruction `sequenceNumber`; `known[i]` is 0 where unknown. */
  memoryAt(sessionId: number, sequenceNumber: number, address: bigint, length: number): { bytes: Uint8Array; known: Uint8Array };
  /** Writes overlapping the range with after < sequence_number < before, newest first, at most `limit`. */
  whoWrote(sessionId: number, address: bigint, size: number, opts: { before?: number; after?: number; limit?: number }): WriteRow[];
  /** Gaps between the states before `fromSeq` and before `toSeq`. */
  gapsBetween(sessionId: number, fromSeq: number, toSeq: number): { afterSequenceNumber: number; reason: string; instructionsSkipped: number | null }[];
}

/** The `replay` launch attribute, parsed (src/common/replay-config.ts). */
export interface ReplayOptions {
  database: string;
  session: number;
  /** Where to stop first (default: the first recorded instruction). */
  at?: number;
  /** Overrides the session's elf_path (a moved build). */
  elf?: string;
}

/** Rows read around the position per store read: stepping either way stays inside the window. */
const WINDOW = 512;
/** A continue searches this many instructions per SQL statement (~20 ms), then yields, so a pause gets through. */
const SEARCH_CHUNK = 100_000;
/** Upper bound of instructions one line step may take before it stops and says so (as the live engine). */
const MAX_LINE_STEP_INSTRUCTIONS = 200_000;

type Stop = { seq: number; reason: StopReason; hitBreakpointIds?: number[]; description?: string };

export class ReplayEngine implements DebugEngine, TimeTravel {
  readonly arch: Arch;
  readonly conventions: ArchConventions;
  readonly breakpoints: BreakpointTable;
  readonly registerInfo: RegisterInfo[];
  readonly pcRegister: string;
  readonly statusRegister: string | undefined;
  readonly stopOnEntry = true;
  readonly firstPosition: number;
  readonly lastPosition: number;
  private pos: number;
  private row: StepRecord;
  private window: StepRecord[] = [];
  private running_ = false;
  private pauseRequested = false;
  private dataBreakpoints: DataBreakpoint[] = [];
  private ended = false;
  private readonly snapshotList: SnapshotInfo[];

  private constructor(
    private readonly store: RecordingStore,
    private readonly memory: RecordedMemory,
    private readonly info: SessionInfo,
    readonly symbols: ProgramSymbols | undefined,
    readonly elfPath: string | undefined,
    private readonly listener: EngineListener,
    private readonly ownsStore: boolean,
    range: { first: number; last: number },
    start: number,
  ) {
    const arch = info.arch ?? '';
    if (!isArch(arch)) throw new BootscopeError(ErrorCode.Database, `session ${info.sessionId} of ${store.file} has architecture ${JSON.stringify(info.arch)}; the replay knows arm and aarch64`);
    this.arch = arch;
    this.conventions = archConventions(arch);
    this.breakpoints = new BreakpointTable(symbols);
    this.firstPosition = range.first;
    this.lastPosition = range.last;
    this.pos = start;
    this.row = this.rowAt(start);
    this.snapshotList = store.snapshots(info.sessionId);
    const names = [...this.row.registers.keys()];
    const pc = registerForRole(arch, 'pc', names);
    if (!pc) throw new BootscopeError(ErrorCode.Database, `session ${info.sessionId} of ${store.file} recorded no program counter (registers: ${names.join(', ')})`);
    this.pcRegister = pc;
    this.statusRegister = registerForRole(arch, 'status', names);
    this.registerInfo = recordedRegisterInfo(arch, names, pc, registerForRole(arch, 'sp', names));
  }

  /**
   * Opens session `o.session` of the store for replay. `ownsStore`: the engine closes the store at the end
   * (the inline adapter passes the extension's shared store and keeps it).
   */
  static open(o: ReplayOptions, store: RecordingStore, memory: RecordedMemory, listener: EngineListener, ownsStore: boolean): ReplayEngine {
    const info = store.getSession(o.session);
    if (!info) {
      const ids = store.listSessions().map((s) => s.sessionId);
      throw new BootscopeError(ErrorCode.Usage, `${store.file} has no session ${o.session}${ids.length ? `; its sessions are ${ids.join(', ')}` : ' (it holds no sessions)'}`);
    }
    const range = instructionRange(store, o.session);
    if (!range) throw new BootscopeError(ErrorCode.Usage, `session ${o.session} of ${store.file} recorded no instructions: there is nothing to replay`);
    const start = o.at ?? range.first;
    if (start < range.first || start > range.last) {
      throw new BootscopeError(ErrorCode.Usage, `"replay.at": instruction ${start} is not in session ${o.session} (it has instructions ${range.first} to ${range.last})`);
    }
    const { symbols, elfPath } = replaySymbols(o, info, listener);
    return new ReplayEngine(store, memory, info, symbols, elfPath, listener, ownsStore, range, start);
  }

  describe(): string {
    return `replaying session ${this.info.sessionId} of ${this.store.file} (${this.info.arch}, instructions ${this.firstPosition} to ${this.lastPosition}`
      + `${this.memory.writesRecorded(this.info.sessionId) ? ', stores recorded' : ', no stores recorded: memory is known at snapshots only'}); at instruction ${this.pos}`;
  }

  get position(): number { return this.pos; }

  writesTo(address: bigint, size: number, opts: { before?: number; limit?: number }): { writesRecorded: boolean; writes: WriteRow[] } {
    const sid = this.info.sessionId;
    return { writesRecorded: this.memory.writesRecorded(sid), writes: this.memory.whoWrote(sid, address, size, opts) };
  }
  get running(): boolean { return this.running_; }
  get registers(): ReadonlyMap<string, bigint> { return this.row.registers; }
  get pc(): bigint { return this.row.pc; }
  get thumb(): boolean {
    if (this.row.thumb !== null) return this.row.thumb;
    const s = this.statusRegister ? this.row.registers.get(this.statusRegister) : undefined;
    return s !== undefined && decodeStatus(this.arch, s).thumb;
  }

  async begin(): Promise<void> { /* the state at the start position is read in the constructor */ }

  threads(): Promise<{ ids: string[]; current: string }> {
    // A recording holds the one vCPU that was single-stepped.
    return Promise.resolve({ ids: ['1'], current: '1' });
  }

  registersOfThread(): Promise<ReadonlyMap<string, bigint>> { return Promise.resolve(this.row.registers); }

  readRegister(info: RegisterInfo): Promise<bigint> {
    const v = this.row.registers.get(info.name);
    return v === undefined ? Promise.reject(new BootscopeError(ErrorCode.Usage, `register ${info.name} was not recorded`)) : Promise.resolve(v);
  }

  async readMemoryPrefix(address: bigint, length: number): Promise<{ data: Uint8Array; unreadableBytes: number }> {
    const m = this.memory.memoryAt(this.info.sessionId, this.pos, address, length);
    let n = 0;
    while (n < length && m.known[n]) n++;
    // The unknown run after the known prefix: a client reads on after it, so known bytes further on show.
    let end = n;
    while (end < length && !m.known[end]) end++;
    return { data: m.bytes.slice(0, n), unreadableBytes: end - n };
  }

  async readMemory(address: bigint, length: number): Promise<Uint8Array> {
    const m = this.memory.memoryAt(this.info.sessionId, this.pos, address, length);
    const missing = m.known.indexOf(0);
    if (missing < 0) return m.bytes;
    // Code the recording never captured: the ELF's read-only sections hold what was loaded (as gdb's
    // trust-readonly-sections). Writable memory that was not captured stays unknown.
    const fromElf = this.readOnlyImage(address, length);
    if (fromElf) return fromElf;
    throw new BootscopeError(ErrorCode.Target, `memory at ${hex(address + BigInt(missing))} before instruction ${this.pos} was not recorded`
      + `${this.memory.writesRecorded(this.info.sessionId) ? ' (no snapshot covers it)' : ' (this session recorded no stores: memory is known at snapshot instructions only; record with plugin capture for memory at every instruction)'}`);
  }

  /** Bytes of a non-writable allocated section of the ELF (code, constants), or undefined. */
  private readOnlyImage(address: bigint, length: number): Uint8Array | undefined {
    for (const elf of this.symbols?.elfs ?? []) {
      for (const s of elf.sections) {
        const SHF_WRITE = 1;
        const SHF_ALLOC = 2;
        if ((s.flags & SHF_ALLOC) === 0 || (s.flags & SHF_WRITE) !== 0) continue;
        if (address >= s.addr && address + BigInt(length) <= s.addr + BigInt(s.size)) return elf.readAt(address, length);
      }
    }
    return undefined;
  }

  // ---- moving --------------------------------------------------------------------------------------------

  pause(): void {
    if (this.running_) this.pauseRequested = true;
  }

  whileHalted<T>(work: () => Promise<T>): Promise<T> { return work(); }

  continue(direction: Direction): Promise<Outcome> {
    return this.move(async () => {
      const found = await this.search(direction, direction === 'forward' ? this.lastPosition : this.firstPosition);
      if (found) return found;
      return direction === 'forward'
        ? { seq: this.lastPosition, reason: 'pause', description: `reached the end of the recording (instruction ${this.lastPosition})` }
        : { seq: this.firstPosition, reason: 'pause', description: `reached the start of the recording (instruction ${this.firstPosition})` };
    });
  }

  step(kind: StepKind, granularity: Granularity, direction: Direction): Promise<Outcome> {
    return this.move(async () => {
      if (kind === 'stepOut') return this.stepOut(direction);
      const line = granularity === 'line' ? this.symbols?.lineAt(this.pc) : undefined;
      if (line) return this.lineStep(kind, direction);
      const next = await this.instructionStep(kind, direction);
      return next.kind === 'stop' ? next.stop : { seq: next.seq, reason: 'step' };
    });
  }

  async goto(target: GotoTarget): Promise<Outcome> {
    const seq = this.resolveGoto(target);
    return this.move(async () => ({ seq, reason: 'goto', description: `went to instruction ${seq}` }));
  }

  private resolveGoto(target: GotoTarget): number {
    const sid = this.info.sessionId;
    let seq: number;
    if ('sequenceNumber' in target) {
      seq = target.sequenceNumber;
    } else if ('snapshotId' in target) {
      const snap = this.snapshotList.find((s) => s.snapshotId === target.snapshotId);
      if (!snap) throw new BootscopeError(ErrorCode.Usage, `session ${sid} has no snapshot #${target.snapshotId}`);
      if (snap.sequenceNumber === null) throw new BootscopeError(ErrorCode.Usage, `snapshot #${target.snapshotId} does not say at which instruction it was taken (a file older than sequence numbers on snapshots)`);
      seq = snap.sequenceNumber;
    } else {
      const visits = this.store.stages(sid).filter((v) => v.stageName === target.stage);
      if (visits.length === 0) {
        const names = [...new Set(this.store.stages(sid).map((v) => v.stageName))];
        throw new BootscopeError(ErrorCode.Usage, `session ${sid} never entered stage "${target.stage}"${names.length ? `; its stages are ${names.join(', ')}` : ''}`);
      }
      const visit = target.visit ?? 1;
      const v = visits.find((x) => x.enterCount === visit);
      if (!v) throw new BootscopeError(ErrorCode.Usage, `stage "${target.stage}" was entered ${visits.length} time(s) in session ${sid}; there is no entry ${visit}`);
      seq = v.firstSequenceNumber;
    }
    if (!Number.isSafeInteger(seq) || seq < this.firstPosition || seq > this.lastPosition) {
      throw new BootscopeError(ErrorCode.Usage, `instruction ${seq} is not in session ${sid} (it has instructions ${this.firstPosition} to ${this.lastPosition})`);
    }
    return seq;
  }

  /** Runs a move, sets the new position and says which trace gaps it crossed. */
  private async move(body: () => Promise<Stop>): Promise<Outcome> {
    if (this.running_) throw new BootscopeError(ErrorCode.Usage, 'the replay is already moving; pause it first');
    this.running_ = true;
    this.pauseRequested = false;
    const from = this.pos;
    try {
      let stop: Stop;
      try {
        stop = await body();
      } catch (e) {
        this.setPosition(from); // a line step moves the position as it goes
        throw e;
      }
      this.setPosition(stop.seq);
      const notes = [stop.description, this.gapNote(from, stop.seq)].filter((x): x is string => !!x);
      return { kind: 'stopped', reason: stop.reason, hitBreakpointIds: stop.hitBreakpointIds, description: notes.length ? notes.join('; ') : undefined };
    } finally {
      this.running_ = false;
    }
  }

  private gapNote(from: number, to: number): string | undefined {
    if (from === to) return undefined;
    const gaps = this.memory.gapsBetween(this.info.sessionId, from, to);
    if (gaps.length === 0) return undefined;
    const text = gaps.slice(0, 3).map((g) => `after instruction ${g.afterSequenceNumber} (${g.reason}${g.instructionsSkipped === null ? '' : `, ${g.instructionsSkipped.toLocaleString('en-US')} instructions not recorded`})`).join(', ');
    const note = `crossed ${gaps.length} trace gap${gaps.length === 1 ? '' : 's'}: ${text}${gaps.length > 3 ? ', …' : ''}; the state across a gap is not the effect of the recorded steps`;
    this.listener.output(`bootscope: ${note}\n`, 'console');
    return note;
  }

  private setPosition(seq: number): void {
    this.pos = seq;
    this.row = this.rowAt(seq);
  }

  /** The row of instruction `seq`, from the window of rows around the position (re-read when outside it). */
  private rowAt(seq: number): StepRecord {
    const first = this.window[0]?.sequenceNumber;
    if (first !== undefined && seq >= first && seq - first < this.window.length) {
      const r = this.window[seq - first];
      if (r.sequenceNumber === seq) return r;
    }
    const from = Math.max(this.firstPosition, seq - WINDOW / 2);
    this.window = this.store.steps(this.info.sessionId, from, WINDOW);
    const r = this.window[seq - from];
    if (!r || r.sequenceNumber !== seq) throw new BootscopeError(ErrorCode.Database, `instruction ${seq} of session ${this.info.sessionId} is missing from ${this.store.file} (sequence numbers are not contiguous)`);
    return r;
  }

  /** Size and call-ness of the instruction of a row, from its recorded bytes and disassembly. */
  private instructionOf(r: StepRecord): { size: number; isCall: boolean } {
    const thumb = r.thumb ?? false;
    const size = r.bytes && r.bytes.length >= 2 ? instructionLength(this.arch, thumb, r.bytes) : 4;
    const mnemonic = (r.disassembly ?? '').trim().split(/\s+/)[0] ?? '';
    return { size, isCall: this.conventions.isCall(mnemonic) };
  }

  /** One instruction (`stepIn`), or over a call (`next`), either way; a breakpoint inside a skipped call stops there. */
  private async instructionStep(kind: StepKind, direction: Direction): Promise<{ kind: 'at'; seq: number } | { kind: 'stop'; stop: Stop }> {
    const edge = this.edge(direction);
    if (edge) return { kind: 'stop', stop: edge };
    const plain = direction === 'forward' ? this.pos + 1 : this.pos - 1;
    if (kind === 'stepIn') return { kind: 'at', seq: plain };
    const target = direction === 'forward' ? this.returnFromCallAt(this.pos) : this.callReturningTo(this.pos);
    if (target === undefined) return { kind: 'at', seq: plain };
    const hit = await this.search(direction, direction === 'forward' ? target - 1 : target + 1);
    return hit ? { kind: 'stop', stop: hit } : { kind: 'at', seq: target };
  }

  /** A stop when the position is at the end the step goes to. */
  private edge(direction: Direction): Stop | undefined {
    if (direction === 'forward' && this.pos >= this.lastPosition) return { seq: this.pos, reason: 'step', description: `at the end of the recording (instruction ${this.lastPosition})` };
    if (direction === 'backward' && this.pos <= this.firstPosition) return { seq: this.pos, reason: 'step', description: `at the start of the recording (instruction ${this.firstPosition})` };
    return undefined;
  }

  /** When instruction `seq` is a call: the instruction after it returns (pc = return address, same sp). */
  private returnFromCallAt(seq: number): number | undefined {
    const r = this.rowAt(seq);
    const ins = this.instructionOf(r);
    if (!ins.isCall) return undefined;
    return this.firstRow('>', seq, r.pc + BigInt(ins.size), r.sp);
  }

  /** When instruction `seq` follows the return of a call: that call (the reverse of stepping over it). */
  private callReturningTo(seq: number): number | undefined {
    if (seq - 1 < this.firstPosition) return undefined;
    // Only a return can bring execution back from a call; anything else is a plain step back (and spares
    // a search through the trace).
    if (!this.conventions.isReturn(this.rowAt(seq - 1).disassembly ?? '')) return undefined;
    const r = this.rowAt(seq);
    for (const size of this.arch === 'arm' && r.thumb ? [4, 2] : [4]) {
      const callPc = r.pc - BigInt(size);
      const call = this.lastRow('<', seq, callPc, r.sp);
      if (call === undefined || call >= seq - 1) continue;
      const c = this.rowAt(call);
      const ins = this.instructionOf(c);
      if (!ins.isCall || ins.size !== size) continue;
      // The instruction right after that call's return is this one only if pc(seq) was not reached since.
      if (this.lastRow('<', seq, r.pc, undefined, call) !== undefined) continue;
      return call;
    }
    return undefined;
  }

  private stepOut(direction: Direction): Stop {
    const edge = this.edge(direction);
    if (edge) return edge;
    const fn = this.symbols?.functionAt(this.pc);
    // The call that entered this function: the row before its latest entry at or before here.
    const entry = fn ? (this.pc === fn.start ? this.pos : this.lastRow('<', this.pos, fn.start)) : undefined;
    const call = entry !== undefined && entry > this.firstPosition ? entry - 1 : undefined;
    const c = call === undefined ? undefined : this.rowAt(call);
    if (c && this.instructionOf(c).isCall) {
      if (direction === 'backward') return { seq: call as number, reason: 'step' };
      const back = this.firstRow('>', this.pos, c.pc + BigInt(this.instructionOf(c).size), c.sp);
      if (back !== undefined) return { seq: back, reason: 'step' };
      return { seq: this.lastPosition, reason: 'step', description: `${fn?.name ?? 'the function'} does not return before the end of the recording` };
    }
    if (direction === 'backward') return { seq: this.pos, reason: 'step', description: `no recorded call into ${fn?.name ?? 'this code'} to step back out to` };
    const lr = this.row.registers.get(this.conventions.linkRegister);
    if (lr === undefined) return { seq: this.pos, reason: 'step', description: 'the recording holds no link register' };
    const back = this.firstRow('>', this.pos, this.conventions.returnAddress(lr));
    return back === undefined ? { seq: this.lastPosition, reason: 'step', description: 'the return address in the link register is not reached before the end of the recording' } : { seq: back, reason: 'step' };
  }

  private async lineStep(kind: StepKind, direction: Direction): Promise<Stop> {
    const symbols = this.symbols as ProgramSymbols;
    const startLine = symbols.lineAt(this.pc);
    const startFn = symbols.functionAt(this.pc)?.start;
    const sameLine = (pc: bigint, line = startLine, fnStart = startFn): boolean => {
      const here = symbols.lineAt(pc);
      // Code without line information inside the same function belongs to the line around it.
      if (!here) return symbols.functionAt(pc)?.start === fnStart;
      return here.line === line?.line && here.file === line.file;
    };
    let seq = this.pos;
    let n = 0;
    const advance = async (): Promise<Stop | number> => {
      if (++n > MAX_LINE_STEP_INSTRUCTIONS) return { seq, reason: 'step', description: `line step gave up after ${MAX_LINE_STEP_INSTRUCTIONS} instructions on the same line` };
      if (n % 4096 === 0) await new Promise((r) => setImmediate(r));
      if (this.pauseRequested) return { seq, reason: 'pause' };
      this.pos = seq; // instructionStep works from the position
      this.row = this.rowAt(seq);
      const s = await this.instructionStep(kind, direction);
      if (s.kind === 'stop') return s.stop;
      const hit = this.breakpointAt(s.seq);
      if (hit) return hit;
      return s.seq;
    };
    for (;;) {
      const r = await advance();
      if (typeof r !== 'number') return r;
      seq = r;
      if (!sameLine(this.rowAt(seq).pc)) break;
    }
    if (direction === 'forward') return { seq, reason: 'step' };
    // Backwards we are on the last instruction of the previous line: go on to its first one (gdb's reverse-next).
    const line = symbols.lineAt(this.rowAt(seq).pc);
    const fnStart = symbols.functionAt(this.rowAt(seq).pc)?.start;
    for (;;) {
      if (seq <= this.firstPosition) return { seq, reason: 'step' };
      this.pos = seq;
      this.row = this.rowAt(seq);
      const s = await this.instructionStep(kind, direction);
      if (s.kind === 'stop') return s.stop.reason === 'step' ? { seq, reason: 'step' } : s.stop;
      if (!sameLine(this.rowAt(s.seq).pc, line, fnStart) || !line) return { seq, reason: 'step' };
      const hit = this.breakpointAt(s.seq);
      if (hit) return hit;
      seq = s.seq;
    }
  }

  /** A code breakpoint bound at instruction `seq` whose hit condition is met. */
  private breakpointAt(seq: number): Stop | undefined {
    const pc = this.rowAt(seq).pc;
    if (!this.breakpoints.addresses().has(pc)) return undefined;
    const { stopIds } = this.breakpoints.hitAt(pc);
    return stopIds.length ? { seq, reason: 'breakpoint', hitBreakpointIds: stopIds } : undefined;
  }

  // ---- searches ------------------------------------------------------------------------------------------

  /**
   * The nearest stop strictly after (forward) or before (backward) the position, up to `limit` inclusive:
   * a code breakpoint whose hit condition is met, or a recorded write to a data breakpoint's range (forward:
   * the state after the write, W + 1; backward: the writing instruction W).
   */
  private async search(direction: Direction, limit: number): Promise<Stop | undefined> {
    const forward = direction === 'forward';
    const addresses = [...this.breakpoints.addresses()];
    const dataStop = this.nextDataStop(direction, limit);
    const before = (a: number, b: number): boolean => (forward ? a < b : a > b);
    let from = this.pos;
    while (before(from, limit)) {
      let to = forward ? Math.min(limit, from + SEARCH_CHUNK) : Math.max(limit, from - SEARCH_CHUNK);
      // Code breakpoints only up to the data breakpoint's stop: the nearer one wins.
      if (dataStop && !before(to, dataStop.seq)) to = dataStop.seq;
      const seq = addresses.length ? this.pcIn(addresses, forward, from, to) : undefined;
      if (seq !== undefined) {
        const hit = this.breakpointAt(seq);
        if (hit) return hit;
        from = seq; // bound here, but its hit condition is not met yet: search on from it
        continue;
      }
      if (dataStop && to === dataStop.seq) return dataStop;
      from = to;
      await new Promise((r) => setImmediate(r));
      if (this.pauseRequested) return { seq: from, reason: 'pause' };
    }
    return undefined;
  }

  /** First (forward) or last (backward) instruction in (from, to] / [to, from) whose pc is one of `addresses`. */
  private pcIn(addresses: bigint[], forward: boolean, from: number, to: number): number | undefined {
    const marks = addresses.map(() => '?').join(', ');
    const [lo, hi] = forward ? [from + 1, to] : [to, from - 1];
    const r = this.store.query(`SELECT sequence_number FROM instruction_traces WHERE session_id = ? AND sequence_number BETWEEN ? AND ?
        AND pc_address IN (${marks}) ORDER BY sequence_number ${forward ? 'ASC' : 'DESC'} LIMIT 1`,
    [this.info.sessionId, lo, hi, ...addresses.map((a) => addressToSql(a))], { maxRows: 1 });
    return r.rows.length ? Number(r.rows[0][0]) : undefined;
  }

  /** The first row after (or last before) `seq` with this pc (and stack pointer), within the session; `bound` limits a backward search. */
  private firstRow(op: '>', seq: number, pc: bigint, sp?: bigint | null): number | undefined {
    return this.rowWhere(op, seq, pc, sp);
  }

  private lastRow(op: '<', seq: number, pc: bigint, sp?: bigint | null, bound?: number): number | undefined {
    return this.rowWhere(op, seq, pc, sp, bound);
  }

  private rowWhere(op: '<' | '>', seq: number, pc: bigint, sp?: bigint | null, bound?: number): number | undefined {
    const params: SQLiteValue[] = [this.info.sessionId, seq, addressToSql(pc)];
    let extra = '';
    if (sp !== undefined && sp !== null) { extra += ' AND stack_pointer = ?'; params.push(addressToSql(sp)); }
    if (bound !== undefined) { extra += ' AND sequence_number > ?'; params.push(bound); }
    const r = this.store.query(`SELECT sequence_number FROM instruction_traces WHERE session_id = ? AND sequence_number ${op} ? AND pc_address = ?${extra}
        ORDER BY sequence_number ${op === '>' ? 'ASC' : 'DESC'} LIMIT 1`, params, { maxRows: 1 });
    return r.rows.length ? Number(r.rows[0][0]) : undefined;
  }

  /** The nearest recorded write to a verified data breakpoint's range, as a stop (see search). */
  private nextDataStop(direction: Direction, limit: number): Stop | undefined {
    const sid = this.info.sessionId;
    let best: { seq: number; write: number; ids: number[] } | undefined;
    for (const d of this.dataBreakpoints) {
      if (!d.verified) continue;
      let write: number | undefined;
      if (direction === 'backward') {
        // The last write before the position: reverse-continue lands on the instruction that wrote.
        write = this.memory.whoWrote(sid, d.address, d.size, { before: this.pos, limit: 1 })[0]?.sequence_number;
        if (write !== undefined && write < limit) write = undefined;
      } else {
        write = this.firstWriteFrom(d, this.pos, limit);
      }
      if (write === undefined) continue;
      const seq = direction === 'forward' ? Math.min(write + 1, this.lastPosition) : write;
      if (direction === 'forward' && seq <= this.pos) continue;
      if (!best || (direction === 'forward' ? seq < best.seq : seq > best.seq)) best = { seq, write, ids: [d.id] };
      else if (best.seq === seq) best.ids.push(d.id);
    }
    if (!best) return undefined;
    const d = this.dataBreakpoints.find((x) => x.id === best.ids[0]) as DataBreakpoint;
    return { seq: best.seq, reason: 'data breakpoint', hitBreakpointIds: best.ids, description: `instruction ${best.write} wrote ${d.size} byte(s) at ${hex(d.address)}` };
  }

  /** The oldest write to `d` at or after instruction `from` (and at most `limit`): whoWrote answers newest first, so bisect on its `before`. */
  private firstWriteFrom(d: DataBreakpoint, from: number, limit: number): number | undefined {
    const sid = this.info.sessionId;
    const any = (before: number): boolean => this.memory.whoWrote(sid, d.address, d.size, { after: from - 1, before, limit: 1 }).length > 0;
    let hi = limit + 1; // exclusive bound that has a write
    if (!any(hi)) return undefined;
    let lo = from; // exclusive bound with no write before it
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (any(mid)) hi = mid; else lo = mid;
    }
    return hi - 1;
  }

  async setDataBreakpoints(list: DataBreakpoint[]): Promise<void> {
    const writes = this.memory.writesRecorded(this.info.sessionId);
    for (const d of list) {
      if (d.size === 0) continue;
      if (!writes) {
        d.message = `session ${this.info.sessionId} recorded no stores (gdbstub capture): data breakpoints need a recording made with plugin capture (bootscope record --capture plugin)`;
      } else if (d.access === 'read') {
        d.message = 'a recording holds the stores, not the loads: only write data breakpoints stop in a replay';
      } else {
        d.verified = true;
        if (d.access === 'readWrite') d.message = 'stops on writes only: a recording holds the stores, not the loads';
      }
    }
    this.dataBreakpoints = list.filter((d) => d.verified);
  }

  // ---- views ---------------------------------------------------------------------------------------------

  status(terminated: boolean): RecordingStatus {
    // From the list read at open: the store may be closed already (status after end).
    const snapshots = this.snapshotList.filter((s) => s.sequenceNumber !== null && s.sequenceNumber <= this.pos);
    return {
      state: terminated ? 'terminated' : this.running_ ? 'running' : 'stopped',
      recording: false,
      sessionId: this.info.sessionId,
      database: this.store.file,
      instructions: this.lastPosition - this.firstPosition + 1,
      rate: 0,
      stage: this.row.bootStage ?? '',
      snapshots: snapshots.length,
      lastSnapshotId: snapshots.at(-1)?.snapshotId,
      pc: hex(this.pc),
      position: this.pos,
    };
  }

  bootVariables(): BootVariable[] {
    const st = this.status(false);
    const writes = this.memory.writesRecorded(this.info.sessionId);
    return [
      { name: 'instruction', value: `${this.pos.toLocaleString('en-US')} of ${this.firstPosition.toLocaleString('en-US')}…${this.lastPosition.toLocaleString('en-US')} (replay)` },
      { name: 'stage', value: st.stage || '(none)' },
      { name: 'function', value: this.row.functionName ?? this.symbols?.functionAt(this.pc)?.name ?? 'unknown' },
      { name: 'last snapshot', value: st.lastSnapshotId === undefined ? '(none yet)' : `#${st.lastSnapshotId}` },
      { name: 'memory', value: writes ? 'snapshots + recorded stores' : 'snapshots only (no stores recorded)' },
      { name: 'session', value: `${this.info.sessionId} in ${path.basename(this.store.file)}` },
    ];
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.ownsStore) this.store.close(null);
  }

  async detach(): Promise<boolean> { return false; }
}

/** First and last sequence number of a session, or undefined when it has none. */
function instructionRange(store: RecordingStore, sessionId: number): { first: number; last: number } | undefined {
  const r = store.query('SELECT MIN(sequence_number), MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [sessionId], { maxRows: 1 }).rows[0];
  return r && r[0] !== null ? { first: Number(r[0]), last: Number(r[1]) } : undefined;
}

/** The session's ELF (or the launch configuration's), loaded when it can be; a replay without symbols still shows registers. */
function replaySymbols(o: ReplayOptions, info: SessionInfo, listener: EngineListener): { symbols: ProgramSymbols | undefined; elfPath: string | undefined } {
  const elf = o.elf ?? info.elfPath ?? undefined;
  if (!elf) {
    listener.output(`bootscope: session ${info.sessionId} names no ELF: no sources or symbols (set "elf" in the launch configuration)\n`, 'console');
    return { symbols: undefined, elfPath: undefined };
  }
  let extra: string[] = [];
  try {
    const cfg = info.configJson ? JSON.parse(info.configJson) as { symbolFiles?: unknown } : {};
    if (Array.isArray(cfg.symbolFiles)) extra = cfg.symbolFiles.filter((f): f is string => typeof f === 'string');
  } catch { /* a config_json that is not JSON: only the ELF */ }
  try {
    const symbols = loadSymbols([elf, ...extra]);
    if (info.elfMd5) {
      const md5 = createHash('md5').update(readFileSync(elf)).digest('hex');
      if (md5 !== info.elfMd5) listener.output(`bootscope: ${elf} is not the ELF session ${info.sessionId} was recorded with (MD5 ${md5}, recorded ${info.elfMd5}): sources and symbols may not match\n`, 'console');
    }
    return { symbols, elfPath: elf };
  } catch (e) {
    listener.output(`bootscope: cannot read ${elf}: ${errorMessage(e)}; replaying without sources or symbols\n`, 'console');
    return { symbols: undefined, elfPath: undefined };
  }
}

/** A register layout for the Variables view from the recorded names (a recording has no target.xml). */
function recordedRegisterInfo(arch: Arch, names: string[], pc: string, sp: string | undefined): RegisterInfo[] {
  const feature = `org.gnu.gdb.${arch}.core`;
  return names.map((name, regnum) => {
    const bitsize = arch === 'aarch64' && !/^(cpsr|fpsr|fpcr)$/i.test(name) ? 64 : 32;
    return { name, regnum, bitsize, byteSize: bitsize / 8, type: name === pc ? 'code_ptr' : name === sp ? 'data_ptr' : 'int', feature };
  });
}
