// One recording session end to end, shared by the CLI (`bootscope record`) and the debug adapter:
// load symbols, launch QEMU (or attach), connect to the gdbstub, open the recording file, create the
// boot_sessions row, and close all of it in the right order with an honest status — including when QEMU
// dies or the connection drops mid-recording.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { archOf, type RecordingConfig } from '../common/config';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import { Disassembler } from '../arch/disassembler';
import { loadSymbols, type Symbols } from '../symbols/symbols';
import { launchQemu, type QemuProcess } from '../qemu/launcher';
import { GdbTarget } from '../target/target';
import { RecordingStore } from '../store/recording-store';
import type { SessionStatus } from '../store/schema';
import { Recorder, type RecorderProgress, type RunEndReason, type RunLimits, type RunResult } from './recorder';

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

export class RecordingSession {
  private closed = false;

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
    const symbolPaths = [...(cfg.elf ? [cfg.elf] : []), ...cfg.symbolFiles];
    const symbols = symbolPaths.length ? loadSymbols(symbolPaths) : undefined;
    const disassembler = await Disassembler.create();

    let qemu: QemuProcess | undefined;
    let target: GdbTarget | undefined;
    let store: RecordingStore | undefined;
    let originalStepFlags: number | undefined;
    const ownsStore = !o.store;
    try {
      if (cfg.request === 'launch') {
        if (!cfg.qemu) throw new BootscopeError(ErrorCode.Config, 'qemu: is required for "launch"');
        qemu = await launchQemu({ qemu: cfg.qemu });
        if (o.onUart) qemu.onUart(o.onUart);
        target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort });
      } else {
        target = await GdbTarget.connect({ host: cfg.host, port: cfg.port as number });
      }
      const expected = archOf(cfg);
      if (expected && expected !== target.arch) {
        throw new BootscopeError(ErrorCode.Config, `arch: the configuration says "${expected}" but the gdbstub reports "${target.arch}"; fix "arch" or "qemu.binary"`);
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
      const status: Exclude<SessionStatus, 'recording'> = qemuGone ? 'qemu-exited' : 'error';
      const why = qemuGone ? `QEMU exited during recording (${errorMessage(e)})` : errorMessage(e);
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

  /** Ends the boot_sessions row, restores an attached QEMU's step flags, disconnects, and stops a QEMU we launched. Idempotent. */
  async close(status: Exclude<SessionStatus, 'recording'>, reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // The guest's UART output belongs to the record: the report and queries show it beside the trace.
      const uart = this.qemu?.uartText();
      if (uart) this.store.updateSession(this.sessionId, { uartLog: uart });
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
