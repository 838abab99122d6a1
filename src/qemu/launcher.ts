// Starts one QEMU for a recording: CPU halted (-S), gdbstub and QMP on free 127.0.0.1 ports, the guest's
// UART captured from QEMU's stdout, and QEMU tied to this process so it never outlives it (see spawnQemu).
// The returned QemuProcess owns the one QMP connection QEMU serves; callers use `qmp` rather than dialing again.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { QemuConfig } from '../common/config';
import { BootscopeError, ConfigError, ErrorCode, errorMessage } from '../common/errors';
import { configuresNetworking, findMissingFirmware, missingFirmwareAdvice } from './firmware';
import { QmpClient } from './qmp';
import { parseQemuVersion, type QemuVersion } from './version';

export type { QemuVersion } from './version';

export interface LaunchOptions {
  qemu: QemuConfig;
  /** Extra file to append the guest's UART output to (the user can open it). */
  uartLogPath?: string;
  /** ms to wait for the gdbstub and QMP to accept connections (default 15000). */
  startTimeoutMs?: number;
}

export interface QemuExit {
  code: number | null;
  signal: string | null;
}

export interface QemuProcess {
  readonly pid: number;
  /** gdbstub on 127.0.0.1 */
  readonly gdbPort: number;
  /** QMP on 127.0.0.1 (already connected: see `qmp`; QEMU serves one QMP client at a time). */
  readonly qmpPort: number;
  readonly version: QemuVersion;
  /** QEMU's argv, binary first (without the setpriv wrapper). */
  readonly commandLine: string[];
  /** The launcher's QMP connection, capabilities negotiated; closed when QEMU exits. */
  readonly qmp: QmpClient;
  /** Everything the guest printed on the UART so far (the last 8 MiB at most). */
  uartText(): string;
  onUart(listener: (chunk: string) => void): () => void;
  readonly exited: Promise<QemuExit>;
  isRunning(): boolean;
  /** quit via QMP, then SIGTERM, then SIGKILL; resolves when the process is gone. Idempotent. */
  shutdown(): Promise<void>;
}

const HOST = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 3;
const UART_TEXT_LIMIT = 8 * 1024 * 1024;
const STDERR_TAIL_LIMIT = 8 * 1024;
const UART_CHARDEV_ID = 'bootscope-uart';

/** Binds 127.0.0.1:0, reads the port the kernel picked, and releases it. */
export function findFreePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('listen on 127.0.0.1:0 gave no port'))));
    });
  });
}

const versionCache = new Map<string, Promise<QemuVersion>>();

/** Runs `<binary> --version`; turns ENOENT into an error naming the binary and the package to install. */
export function readQemuVersion(binary: string): Promise<QemuVersion> {
  const cached = versionCache.get(binary);
  if (cached) return cached;
  const p = new Promise<QemuVersion>((resolve, reject) => {
    execFile(binary, ['--version'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          reject(new BootscopeError(ErrorCode.Qemu, `QEMU binary "${binary}" was not found (ENOENT). Install QEMU (Debian/Ubuntu: \`apt-get install -y qemu-system-arm\`, which provides qemu-system-arm and qemu-system-aarch64) or set qemu.binary to its full path.`, { cause: err }));
        } else if (code === 'EACCES') {
          reject(new BootscopeError(ErrorCode.Qemu, `QEMU binary "${binary}" is not executable (EACCES); check qemu.binary and the file's permissions.`, { cause: err }));
        } else {
          reject(new BootscopeError(ErrorCode.Qemu, `"${binary} --version" failed: ${errorMessage(err)} ${String(stderr).trim()}`.trim(), { cause: err }));
        }
        return;
      }
      try {
        resolve(parseQemuVersion(String(stdout)));
      } catch (e) {
        reject(e);
      }
    });
  });
  versionCache.set(binary, p);
  p.catch(() => versionCache.delete(binary));
  return p;
}

/** QEMU's argv (binary first) for one launch on the given ports. */
export function buildQemuCommandLine(cfg: QemuConfig, gdbPort: number, qmpPort: number): string[] {
  const argv = [cfg.binary, '-M', cfg.machine];
  if (cfg.cpu) argv.push('-cpu', cfg.cpu);
  if (cfg.memory) argv.push('-m', cfg.memory);
  if (cfg.kernel) argv.push('-kernel', cfg.kernel);
  if (cfg.bios) argv.push('-bios', cfg.bios);
  argv.push(
    // Halt the CPU until the debugger continues, so the first instruction can be recorded.
    '-S',
    '-gdb', `tcp:${HOST}:${gdbPort}`,
    // nodelay=on: without TCP_NODELAY every monitor round trip waits for Nagle/delayed ACK (~42 ms).
    '-qmp', `tcp:${HOST}:${qmpPort},server=on,wait=off,nodelay=on`,
    '-display', 'none',
    '-monitor', 'none',
    // The first UART goes to QEMU's stdout (a pipe we read); signal=off keeps a ^C byte from killing QEMU.
    '-chardev', `stdio,id=${UART_CHARDEV_ID},signal=off`,
    '-serial', `chardev:${UART_CHARDEV_ID}`,
  );
  // Recording needs no network, and the machine's default NIC makes QEMU load an option ROM
  // (efi-virtio.rom on `virt`, from Debian's ipxe-qemu): drop it unless the user's arguments set one up.
  if (!configuresNetworking(cfg.extraArgs)) argv.push('-nic', 'none');
  argv.push(...cfg.extraArgs);
  return argv;
}

let setprivPath: string | null | undefined;

/** util-linux `setpriv`, when present: it sets PR_SET_PDEATHSIG and then execs QEMU (same pid). */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform === 'linux') {
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter).concat(['/usr/bin', '/bin'])) {
      const candidate = path.join(dir, 'setpriv');
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        setprivPath = candidate;
        break;
      } catch {
        // not in this directory
      }
    }
  }
  return setprivPath;
}

// Every QEMU this process started and that is still alive: killed synchronously when Node exits normally
// (process.exit, end of the event loop, an uncaught exception). A SIGKILLed parent runs no handler, which
// is what PR_SET_PDEATHSIG is for.
const liveQemus = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackForExit(child: ChildProcess): void {
  liveQemus.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    // ChildProcess.kill is a no-op for a process Node has already reaped, so no recycled pid is hit.
    for (const c of liveQemus) c.kill('SIGKILL');
  });
}

/**
 * Spawns QEMU so that it cannot outlive this process. QEMU 7.2 has no option for that (`-daemonize`
 * detaches, and the stdio chardev only reports CHR_EVENT_CLOSED on stdin EOF, it does not exit;
 * `-run-with exit-with-parent=on` arrived only in QEMU 9.x), so QEMU is exec'd through
 * `setpriv --pdeathsig KILL`: the kernel SIGKILLs it when its parent thread (Node's main thread, which
 * performs the fork in uv_spawn) dies, however it dies. Without setpriv, only the exit hook remains.
 */
function spawnQemu(argv: string[]): ChildProcess {
  const setpriv = findSetpriv();
  const [file, args] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', ...argv]] : [argv[0], argv.slice(1)];
  return spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
}

/** Why a start attempt failed, read from QEMU's stderr. */
function classifyStartFailure(cfg: QemuConfig, stderr: string, exit: QemuExit, argv: string[]): BootscopeError {
  const tail = stderr.trim().slice(-2000);
  const firstLine = tail.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  if (/unable to find CPU model|CPU model .* not found|invalid cpu|CPU type .* not/i.test(tail)) {
    return new ConfigError('qemu.cpu', `QEMU rejected CPU "${cfg.cpu ?? '(default)'}" for machine "${cfg.machine}": ${firstLine}. List the CPUs with \`${cfg.binary} -M ${cfg.machine} -cpu help\`.`);
  }
  if (/unsupported machine type|machine type .* not found|No machine specified|Machine type/i.test(tail)) {
    return new ConfigError('qemu.machine', `QEMU rejected machine "${cfg.machine}": ${firstLine}. List the machines with \`${cfg.binary} -M help\`.`);
  }
  const firmware = findMissingFirmware(tail);
  if (firmware) {
    // An install problem rather than a bad configuration: a QEMU failure (exit 3), quoting QEMU's line.
    const said = tail.split('\n').find((l) => l.includes(firmware.file))?.trim() ?? firstLine;
    return new BootscopeError(ErrorCode.Qemu, `QEMU ${how} during start: ${missingFirmwareAdvice(firmware)} QEMU said: ${said}\nCommand line: ${argv.join(' ')}`);
  }
  if (/could not load kernel/i.test(tail)) {
    return new ConfigError('qemu.kernel', `QEMU could not load "${cfg.kernel}": ${firstLine}. Use an ELF or raw image built for ${cfg.binary}.`);
  }
  if (/bios|firmware/i.test(tail) && cfg.bios) {
    return new ConfigError('qemu.bios', `QEMU could not use "${cfg.bios}": ${firstLine}`);
  }
  return new BootscopeError(ErrorCode.Qemu, `QEMU ${how} during start. stderr: ${tail === '' ? '(empty)' : tail}\nCommand line: ${argv.join(' ')}`);
}

class PortInUseError extends BootscopeError {
  constructor(detail: string) {
    super(ErrorCode.Qemu, `a port QEMU was given was taken before it could bind it: ${detail}`);
  }
}

function checkGuestFiles(cfg: QemuConfig): void {
  for (const [field, file] of [['qemu.kernel', cfg.kernel], ['qemu.bios', cfg.bios]] as const) {
    if (file === undefined) continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw new ConfigError(field, `file not found: ${file}. Build the guest first or fix the path (relative paths resolve against the config file's folder).`);
    }
    if (!st.isFile()) throw new ConfigError(field, `not a regular file: ${file}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts QEMU halted and resolves once QMP is negotiated (and so the gdbstub listens). `pickPort` chooses
 * each attempt's ports; a port taken between pick and bind makes QEMU fail, and the launch is retried
 * with fresh ports (PORT_ATTEMPTS in all). Tests pass a picker that hands out a busy port first.
 */
export async function launchQemu(opts: LaunchOptions, pickPort: () => Promise<number> = findFreePort): Promise<QemuProcess> {
  const cfg = opts.qemu;
  checkGuestFiles(cfg);
  const version = await readQemuVersion(cfg.binary);
  let lastPortError: PortInUseError | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const gdbPort = await pickPort();
    let qmpPort = await pickPort();
    while (qmpPort === gdbPort) qmpPort = await pickPort();
    try {
      return await startOnce(opts, version, gdbPort, qmpPort);
    } catch (e) {
      if (!(e instanceof PortInUseError)) throw e;
      lastPortError = e;
    }
  }
  throw new BootscopeError(ErrorCode.Qemu, `QEMU could not bind its gdbstub/QMP ports after ${PORT_ATTEMPTS} attempts with fresh ports: ${lastPortError?.message ?? ''}`);
}

async function startOnce(opts: LaunchOptions, version: QemuVersion, gdbPort: number, qmpPort: number): Promise<QemuProcess> {
  const cfg = opts.qemu;
  const argv = buildQemuCommandLine(cfg, gdbPort, qmpPort);
  let uartLogFd: number | undefined;
  if (opts.uartLogPath) {
    try {
      fs.mkdirSync(path.dirname(opts.uartLogPath), { recursive: true });
      uartLogFd = fs.openSync(opts.uartLogPath, 'a');
    } catch (e) {
      throw new BootscopeError(ErrorCode.Qemu, `cannot open the UART log file ${opts.uartLogPath}: ${errorMessage(e)}`, { cause: e });
    }
  }
  const child = spawnQemu(argv);
  const instance = new QemuInstance(child, argv, version, gdbPort, qmpPort, uartLogFd);
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const EXITED = Symbol('exited');
  const exitedRace = instance.exited.then(() => EXITED);
  try {
    // QEMU creates every chardev (QMP included) and the gdbstub before it enters its main loop, and the
    // QMP greeting is sent only from the main loop: once capabilities are negotiated the gdbstub is
    // listening too, without our touching the gdbstub socket (a probe connection would be QEMU's one
    // gdb client for a moment).
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new BootscopeError(ErrorCode.Qemu, `QEMU did not answer on QMP ${HOST}:${qmpPort} within ${timeoutMs} ms (startTimeoutMs). stderr: ${instance.stderrTail() || '(empty)'}\nCommand line: ${argv.join(' ')}`);
      }
      const attempt = QmpClient.connect(HOST, qmpPort, { connectTimeoutMs: Math.min(remaining, 5000) });
      attempt.catch(() => undefined);
      const outcome = await Promise.race([attempt.then((c) => c, (e: unknown) => e as Error), exitedRace]);
      if (outcome === EXITED) {
        void attempt.then((c) => c.close(), () => undefined);
        const exit = await instance.exited;
        const stderr = instance.stderrTail();
        // Only a failure on *our* ports is retried; a busy port in the user's extraArgs is a plain error.
        const ours = new RegExp(`-(gdb|qmp) tcp:127\\.0\\.0\\.1:(${gdbPort}|${qmpPort})\\b[^\\n]*(Failed to find an available port|Address already in use|Failed to bind socket)`, 'i');
        if (ours.test(stderr)) throw new PortInUseError(stderr.trim());
        throw classifyStartFailure(cfg, stderr, exit, argv);
      }
      if (outcome instanceof QmpClient) {
        instance.attachQmp(outcome);
        return instance;
      }
      await Promise.race([sleep(50), exitedRace]);
    }
  } catch (e) {
    await instance.kill();
    throw e;
  }
}

class QemuInstance implements QemuProcess {
  readonly pid: number;
  readonly exited: Promise<QemuExit>;
  private exitInfo: QemuExit | undefined;
  private uart = '';
  private stderr = '';
  private readonly uartListeners = new Set<(chunk: string) => void>();
  private readonly uartDecoder = new StringDecoder('utf8');
  private qmpClient: QmpClient | undefined;
  private shutdownPromise: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    readonly commandLine: string[],
    readonly version: QemuVersion,
    readonly gdbPort: number,
    readonly qmpPort: number,
    private uartLogFd: number | undefined,
  ) {
    this.exited = new Promise<QemuExit>((resolve) => {
      let spawnError: Error | undefined;
      child.once('error', (err) => {
        // spawn itself failed (e.g. setpriv vanished): there is no process and 'close' may never come.
        spawnError = err;
        this.stderr += `\n${err.message}`;
        this.finish({ code: null, signal: null });
        resolve(this.exitInfo ?? { code: null, signal: null });
      });
      // 'close' comes after the process exited *and* its stdout/stderr were drained, so the UART text and
      // stderr tail are complete when `exited` resolves.
      child.once('close', (code, signal) => {
        if (spawnError) return;
        this.finish({ code, signal });
        resolve(this.exitInfo ?? { code, signal });
      });
    });
    if (child.pid === undefined) {
      this.pid = -1;
    } else {
      this.pid = child.pid;
      trackForExit(child);
    }
    child.stdout?.on('data', (chunk: Buffer) => this.onUartBytes(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL_LIMIT);
    });
    // QEMU's stdin is the UART's input; nothing is written yet, and EPIPE after QEMU exits is harmless.
    child.stdin?.on('error', () => undefined);
  }

  get qmp(): QmpClient {
    if (!this.qmpClient) throw new BootscopeError(ErrorCode.Qemu, 'QEMU is still starting: no QMP connection yet');
    return this.qmpClient;
  }

  attachQmp(client: QmpClient): void {
    this.qmpClient = client;
  }

  stderrTail(): string {
    return this.stderr.trim();
  }

  uartText(): string {
    return this.uart;
  }

  onUart(listener: (chunk: string) => void): () => void {
    this.uartListeners.add(listener);
    return () => this.uartListeners.delete(listener);
  }

  isRunning(): boolean {
    return this.exitInfo === undefined;
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.stopGracefully();
    return this.shutdownPromise;
  }

  /** SIGKILL and wait: used when a start attempt fails, where a graceful quit has nothing to save. */
  async kill(): Promise<void> {
    this.qmpClient?.close();
    if (this.isRunning()) this.signal('SIGKILL');
    await this.exited;
  }

  private async stopGracefully(): Promise<void> {
    if (!this.isRunning()) {
      await this.exited;
      return;
    }
    const gone = (ms: number): Promise<boolean> => Promise.race([this.exited.then(() => true), sleep(ms).then(() => false)]);
    if (this.qmpClient && !this.qmpClient.isClosed) {
      // quit makes QEMU leave its main loop right away; the reply may or may not arrive before the socket closes.
      await Promise.race([this.qmpClient.quit().catch(() => undefined), sleep(2000)]);
      if (await gone(3000)) return this.closeQmp();
    }
    this.signal('SIGTERM');
    if (await gone(2000)) return this.closeQmp();
    this.signal('SIGKILL');
    await this.exited;
    this.closeQmp();
  }

  private closeQmp(): void {
    this.qmpClient?.close();
  }

  private signal(sig: NodeJS.Signals): void {
    // ChildProcess.kill does nothing once Node has reaped the process, so a recycled pid is never hit.
    this.child.kill(sig);
  }

  private onUartBytes(chunk: Buffer): void {
    if (this.uartLogFd !== undefined) {
      try {
        fs.writeSync(this.uartLogFd, chunk);
      } catch {
        // a full disk must not stop the recording; uartText() still has the output
      }
    }
    const text = this.uartDecoder.write(chunk);
    if (text === '') return;
    this.uart += text;
    if (this.uart.length > UART_TEXT_LIMIT) this.uart = this.uart.slice(-UART_TEXT_LIMIT);
    for (const l of [...this.uartListeners]) l(text);
  }

  private finish(exit: QemuExit): void {
    if (this.exitInfo) return;
    this.exitInfo = exit;
    liveQemus.delete(this.child);
    const rest = this.uartDecoder.end();
    if (rest) {
      this.uart += rest;
      for (const l of [...this.uartListeners]) l(rest);
    }
    if (this.uartLogFd !== undefined) {
      try {
        fs.closeSync(this.uartLogFd);
      } catch {
        // already closed
      }
      this.uartLogFd = undefined;
    }
    // QEMU's last QMP event (SHUTDOWN with its reason: the guest powering off, or a signal) can still be
    // unread in the socket when the process is reaped. The socket ends by itself now that QEMU is gone, so
    // let the client read it to the end; close it here only if it lingers.
    const qmp = this.qmpClient;
    if (qmp && !qmp.isClosed) setTimeout(() => qmp.close(), 1000).unref();
  }
}
