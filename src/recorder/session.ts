// One recording session end to end, shared by the CLI (`bootscope record`) and the debug adapter:
// load symbols, launch QEMU (or attach), connect to the gdbstub, open the recording file, create the
// boot_sessions row, and close all of it in the right order with an honest status — including when QEMU
// dies or the connection drops mid-recording.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { archOf, checkRegionLayout, type RecordingConfig } from '../common/config';
import { BootscopeError, ConfigError, ErrorCode, errorMessage } from '../common/errors';
import { Disassembler } from '../arch/disassembler';
import { archOfElf, type Symbols } from '../symbols/symbols';
import { launchQemu, type QemuExit, type QemuProcess } from '../qemu/launcher';
import { GdbTarget } from '../target/target';
import { RecordingStore } from '../store/recording-store';
import type { SessionStatus } from '../store/schema';
import { Recorder, type RecorderProgress, type RunEndReason, type RunLimits, type RunResult } from './recorder';
import { preflight } from './preflight';

/** QEMU's sstep bits (gdbstub.c): ENABLE=1, NOIRQ=2, NOTIMER=4. */
export const SSTEP_ENABLE = 0x1;
export const SSTEP_NOIRQ = 0x2;
export const SSTEP_NOTIMER = 0x4;

export interface SessionOptions {
  config: RecordingConfig;
  onProgress?: (p: RecorderProgress) => void;
  onWarning?: (message: string) => void;
  onUart?: (text: string) => void;
  /** Use an already open store (the extension shares one connection); otherwise the session opens one. */
  store?: RecordingStore;
  /** More QEMU arguments for a launch (the debug adapter's `-plugin` for plugin capture). */
  extraQemuArgs?: readonly string[];
}

/** What a finished run means for the boot_sessions row. */
export function statusFor(reason: RunEndReason): { status: Exclude<SessionStatus, 'recording'>; reason: string } {
  switch (reason) {
    case 'max-instructions': return { status: 'completed', reason: 'reached maxInstructions' };
    case 'stop-at': return { status: 'completed', reason: 'reached stopAt' };
    case 'time-limit': return { status: 'completed', reason: 'reached timeLimitSeconds' };
    case 'idle': return { status: 'completed', reason: 'guest idle: a step did not complete (WFI with no interrupt pending)' };
    case 'cancelled': return { status: 'stopped', reason: 'cancelled by the user' };
    case 'target-exited': return { status: 'qemu-exited', reason: 'the guest or QEMU exited' };
    case 'breakpoint': return { status: 'stopped', reason: 'stopped at a breakpoint' };
    case 'step-limit': return { status: 'stopped', reason: 'stopped after stepping' };
    case 'watchpoint': return { status: 'stopped', reason: 'stopped at a data watchpoint' };
  }
}

/** Why the guest's QEMU went away when a run ended with 'target-exited'. */
export interface QemuExitCause {
  /** True only when the guest itself shut the machine down (QMP SHUTDOWN with guest: true, guest-shutdown). */
  byGuest: boolean;
  /** For boot_sessions.end_reason and the CLI's summary. */
  reason: string;
}

export class RecordingSession {
  private closed = false;
  /** The last QMP SHUTDOWN event's data (reason, guest), when QEMU announced why it is going down. */
  private shutdown: { event?: { reason?: string; guest?: boolean } } = {};

  private constructor(
    readonly config: RecordingConfig,
    readonly target: GdbTarget,
    readonly store: RecordingStore,
    readonly sessionId: number,
    readonly recorder: Recorder,
    readonly symbols: Symbols | undefined,
    readonly qemu: QemuProcess | undefined,
    private readonly ownsStore: boolean,
    /** `qqemu.sstep` as an attached QEMU had it before we set ours; undefined for a QEMU we launched. */
    readonly originalStepFlags: number | undefined,
  ) {}

  static async start(o: SessionOptions): Promise<RecordingSession> {
    const cfg = o.config;
    // Files and symbol names first: a bad one must fail before QEMU starts and before a session row exists.
    const { symbols, warnings } = preflight(cfg);
    for (const w of warnings) o.onWarning?.(w);
    const disassembler = await Disassembler.create();

    let qemu: QemuProcess | undefined;
    let target: GdbTarget | undefined;
    let store: RecordingStore | undefined;
    let originalStepFlags: number | undefined;
    const ownsStore = !o.store;
    const shutdown: RecordingSession['shutdown'] = {};
    try {
      if (cfg.request === 'launch') {
        if (!cfg.qemu) throw new BootscopeError(ErrorCode.Config, 'qemu: is required for "launch"');
        qemu = await launchQemu({ qemu: o.extraQemuArgs ? { ...cfg.qemu, extraArgs: [...cfg.qemu.extraArgs, ...o.extraQemuArgs] } : cfg.qemu });
        if (o.onUart) qemu.onUart(o.onUart);
        // QEMU says why it shuts down (qapi/run-state.json ShutdownCause): the guest powering off, or a
        // signal / quit from outside. Only the first is an end the user asked for.
        qemu.qmp.onEvent((e) => {
          if (e.event === 'SHUTDOWN') shutdown.event = { reason: e.data?.reason as string | undefined, guest: e.data?.guest as boolean | undefined };
        });
        target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort });
      } else {
        target = await GdbTarget.connect({ host: cfg.host, port: cfg.port as number });
      }
      const expected = archOf(cfg);
      if (expected && expected !== target.arch) {
        throw new BootscopeError(ErrorCode.Config, `arch: the configuration says "${expected}" but the gdbstub reports "${target.arch}"; fix "arch" or "qemu.binary"`);
      }
      if (!expected) {
        // Attached without "arch": only now is the architecture known; check what preflight could not.
        const field = (i: number): string => (i === 0 && cfg.elf ? 'elf' : `symbolFiles[${cfg.elf ? i - 1 : i}]`);
        symbols?.elfs.forEach((elf, i) => {
          if (archOfElf(elf) !== target?.arch) {
            throw new ConfigError(field(i), `${elf.path} is an ELF for ${elf.machine}, but the gdbstub on ${cfg.host}:${cfg.port} runs an ${target?.arch} guest; give the ${target?.arch} image`);
          }
        });
        checkRegionLayout(cfg.regions, target.arch);
      }
      // An attached QEMU outlives us and gets the next gdb: remember its flags to restore them on the way out.
      if (cfg.request === 'attach') originalStepFlags = await target.getStepFlags();
      // Interrupts mode: clear NOIRQ/NOTIMER so steps enter IRQ handlers and timers tick (task switches are
      // recorded). QEMU's own default masks both.
      await target.setStepFlags(cfg.stepMode === 'interrupts' ? SSTEP_ENABLE : SSTEP_ENABLE | SSTEP_NOIRQ | SSTEP_NOTIMER);

      store = o.store ?? RecordingStore.open(cfg.database, { create: true });
      const elfMd5 = cfg.elf ? createHash('md5').update(readFileSync(cfg.elf)).digest('hex') : undefined;
      const sessionId = store.beginSession({
        description: cfg.description ?? cfg.name,
        qemuVersion: qemu?.version.text,
        arch: target.arch,
        configJson: JSON.stringify(cfg),
        elfPath: cfg.elf,
        elfMd5,
        gdbHost: cfg.request === 'launch' ? '127.0.0.1' : cfg.host,
        gdbPort: cfg.request === 'launch' ? qemu?.gdbPort : cfg.port,
      });
      const recorder = new Recorder({
        target, store, sessionId, config: cfg, disassembler, symbols,
        onProgress: o.onProgress, onWarning: o.onWarning,
      });
      const s = new RecordingSession(cfg, target, store, sessionId, recorder, symbols, qemu, ownsStore, originalStepFlags);
      s.shutdown = shutdown;
      return s;
    } catch (e) {
      if (originalStepFlags !== undefined) await target?.setStepFlags(originalStepFlags).catch(() => undefined);
      await target?.close().catch(() => undefined);
      await qemu?.shutdown().catch(() => undefined);
      if (ownsStore) store?.close();
      throw e;
    }
  }

  /** Records until a limit; connection loss or a QEMU death ends the session with a status saying why. */
  async record(limits: RunLimits = {}): Promise<RunResult> {
    try {
      return await this.recorder.run(limits);
    } catch (e) {
      // A killed QEMU drops the gdbstub socket before its exit status is reaped: give the exit a moment to
      // arrive, so the session says "QEMU exited" rather than a bare connection error.
      const qemuGone = this.qemu !== undefined && await Promise.race([
        this.qemu.exited.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000).unref()),
      ]);
      if (qemuGone) {
        await this.qmpDrained();
        const exit = await this.qemu?.exited;
        const cause = this.describeExit(exit, `the gdbstub connection ended: ${errorMessage(e)}`);
        // The guest powered the machine off (PSCI SYSTEM_OFF): QEMU closes the gdbstub socket without a W
        // reply as often as with one. That is the guest's own end of the boot, not a failure.
        if (cause.byGuest) return { reason: 'target-exited', pc: this.recorder.current?.pc ?? 0n, instructions: this.recorder.instructionCount };
      }
      const status: Exclude<SessionStatus, 'recording'> = qemuGone ? 'qemu-exited' : 'error';
      const why = qemuGone ? `QEMU exited during recording: ${this.describeExit(await this.qemu?.exited, errorMessage(e)).reason}` : errorMessage(e);
      await this.close(status, why);
      throw e;
    }
  }

  /**
   * Gives an attached QEMU back its single-step flags (`Qqemu.sstep`), so whoever connects next steps as
   * before we came. Does nothing for a launched QEMU, which is stopped anyway, nor while a `c` is
   * outstanding (the request would wait for the guest to stop): callers halt the guest first.
   */
  async restoreStepFlags(): Promise<void> {
    if (this.originalStepFlags === undefined || this.target.running) return;
    await this.target.setStepFlags(this.originalStepFlags);
  }

  /**
   * Why the target went away after a run ended with 'target-exited' (the gdbstub sent W or X). Waits a
   * moment for QEMU's exit and its SHUTDOWN event, then says whether the guest shut down by itself; a QEMU
   * stopped by a signal (SIGTERM makes QEMU shut down cleanly, so the gdbstub still reports W00), a quit
   * from another monitor, a guest panic or an unexplained exit are not.
   */
  async qemuExitCause(stop?: RunResult['stop']): Promise<QemuExitCause> {
    const stub = stop?.kind === 'exited' ? `the gdbstub reported exit status ${stop.status}`
      : stop?.kind === 'terminated' ? `the gdbstub reported signal ${stop.signal}` : 'the gdbstub reported the end of the process';
    if (!this.qemu) return { byGuest: false, reason: `the target exited (${stub})` };
    const exit = await Promise.race([this.qemu.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref())]);
    if (exit) await this.qmpDrained();
    return this.describeExit(exit, stub);
  }

  /** Resolves once QMP has delivered everything QEMU sent before exiting (its socket ended), or after 1.5 s. */
  private qmpDrained(): Promise<void> {
    const qmp = this.qemu?.qmp;
    if (!qmp || qmp.isClosed) return Promise.resolve();
    return Promise.race([
      new Promise<void>((resolve) => { qmp.onClose(() => resolve()); }),
      new Promise<void>((resolve) => setTimeout(resolve, 1500).unref()),
    ]);
  }

  private describeExit(exit: QemuExit | undefined, stub: string): QemuExitCause {
    const how = !exit ? 'QEMU is still running' : exit.signal ? `QEMU was killed by ${exit.signal}` : `QEMU exited with code ${exit.code}`;
    const ev = this.shutdown.event;
    if (ev?.guest === true && ev.reason === 'guest-shutdown') {
      return { byGuest: true, reason: `the guest shut the machine down (QEMU SHUTDOWN reason guest-shutdown; ${stub})` };
    }
    if (ev) {
      const who = ev.reason === 'host-signal' ? 'QEMU was stopped by a signal from outside Bootscope'
        : ev.reason?.startsWith('host-') ? 'QEMU was stopped from outside Bootscope' : 'QEMU shut down without the recording asking for it';
      return { byGuest: false, reason: `${who} (SHUTDOWN reason ${ev.reason ?? '?'}${ev.guest ? ', from the guest' : ''}; ${stub}; ${how})` };
    }
    return { byGuest: false, reason: `QEMU exited without the recording asking for it (${stub}; ${how})` };
  }

  /** Ends the boot_sessions row, restores an attached QEMU's step flags, disconnects, and stops a QEMU we launched. Idempotent. */
  async close(status: Exclude<SessionStatus, 'recording'>, reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // The guest's UART output belongs to the record: the report and queries show it beside the trace.
      const uart = this.qemu?.uartText();
      try {
        if (uart) this.store.updateSession(this.sessionId, { uartLog: uart });
      } catch {
        // e.g. the disk is full: the status below matters more than the log (endSession names the cause)
      }
      this.store.endSession(this.sessionId, status, reason);
    } finally {
      // A dropped connection cannot be restored: nothing else to do then.
      await this.restoreStepFlags().catch(() => undefined);
      await this.target.close().catch(() => undefined);
      await this.qemu?.shutdown().catch(() => undefined);
      if (this.ownsStore) this.store.close();
    }
  }
}
