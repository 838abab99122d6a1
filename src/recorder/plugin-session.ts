// Plugin capture as a recording session: QEMU (>= 9.2) runs with plugin/libbootscope.so streaming every
// executed instruction, register change and store over a Unix socket; the same QEMU's gdbstub reads the
// start snapshot, stops at a stop address and reads the state there. Events become step rows through the
// StepEnricher shared with the gdbstub stepper, stores become memory_writes rows, and snapshots are computed
// exactly: region contents at instruction N = the start snapshot (a gdbstub read at the first recorded
// instruction) plus every memory_writes row before N (ShadowMemory).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Arch, RecordingConfig, RegionConfig } from '../common/config';
import { BootscopeError, ConfigError, ErrorCode } from '../common/errors';
import { decodeStatus, instructionLength } from '../arch/registers';
import { Disassembler } from '../arch/disassembler';
import type { Symbols } from '../symbols/symbols';
import {
  type CaptureEvent, CaptureDecoder, ensurePlugin, type PcRange, pluginArgument, readCaptureStream, type RecordWindow, resolveWindow, type WindowPoint,
} from '../capture/plugin';
import { launchQemu, type QemuProcess } from '../qemu/launcher';
import { GdbTarget } from '../target/target';
import { RecordingStore, type RegionCapture } from '../store/recording-store';
import type { SessionStatus } from '../store/schema';
import { preflight } from './preflight';
import type { RecorderProgress, RunEndReason, RunLimits, RunResult } from './recorder';
import type { QemuExitCause, SessionOptions } from './session';
import type { SnapshotTrigger } from './snapshot-policy';
import { type InstructionState, type PendingRow, StepEnricher } from './step-enricher';

/** µs since the epoch, as the stepper stamps its rows. */
function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** The configured regions' bytes, kept current by replaying every recorded store onto them. */
export class ShadowMemory {
  private readonly spans: Array<{ region: RegionConfig; start: bigint; end: bigint; data: Uint8Array }>;

  constructor(regions: readonly RegionConfig[], contents: readonly Uint8Array[]) {
    this.spans = regions.map((region, i) => ({ region, start: BigInt(region.start), end: BigInt(region.start) + BigInt(region.size), data: Uint8Array.from(contents[i]) }));
  }

  /** Puts `value` at `address` wherever it overlaps a region. */
  apply(address: bigint, value: Uint8Array): void {
    const last = address + BigInt(value.length);
    for (const s of this.spans) {
      if (last <= s.start || address >= s.end) continue;
      const from = address > s.start ? address : s.start;
      const to = last < s.end ? last : s.end;
      s.data.set(value.subarray(Number(from - address), Number(to - address)), Number(from - s.start));
    }
  }

  /** Copies of every region's current bytes. */
  contents(): Uint8Array[] {
    return this.spans.map((s) => Uint8Array.from(s.data));
  }
}

/** Guest-physical [start, end) ranges backed by RAM, from QEMU's `info mtree -f` (the CPU's address space). */
export function ramRanges(mtree: string): Array<[bigint, bigint]> {
  const views = mtree.split(/\r?\nFlatView #/);
  const view = views.find((v) => /AS "cpu-memory-0"/.test(v)) ?? views.find((v) => /AS "memory"/.test(v)) ?? '';
  const out: Array<[bigint, bigint]> = [];
  for (const m of view.matchAll(/^\s*([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, ram\)/gim)) out.push([BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`) + 1n]);
  return out;
}

/** True when every byte of [start, start + size) lies in RAM (merged adjacent ranges). */
export function inRam(ranges: ReadonlyArray<[bigint, bigint]>, start: bigint, size: bigint): boolean {
  let at = start;
  const end = start + size;
  for (const [lo, hi] of [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (lo <= at && at < hi) at = hi;
    if (at >= end) return true;
  }
  return at >= end;
}

/** A single-pc window point or stop address, which a gdbstub breakpoint can hit exactly. */
function singlePc(r: PcRange | undefined): bigint | undefined {
  return r && r.end === r.start + 1n ? r.start : undefined;
}

/** The recorder side of a plugin capture session, with the Recorder's counters the CLI reports. */
export interface PluginRecorderView {
  readonly instructionCount: number;
  readonly snapshots: number;
  captureSnapshot(trigger: SnapshotTrigger): Promise<number | undefined>;
}

/**
 * Turns decoded plugin events into the session's rows: step rows through the shared StepEnricher (each held
 * until its stores have arrived, so a commit carries a step and its stores together), memory_writes, the
 * window's trace gap, and snapshots computed from the shadow regions. Used by PluginRecordingSession (CLI)
 * and by the debug adapter's live engine, which drives QEMU through the gdbstub while this records.
 */
export class CaptureRows {
  readonly enricher: StepEnricher;
  shadow: ShadowMemory | undefined;
  /** The configured regions whose snapshots stores can keep exact (RAM); device regions are left out. */
  regions: RegionConfig[] = [];
  snapshotCount = 0;
  lastSnapshotId: number | undefined;
  /** The stream's END record arrived (QEMU exited normally). */
  ended = false;
  private readonly names: string[] = [];
  private last: InstructionState | undefined;
  private lastStage = '';
  private lastStatus = 0n;
  /** The row of the latest EXEC, appended when the next one arrives (after its stores). */
  private held: PendingRow | undefined;

  constructor(private readonly o: { store: RecordingStore; sessionId: number; arch: Arch; config: RecordingConfig; disassembler: Disassembler; symbols?: Symbols; onWarning?: (m: string) => void }) {
    this.enricher = new StepEnricher({ store: o.store, sessionId: o.sessionId, arch: o.arch, config: o.config, disassembler: o.disassembler, symbols: o.symbols });
  }

  get count(): number { return this.enricher.count; }
  get current(): InstructionState | undefined { return this.last; }

  /**
   * Reads the start snapshot through the gdbstub (the target is stopped before the first recorded
   * instruction) after leaving out regions that are not RAM in QEMU's memory map.
   */
  async readStart(target: GdbTarget, qemu: QemuProcess, exact: boolean): Promise<void> {
    this.regions = await this.ramRegions(qemu);
    if (this.regions.length === 0) return;
    if (!exact) {
      this.o.onWarning?.('window.start is a stage pc range or an instruction count: the memory at that exact instruction cannot be read, so this session has no snapshots; start the window at a function or an address to get them');
      return;
    }
    this.shadow = new ShadowMemory(this.regions, await Promise.all(this.regions.map((r) => target.readMemory(BigInt(r.start), r.size))));
  }

  /** Feeds one event. Returns 'windowStop' / 'end' when the stream says so. */
  handle(e: CaptureEvent): 'windowStop' | 'end' | undefined {
    switch (e.kind) {
      case 'registers':
        if (e.vcpu !== 0) throw new BootscopeError(ErrorCode.Target, `plugin capture records one vCPU; the guest runs vCPU ${e.vcpu} too: remove -smp from qemu.extraArgs or use "capture": "gdbstub"`);
        e.registers.forEach((r, i) => { this.names[i] = r.name; });
        return undefined;
      case 'windowStart':
        if (e.executedBefore > 0 && this.enricher.count === 0) this.o.store.addTraceGap(this.o.sessionId, 0, 'window', e.executedBefore);
        return undefined;
      case 'executed': {
        const regs = new Map<string, bigint>();
        for (const c of e.changed) regs.set(this.names[c.index], c.value);
        regs.set('pc', e.instruction.pc);
        this.pushRow(regs, e.instruction.pc, e.instruction.bytes);
        return undefined;
      }
      case 'memoryWrite':
        this.o.store.appendMemoryWrite(this.o.sessionId, this.enricher.count, e.address, e.value);
        this.shadow?.apply(e.address, e.value);
        return undefined;
      case 'windowStop':
        return 'windowStop';
      case 'end':
        this.ended = true;
        return 'end';
      default:
        return undefined;
    }
  }

  /** Counts and stages one instruction; its row is held until its stores have arrived. */
  pushRow(registers: Map<string, bigint>, pc: bigint, bytes: Uint8Array): void {
    this.releaseHeld();
    const status = registers.get(this.enricher.roles.status);
    const thumb = this.o.arch === 'arm' && decodeStatus('arm', status ?? this.lastStatus).thumb;
    if (status !== undefined) this.lastStatus = status;
    const state: InstructionState = { sequenceNumber: 0, timestampUs: nowUs(), pc, bytes, thumb, registers };
    const row = this.enricher.advance(state);
    this.last = state;
    this.lastStage = row.stage;
    if (this.enricher.count === 1 && this.shadow) {
      this.enricher.emit(row);
      this.snapshotAt('start');
    } else if (row.trigger) {
      this.enricher.emit(row);
      this.snapshotAt(row.trigger);
    } else {
      this.held = row;
    }
  }

  /** Appends the held row: every record before the next EXEC has arrived (a stop, the stream's end). */
  releaseHeld(): void {
    if (this.held) { this.enricher.emit(this.held); this.held = undefined; }
  }

  /** Snapshot of every region at the latest counted instruction (before it executes), from the shadow. */
  snapshotAt(trigger: SnapshotTrigger): number | undefined {
    const s = this.last;
    if (!this.shadow || !s) return undefined;
    this.releaseHeld();
    const contents = this.shadow.contents();
    const regions: RegionCapture[] = this.regions.map((r, i) => ({
      name: r.name, start: r.start, data: contents[i], expectedPattern: r.pattern, threshold: this.o.config.snapshots.threshold, physical: false,
    }));
    const id = this.o.store.addSnapshot({ sessionId: this.o.sessionId, sequenceNumber: s.sequenceNumber, timestampUs: s.timestampUs, bootStage: this.lastStage, pc: s.pc, trigger, regions });
    this.snapshotCount++;
    this.lastSnapshotId = id;
    return id;
  }

  /** Every region computed from the stores must equal the gdbstub's read at a stop; says where not. */
  checkAgainst(reads: readonly Uint8Array[]): void {
    if (!this.shadow || reads.length === 0) return;
    const computed = this.shadow.contents();
    this.regions.forEach((r, i) => {
      const a = computed[i];
      const b = reads[i];
      const at = a.findIndex((v, k) => v !== b[k]);
      if (at >= 0) {
        this.o.onWarning?.(`region "${r.name}": the contents computed from the recorded stores differ from the gdbstub's read at the stop, first at +0x${at.toString(16)} (0x${a[at].toString(16)} vs 0x${b[at].toString(16)}): something other than this CPU's stores (DMA, another bus master) writes there; its snapshots in this session are not exact`);
      }
    });
  }

  /**
   * The regions whose contents the recorded stores determine: those in RAM. A device region (MMIO: a UART's
   * registers) reads back what the device decides, not what the CPU stored, so it is left out, with a warning.
   */
  private async ramRegions(qemu: QemuProcess): Promise<RegionConfig[]> {
    if (this.o.config.regions.length === 0) return [];
    const ranges = ramRanges(await qemu.qmp.hmp('info mtree -f'));
    return this.o.config.regions.filter((r, i) => {
      if (inRam(ranges, BigInt(r.start), BigInt(r.size))) return true;
      this.o.onWarning?.(`regions[${i}] "${r.name}" (0x${r.start.toString(16)}, ${r.size} bytes) is not RAM in QEMU's memory map (a device's registers): plugin capture computes snapshots from the CPU's stores, which a device does not keep, so it is left out of this session's snapshots; record it with "capture": "gdbstub"`);
      return false;
    });
  }
}

export class PluginRecordingSession {
  private closed = false;
  readonly recorder: PluginRecorderView;

  private constructor(
    readonly config: RecordingConfig,
    readonly target: GdbTarget,
    readonly store: RecordingStore,
    readonly sessionId: number,
    readonly qemu: QemuProcess,
    readonly symbols: Symbols | undefined,
    private readonly rows: CaptureRows,
    private readonly socket: net.Socket,
    private readonly window: RecordWindow,
    private readonly stopPc: bigint | undefined,
    private readonly socketDir: string,
    private readonly o: SessionOptions,
  ) {
    this.recorder = {
      get instructionCount() { return rows.count; },
      get snapshots() { return rows.snapshotCount; },
      captureSnapshot: (trigger) => Promise.resolve(rows.snapshotAt(trigger)),
    };
  }

  /** `pluginBufferBytes`: the plugin's output buffer (default 1 MiB; tests use a small one so records flow early). */
  static async start(o: SessionOptions & { pluginBufferBytes?: number }): Promise<PluginRecordingSession> {
    const cfg = o.config;
    if (cfg.request !== 'launch' || !cfg.qemu) throw new ConfigError('capture', '"plugin" needs "request": "launch" with a "qemu" section');
    const { symbols, warnings } = preflight(cfg);
    for (const w of warnings) o.onWarning?.(w);
    cfg.regions.forEach((r, i) => {
      if (r.physical || cfg.physicalMemory) {
        throw new ConfigError(`regions[${i}].physical`, `plugin capture sees the virtual address of every store, so a physical region ("${r.name}") cannot be kept exact from them; record it with "capture": "gdbstub" or give its virtual address`);
      }
    });
    const disassembler = await Disassembler.create();
    const pluginPath = ensurePlugin();
    const window = pluginWindow(cfg, symbols);
    const stopPc = singlePc(window.stopPc);
    if (stopPc !== undefined) window.stopPc = undefined; // a gdbstub breakpoint stops there (see record())

    const socketDir = mkdtempSync(path.join(tmpdir(), 'bootscope-capture-'));
    const socketPath = path.join(socketDir, 's');
    const server = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(socketPath, resolve); });
    let qemu: QemuProcess | undefined;
    let target: GdbTarget | undefined;
    let store: RecordingStore | undefined;
    const ownsStore = !o.store;
    try {
      const plugin = pluginArgument({ pluginPath, out: `unix:${socketPath}`, window, bufferBytes: o.pluginBufferBytes });
      qemu = await launchQemu({ qemu: { ...cfg.qemu, extraArgs: [...cfg.qemu.extraArgs, '-plugin', plugin] } });
      if (o.onUart) qemu.onUart(o.onUart);
      const socket = await Promise.race([accepted, new Promise<never>((_, reject) => setTimeout(() => reject(new BootscopeError(ErrorCode.Qemu, `QEMU started but the capture plugin never connected to ${socketPath}`)), 10_000).unref())]);
      server.close();
      target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort });
      store = o.store ?? RecordingStore.open(cfg.database, { create: true });
      const sessionId = store.beginSession({
        description: cfg.description ?? cfg.name,
        qemuVersion: qemu.version.text,
        arch: target.arch,
        configJson: JSON.stringify({ ...cfg, capture: 'plugin' }),
        elfPath: cfg.elf,
        elfMd5: cfg.elf ? createHash('md5').update(readFileSync(cfg.elf)).digest('hex') : undefined,
        gdbHost: '127.0.0.1',
        gdbPort: qemu.gdbPort,
      });
      const rows = new CaptureRows({ store, sessionId, arch: target.arch, config: cfg, disassembler, symbols, onWarning: o.onWarning });
      return new PluginRecordingSession(cfg, target, store, sessionId, qemu, symbols, rows, socket, window, stopPc, socketDir, { ...o, store: ownsStore ? undefined : store });
    } catch (e) {
      server.close();
      await target?.close().catch(() => undefined);
      await qemu?.shutdown().catch(() => undefined);
      if (ownsStore) store?.close();
      rmSync(socketDir, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Runs the guest to the end of the capture: the stop address (a gdbstub breakpoint), the window's stop,
   * maxInstructions, timeLimitSeconds, cancellation, or QEMU exiting. Everything the plugin recorded is in
   * the store when this returns.
   */
  async record(limits: RunLimits = {}): Promise<RunResult> {
    const t = this.target;
    const cfg = this.config;
    // Z0 kind is the instruction size: 2 for Thumb code (from the ELF's mapping symbols), else 4.
    const kindAt = (pc: bigint): number => (t.arch === 'arm' && (this.symbols?.codeKindAt(pc) ?? (this.symbols?.functionAt(pc)?.thumb ? 'thumb' : 'arm')) === 'thumb' ? 2 : 4);
    // Start snapshot at the first recorded instruction: at reset, or at a start address (a breakpoint).
    const startPc = singlePc(this.window.startPc);
    if (startPc !== undefined) {
      await t.insertBreakpoint(0, startPc, kindAt(startPc));
      // Ctrl-C while QEMU runs towards a start that may never come.
      const interrupt = (): void => { t.interrupt().catch(() => undefined); };
      limits.signal?.addEventListener('abort', interrupt);
      let stop;
      try {
        stop = await t.cont();
      } finally {
        limits.signal?.removeEventListener('abort', interrupt);
      }
      if (stop.kind === 'exited' || stop.kind === 'terminated') return { reason: 'target-exited', stop, pc: 0n, instructions: 0 };
      if (limits.signal?.aborted) return { reason: 'cancelled', pc: 0n, instructions: 0 };
      await t.removeBreakpoint(0, startPc, kindAt(startPc));
    }
    const rows = this.rows;
    await rows.readStart(t, this.qemu, !(this.window.startPc !== undefined && startPc === undefined || this.window.startCount !== undefined));
    if (this.stopPc !== undefined) await t.insertBreakpoint(0, this.stopPc, kindAt(this.stopPc));
    const running = t.cont();
    let stopReply: Awaited<typeof running> | undefined;
    running.then((s) => { stopReply = s; }, () => undefined);

    const decoder = new CaptureDecoder();
    const maxTotal = cfg.maxInstructions;
    const deadline = cfg.timeLimitSeconds ? Date.now() + cfg.timeLimitSeconds * 1000 : Infinity;
    let reason: RunEndReason | undefined;
    let stoppedByUs = false;
    const endEarly = (why: RunEndReason): void => {
      if (reason === undefined) reason = why;
      if (!stoppedByUs) { stoppedByUs = true; void this.qemu.shutdown(); }
    };
    const onStopReply = running.then(async (s) => {
      if (s.kind === 'signal' && this.stopPc !== undefined) {
        // At the stop address, before it executes: everything before it is in the plugin's buffer, which
        // QEMU's exit flushes (END record). The state here becomes the last row, as the stepper records it.
        const final = await this.readState();
        // The same instant through the gdbstub, to check the computed end snapshot against (below).
        const reads = rows.shadow ? await Promise.all(rows.regions.map((r) => t.readMemory(BigInt(r.start), r.size))) : [];
        reason ??= 'stop-at';
        stoppedByUs = true;
        void this.qemu.shutdown();
        return { ...final, reads };
      }
      return undefined;
    }).catch(() => undefined); // QEMU gone at the stop: the stream's end says how
    const abort = (): void => endEarly('cancelled');
    limits.signal?.addEventListener('abort', abort);
    try {
      for await (const batch of readCaptureStream(this.socket, decoder)) {
        for (const e of batch.events) {
          if (reason === 'max-instructions') break;
          if (e.kind === 'executed' && maxTotal > 0 && rows.count >= maxTotal) { endEarly('max-instructions'); break; }
          if (rows.handle(e) === 'windowStop') reason ??= this.window.stopCount !== undefined && cfg.window?.stop === undefined ? 'max-instructions' : 'stop-at';
        }
        this.reportProgress(false);
        if (Date.now() >= deadline) endEarly('time-limit');
      }
      rows.releaseHeld();
      const final = stopReply?.kind === 'signal' ? await onStopReply : undefined;
      if (final) {
        rows.pushRow(final.registers, final.pc, final.bytes);
        rows.checkAgainst(final.reads);
      }
      rows.releaseHeld();
      this.store.flush();
      this.reportProgress(true);
      const pc = rows.current?.pc ?? 0n;
      if (reason !== undefined) return { reason, pc, instructions: rows.count };
      return { reason: 'target-exited', pc, instructions: rows.count, stop: stopReply };
    } finally {
      limits.signal?.removeEventListener('abort', abort);
    }
  }

  /** The state at the gdbstub's stop: every register QEMU reports, and the instruction's bytes. */
  private async readState(): Promise<{ pc: bigint; registers: Map<string, bigint>; bytes: Uint8Array }> {
    const t = this.target;
    const registers = t.decodeRegisters(await t.readRegisters());
    const pc = registers.get(this.rows.enricher.roles.pc) ?? 0n;
    const thumb = t.arch === 'arm' && decodeStatus('arm', registers.get(this.rows.enricher.roles.status) ?? 0n).thumb;
    const word = await t.readMemory(pc, 4).catch(() => t.readMemory(pc, 2));
    return { pc, registers, bytes: word.subarray(0, instructionLength(t.arch, thumb, word)) };
  }

  private progressAt = 0;
  private progressSeq = 0;
  private readonly started = Date.now();

  private reportProgress(force: boolean): void {
    if (!this.o.onProgress) return;
    const now = Date.now();
    if (!force && now - this.progressAt < 250) return;
    const dt = (now - (this.progressAt || this.started)) / 1000;
    const p: RecorderProgress = {
      instructions: this.rows.count,
      stage: this.rows.enricher.currentStage,
      pc: this.rows.current?.pc ?? 0n,
      functionName: this.rows.current ? this.rows.enricher.functionAt(this.rows.current.pc) : 'unknown',
      rate: dt > 0 ? (this.rows.count - this.progressSeq) / dt : 0,
      snapshots: this.rows.snapshotCount,
    };
    this.progressAt = now;
    this.progressSeq = this.rows.count;
    this.o.onProgress(p);
  }

  /** Why QEMU went away when the capture ended with 'target-exited'. */
  async qemuExitCause(_stop?: RunResult['stop']): Promise<QemuExitCause> {
    const exit = await Promise.race([this.qemu.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref())]);
    const how = !exit ? 'QEMU is still running' : exit.signal ? `QEMU was killed by ${exit.signal}` : `QEMU exited with code ${exit.code}`;
    const stream = this.rows.ended ? 'the capture stream ended complete' : 'the capture stream ended without its END record';
    return { byGuest: false, reason: `QEMU exited without the recording asking for it (${stream}; ${how})` };
  }

  /** Ends the boot_sessions row, disconnects and stops QEMU. Idempotent. */
  async close(status: Exclude<SessionStatus, 'recording'>, reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const uart = this.qemu.uartText();
      try { if (uart) this.store.updateSession(this.sessionId, { uartLog: uart }); } catch { /* the status matters more */ }
      this.store.endSession(this.sessionId, status, reason);
    } finally {
      this.socket.destroy();
      await this.target.close().catch(() => undefined);
      await this.qemu.shutdown().catch(() => undefined);
      if (!this.o.store) this.store.close();
      rmSync(this.socketDir, { recursive: true, force: true });
    }
  }
}

/** The plugin's window from `window`, `stopAt` and `maxInstructions`; symbols and stages resolved to pcs. */
export function pluginWindow(cfg: RecordingConfig, symbols: Symbols | undefined): RecordWindow {
  const stop: WindowPoint | undefined = cfg.window?.stop ?? (cfg.stopAt === undefined ? undefined
    : /^(0x[0-9a-f]+|[0-9]+)$/i.test(cfg.stopAt) ? { pc: BigInt(cfg.stopAt) } : { symbol: cfg.stopAt });
  const w = resolveWindow({ start: cfg.window?.start, stop, exitOnStop: true }, symbols, cfg.stages);
  // Thumb functions' symbols carry bit 0; the pc never does.
  for (const r of [w.startPc, w.stopPc]) if (r && r.end === r.start + 1n && (r.start & 1n) === 1n) { r.start &= ~1n; r.end = r.start + 1n; }
  if (w.stopCount === undefined && w.startPc === undefined && w.startCount === undefined && cfg.maxInstructions > 0) w.stopCount = cfg.maxInstructions;
  return w;
}
