// Runs QEMU with libbootscope.so writing to an inherited pipe (fd 3), and hands out the decoded stream. QEMU
// failing to load the plugin (wrong API version, QEMU older than 9.2, bad arguments) becomes one error
// that names what QEMU said and what to do.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BootscopeError, ErrorCode } from '../../common/errors';
import { type PluginArgumentOptions, pluginArgument, type RecordWindow } from './args';
import { CaptureDecoder } from './decoder';
import type { StreamTermination } from './format';
import { type CaptureBatch, readCaptureStream } from './stream';

/** The fd QEMU inherits the capture pipe on (0-2 are stdio). */
const CAPTURE_FD = 3;

export interface PluginCaptureOptions {
  /** The QEMU binary (a QEMU 9.2 - 10.x: plugin API 4). */
  qemuBinary: string;
  /** QEMU's arguments without -plugin (machine, cpu, kernel, display, ...). */
  qemuArgs: readonly string[];
  pluginPath: string;
  window?: RecordWindow;
  bufferBytes?: number;
  pipeBytes?: number;
  extraRegisters?: readonly string[];
}

export interface QemuExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class PluginCapture {
  readonly process: ChildProcess;
  readonly commandLine: string[];
  /** Resolves when QEMU has exited. */
  readonly exited: Promise<QemuExitStatus>;
  private stderrText = '';
  private readonly stream: Readable;

  constructor(options: PluginCaptureOptions) {
    const plugin: PluginArgumentOptions = { pluginPath: options.pluginPath, out: `fd:${CAPTURE_FD}`, window: options.window, bufferBytes: options.bufferBytes, pipeBytes: options.pipeBytes, extraRegisters: options.extraRegisters };
    this.commandLine = [options.qemuBinary, ...options.qemuArgs, '-plugin', pluginArgument(plugin)];
    this.process = spawn(this.commandLine[0], this.commandLine.slice(1), { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    this.process.stderr?.setEncoding('utf8');
    this.process.stderr?.on('data', (d: string) => { this.stderrText = (this.stderrText + d).slice(-16384); });
    this.process.stdout?.resume(); // the guest's UART when -serial stdio; not ours to keep
    this.stream = this.process.stdio[CAPTURE_FD] as Readable;
    this.exited = new Promise((resolve, reject) => {
      this.process.once('error', (e) => reject(new BootscopeError(ErrorCode.Qemu, `cannot start ${options.qemuBinary}: ${e.message}. Is QEMU 9.2 or newer installed (scripts/qemu10.sh provisions one)?`)));
      this.process.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.exited.catch(() => undefined); // reported through batches() as well
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** QEMU's stderr so far (the last 16 KiB). */
  get stderr(): string {
    return this.stderrText;
  }

  /**
   * The stream's events, batch by batch; returns how it ended. Reading slowly is safe: the plugin waits.
   * Throws a BootscopeError (code qemu) when QEMU exits without writing a stream.
   */
  async *batches(decoder = new CaptureDecoder()): AsyncGenerator<CaptureBatch, StreamTermination, undefined> {
    const termination = yield* readCaptureStream(this.stream, decoder);
    if (!decoder.header) {
      const status = await this.exited;
      // stderr may still be draining when 'exit' fires
      await new Promise((r) => setImmediate(r));
      throw pluginLoadError(this.commandLine[0], status, this.stderrText);
    }
    return termination;
  }

  /** Sends `signal` (default SIGKILL) to QEMU if it is still running. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
  }
}

/** QEMU's own words about the plugin, plus what to do about the cases we recognise. */
export function pluginLoadError(binary: string, status: QemuExitStatus, stderr: string): BootscopeError {
  const said = stderr.split('\n').filter((l) => /plugin|bootscope/i.test(l)).join(' | ').trim() || stderr.trim().split('\n').slice(-3).join(' | ');
  const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
  let advice = 'Check the QEMU command line and plugin arguments.';
  const api = /requires API version (\d+), but this QEMU supports only up to version (\d+)/.exec(stderr);
  if (api) {
    advice = `The plugin declares QEMU plugin API ${api[1]}, this QEMU supports up to ${api[2]}: rebuild it for API 4 (make -C plugin) and use QEMU 9.2 - 10.x.`;
  } else if (/undefined symbol: qemu_plugin_/.test(stderr)) {
    advice = 'This QEMU predates plugin API 4 (QEMU 9.2): use QEMU 9.2 - 10.x, e.g. bash scripts/qemu10.sh and its .cache/qemu10/bin wrappers, or capture with the gdbstub.';
  } else if (/built for QEMU plugin API/.test(stderr)) {
    advice = 'Use QEMU 9.2 - 10.x (plugin API 4), e.g. bash scripts/qemu10.sh.';
  }
  return new BootscopeError(ErrorCode.Qemu, `${binary} ${how} before the capture plugin wrote its stream: ${said || '(no message)'}. ${advice}`);
}
