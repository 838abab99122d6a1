// The Bootscope debug adapter: translates DAP requests into calls on the engine (RecordingSession with its
// GdbTarget, Recorder and symbols) and engine results into DAP responses and events, as mock-debug's
// mockDebug.ts does for its runtime. Runs inline in the extension host (sharing the store connection),
// as a standalone process (standalone.ts), and under the DebugClient tests alike — so no vscode import.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  Breakpoint, DebugSession, Event, InitializedEvent, InvalidatedEvent, MemoryEvent, OutputEvent, ProgressEndEvent,
  ProgressStartEvent, ProgressUpdateEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread, Handles,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { parseRecordingConfig, type RecordingConfig } from '../common/config';
import { BootscopeError, ConfigError, ErrorCode, errorMessage } from '../common/errors';
import { Disassembler } from '../arch';
import type { ProgramSymbols } from '../symbols';
import type { RegisterInfo } from '../rsp/targetXml';
import type { RecordingStore } from '../store/recording-store';
import type { SessionStatus } from '../store/schema';
import { RecordingSession } from '../recorder/session';
import type { RecorderProgress, RunResult } from '../recorder/recorder';
import { BreakpointTable, formatDataId, parseAddress, parseDataId, watchpointType, type CodeBreakpoint, type DataBreakpoint, type WatchAccess } from './breakpoints';
import { Execution, type Granularity, type Outcome, type StepKind } from './execution';
import { ExpressionEvaluator, formatValue, typeName, type EvaluationEnvironment, type SymbolInfo } from './expression';
import { describeStatus, groupRegisters, hex, statusFields } from './register-view';
import { disassemble } from './disassembly';
import { unwind } from './stack';
import { CustomEvent, CustomRequest, type ExecutionState, type RecordingStatus, type SnapshotCaptured } from './custom-requests';

/** Options for the inline adapter (the extension host passes its shared store). */
export interface BootscopeSessionOptions {
  /** Returns an open, writable store for a recording file; the adapter never closes it. */
  openStore?: (file: string) => RecordingStore;
}

/** launch/attach arguments: the RecordingConfig attributes as launch.json has them, plus `cwd`. */
interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  cwd?: string;
  [attribute: string]: unknown;
}

/** DAP error ids (shown to the user with the message). */
const enum ErrorId {
  Config = 1001,
  Start = 1002,
  NotStopped = 1003,
  NoSession = 1004,
  Evaluate = 1005,
  Memory = 1006,
  Request = 1007,
}

type VariableProvider = () => Promise<DebugProtocol.Variable[]>;

/** The only stack frames are recomputed per stop; frame ids encode thread and depth. */
const FRAME_STRIDE = 1000;

export class BootscopeDebugSession extends DebugSession {
  private session: RecordingSession | undefined;
  private execution: Execution | undefined;
  private breakpoints = new BreakpointTable(undefined);
  private disassembler: Disassembler | undefined;
  private config: RecordingConfig | undefined;
  private readonly resolvedSources = new Map<string, string>();
  private readonly variableHandles = new Handles<VariableProvider>();
  private configurationDone!: () => void;
  private readonly configured = new Promise<void>((resolve) => { this.configurationDone = resolve; });
  private clientSupportsProgress = false;
  private progressId: string | undefined;
  private progressCounter = 0;
  private lastProgress: RecorderProgress | undefined;
  private threadIds: string[] = [];
  private currentThread = 1;
  private terminated = false;
  private symbolIndex: Map<string, SymbolInfo> | undefined;
  /** Data breakpoints currently inserted in the target (Z2/Z3/Z4). */
  private insertedWatchpoints: DataBreakpoint[] = [];

  constructor(private readonly options: BootscopeSessionOptions = {}) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.clientSupportsProgress = args.supportsProgressReporting === true;
    response.body = {
      ...response.body,
      // configurationDone tells us the client has sent its breakpoints: only then does the guest run.
      supportsConfigurationDoneRequest: true,
      // Function breakpoints on ELF symbols (or addresses).
      supportsFunctionBreakpoints: true,
      // `N`, `>N`, `%N` hit counts on every breakpoint kind.
      supportsHitConditionalBreakpoints: true,
      // Watch, hover and debug console go through the expression evaluator.
      supportsEvaluateForHovers: true,
      // Registers can be written from the Variables view.
      supportsSetVariable: true,
      // Watchpoints via Z2/Z3/Z4 on QEMU's gdbstub.
      supportsDataBreakpoints: true,
      supportsDataBreakpointBytes: true,
      // The Disassembly view (disassemble + instruction breakpoints + instruction stepping).
      supportsDisassembleRequest: true,
      supportsInstructionBreakpoints: true,
      supportsSteppingGranularity: true,
      // Memory view / hex editor on variables' memoryReference.
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      // Stop a launched QEMU, leave an attached one running.
      supportsTerminateRequest: true,
      supportTerminateDebuggee: true,
      supportSuspendDebuggee: true,
      // Cancel = stop a long recording run from its progress notification.
      supportsCancelRequest: true,
      // Breakpoints on every line with code, from the DWARF line table.
      supportsBreakpointLocationsRequest: true,
      // Capture and register writes refresh the views.
      supportsValueFormattingOptions: false,
    };
    this.sendResponse(response);
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: LaunchArguments): Promise<void> {
    await this.startSession(response, args, 'launch');
  }

  protected override async attachRequest(response: DebugProtocol.AttachResponse, args: DebugProtocol.AttachRequestArguments & LaunchArguments): Promise<void> {
    await this.startSession(response, args, 'attach');
  }

  private async startSession(response: DebugProtocol.Response, args: LaunchArguments, request: 'launch' | 'attach'): Promise<void> {
    let config: RecordingConfig;
    try {
      const baseDir = typeof args.cwd === 'string' ? args.cwd : process.cwd();
      config = parseRecordingConfig({ ...args, request }, baseDir);
    } catch (e) {
      const field = e instanceof ConfigError ? e.field : '(configuration)';
      this.sendErrorResponse(response, { id: ErrorId.Config, format: `Invalid "${field}" in the bootscope ${request} configuration: ${errorMessage(e).replace(/[{}]/g, '')}`, showUser: true });
      return;
    }
    this.config = config;
    try {
      this.disassembler = await Disassembler.create();
      this.session = await RecordingSession.start({
        config,
        store: this.options.openStore?.(config.database),
        onProgress: (p) => this.onProgress(p),
        onWarning: (m) => this.sendEvent(new OutputEvent(`bootscope: ${m}\n`, 'console')),
        onUart: (text) => this.sendEvent(new OutputEvent(text, 'stdout')),
      });
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Start, format: errorMessage(e).replace(/[{}]/g, ''), showUser: true });
      return;
    }
    const s = this.session;
    s.target.on('close', (error) => {
      if (error && !this.terminated) void this.end('qemu-exited', errorMessage(error));
    });
    this.breakpoints = new BreakpointTable(s.symbols as ProgramSymbols | undefined);
    this.execution = new Execution({
      target: s.target, recorder: s.recorder, symbols: s.symbols as ProgramSymbols | undefined, disassembler: this.disassembler,
      breakpoints: this.breakpoints, onRecordingLimit: (reason) => this.onRecordingLimit(reason),
    });
    this.sendEvent(new OutputEvent(`bootscope: ${s.qemu ? `launched QEMU ${s.qemu.version.text} (pid ${s.qemu.pid}, gdbstub 127.0.0.1:${s.qemu.gdbPort})` : `attached to ${config.host}:${config.port}`}; `
      + `recording ${config.record ? 'on' : 'off'} into ${config.database} (session ${s.sessionId})\n`, 'console'));
    // Breakpoints can be resolved now (symbols are loaded): ask the client for them.
    this.sendEvent(new InitializedEvent());
    await Promise.race([this.configured, new Promise((r) => setTimeout(r, 5000))]);
    try {
      if (config.record) await s.recorder.begin();
      await this.execution.refresh();
      await this.refreshThreads();
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Start, format: `reading the initial state failed: ${errorMessage(e)}`.replace(/[{}]/g, ''), showUser: true });
      await this.end('error', errorMessage(e));
      return;
    }
    this.sendResponse(response);
    this.sendStatus();
    if (config.stopOnEntry) {
      this.sendEvent(this.stoppedEvent('entry'));
    } else {
      void this.runAndReport(() => (this.execution as Execution).continue());
    }
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.configurationDone();
    this.sendResponse(response);
  }

  protected override async terminateRequest(response: DebugProtocol.TerminateResponse): Promise<void> {
    await this.end('stopped', 'debug session terminated by the user');
    this.sendResponse(response);
  }

  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse, args: DebugProtocol.DisconnectArguments | undefined): Promise<void> {
    const s = this.session;
    // `arguments` is optional in DAP's disconnect request: a client may send none.
    // An attached QEMU is left running: without suspendDebuggee, `D` lets the guest run on (QEMU resumes
    // the VM on detach), as gdb's detach does. A launched QEMU is always stopped (RecordingSession.close).
    if (s && !this.terminated && this.config?.request === 'attach' && !args?.suspendDebuggee && !args?.terminateDebuggee) {
      await this.haltIfRunning();
      await this.finalSnapshot();
      s.store.endSession(s.sessionId, 'stopped', 'detached from the running QEMU');
      // The next gdb on this QEMU steps as it did before we attached (qqemu.sstep).
      await s.restoreStepFlags().catch((e) => this.sendEvent(new OutputEvent(`bootscope: restoring QEMU's single-step flags failed: ${errorMessage(e)}\n`, 'stderr')));
      await s.target.detach().catch((e) => this.sendEvent(new OutputEvent(`bootscope: detaching from the gdbstub failed: ${errorMessage(e)}; QEMU may still be halted\n`, 'stderr')));
      this.terminated = true;
      await s.target.close().catch(() => undefined);
    } else {
      await this.end('stopped', 'debug session ended by the user');
    }
    this.sendResponse(response);
  }

  /** Ends the session row with a status, stops a launched QEMU, and tells the client. Idempotent. */
  private async end(status: Exclude<SessionStatus, 'recording'>, reason: string): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    const s = this.session;
    if (s) {
      if (status !== 'qemu-exited') {
        await this.haltIfRunning();
        await this.finalSnapshot();
      }
      await s.close(status, reason).catch((e) => this.sendEvent(new OutputEvent(`bootscope: closing the session failed: ${errorMessage(e)}\n`, 'stderr')));
    }
    this.endProgress();
    this.sendStatus();
    this.sendEvent(new TerminatedEvent());
  }

  private async haltIfRunning(): Promise<void> {
    const ex = this.execution;
    if (!ex?.running) return;
    await ex.whileHalted(async () => { ex.pause(); }).catch(() => undefined);
  }

  /** The 'end' snapshot a finished recording gets (as the CLI does), while QEMU is still there. */
  private async finalSnapshot(): Promise<void> {
    const s = this.session;
    if (!s || !s.recorder.isRecording || s.recorder.current === undefined) return;
    await this.execution?.syncRecorderForSnapshot().catch(() => undefined);
    await s.recorder.captureSnapshot('end').catch(() => undefined);
  }

  // ---- run control ------------------------------------------------------------------------------------------

  private requireStopped(response: DebugProtocol.Response): Execution | undefined {
    if (!this.execution || this.terminated) {
      this.sendErrorResponse(response, { id: ErrorId.NoSession, format: 'no live bootscope session', showUser: false });
      return undefined;
    }
    if (this.execution.running) {
      this.sendErrorResponse(response, { id: ErrorId.NotStopped, format: 'the guest is running; pause it first', showUser: false });
      return undefined;
    }
    return this.execution;
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    const ex = this.requireStopped(response);
    if (!ex) return;
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    void this.runAndReport(() => ex.continue());
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.stepRequest(response, 'next', args.granularity);
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.stepRequest(response, 'stepIn', args.granularity);
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.stepRequest(response, 'stepOut', 'instruction');
  }

  private stepRequest(response: DebugProtocol.Response, kind: StepKind, granularity: DebugProtocol.SteppingGranularity | undefined): void {
    const ex = this.requireStopped(response);
    if (!ex) return;
    this.sendResponse(response);
    const g: Granularity = granularity === 'instruction' ? 'instruction' : 'line';
    void this.runAndReport(() => ex.step(kind, g));
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.execution?.pause();
    this.sendResponse(response);
  }

  protected override cancelRequest(response: DebugProtocol.CancelResponse, args: DebugProtocol.CancelArguments): void {
    // The progress notification's Cancel button: stop the recording run like a pause.
    if (args.progressId !== undefined && args.progressId === this.progressId) this.execution?.pause();
    this.sendResponse(response);
  }

  /** Runs a continue/step, with a cancellable progress notification while recording, then reports the stop. */
  private async runAndReport(run: () => Promise<Outcome>): Promise<void> {
    const s = this.session;
    if (!s) return;
    const recording = s.recorder.isRecording;
    this.variableHandles.reset();
    if (recording) this.startProgress();
    this.sendStatus('running');
    const outcome = await run();
    this.endProgress();
    // Stopped: commit the buffered rows, so the file shows every instruction up to here to any reader.
    try { s.store.flush(); } catch (e) { this.sendEvent(new OutputEvent(`bootscope: writing the recording failed: ${errorMessage(e)}\n`, 'stderr')); }
    if (this.terminated) return;
    if (outcome.kind === 'exited') {
      this.sendEvent(new OutputEvent(`bootscope: ${outcome.description}\n`, outcome.error ? 'stderr' : 'console'));
      await this.end(outcome.error ? 'error' : 'qemu-exited', outcome.description);
      return;
    }
    await this.refreshThreads().catch(() => undefined);
    if (outcome.description && outcome.reason === 'pause') this.sendEvent(new OutputEvent(`bootscope: ${outcome.description}\n`, 'console'));
    this.sendEvent(this.stoppedEvent(outcome.reason, outcome.description, outcome.hitBreakpointIds));
    this.sendStatus();
  }

  /**
   * The StoppedEvent for a stop at the current pc. VS Code shows a stop in the Disassembly view only when
   * its reason is "instruction breakpoint" (or after an instruction step); for any other reason it looks
   * for a frame with a source, and when the pc has none on disk (no line info, or a DWARF file that is not
   * there) it shows nothing at all. Such a stop is therefore reported as an instruction breakpoint, the
   * real reason kept in the description (the Call Stack header shows "Paused on breakpoint" as usual).
   */
  private stoppedEvent(reason: string, description?: string, hitBreakpointIds?: number[]): DebugProtocol.StoppedEvent {
    const ev = new StoppedEvent(reason, this.currentThread) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (description) ev.body.description = description;
    if (hitBreakpointIds?.length) ev.body.hitBreakpointIds = hitBreakpointIds;
    if (this.execution && !this.hasSourceAt(this.execution.pc)) {
      ev.body.reason = 'instruction breakpoint';
      ev.body.description = description ?? `Paused on ${reason}`;
    }
    return ev;
  }

  /** True when the DWARF line of `pc` names a file found on disk (see sourceFor). */
  private hasSourceAt(pc: bigint): boolean {
    const loc = (this.session?.symbols as ProgramSymbols | undefined)?.lineAt(pc);
    return loc !== undefined && this.sourceFor(loc.file) !== undefined;
  }

  private onRecordingLimit(reason: RunResult['reason']): void {
    if (reason === 'max-instructions' || reason === 'time-limit') this.session?.recorder.setRecording(false);
  }

  private startProgress(): void {
    if (!this.clientSupportsProgress) return;
    this.progressId = `bootscope-run-${++this.progressCounter}`;
    const ev = new ProgressStartEvent(this.progressId, 'Bootscope: recording', 'starting…') as DebugProtocol.ProgressStartEvent;
    ev.body.cancellable = true;
    this.sendEvent(ev);
  }

  private endProgress(): void {
    if (this.progressId === undefined) return;
    this.sendEvent(new ProgressEndEvent(this.progressId));
    this.progressId = undefined;
  }

  private onProgress(p: RecorderProgress): void {
    this.lastProgress = p;
    if (this.progressId !== undefined) {
      this.sendEvent(new ProgressUpdateEvent(this.progressId,
        `${p.instructions.toLocaleString('en-US')} instructions · ${Math.round(p.rate).toLocaleString('en-US')}/s · ${p.stage} · ${p.functionName}`));
    }
    this.sendStatus();
  }

  private status(stateOverride?: ExecutionState): RecordingStatus {
    const s = this.session;
    const ex = this.execution;
    const recording = s?.recorder.isRecording ?? false;
    const state: ExecutionState = stateOverride ?? (this.terminated ? 'terminated' : !ex ? 'starting' : ex.running ? (recording ? 'recording' : 'running') : 'stopped');
    return {
      state,
      recording,
      sessionId: s?.sessionId,
      database: this.config?.database ?? '',
      instructions: s?.recorder.instructionCount ?? 0,
      rate: state === 'recording' ? this.lastProgress?.rate ?? 0 : 0,
      stage: s?.recorder.currentStage ?? '',
      snapshots: s?.recorder.snapshots ?? 0,
      lastSnapshotId: s?.recorder.lastSnapshot,
      pc: ex && !ex.running ? hex(ex.pc) : this.lastProgress ? hex(this.lastProgress.pc) : undefined,
    };
  }

  private sendStatus(stateOverride?: ExecutionState): void {
    if (stateOverride === 'running' && this.session?.recorder.isRecording) stateOverride = 'recording';
    this.sendEvent(new Event(CustomEvent.status, this.status(stateOverride)));
  }

  // ---- threads, stack, scopes, variables ---------------------------------------------------------------------

  private async refreshThreads(): Promise<void> {
    const t = this.session?.target;
    if (!t) return;
    const ids = await t.threads();
    for (const id of ids) if (!this.threadIds.includes(id)) this.threadIds.push(id);
    const current = await t.currentThread().catch(() => '');
    const index = this.threadIds.indexOf(current);
    this.currentThread = index >= 0 ? index + 1 : 1;
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    // Threads = vCPUs (QEMU's gdbstub lists one thread per CPU). Cached at each stop: the gdbstub cannot
    // answer while a `c` is outstanding.
    const ids = this.threadIds.length ? this.threadIds : ['1'];
    response.body = { threads: ids.map((id, i) => new Thread(i + 1, `CPU ${i} (${id})`)) };
    this.sendResponse(response);
  }

  protected override async stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): Promise<void> {
    const ex = this.requireStopped(response);
    if (!ex || !this.session) return;
    try {
      let registers = ex.registers;
      if (args.threadId !== this.currentThread) registers = await this.registersOfThread(args.threadId);
      const symbols = this.session.symbols as ProgramSymbols | undefined;
      const pcs = await unwind({ arch: ex.arch, registers, symbols, readMemory: (a, n) => this.session!.target.readMemory(a, n) });
      const frames = pcs.map((f, depth) => {
        const fn = symbols?.functionAt(f.pc);
        const name = fn ? (f.pc === fn.start ? fn.name : `${fn.name}+0x${(f.pc - fn.start).toString(16)}`) : `0x${f.pc.toString(16)}`;
        // Caller frames show the line of the call (the instruction before the return address).
        const loc = symbols?.lineAt(depth === 0 ? f.pc : f.pc - 1n);
        const source = loc ? this.sourceFor(loc.file) : undefined;
        // DAP: without a source, line and column are 0 and ignored.
        const frame = new StackFrame(args.threadId * FRAME_STRIDE + depth, name, source,
          source && loc ? this.convertDebuggerLineToClient(loc.line) : 0,
          source && loc?.column ? this.convertDebuggerColumnToClient(loc.column) : 0) as DebugProtocol.StackFrame;
        frame.instructionPointerReference = hex(f.pc);
        if (!loc) frame.presentationHint = 'subtle';
        return frame;
      });
      const start = args.startFrame ?? 0;
      const count = args.levels ? args.levels : frames.length;
      response.body = { stackFrames: frames.slice(start, start + count), totalFrames: frames.length };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Request, format: errorMessage(e).replace(/[{}]/g, ''), showUser: false });
    }
  }

  /** Registers of another vCPU: select it for `g` with Hg, read, select the stopped one again. */
  private async registersOfThread(threadId: number): Promise<ReadonlyMap<string, bigint>> {
    const t = (this.session as RecordingSession).target;
    const id = this.threadIds[threadId - 1];
    const current = this.threadIds[this.currentThread - 1];
    if (!id) throw new BootscopeError(ErrorCode.Target, `no thread ${threadId}`);
    await t.request(`Hg${id}`);
    try {
      return t.decodeRegisters(await t.readRegisters());
    } finally {
      if (current) await t.request(`Hg${current}`);
    }
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const ex = this.execution;
    const s = this.session;
    if (!ex || !s) { this.sendErrorResponse(response, { id: ErrorId.NoSession, format: 'no live bootscope session' }); return; }
    const threadId = Math.floor(args.frameId / FRAME_STRIDE);
    const groups = groupRegisters(s.target.layout);
    const scopes: DebugProtocol.Scope[] = [
      new Scope('Registers', this.variableHandles.create(() => this.coreRegisterVariables(groups.core, threadId)), false),
      new Scope('Boot', this.variableHandles.create(() => Promise.resolve(this.bootVariables())), false),
    ];
    if (groups.fpSimd.length) {
      // Read on demand with `p` (expensive: VS Code fetches it only when expanded).
      scopes.push(new Scope('FP/SIMD', this.variableHandles.create(() => this.fpVariables(groups.fpSimd)), true));
    }
    response.body = { scopes };
    this.sendResponse(response);
  }

  private async coreRegisterVariables(core: RegisterInfo[], threadId: number): Promise<DebugProtocol.Variable[]> {
    const ex = this.execution as Execution;
    const values = threadId === this.currentThread ? ex.registers : await this.registersOfThread(threadId);
    return core.filter((r) => values.has(r.name)).map((r) => {
      const value = values.get(r.name) as bigint;
      if (r.name === ex.statusRegister) {
        const fields = statusFields(ex.arch, value);
        return {
          name: r.name, value: describeStatus(ex.arch, value), type: 'status register', evaluateName: `$${r.name}`,
          variablesReference: this.variableHandles.create(() => Promise.resolve(fields.map((f) => ({ name: f.name, value: f.value, variablesReference: 0 })))),
        };
      }
      return this.registerVariable(r, value);
    });
  }

  private registerVariable(r: RegisterInfo, value: bigint): DebugProtocol.Variable {
    const v: DebugProtocol.Variable = { name: r.name, value: hex(value, r.bitsize), type: r.type, evaluateName: `$${r.name}`, variablesReference: 0 };
    // Integer registers of pointer width can hold addresses: offer the memory view on them.
    if (r.bitsize <= 64) v.memoryReference = hex(value);
    return v;
  }

  private async fpVariables(regs: RegisterInfo[]): Promise<DebugProtocol.Variable[]> {
    const t = (this.session as RecordingSession).target;
    const values = await Promise.all(regs.map((r) => t.readRegister(r.regnum).catch(() => undefined)));
    return regs.map((r, i) => {
      const v = values[i];
      return v === undefined
        ? { name: r.name, value: '(not readable)', variablesReference: 0 }
        : { name: r.name, value: hex(v, r.bitsize), type: r.type, variablesReference: 0, evaluateName: `$${r.name}` };
    });
  }

  private bootVariables(): DebugProtocol.Variable[] {
    const st = this.status();
    const s = this.session as RecordingSession;
    const fn = (s.symbols as ProgramSymbols | undefined)?.functionAt((this.execution as Execution).pc);
    return [
      { name: 'stage', value: st.stage || '(none yet)', variablesReference: 0 },
      { name: 'instructions recorded', value: st.instructions.toLocaleString('en-US'), variablesReference: 0 },
      { name: 'recording', value: st.recording ? 'on' : 'off', variablesReference: 0 },
      { name: 'last snapshot', value: st.lastSnapshotId === undefined ? '(none)' : `#${st.lastSnapshotId} (${st.snapshots} this session)`, variablesReference: 0 },
      { name: 'function', value: fn?.name ?? 'unknown', variablesReference: 0 },
      { name: 'session', value: `${st.sessionId} in ${path.basename(st.database)}`, variablesReference: 0 },
    ];
  }

  protected override async variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): Promise<void> {
    const provider = this.variableHandles.get(args.variablesReference);
    try {
      response.body = { variables: provider ? await provider() : [] };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Request, format: errorMessage(e).replace(/[{}]/g, '') });
    }
  }

  protected override async setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): Promise<void> {
    const ex = this.requireStopped(response);
    if (!ex || !this.session) return;
    try {
      const t = this.session.target;
      const reg = t.register(args.name);
      const value = (await this.evaluator().evaluate(args.value)).value;
      await t.writeRegister(reg.regnum, value);
      await ex.refresh();
      ex.markRecorderStale();
      const written = reg.gOffset !== undefined ? ex.registers.get(reg.name) ?? value : await t.readRegister(reg.regnum);
      response.body = { value: reg.name === ex.statusRegister ? describeStatus(ex.arch, written) : hex(written, reg.bitsize) };
      this.sendResponse(response);
      if (reg.name === ex.pcRegister) this.sendEvent(new InvalidatedEvent(['stacks']));
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Evaluate, format: `cannot set ${args.name}: ${errorMessage(e)}`.replace(/[{}]/g, ''), showUser: true });
    }
  }

  // ---- evaluate -------------------------------------------------------------------------------------------------

  private evaluator(): ExpressionEvaluator {
    const ex = this.execution as Execution;
    const s = this.session as RecordingSession;
    const byLower = new Map<string, bigint>();
    for (const [k, v] of ex.registers) byLower.set(k.toLowerCase(), v);
    const layout = s.target.layout;
    const env: EvaluationEnvironment = {
      pointerSize: ex.arch === 'aarch64' ? 8 : 4,
      register: (name) => {
        const v = byLower.get(name.toLowerCase());
        if (v === undefined) return undefined;
        const info = layout.byName.get(name) ?? layout.registers.find((r) => r.name.toLowerCase() === name.toLowerCase());
        return { value: v, bits: info?.bitsize ?? 32 };
      },
      symbol: (name) => this.symbol(name),
      readMemory: (address, length) => s.target.readMemory(address, length),
    };
    return new ExpressionEvaluator(env);
  }

  /** Data and function symbols by name, with their sizes (ELF symbol table). */
  private symbol(name: string): SymbolInfo | undefined {
    const symbols = this.session?.symbols as ProgramSymbols | undefined;
    if (!symbols) return undefined;
    if (!this.symbolIndex) {
      this.symbolIndex = new Map();
      for (const elf of symbols.elfs) {
        for (const sym of elf.symbols) {
          if (!sym.name || sym.sectionIndex === 0 || this.symbolIndex.has(sym.name)) continue;
          if (sym.type !== 'object' && sym.type !== 'func' && sym.type !== 'notype') continue;
          const address = sym.type === 'func' && elf.machine === 'arm' ? sym.value & ~1n : sym.value;
          this.symbolIndex.set(sym.name, { address, size: sym.size, kind: sym.type === 'func' ? 'function' : sym.type === 'object' ? 'object' : 'other' });
        }
      }
    }
    const found = this.symbolIndex.get(name);
    if (found) return found;
    const address = symbols.lookup(name);
    return address === undefined ? undefined : { address, size: 0, kind: 'other' };
  }

  protected override async evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): Promise<void> {
    const ex = this.requireStopped(response);
    if (!ex || !this.session) return;
    const expr = args.expression.trim();
    try {
      if (args.context === 'repl' && /^monitor\s+/.test(expr)) {
        // `monitor info mtree` etc.: QEMU's HMP through qRcmd.
        const out = await this.session.target.monitor(expr.replace(/^monitor\s+/, ''));
        response.body = { result: out.trimEnd() || '(no output)', variablesReference: 0 };
        this.sendResponse(response);
        return;
      }
      const r = await this.evaluator().evaluate(expr);
      const memoryAddress = r.address ?? (r.type.kind === 'pointer' || (r.type.kind === 'int' && r.type.size >= 4) ? r.value : undefined);
      let result = formatValue(r);
      if (r.isFunction) result = `0x${r.value.toString(16)} <${expr}>`;
      else if (r.address !== undefined && !/^\s*\*/.test(expr)) result += ` @ 0x${r.address.toString(16)}`;
      response.body = { result, type: typeName(r.type), variablesReference: 0, memoryReference: memoryAddress === undefined ? undefined : hex(memoryAddress) };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Evaluate, format: errorMessage(e).replace(/[{}]/g, ''), showUser: false });
    }
  }

  // ---- breakpoints ------------------------------------------------------------------------------------------------

  /**
   * A DAP Source for a file named by DWARF, or undefined when the file is not on disk. Reproducible builds
   * record paths relative to the build (`-ffile-prefix-map`, e.g. "guest/src/painting.c"): those are
   * looked up under the ELF's folder and its ancestors, the first existing one wins. A file found nowhere
   * gets no Source at all: a Source whose path cannot be opened makes VS Code show an editor tab saying
   * "Could not load source", while a frame without one (but with its instructionPointerReference) opens
   * the Disassembly view at the pc. The first miss per file is said once in the Debug Console.
   */
  private sourceFor(file: string): Source | undefined {
    let resolved = this.resolvedSources.get(file);
    if (resolved === undefined) {
      resolved = '';
      if (path.isAbsolute(file)) {
        if (existsSync(file)) resolved = file;
      } else if (this.config?.elf) {
        for (let dir = path.dirname(path.resolve(this.config.elf)); ; dir = path.dirname(dir)) {
          const candidate = path.join(dir, file);
          if (existsSync(candidate)) { resolved = candidate; break; }
          if (path.dirname(dir) === dir) break;
        }
      }
      this.resolvedSources.set(file, resolved);
      if (!resolved) {
        const where = path.isAbsolute(file) || !this.config?.elf ? '' : ` (looked under ${path.dirname(path.resolve(this.config.elf))} and its parent folders)`;
        this.sendEvent(new OutputEvent(`bootscope: source file ${file} named by the ELF's debug info was not found${where}; showing disassembly for code from it\n`, 'console'));
      }
    }
    return resolved ? new Source(path.basename(resolved), this.convertDebuggerPathToClient(resolved)) : undefined;
  }

  private toDapBreakpoint(bp: CodeBreakpoint): DebugProtocol.Breakpoint {
    const out = new Breakpoint(bp.verified) as DebugProtocol.Breakpoint;
    out.id = bp.id;
    if (bp.message) out.message = bp.message;
    const source = bp.source ? this.sourceFor(bp.source.path) : undefined;
    if (bp.source && source) {
      out.source = source;
      out.line = this.convertDebuggerLineToClient(bp.source.line);
    }
    if (bp.addresses.length) out.instructionReference = hex(bp.addresses[0]);
    return out;
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const file = args.source.path ? this.convertClientPathToDebugger(args.source.path) : '';
    const lines = (args.breakpoints ?? []).map((b) => ({ line: this.convertClientLineToDebugger(b.line), hitCondition: b.hitCondition }));
    const list = this.breakpoints.setSourceBreakpoints(file, lines);
    response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
    this.sendResponse(response);
  }

  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    const symbols = this.session?.symbols as ProgramSymbols | undefined;
    const file = args.source.path ? this.convertClientPathToDebugger(args.source.path) : '';
    const first = this.convertClientLineToDebugger(args.line);
    const last = args.endLine ? this.convertClientLineToDebugger(args.endLine) : first;
    const breakpoints: DebugProtocol.BreakpointLocation[] = [];
    if (symbols) for (let line = first; line <= last; line++) if (symbols.addressesFor(file, line).length) breakpoints.push({ line: this.convertDebuggerLineToClient(line) });
    response.body = { breakpoints };
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const list = this.breakpoints.setFunctionBreakpoints(args.breakpoints.map((b) => ({ name: b.name, hitCondition: b.hitCondition })));
    response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
    this.sendResponse(response);
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    const list = this.breakpoints.setInstructionBreakpoints(args.breakpoints);
    response.body = { breakpoints: list.map((bp) => this.toDapBreakpoint(bp)) };
    this.sendResponse(response);
  }

  protected override async dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): Promise<void> {
    const accessTypes: DebugProtocol.DataBreakpointAccessType[] = ['write', 'read', 'readWrite'];
    try {
      if (args.asAddress) {
        const address = parseAddress(args.name);
        if (address === undefined) throw new BootscopeError(ErrorCode.Usage, `"${args.name}" is not an address`);
        const size = args.bytes ?? 4;
        response.body = { dataId: formatDataId(address, size), description: `${size} bytes at ${hex(address)}`, accessTypes };
      } else if (args.variablesReference) {
        // Variables in our views are registers: QEMU has no register watchpoints.
        response.body = { dataId: null, description: 'registers cannot be watched; watch a memory address instead (e.g. *(uint32_t*)0x41000000)' };
      } else {
        const ex = this.execution;
        if (!ex || ex.running) throw new BootscopeError(ErrorCode.Target, 'pause the guest first');
        const r = await this.evaluator().evaluate(args.name);
        const address = r.address ?? r.value;
        const size = r.type.kind === 'int' ? r.type.size : ex.arch === 'aarch64' ? 8 : 4;
        response.body = { dataId: formatDataId(address, size), description: `${args.name} (${size} bytes at ${hex(address)})`, accessTypes };
      }
    } catch (e) {
      response.body = { dataId: null, description: errorMessage(e) };
    }
    this.sendResponse(response);
  }

  protected override async setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): Promise<void> {
    const t = this.session?.target;
    const ex = this.execution;
    const wanted: DataBreakpoint[] = args.breakpoints.map((b) => {
      const parsed = parseDataId(b.dataId);
      const access: WatchAccess = b.accessType ?? 'write';
      return parsed
        ? { id: this.breakpoints.newDataBreakpointId(), address: parsed.address, size: parsed.size, access, verified: false }
        : { id: this.breakpoints.newDataBreakpointId(), address: 0n, size: 0, access, verified: false, message: `bad data id ${b.dataId}` };
    });
    if (t && ex && !this.terminated) {
      await ex.whileHalted(async () => {
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
    } else {
      for (const d of wanted) d.message ??= 'no live bootscope session';
    }
    this.breakpoints.setDataBreakpoints(wanted);
    response.body = { breakpoints: wanted.map((d) => ({ id: d.id, verified: d.verified, message: d.message })) };
    this.sendResponse(response);
  }

  // ---- memory and disassembly ---------------------------------------------------------------------------------------

  /** memoryReference + offset as an address; answers the request with an error (and gives undefined) if not one. */
  private memoryAddress(response: DebugProtocol.Response, args: { memoryReference: string; offset?: number }): bigint | undefined {
    const base = parseAddress(args.memoryReference);
    if (base === undefined) {
      this.sendErrorResponse(response, { id: ErrorId.Memory, format: `memory reference ${args.memoryReference} is not an address` });
      return undefined;
    }
    return base + BigInt(args.offset ?? 0);
  }

  protected override async readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): Promise<void> {
    const ex = this.requireStopped(response);
    if (!ex || !this.session) return;
    const address = this.memoryAddress(response, args);
    if (address === undefined) return;
    const count = Math.min(args.count, 1 << 20);
    const t = this.session.target;
    let data: Uint8Array;
    try {
      data = await t.readMemory(address, count);
    } catch {
      // Part of the range is unmapped: return the readable prefix, chunk by chunk.
      const parts: Uint8Array[] = [];
      let got = 0;
      const chunk = 256;
      while (got < count) {
        const n = Math.min(chunk, count - got);
        try { parts.push(await t.readMemory(address + BigInt(got), n)); got += n; } catch { break; }
      }
      data = Buffer.concat(parts);
    }
    response.body = { address: hex(address), data: Buffer.from(data).toString('base64'), unreadableBytes: count - data.length };
    this.sendResponse(response);
  }

  protected override async writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): Promise<void> {
    const ex = this.requireStopped(response);
    if (!ex || !this.session) return;
    const address = this.memoryAddress(response, args);
    if (address === undefined) return;
    const data = Buffer.from(args.data, 'base64');
    try {
      await this.session.target.writeMemory(address, data);
      response.body = { bytesWritten: data.length };
      this.sendResponse(response);
      this.sendEvent(new MemoryEvent(hex(address), 0, data.length));
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Memory, format: `cannot write ${data.length} bytes at ${hex(address)}: ${errorMessage(e)}`.replace(/[{}]/g, ''), showUser: true });
    }
  }

  protected override async disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): Promise<void> {
    const ex = this.requireStopped(response);
    if (!ex || !this.session || !this.disassembler) return;
    const base = parseAddress(args.memoryReference);
    if (base === undefined) {
      this.sendErrorResponse(response, { id: ErrorId.Memory, format: `memory reference ${args.memoryReference} is not an address` });
      return;
    }
    try {
      const symbols = this.session.symbols as ProgramSymbols | undefined;
      const rows = await disassemble({
        arch: ex.arch,
        disassembler: this.disassembler,
        symbols,
        currentPc: ex.pc,
        currentThumb: ex.thumb,
        readMemory: (a, n) => this.session!.target.readMemory(a, n),
      }, base + BigInt(args.offset ?? 0), args.instructionOffset ?? 0, args.instructionCount);
      response.body = {
        instructions: rows.map((r) => {
          const ins: DebugProtocol.DisassembledInstruction = { address: hex(r.address), instruction: r.text, instructionBytes: r.bytesHex };
          if (r.symbol) ins.symbol = r.symbol;
          if (!r.valid) ins.presentationHint = 'invalid';
          const location = r.line ? this.sourceFor(r.line.file) : undefined;
          if (r.line && location) {
            ins.location = location;
            ins.line = this.convertDebuggerLineToClient(r.line.line);
          }
          return ins;
        }),
      };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Memory, format: errorMessage(e).replace(/[{}]/g, '') });
    }
  }

  // ---- custom requests ------------------------------------------------------------------------------------------------

  protected override async customRequest(command: string, response: DebugProtocol.Response, args: unknown): Promise<void> {
    const s = this.session;
    const ex = this.execution;
    if (command !== CustomRequest.recordingStatus && (!s || !ex || this.terminated)) {
      this.sendErrorResponse(response, { id: ErrorId.NoSession, format: 'no live bootscope session', showUser: true });
      return;
    }
    try {
      switch (command) {
        case CustomRequest.captureSnapshot: {
          const body = await (ex as Execution).whileHalted(() => this.captureSnapshot());
          response.body = body;
          this.sendResponse(response);
          this.sendEvent(new Event(CustomEvent.snapshotCaptured, body));
          this.sendStatus();
          return;
        }
        case CustomRequest.startRecording:
        case CustomRequest.stopRecording: {
          const on = command === CustomRequest.startRecording;
          // While running, halt at the next instruction boundary so the run switches between `c` and
          // recorded single steps.
          await (ex as Execution).whileHalted(async () => (s as RecordingSession).recorder.setRecording(on));
          response.body = this.status();
          this.sendResponse(response);
          this.sendStatus();
          this.sendEvent(new InvalidatedEvent(['variables'])); // the Boot group shows `recording = on|off`
          return;
        }
        case CustomRequest.recordingStatus:
          response.body = this.status();
          this.sendResponse(response);
          return;
        default:
          void args;
          super.customRequest(command, response, args);
      }
    } catch (e) {
      this.sendErrorResponse(response, { id: ErrorId.Request, format: errorMessage(e).replace(/[{}]/g, ''), showUser: true });
    }
  }

  private async captureSnapshot(): Promise<SnapshotCaptured> {
    const s = this.session as RecordingSession;
    const ex = this.execution as Execution;
    await ex.syncRecorderForSnapshot();
    const snapshotId = await s.recorder.captureSnapshot('manual');
    if (snapshotId === undefined && this.config?.regions.length === 0) {
      this.sendEvent(new OutputEvent('bootscope: the configuration has no "regions", so a snapshot has nothing to capture\n', 'console'));
    }
    return { snapshotId, sessionId: s.sessionId, database: s.config.database, sequenceNumber: s.recorder.instructionCount };
  }
}
