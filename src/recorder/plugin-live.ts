// Plugin capture inside a debug session (issue 13 item 4): QEMU runs with libbootscope.so and the debug
// adapter drives it through the gdbstub of the same QEMU (continue is QEMU's own `c` with Z0 breakpoints,
// steps are `s`), while every instruction that runs — continued or stepped — arrives from the plugin and is
// recorded through CaptureRows (the same rows as the CLI's plugin capture). At every stop, settle() waits
// for the plugin's records up to the stop: QEMU calls the plugin's vCPU-idle callback when the stopped vCPU
// goes idle, which flushes the plugin's buffer (QEMU's multi-threaded TCG; under -icount, round-robin TCG
// has no idle callback, so the records arrive only when the buffer fills or QEMU exits: use no -icount in a
// debug session with plugin capture).
import * as fs from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RecordingConfig } from '../common/config';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import type { Disassembler } from '../arch/disassembler';
import { CaptureDecoder, ensurePlugin, pluginArgument, readCaptureStream } from '../capture/plugin';
import { CaptureRows } from './plugin-session';
import type { RecordingSession } from './session';
import type { SnapshotTrigger } from './snapshot-policy';

/** No record for this long after a stop: the plugin's flush at the stop has been read. */
const QUIET_MS = 80;
/** Longest wait for that flush (a stop of a vCPU that never goes idle). */
const SETTLE_LIMIT_MS = 3000;

/** The listening socket QEMU's plugin connects to, made before QEMU starts. */
export class PluginSocket {
  private constructor(private readonly dir: string, private readonly server: net.Server, private readonly accepted: Promise<net.Socket>) {}

  static async listen(): Promise<PluginSocket> {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'bootscope-capture-'));
    const server = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path.join(dir, 's'), resolve); });
    return new PluginSocket(dir, server, accepted);
  }

  /** QEMU's `-plugin` argument: the whole run is one window (everything that runs is recorded). */
  qemuArgs(): string[] {
    return ['-plugin', pluginArgument({ pluginPath: ensurePlugin(), out: `unix:${path.join(this.dir, 's')}` })];
  }

  async accept(): Promise<net.Socket> {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new BootscopeError(ErrorCode.Qemu, 'QEMU started but the capture plugin never connected')), 10_000).unref());
    try {
      return await Promise.race([this.accepted, timeout]);
    } finally {
      this.close();
    }
  }

  close(): void {
    this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class LivePluginCapture {
  private lastDataAt = Date.now();
  private streamDone = false;
  private failure: unknown;
  private readonly pump: Promise<void>;

  private constructor(readonly rows: CaptureRows, private readonly socket: net.Socket, private readonly onWarning: (m: string) => void) {
    this.pump = this.consume();
  }

  /** Reads the start snapshot (QEMU halted at reset) and starts consuming the stream in the background. */
  static async attach(session: RecordingSession, socket: net.Socket, config: RecordingConfig, disassembler: Disassembler, onWarning: (m: string) => void): Promise<LivePluginCapture> {
    if (!session.qemu) throw new BootscopeError(ErrorCode.Config, 'capture: plugin capture needs a QEMU that Bootscope launched');
    const rows = new CaptureRows({ store: session.store, sessionId: session.sessionId, arch: session.target.arch, config, disassembler, symbols: session.symbols, onWarning });
    await rows.readStart(session.target, session.qemu, true);
    return new LivePluginCapture(rows, socket, onWarning);
  }

  private async consume(): Promise<void> {
    try {
      for await (const batch of readCaptureStream(this.socket, new CaptureDecoder())) {
        this.lastDataAt = Date.now();
        for (const e of batch.events) this.rows.handle(e);
      }
    } catch (e) {
      this.failure = e;
      this.onWarning(`plugin capture stopped: ${errorMessage(e)}`);
    } finally {
      this.streamDone = true;
      this.rows.releaseHeld();
    }
  }

  /**
   * At a stop: waits until the plugin's records up to the stop have been read (the stream is quiet), then
   * writes the last instruction's row (its stores are in) and commits. Every instruction executed before
   * the stop is then in the file.
   */
  async settle(): Promise<void> {
    // QEMU marks the vCPU stopped (and the gdbstub reports the stop) before the vCPU thread calls the idle
    // callback, so the flush may come just after the stop reply: quiet is counted from the stop at the earliest.
    const start = Date.now();
    while (!this.streamDone && Date.now() - start < SETTLE_LIMIT_MS && Date.now() - Math.max(this.lastDataAt, start) < QUIET_MS) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.rows.releaseHeld();
  }

  get instructionCount(): number { return this.rows.count; }
  get snapshots(): number { return this.rows.snapshotCount; }
  get lastSnapshot(): number | undefined { return this.rows.lastSnapshotId; }
  get currentStage(): string { return this.rows.enricher.currentStage; }

  /** A snapshot at the current instruction (call at a stop, after settle()). */
  snapshot(trigger: SnapshotTrigger): number | undefined {
    return this.rows.snapshotAt(trigger);
  }

  /** Stops reading (QEMU is being shut down; the stream's end is read by then). */
  async close(): Promise<void> {
    await Promise.race([this.pump, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.socket.destroy();
    if (this.failure) throw this.failure;
  }
}
