// The live engine: QEMU's gdbstub (GdbTarget) and the Recorder through RecordingSession, run control by
// Execution. Everything the DAP session used to do to the target directly lives here: reading threads,
// registers and memory, inserting watchpoints, writing registers and memory, recording on/off, snapshots,
// and ending or detaching. Forward only: it implements TargetWrites and RecordingControl, not TimeTravel.
import type { RecordingConfig } from '../common/config';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import { Disassembler, type ArchConventions } from '../arch';
import type { RegisterInfo } from '../rsp/targetXml';
import type { ProgramSymbols } from '../symbols';
import type { RecordingStore } from '../store/recording-store';
import type { SessionStatus } from '../store/schema';
import { RecordingSession } from '../recorder/session';
import { chooseCapture } from '../recorder/capture-choice';
import { LivePluginCapture, PluginSocket } from '../recorder/plugin-live';
import type { RecorderProgress, RunResult } from '../recorder/recorder';
import { BreakpointTable, watchpointType, type DataBreakpoint } from './breakpoints';
import { Execution } from './execution';
import type { BootVariable, DebugEngine, Direction, EngineListener, Granularity, Outcome, RecordingControl, StepKind, TargetWrites } from './engine';
import type { ExecutionState, RecordingStatus, SnapshotCaptured } from './custom-requests';
import { hex } from './register-view';
import * as path from 'node:path';

export class LiveEngine implements DebugEngine, TargetWrites, RecordingControl {
  readonly breakpoints: BreakpointTable;
  private readonly execution: Execution;
  private lastProgress: RecorderProgress | undefined;
  /** Data breakpoints currently inserted in the target (Z2/Z3/Z4). */
  private insertedWatchpoints: DataBreakpoint[] = [];
  private ended = false;
  /** Plugin capture: the rows come from QEMU's plugin, the gdbstub only runs and stops the guest. */
  private plugin: LivePluginCapture | undefined;

  private constructor(
    readonly session: RecordingSession,
    private readonly config: RecordingConfig,
    disassembler: Disassembler,
    private readonly listener: EngineListener,
  ) {
    this.breakpoints = new BreakpointTable(session.symbols as ProgramSymbols | undefined);
    this.execution = new Execution({
      target: session.target, recorder: session.recorder, symbols: this.symbols, disassembler,
      breakpoints: this.breakpoints, onRecordingLimit: (reason) => this.onRecordingLimit(reason),
    });
    session.target.on('close', (error) => {
      if (error && !this.ended) listener.gone(errorMessage(error));
    });
  }

  /** Launches QEMU (or attaches to it), connects, and loads the symbols; the guest stays halted. */
  static async start(config: RecordingConfig, listener: EngineListener, store?: RecordingStore): Promise<LiveEngine> {
    const disassembler = await Disassembler.create();
    const made: { engine?: LiveEngine } = {};
    const warn = (m: string): void => listener.output(`bootscope: ${m}\n`, 'console');
    const choice = config.record ? await chooseCapture(config) : { capture: 'gdbstub' as const, reason: 'recording is off' };
    if (config.record) warn(choice.reason);
    if (config.window) warn('"window" applies to `bootscope record`; a debug session with plugin capture records everything the guest runs (use breakpoints to stop where you want)');
    const socket = choice.capture === 'plugin' ? await PluginSocket.listen() : undefined;
    let session: RecordingSession;
    try {
      session = await RecordingSession.start({
        config,
        store,
        onProgress: (p) => made.engine?.onProgress(p),
        onWarning: warn,
        onUart: (text) => listener.output(text, 'stdout'),
        extraQemuArgs: socket?.qemuArgs(),
      });
    } catch (e) {
      socket?.close();
      throw e;
    }
    made.engine = new LiveEngine(session, config, disassembler, listener);
    if (socket) {
      try {
        made.engine.plugin = await LivePluginCapture.attach(session, await socket.accept(), config, disassembler, warn);
      } catch (e) {
        await session.close('error', errorMessage(e)).catch(() => undefined);
        throw e;
      }
      // Every instruction is recorded by the plugin: the gdbstub stepper must not record them again.
      session.recorder.setRecording(false);
    }
    return made.engine;
  }

  /** One line for the Debug Console: what was launched or attached, and where it records. */
  describe(): string {
    const s = this.session;
    return `${s.qemu ? `launched QEMU ${s.qemu.version.text} (pid ${s.qemu.pid}, gdbstub 127.0.0.1:${s.qemu.gdbPort})` : `attached to ${this.config.host}:${this.config.port}`}; `
      + `recording ${this.config.record ? 'on' : 'off'} into ${this.config.database} (session ${s.sessionId})`;
  }

  get arch() { return this.execution.arch; }
  get conventions(): ArchConventions { return this.execution.conventions; }
  get symbols(): ProgramSymbols | undefined { return this.session.symbols as ProgramSymbols | undefined; }
  get elfPath(): string | undefined { return this.config.elf; }
  get stopOnEntry(): boolean { return this.config.stopOnEntry; }
  get registerInfo(): readonly RegisterInfo[] { return this.session.target.layout.registers; }
  get running(): boolean { return this.execution.running; }
  get registers(): ReadonlyMap<string, bigint> { return this.execution.registers; }
  get pc(): bigint { return this.execution.pc; }
  get thumb(): boolean { return this.execution.thumb; }
  get pcRegister(): string { return this.execution.pcRegister; }
  get statusRegister(): string | undefined { return this.execution.statusRegister; }

  async begin(): Promise<void> {
    if (this.config.record && !this.plugin) await this.session.recorder.begin();
    await this.execution.refresh();
  }

  async threads(): Promise<{ ids: string[]; current: string }> {
    const t = this.session.target;
    const ids = await t.threads();
    const current = await t.currentThread().catch(() => '');
    return { ids, current };
  }

  /** Registers of another vCPU: select it for `g` with Hg, read, select the stopped one again. */
  async registersOfThread(id: string): Promise<ReadonlyMap<string, bigint>> {
    const t = this.session.target;
    const current = await t.currentThread().catch(() => '');
    await t.request(`Hg${id}`);
    try {
      return t.decodeRegisters(await t.readRegisters());
    } finally {
      if (current) await t.request(`Hg${current}`);
    }
  }

  readRegister(info: RegisterInfo): Promise<bigint> {
    return this.session.target.readRegister(info.regnum);
  }

  readMemory(address: bigint, length: number): Promise<Uint8Array> {
    return this.session.target.readMemory(address, length);
  }

  async readMemoryPrefix(address: bigint, count: number): Promise<{ data: Uint8Array; unreadableBytes: number }> {
    const data = await this.readablePrefix(address, count);
    return { data, unreadableBytes: count - data.length };
  }

  private async readablePrefix(address: bigint, count: number): Promise<Uint8Array> {
    const t = this.session.target;
    try {
      return await t.readMemory(address, count);
    } catch {
      // Part of the range is unmapped: the readable prefix, chunk by chunk.
      const parts: Uint8Array[] = [];
      let got = 0;
      const chunk = 256;
      while (got < count) {
        const n = Math.min(chunk, count - got);
        try { parts.push(await t.readMemory(address + BigInt(got), n)); got += n; } catch { break; }
      }
      return Buffer.concat(parts);
    }
  }

  continue(direction: Direction): Promise<Outcome> {
    if (direction === 'backward') return Promise.reject(new BootscopeError(ErrorCode.Usage, 'a live QEMU cannot run backwards; replay a recording to step back'));
    return this.execution.continue().then((o) => this.committed(o));
  }

  step(kind: StepKind, granularity: Granularity, direction: Direction): Promise<Outcome> {
    if (direction === 'backward') return Promise.reject(new BootscopeError(ErrorCode.Usage, 'a live QEMU cannot step backwards; replay a recording to step back'));
    return this.execution.step(kind, granularity).then((o) => this.committed(o));
  }

  /** Stopped: commit the buffered rows, so the file shows every instruction up to here to any reader. */
  private async committed(outcome: Outcome): Promise<Outcome> {
    await this.plugin?.settle();
    try { this.session.store.flush(); } catch (e) { this.listener.output(`bootscope: writing the recording failed: ${errorMessage(e)}\n`, 'stderr'); }
    return outcome;
  }

  pause(): void { this.execution.pause(); }

  whileHalted<T>(work: () => Promise<T>): Promise<T> { return this.execution.whileHalted(work); }

  async setDataBreakpoints(wanted: DataBreakpoint[]): Promise<void> {
    const t = this.session.target;
    if (this.ended) {
      for (const d of wanted) d.message ??= 'the session has ended';
      return;
    }
    await this.execution.whileHalted(async () => {
      for (const old of this.insertedWatchpoints) await t.removeBreakpoint(watchpointType(old.access), old.address, old.size).catch(() => undefined);
      this.insertedWatchpoints = [];
      for (const d of wanted) {
        if (d.size === 0) continue;
        try {
          d.verified = await t.insertBreakpoint(watchpointType(d.access), d.address, d.size);
          if (d.verified) this.insertedWatchpoints.push(d);
          else d.message = `this gdbstub does not support ${d.access} watchpoints (Z${watchpointType(d.access)})`;
        } catch (e) {
          d.message = errorMessage(e);
        }
      }
    });
  }

  // ---- TargetWrites ---------------------------------------------------------------------------------------

  async writeRegister(name: string, value: bigint): Promise<bigint> {
    const t = this.session.target;
    const reg = t.register(name);
    await t.writeRegister(reg.regnum, value);
    await this.execution.refresh();
    this.execution.markRecorderStale();
    return reg.gOffset !== undefined ? this.execution.registers.get(reg.name) ?? value : t.readRegister(reg.regnum);
  }

  writeMemory(address: bigint, data: Uint8Array): Promise<void> {
    return this.session.target.writeMemory(address, data).then(() => this.execution.markRecorderStale('memory-write', 0));
  }

  monitor(command: string): Promise<string> {
    return this.session.target.monitor(command);
  }

  // ---- RecordingControl ------------------------------------------------------------------------------------

  setRecording(on: boolean): Promise<void> {
    if (this.plugin) {
      if (!on) this.listener.output('bootscope: plugin capture records everything the guest runs; to record part of a boot, use "window" in the configuration\n', 'console');
      return Promise.resolve();
    }
    // While running, halt at the next instruction boundary so the run switches between `c` and recorded steps.
    return this.execution.whileHalted(async () => this.session.recorder.setRecording(on));
  }

  captureSnapshot(): Promise<SnapshotCaptured> {
    return this.execution.whileHalted(async () => {
      const s = this.session;
      if (this.plugin) {
        await this.plugin.settle();
        const snapshotId = this.plugin.snapshot('manual');
        return { snapshotId, sessionId: s.sessionId, database: s.config.database, sequenceNumber: this.plugin.instructionCount };
      }
      await this.execution.syncRecorderForSnapshot();
      const snapshotId = await s.recorder.captureSnapshot('manual');
      if (snapshotId === undefined && this.config.regions.length === 0) {
        this.listener.output('bootscope: the configuration has no "regions", so a snapshot has nothing to capture\n', 'console');
      }
      return { snapshotId, sessionId: s.sessionId, database: s.config.database, sequenceNumber: s.recorder.instructionCount };
    });
  }

  // ---- status, end -----------------------------------------------------------------------------------------

  private onRecordingLimit(reason: RunResult['reason']): void {
    if (reason === 'max-instructions' || reason === 'time-limit') this.session.recorder.setRecording(false);
  }

  private onProgress(p: RecorderProgress): void {
    this.lastProgress = p;
    this.listener.progress(`${p.instructions.toLocaleString('en-US')} instructions · ${Math.round(p.rate).toLocaleString('en-US')}/s · ${p.stage} · ${p.functionName}`);
  }

  status(terminated: boolean): RecordingStatus {
    const s = this.session;
    const ex = this.execution;
    const p = this.plugin;
    const recording = p !== undefined || s.recorder.isRecording;
    const state: ExecutionState = terminated ? 'terminated' : ex.running ? (recording ? 'recording' : 'running') : 'stopped';
    return {
      state,
      recording,
      sessionId: s.sessionId,
      database: this.config.database,
      instructions: p ? p.instructionCount : s.recorder.instructionCount,
      rate: state === 'recording' ? this.lastProgress?.rate ?? 0 : 0,
      stage: p ? p.currentStage : s.recorder.currentStage ?? '',
      snapshots: p ? p.snapshots : s.recorder.snapshots,
      lastSnapshotId: p ? p.lastSnapshot : s.recorder.lastSnapshot,
      pc: !ex.running ? hex(ex.pc) : this.lastProgress ? hex(this.lastProgress.pc) : undefined,
    };
  }

  bootVariables(): BootVariable[] {
    const st = this.status(false);
    const fn = this.symbols?.functionAt(this.execution.pc);
    return [
      { name: 'stage', value: st.stage || '(none yet)' },
      { name: 'instructions recorded', value: st.instructions.toLocaleString('en-US') },
      { name: 'recording', value: st.recording ? 'on' : 'off' },
      { name: 'last snapshot', value: st.lastSnapshotId === undefined ? '(none)' : `#${st.lastSnapshotId} (${st.snapshots} this session)` },
      { name: 'function', value: fn?.name ?? 'unknown' },
      { name: 'session', value: `${st.sessionId} in ${path.basename(st.database)}` },
    ];
  }

  private async haltIfRunning(): Promise<void> {
    const ex = this.execution;
    if (!ex.running) return;
    await ex.whileHalted(async () => { ex.pause(); }).catch(() => undefined);
  }

  /** The 'end' snapshot a finished recording gets (as the CLI does), while QEMU is still there. */
  private async finalSnapshot(): Promise<void> {
    const s = this.session;
    if (this.plugin) {
      await this.plugin.settle();
      this.plugin.snapshot('end');
      return;
    }
    if (!s.recorder.isRecording || s.recorder.current === undefined) return;
    await this.execution.syncRecorderForSnapshot().catch(() => undefined);
    await s.recorder.captureSnapshot('end').catch(() => undefined);
  }

  async end(status: Exclude<SessionStatus, 'recording'>, reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (status !== 'qemu-exited') {
      await this.haltIfRunning();
      await this.finalSnapshot();
    }
    // QEMU gone mid-run: read what the plugin wrote before it went, before the session closes the file.
    if (status === 'qemu-exited') await this.plugin?.close().catch((e) => this.listener.output(`bootscope: ${errorMessage(e)}\n`, 'stderr'));
    await this.session.close(status, reason).catch((e) => this.listener.output(`bootscope: closing the session failed: ${errorMessage(e)}\n`, 'stderr'));
    await this.plugin?.close().catch(() => undefined);
  }

  /**
   * An attached QEMU is left running: without suspendDebuggee, `D` lets the guest run on (QEMU resumes the
   * VM on detach), as gdb's detach does. A launched QEMU is always stopped (end).
   */
  async detach(args: { suspendDebuggee?: boolean; terminateDebuggee?: boolean }): Promise<boolean> {
    const s = this.session;
    if (this.ended || this.config.request !== 'attach' || args.suspendDebuggee || args.terminateDebuggee) return false;
    this.ended = true;
    await this.haltIfRunning();
    await this.finalSnapshot();
    s.store.endSession(s.sessionId, 'stopped', 'detached from the running QEMU');
    // The next gdb on this QEMU steps as it did before we attached (qqemu.sstep).
    await s.restoreStepFlags().catch((e) => this.listener.output(`bootscope: restoring QEMU's single-step flags failed: ${errorMessage(e)}\n`, 'stderr'));
    await s.target.detach().catch((e) => this.listener.output(`bootscope: detaching from the gdbstub failed: ${errorMessage(e)}; QEMU may still be halted\n`, 'stderr'));
    await s.target.close().catch(() => undefined);
    return true;
  }
}
