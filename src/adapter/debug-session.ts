// The Bootscope debug adapter: translates DAP requests into calls on a DebugEngine (engine.ts) — the live
// engine (QEMU's gdbstub + the Recorder) or the replay engine (a recording file) — and engine results into
// DAP responses and events, as mock-debug's mockDebug.ts does for its runtime. Runs inline in the
// extension host (sharing the store connection), as a standalone process (standalone.ts), and under the
// DebugClient tests alike — so no vscode import.
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
import type { RegisterInfo } from '../rsp/targetXml';
import { RecordingStore } from '../store/recording-store';
import { RecordingHistory } from '../store/history';
import { isReplayConfiguration, parseReplayConfig, type ReplayConfig } from '../common/replay-config';
import { ReplayEngine } from './replay-engine';
import type { SessionStatus } from '../store/schema';
import { BreakpointTable, formatDataId, parseAddress, parseDataId, type CodeBreakpoint, type DataBreakpoint, type WatchAccess } from './breakpoints';
import { hasRecordingControl, hasTargetWrites, hasTimeTravel, type DebugEngine, type Direction, type EngineListener, type Granularity, type GotoTarget, type Outcome, type StepKind } from './engine';
import { LiveEngine } from './live-engine';
import { ExpressionEvaluator, formatValue, typeName, type EvaluationEnvironment, type SymbolInfo } from './expression';
import { describeStatus, groupRegisters, hex, statusFields } from './register-view';
import { disassemble } from './disassembly';
import { unwind } from './stack';
import { CustomEvent, CustomRequest, type ExecutionState, type RecordingStatus, type WhoWroteArguments, type WhoWroteResult } from './custom-requests';

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

/**
 * DAP error ids, one per BootscopeError code (the one place errors become DAP errors: `fail`). Anything
 * else that escapes (a bug) is 1000.
 */
const DAP_ERROR_ID: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.Config]: 1001,
  [ErrorCode.Qemu]: 1002,
  [ErrorCode.Connection]: 1003,
  [ErrorCode.Target]: 1004,
  [ErrorCode.Database]: 1005,
  [ErrorCode.Symbols]: 1006,
  [ErrorCode.Usage]: 1007,
  [ErrorCode.Cancelled]: 1008,
};
const INTERNAL_ERROR_ID = 1000;

type VariableProvider = () => Promise<DebugProtocol.Variable[]>;

/** The only stack frames are recomputed per stop; frame ids encode thread and depth. */
const FRAME_STRIDE = 1000;

export class BootscopeDebugSession extends DebugSession {
  private engine: DebugEngine | undefined;
  private breakpoints = new BreakpointTable(undefined);
  private readonly resolvedSources = new Map<string, string>();
  private readonly variableHandles = new Handles<VariableProvider>();
  private configurationDone!: () => void;
  private readonly configured = new Promise<void>((resolve) => { this.configurationDone = resolve; });
  private clientSupportsProgress = false;
  private progressId: string | undefined;
  private progressCounter = 0;
  private threadIds: string[] = [];
  private currentThread = 1;
  private terminated = false;
  private symbolIndex: Map<string, SymbolInfo> | undefined;

  constructor(private readonly options: BootscopeSessionOptions = {}) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  /** The one error path: a BootscopeError's code picks the DAP error id; the message is shown verbatim. */
  private fail(response: DebugProtocol.Response, e: unknown, opts: { prefix?: string; showUser?: boolean } = {}): void {
    const id = e instanceof BootscopeError ? DAP_ERROR_ID[e.code] : INTERNAL_ERROR_ID;
    const message = opts.prefix ? `${opts.prefix}: ${errorMessage(e)}` : errorMessage(e);
    // `{_message}`: a variable DAP formatting substitutes once, so braces in the message survive.
    this.sendErrorResponse(response, { id, format: '{_message}', variables: { _message: message }, showUser: opts.showUser ?? true });
  }

  private readonly listener: EngineListener = {
    output: (text, category) => this.sendEvent(new OutputEvent(text, category)),
    progress: (text) => {
      if (this.progressId !== undefined && text !== undefined) this.sendEvent(new ProgressUpdateEvent(this.progressId, text));
      this.sendStatus();
    },
    gone: (description) => { void this.end('qemu-exited', description); },
  };

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
      // Registers can be written from the Variables view (live; a replay answers with an error).
      supportsSetVariable: true,
      // Watchpoints via Z2/Z3/Z4 on QEMU's gdbstub; writes from memory_writes in a replay.
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
      // Step Back and Reverse in the toolbar: a replay moves both ways (a live session answers with an error).
      supportsStepBack: true,
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

  /** Makes the engine the launch configuration asks for (a replay, or a live QEMU). */
  protected async createEngine(args: LaunchArguments, request: 'launch' | 'attach'): Promise<DebugEngine> {
    let config: RecordingConfig;
    const baseDir = typeof args.cwd === 'string' ? args.cwd : process.cwd();
    if (isReplayConfiguration(args)) return this.createReplayEngine(args, request, baseDir);
    try {
      config = parseRecordingConfig({ ...args, request }, baseDir);
    } catch (e) {
      const field = e instanceof ConfigError ? e.field : '(configuration)';
      throw new BootscopeError(ErrorCode.Config, `Invalid "${field}" in the bootscope ${request} configuration: ${errorMessage(e)}`);
    }
    const engine = await LiveEngine.start(config, this.listener, this.options.openStore?.(config.database));
    this.sendEvent(new OutputEvent(`bootscope: ${engine.describe()}\n`, 'console'));
    return engine;
  }

  /** A replay of a recorded session: the store (the extension's shared one, or opened read-only here) and its memory history. */
  private createReplayEngine(args: LaunchArguments, request: 'launch' | 'attach', baseDir: string): DebugEngine {
    let config: ReplayConfig;
    try {
      config = parseReplayConfig({ ...args, request }, baseDir);
    } catch (e) {
      const field = e instanceof ConfigError ? e.field : '(configuration)';
      throw new BootscopeError(ErrorCode.Config, `Invalid "${field}" in the bootscope replay configuration: ${errorMessage(e)}`);
    }
    if (!existsSync(config.database)) throw new BootscopeError(ErrorCode.Config, `"replay.database": ${config.database} does not exist`);
    const shared = this.options.openStore?.(config.database);
    const store = shared ?? RecordingStore.open(config.database, { readOnly: true, log: (line) => this.sendEvent(new OutputEvent(`${line}\n`, 'console')) });
    try {
      const engine = ReplayEngine.open(config, store, new RecordingHistory(store), this.listener, shared === undefined);
      this.sendEvent(new OutputEvent(`bootscope: ${engine.describe()}\n`, 'console'));
      return engine;
    } catch (e) {
      if (!shared) store.close(null);
      throw e;
    }
  }

  private async startSession(response: DebugProtocol.Response, args: LaunchArguments, request: 'launch' | 'attach'): Promise<void> {
    let engine: DebugEngine;
    try {
      engine = await this.createEngine(args, request);
    } catch (e) {
      this.fail(response, e);
      return;
    }
    this.engine = engine;
    this.breakpoints = engine.breakpoints;
    // Breakpoints can be resolved now (symbols are loaded): ask the client for them.
    this.sendEvent(new InitializedEvent());
    await Promise.race([this.configured, new Promise((r) => setTimeout(r, 5000))]);
    try {
      await engine.begin();
      await this.refreshThreads();
    } catch (e) {
      this.fail(response, e, { prefix: 'reading the initial state failed' });
      await this.end('error', errorMessage(e));
      return;
    }
    this.sendResponse(response);
    this.sendStatus();
    if (engine.stopOnEntry) {
      this.sendEvent(this.stoppedEvent('entry'));
    } else {
      void this.runAndReport(() => engine.continue('forward'));
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
    // `arguments` is optional in DAP's disconnect request: a client may send none.
    const e = this.engine;
    if (e && !this.terminated && await e.detach({ suspendDebuggee: args?.suspendDebuggee, terminateDebuggee: args?.terminateDebuggee })) {
      this.terminated = true;
    } else {
      await this.end('stopped', 'debug session ended by the user');
    }
    this.sendResponse(response);
  }

  /** Ends the engine with a status and tells the client. Idempotent. */
  private async end(status: Exclude<SessionStatus, 'recording'>, reason: string): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    await this.engine?.end(status, reason);
    this.endProgress();
    this.sendStatus();
    this.sendEvent(new TerminatedEvent());
  }

  // ---- run control ------------------------------------------------------------------------------------------

  /** The engine when it can take a request that needs the debuggee halted; else answers with an error. */
  private requireStopped(response: DebugProtocol.Response): DebugEngine | undefined {
    if (!this.engine || this.terminated) {
      this.fail(response, new BootscopeError(ErrorCode.Usage, 'no live bootscope session'), { showUser: false });
      return undefined;
    }
    if (this.engine.running) {
      this.fail(response, new BootscopeError(ErrorCode.Usage, 'the guest is running; pause it first'), { showUser: false });
      return undefined;
    }
    return this.engine;
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    this.continueIn(response, 'forward');
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    this.continueIn(response, 'backward');
  }

  private continueIn(response: DebugProtocol.Response, direction: Direction): void {
    const e = this.requireStopped(response);
    if (!e) return;
    if (direction === 'backward' && !hasTimeTravel(e)) {
      this.fail(response, new BootscopeError(ErrorCode.Usage, 'a live QEMU cannot run backwards: replay a recording of it (Recordings view → Replay in Debugger) to reverse-continue'));
      return;
    }
    if (direction === 'forward') response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    void this.runAndReport(() => e.continue(direction));
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.stepRequest(response, 'next', args.granularity, 'forward');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.stepRequest(response, 'stepIn', args.granularity, 'forward');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.stepRequest(response, 'stepOut', 'instruction', 'forward');
  }

  /** VS Code's Step Back: the reverse of `next` at the requested granularity. */
  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    this.stepRequest(response, 'next', args.granularity, 'backward');
  }

  private stepRequest(response: DebugProtocol.Response, kind: StepKind, granularity: DebugProtocol.SteppingGranularity | undefined, direction: Direction): void {
    const e = this.requireStopped(response);
    if (!e) return;
    if (direction === 'backward' && !hasTimeTravel(e)) {
      this.fail(response, new BootscopeError(ErrorCode.Usage, 'a live QEMU cannot step backwards: replay a recording of it (Recordings view → Replay in Debugger) to step back'));
      return;
    }
    this.sendResponse(response);
    const g: Granularity = granularity === 'instruction' ? 'instruction' : 'line';
    void this.runAndReport(() => e.step(kind, g, direction));
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.engine?.pause();
    this.sendResponse(response);
  }

  protected override cancelRequest(response: DebugProtocol.CancelResponse, args: DebugProtocol.CancelArguments): void {
    // The progress notification's Cancel button: stop the recording run like a pause.
    if (args.progressId !== undefined && args.progressId === this.progressId) this.engine?.pause();
    this.sendResponse(response);
  }

  /** Runs a continue/step, with a cancellable progress notification while recording, then reports the stop. */
  private async runAndReport(run: () => Promise<Outcome>): Promise<void> {
    const e = this.engine;
    if (!e) return;
    this.variableHandles.reset();
    if (e.status(false).recording) this.startProgress();
    this.sendStatus('running');
    let outcome: Outcome;
    try {
      outcome = await run();
    } catch (err) {
      outcome = { kind: 'exited', description: errorMessage(err), error: true };
    }
    this.endProgress();
    if (this.terminated) return;
    if (outcome.kind === 'exited') {
      this.sendEvent(new OutputEvent(`bootscope: ${outcome.description}\n`, outcome.error ? 'stderr' : 'console'));
      await this.end(outcome.error ? 'error' : 'qemu-exited', outcome.description);
      return;
    }
    this.reportStop(outcome);
  }

  private reportStop(outcome: Extract<Outcome, { kind: 'stopped' }>): void {
    void this.refreshThreads().catch(() => undefined).then(() => {
      if (outcome.description && (outcome.reason === 'pause' || outcome.reason === 'goto' || hasTimeTravel(this.engine as DebugEngine))) {
        this.sendEvent(new OutputEvent(`bootscope: ${outcome.description}\n`, 'console'));
      }
      this.sendEvent(this.stoppedEvent(outcome.reason, outcome.description, outcome.hitBreakpointIds));
      this.sendStatus();
    });
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
    if (this.engine && !this.hasSourceAt(this.engine.pc)) {
      ev.body.reason = 'instruction breakpoint';
      ev.body.description = description ?? `Paused on ${reason}`;
    }
    return ev;
  }

  /** True when the DWARF line of `pc` names a file found on disk (see sourceFor). */
  private hasSourceAt(pc: bigint): boolean {
    const loc = this.engine?.symbols?.lineAt(pc);
    return loc !== undefined && this.sourceFor(loc.file) !== undefined;
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

  private status(stateOverride?: ExecutionState): RecordingStatus {
    const e = this.engine;
    if (!e) return { state: this.terminated ? 'terminated' : 'starting', recording: false, sessionId: undefined, database: '', instructions: 0, rate: 0, stage: '', snapshots: 0, lastSnapshotId: undefined, pc: undefined };
    const st = e.status(this.terminated);
    return stateOverride ? { ...st, state: stateOverride } : st;
  }

  private sendStatus(stateOverride?: ExecutionState): void {
    if (stateOverride === 'running' && this.engine?.status(false).recording) stateOverride = 'recording';
    this.sendEvent(new Event(CustomEvent.status, this.status(stateOverride)));
  }

  // ---- threads, stack, scopes, variables ---------------------------------------------------------------------

  private async refreshThreads(): Promise<void> {
    const e = this.engine;
    if (!e) return;
    const { ids, current } = await e.threads();
    for (const id of ids) if (!this.threadIds.includes(id)) this.threadIds.push(id);
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
    const e = this.requireStopped(response);
    if (!e) return;
    try {
      const registers = args.threadId === this.currentThread ? e.registers : await this.registersOfThread(args.threadId);
      const symbols = e.symbols;
      const pcs = await unwind({ conventions: e.conventions, pcRegister: e.pcRegister, registers, symbols, readMemory: (a, n) => e.readMemory(a, n) });
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
    } catch (err) {
      this.fail(response, err, { showUser: false });
    }
  }

  private registersOfThread(threadId: number): Promise<ReadonlyMap<string, bigint>> {
    const id = this.threadIds[threadId - 1];
    if (!id) return Promise.reject(new BootscopeError(ErrorCode.Target, `no thread ${threadId}`));
    return (this.engine as DebugEngine).registersOfThread(id);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const e = this.engine;
    if (!e) { this.fail(response, new BootscopeError(ErrorCode.Usage, 'no live bootscope session'), { showUser: false }); return; }
    const threadId = Math.floor(args.frameId / FRAME_STRIDE);
    const groups = groupRegisters({ registers: e.registerInfo });
    const scopes: DebugProtocol.Scope[] = [
      new Scope('Registers', this.variableHandles.create(() => this.coreRegisterVariables(groups.core, threadId)), false),
      new Scope('Boot', this.variableHandles.create(() => Promise.resolve(e.bootVariables().map((v) => ({ ...v, variablesReference: 0 })))), false),
    ];
    if (groups.fpSimd.length) {
      // Read on demand (expensive: VS Code fetches it only when expanded).
      scopes.push(new Scope('FP/SIMD', this.variableHandles.create(() => this.fpVariables(groups.fpSimd)), true));
    }
    response.body = { scopes };
    this.sendResponse(response);
  }

  private async coreRegisterVariables(core: RegisterInfo[], threadId: number): Promise<DebugProtocol.Variable[]> {
    const e = this.engine as DebugEngine;
    const values = threadId === this.currentThread ? e.registers : await this.registersOfThread(threadId);
    return core.filter((r) => values.has(r.name)).map((r) => {
      const value = values.get(r.name) as bigint;
      if (r.name === e.statusRegister) {
        const fields = statusFields(e.arch, value);
        return {
          name: r.name, value: describeStatus(e.arch, value), type: 'status register', evaluateName: `$${r.name}`,
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
    const e = this.engine as DebugEngine;
    const values = await Promise.all(regs.map((r) => e.readRegister(r).catch((err: unknown) => errorMessage(err))));
    return regs.map((r, i) => {
      const v = values[i];
      return typeof v === 'string'
        ? { name: r.name, value: `(not readable: ${v})`, variablesReference: 0 }
        : { name: r.name, value: hex(v, r.bitsize), type: r.type, variablesReference: 0, evaluateName: `$${r.name}` };
    });
  }

  protected override async variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): Promise<void> {
    const provider = this.variableHandles.get(args.variablesReference);
    try {
      response.body = { variables: provider ? await provider() : [] };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e, { showUser: false });
    }
  }

  protected override async setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): Promise<void> {
    const e = this.requireStopped(response);
    if (!e) return;
    try {
      if (!hasTargetWrites(e)) throw new BootscopeError(ErrorCode.Usage, 'a replay shows the recorded state; it cannot be changed');
      const value = (await this.evaluator().evaluate(args.value)).value;
      const info = e.registerInfo.find((r) => r.name === args.name);
      const written = await e.writeRegister(args.name, value);
      response.body = { value: args.name === e.statusRegister ? describeStatus(e.arch, written) : hex(written, info?.bitsize) };
      this.sendResponse(response);
      if (args.name === e.pcRegister) this.sendEvent(new InvalidatedEvent(['stacks']));
    } catch (err) {
      this.fail(response, err, { prefix: `cannot set ${args.name}` });
    }
  }

  // ---- evaluate -------------------------------------------------------------------------------------------------

  private evaluator(): ExpressionEvaluator {
    const e = this.engine as DebugEngine;
    const byLower = new Map<string, bigint>();
    for (const [k, v] of e.registers) byLower.set(k.toLowerCase(), v);
    const env: EvaluationEnvironment = {
      pointerSize: e.conventions.pointerSize,
      register: (name) => {
        const v = byLower.get(name.toLowerCase());
        if (v === undefined) return undefined;
        const info = e.registerInfo.find((r) => r.name === name) ?? e.registerInfo.find((r) => r.name.toLowerCase() === name.toLowerCase());
        return { value: v, bits: info?.bitsize ?? 32 };
      },
      symbol: (name) => this.symbol(name),
      readMemory: (address, length) => e.readMemory(address, length),
    };
    return new ExpressionEvaluator(env);
  }

  /** Data and function symbols by name, with their sizes (ELF symbol table). */
  private symbol(name: string): SymbolInfo | undefined {
    const symbols = this.engine?.symbols;
    if (!symbols) return undefined;
    if (!this.symbolIndex) {
      this.symbolIndex = new Map();
      for (const elf of symbols.elfs) {
        for (const sym of elf.symbols) {
          if (!sym.name || sym.sectionIndex === 0 || this.symbolIndex.has(sym.name)) continue;
          if (sym.type !== 'object' && sym.type !== 'func' && sym.type !== 'notype') continue;
          const address = sym.type === 'func' ? (this.engine as DebugEngine).conventions.returnAddress(sym.value) : sym.value;
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
    const e = this.requireStopped(response);
    if (!e) return;
    const expr = args.expression.trim();
    try {
      if (args.context === 'repl' && /^monitor\s+/.test(expr)) {
        // `monitor info mtree` etc.: QEMU's HMP through qRcmd.
        if (!hasTargetWrites(e)) throw new BootscopeError(ErrorCode.Usage, 'monitor commands need a live QEMU; a replay has none');
        const out = await e.monitor(expr.replace(/^monitor\s+/, ''));
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
    } catch (err) {
      this.fail(response, err, { showUser: false });
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
    const elf = this.engine?.elfPath;
    if (resolved === undefined) {
      resolved = '';
      if (path.isAbsolute(file)) {
        if (existsSync(file)) resolved = file;
      } else if (elf) {
        for (let dir = path.dirname(path.resolve(elf)); ; dir = path.dirname(dir)) {
          const candidate = path.join(dir, file);
          if (existsSync(candidate)) { resolved = candidate; break; }
          if (path.dirname(dir) === dir) break;
        }
      }
      this.resolvedSources.set(file, resolved);
      if (!resolved) {
        const where = path.isAbsolute(file) || !elf ? '' : ` (looked under ${path.dirname(path.resolve(elf))} and its parent folders)`;
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
    const symbols = this.engine?.symbols;
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
        const e = this.engine;
        if (!e || e.running) throw new BootscopeError(ErrorCode.Target, 'pause the guest first');
        const r = await this.evaluator().evaluate(args.name);
        const address = r.address ?? r.value;
        const size = r.type.kind === 'int' ? r.type.size : e.conventions.pointerSize;
        response.body = { dataId: formatDataId(address, size), description: `${args.name} (${size} bytes at ${hex(address)})`, accessTypes };
      }
    } catch (e) {
      response.body = { dataId: null, description: errorMessage(e) };
    }
    this.sendResponse(response);
  }

  protected override async setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): Promise<void> {
    const wanted: DataBreakpoint[] = args.breakpoints.map((b) => {
      const parsed = parseDataId(b.dataId);
      const access: WatchAccess = b.accessType ?? 'write';
      return parsed
        ? { id: this.breakpoints.newDataBreakpointId(), address: parsed.address, size: parsed.size, access, verified: false }
        : { id: this.breakpoints.newDataBreakpointId(), address: 0n, size: 0, access, verified: false, message: `bad data id ${b.dataId}` };
    });
    if (this.engine && !this.terminated) await this.engine.setDataBreakpoints(wanted);
    else for (const d of wanted) d.message ??= 'no live bootscope session';
    this.breakpoints.setDataBreakpoints(wanted);
    response.body = { breakpoints: wanted.map((d) => ({ id: d.id, verified: d.verified, message: d.message })) };
    this.sendResponse(response);
  }

  // ---- memory and disassembly ---------------------------------------------------------------------------------------

  /** memoryReference + offset as an address; answers the request with an error (and gives undefined) if not one. */
  private memoryAddress(response: DebugProtocol.Response, args: { memoryReference: string; offset?: number }): bigint | undefined {
    const base = parseAddress(args.memoryReference);
    if (base === undefined) {
      this.fail(response, new BootscopeError(ErrorCode.Usage, `memory reference ${args.memoryReference} is not an address`), { showUser: false });
      return undefined;
    }
    return base + BigInt(args.offset ?? 0);
  }

  protected override async readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): Promise<void> {
    const e = this.requireStopped(response);
    if (!e) return;
    const address = this.memoryAddress(response, args);
    if (address === undefined) return;
    const count = Math.min(args.count, 1 << 20);
    try {
      // The readable prefix; the rest is unmapped (live) or was never captured (replay): unreadableBytes.
      const { data, unreadableBytes } = await e.readMemoryPrefix(address, count);
      response.body = { address: hex(address), data: Buffer.from(data).toString('base64'), unreadableBytes };
      this.sendResponse(response);
    } catch (err) {
      this.fail(response, err, { showUser: false });
    }
  }

  protected override async writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): Promise<void> {
    const e = this.requireStopped(response);
    if (!e) return;
    const address = this.memoryAddress(response, args);
    if (address === undefined) return;
    const data = Buffer.from(args.data, 'base64');
    try {
      if (!hasTargetWrites(e)) throw new BootscopeError(ErrorCode.Usage, 'a replay shows the recorded memory; it cannot be changed');
      await e.writeMemory(address, data);
      response.body = { bytesWritten: data.length };
      this.sendResponse(response);
      this.sendEvent(new MemoryEvent(hex(address), 0, data.length));
    } catch (err) {
      this.fail(response, err, { prefix: `cannot write ${data.length} bytes at ${hex(address)}` });
    }
  }

  protected override async disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): Promise<void> {
    const e = this.requireStopped(response);
    if (!e) return;
    const base = this.memoryAddress(response, { memoryReference: args.memoryReference });
    if (base === undefined) return;
    try {
      const rows = await disassemble({
        arch: e.arch,
        disassembler: await this.disassembler(),
        symbols: e.symbols,
        currentPc: e.pc,
        currentThumb: e.thumb,
        readMemory: (a, n) => e.readMemory(a, n),
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
    } catch (err) {
      this.fail(response, err, { showUser: false });
    }
  }

  private disassemblerInstance: Promise<Disassembler> | undefined;
  private disassembler(): Promise<Disassembler> {
    this.disassemblerInstance ??= Disassembler.create();
    return this.disassemblerInstance;
  }

  // ---- custom requests ------------------------------------------------------------------------------------------------

  protected override async customRequest(command: string, response: DebugProtocol.Response, args: unknown): Promise<void> {
    const e = this.engine;
    if (command === CustomRequest.recordingStatus) {
      response.body = this.status();
      this.sendResponse(response);
      return;
    }
    if (!Object.values(CustomRequest).includes(command as typeof CustomRequest[keyof typeof CustomRequest])) {
      super.customRequest(command, response, args);
      return;
    }
    try {
      if (!e || this.terminated) throw new BootscopeError(ErrorCode.Usage, 'no live bootscope session');
      switch (command) {
        case CustomRequest.captureSnapshot: {
          if (!hasRecordingControl(e)) throw new BootscopeError(ErrorCode.Usage, 'a replay cannot capture snapshots: it shows what was recorded');
          const body = await e.captureSnapshot();
          response.body = body;
          this.sendResponse(response);
          this.sendEvent(new Event(CustomEvent.snapshotCaptured, body));
          this.sendStatus();
          return;
        }
        case CustomRequest.startRecording:
        case CustomRequest.stopRecording: {
          if (!hasRecordingControl(e)) throw new BootscopeError(ErrorCode.Usage, 'a replay does not record');
          await e.setRecording(command === CustomRequest.startRecording);
          response.body = this.status();
          this.sendResponse(response);
          this.sendStatus();
          this.sendEvent(new InvalidatedEvent(['variables'])); // the Boot group shows `recording = on|off`
          return;
        }
        case CustomRequest.goto: {
          if (!hasTimeTravel(e)) throw new BootscopeError(ErrorCode.Usage, 'Go to Instruction needs a replay session (Recordings view → Replay in Debugger)');
          if (e.running) throw new BootscopeError(ErrorCode.Usage, 'the replay is running; pause it first');
          const target = parseGotoTarget(args);
          this.variableHandles.reset();
          const outcome = await e.goto(target);
          response.body = { sequenceNumber: e.position };
          this.sendResponse(response);
          if (outcome.kind === 'stopped') this.reportStop(outcome);
          return;
        }
        case CustomRequest.whoWrote: {
          if (!hasTimeTravel(e)) throw new BootscopeError(ErrorCode.Usage, 'Who Wrote This? needs a replay session (Recordings view → Replay in Debugger)');
          const a = parseWhoWrote(args);
          const r = e.writesTo(a.address, a.size, { before: a.before, limit: a.limit });
          const body: WhoWroteResult = {
            address: hex(a.address), size: a.size, position: e.position, writesRecorded: r.writesRecorded,
            writes: r.writes.map((w) => ({
              sequenceNumber: w.sequence_number, pc: w.pc, functionName: w.function_name, bootStage: w.boot_stage,
              address: w.address, size: w.size, value: w.value, oldValue: w.old_value,
            })),
          };
          response.body = body;
          this.sendResponse(response);
          return;
        }
      }
    } catch (err) {
      this.fail(response, err);
    }
  }
}

/** The `bootscope/whoWrote` arguments: an address (memory reference or number), size 1-4096 (default 4). */
function parseWhoWrote(args: unknown): { address: bigint; size: number; before?: number; limit?: number } {
  const a = (typeof args === 'object' && args !== null ? args : {}) as Partial<Record<keyof WhoWroteArguments, unknown>>;
  const whole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  const address = typeof a.address === 'string' ? parseAddress(a.address) : whole(a.address) || a.address === 0 ? BigInt(a.address as number) : undefined;
  const size = a.size === undefined ? 4 : a.size;
  if (address === undefined || !whole(size) || size > 4096 || (a.before !== undefined && !whole(a.before)) || (a.limit !== undefined && !whole(a.limit))) {
    throw new BootscopeError(ErrorCode.Usage, `${CustomRequest.whoWrote} needs { address: "0x…" or a number, size?: 1 to 4096, before?: N, limit?: N }; got ${JSON.stringify(args)}`);
  }
  return { address, size, before: a.before as number | undefined, limit: a.limit as number | undefined };
}

/** The `bootscope/goto` arguments: `{ sequenceNumber }`, `{ stage, visit? }` or `{ snapshotId }`. */
function parseGotoTarget(args: unknown): GotoTarget {
  const a = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
  const whole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  if (whole(a.sequenceNumber)) return { sequenceNumber: a.sequenceNumber };
  if (whole(a.snapshotId)) return { snapshotId: a.snapshotId };
  if (typeof a.stage === 'string' && a.stage) return { stage: a.stage, visit: whole(a.visit) ? a.visit : undefined };
  throw new BootscopeError(ErrorCode.Usage, `${CustomRequest.goto} needs { sequenceNumber: N }, { stage: "name", visit?: N } or { snapshotId: N } with positive whole numbers; got ${JSON.stringify(args)}`);
}
