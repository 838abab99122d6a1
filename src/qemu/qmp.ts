// A client for the QEMU Machine Protocol (QMP): one TCP connection to `-qmp tcp:...`, capabilities
// negotiation, commands matched to replies by `id`, and asynchronous events delivered apart from replies.
// Wire format: docs/interop/qmp-spec.txt in QEMU — one JSON object per line, greeting first.
import * as net from 'node:net';
import { BootscopeError, ErrorCode } from '../common/errors';

/** The greeting QEMU sends on connect (qmp-spec 2.2). */
export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

/** An asynchronous event (qmp-spec 2.5), e.g. STOP, RESUME, RESET, SHUTDOWN, POWERDOWN. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** `query-status` result. `status` is e.g. "prelaunch" (after -S, before the first cont), "running", "paused", "debug". */
export interface QmpStatus {
  running: boolean;
  singlestep?: boolean;
  status: string;
}

/** An `{"error": ...}` reply: the command reached QEMU and QEMU refused it. */
export class QmpCommandError extends BootscopeError {
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string, port: number) {
    super(ErrorCode.Qemu, `QMP command "${command}" on 127.0.0.1:${port} failed: ${desc} (${errorClass})`);
    this.name = 'QmpCommandError';
  }
}

export interface QmpConnectOptions {
  /** ms to wait for the TCP connection, greeting and capabilities negotiation (default 5000). */
  connectTimeoutMs?: number;
  /** Default per-command timeout in ms (default 10000). */
  commandTimeoutMs?: number;
}

interface PendingCommand {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type Json = Record<string, unknown>;

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, PendingCommand>();
  private readonly eventListeners = new Set<(e: QmpEvent) => void>();
  private readonly closeListeners = new Set<(err: Error) => void>();
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | undefined;
  private closedError: Error | undefined;
  private closingOnPurpose = false;
  /** The greeting QEMU sent; set once connect() resolves. */
  greeting!: QmpGreeting;
  readonly commandTimeoutMs: number;

  private constructor(private readonly socket: net.Socket, readonly host: string, readonly port: number, opts: QmpConnectOptions) {
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 10_000;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(this.lostError(err.message)));
    socket.on('close', () => this.fail(this.lostError(this.closingOnPurpose ? 'the client closed it' : 'QEMU closed it')));
  }

  /** Connects, reads the greeting and leaves capabilities-negotiation mode (`qmp_capabilities`). */
  static async connect(host: string, port: number, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new BootscopeError(ErrorCode.Qemu, `QMP connection to ${host}:${port} timed out after ${connectTimeoutMs} ms; is QEMU running with -qmp tcp:${host}:${port},server=on,wait=off?`));
      }, connectTimeoutMs);
      s.once('connect', () => { clearTimeout(timer); s.removeAllListeners('error'); resolve(s); });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new BootscopeError(ErrorCode.Qemu, `cannot connect to QMP at ${host}:${port}: ${err.message}`, { cause: err }));
      });
    });
    const client = new QmpClient(socket, host, port, opts);
    try {
      client.greeting = await client.waitForGreeting(connectTimeoutMs);
      await client.execute('qmp_capabilities', undefined, { timeoutMs: connectTimeoutMs });
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  private waitForGreeting(timeoutMs: number): Promise<QmpGreeting> {
    return new Promise<QmpGreeting>((resolve, reject) => {
      if (this.closedError) { reject(this.closedError); return; }
      // QEMU accepts the TCP connection in the kernel backlog before its main loop runs; the greeting
      // arrives only once the main loop serves the monitor, so a long wait here means QEMU is still starting.
      const timer = setTimeout(() => {
        this.greetingWaiter = undefined;
        reject(new BootscopeError(ErrorCode.Qemu, `no QMP greeting from ${this.host}:${this.port} within ${timeoutMs} ms (is another client already connected? QMP serves one client at a time)`));
      }, timeoutMs);
      this.greetingWaiter = {
        resolve: (g) => { clearTimeout(timer); resolve(g); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  /** Runs a QMP command; resolves with its `return` value, rejects with QmpCommandError on an `error` reply. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = `bootscope-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BootscopeError(ErrorCode.Qemu, `QMP command "${command}" on ${this.host}:${this.port} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      const msg: Json = { execute: command, id };
      if (args !== undefined) msg.arguments = args;
      this.socket.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Subscribes to asynchronous events; returns the unsubscribe function. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Resolves with the next event named `name` (optionally matching `filter`), or rejects after `timeoutMs`. */
  waitForEvent(name: string, timeoutMs = this.commandTimeoutMs, filter?: (e: QmpEvent) => boolean): Promise<QmpEvent> {
    return new Promise<QmpEvent>((resolve, reject) => {
      const off = this.onEvent((e) => {
        if (e.event !== name || (filter && !filter(e))) return;
        cleanup();
        resolve(e);
      });
      const offClose = this.onClose((err) => { cleanup(); reject(err); });
      const timer = setTimeout(() => {
        cleanup();
        reject(new BootscopeError(ErrorCode.Qemu, `no QMP ${name} event from ${this.host}:${this.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => { clearTimeout(timer); off(); offClose(); };
    });
  }

  /** Called once when the connection ends (for any reason), with the error pending requests got. */
  onClose(listener: (err: Error) => void): () => void {
    if (this.closedError) {
      const err = this.closedError;
      queueMicrotask(() => listener(err));
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  close(): void {
    this.closingOnPurpose = true;
    this.socket.destroy();
  }

  // ---- helpers for the commands Bootscope uses ----

  queryStatus(): Promise<QmpStatus> {
    return this.execute<QmpStatus>('query-status');
  }

  /** Pauses the VM; QEMU emits STOP. */
  async stop(): Promise<void> {
    await this.execute('stop');
  }

  /** Resumes the VM (also leaves the -S "prelaunch" state); QEMU emits RESUME. */
  async cont(): Promise<void> {
    await this.execute('cont');
  }

  /** Resets the machine; QEMU emits RESET. */
  async systemReset(): Promise<void> {
    await this.execute('system_reset');
  }

  /**
   * Asks QEMU to exit. QEMU replies and then closes the connection; a connection lost right after
   * sending is the expected outcome, not an error.
   */
  async quit(): Promise<void> {
    try {
      await this.execute('quit', undefined, { timeoutMs: 3000 });
    } catch (e) {
      if (!this.isClosed) throw e;
    }
  }

  /** Writes `size` bytes of guest *physical* memory at `addr` to `file` (a path QEMU opens). */
  async pmemsave(addr: number, size: number, file: string): Promise<void> {
    await this.execute('pmemsave', { val: addr, size, filename: file });
  }

  /** Writes `size` bytes of guest *virtual* memory (through CPU `cpu`'s MMU, default the current CPU) to `file`. */
  async memsave(addr: number, size: number, file: string, cpu?: number): Promise<void> {
    const args: Record<string, unknown> = { val: addr, size, filename: file };
    if (cpu !== undefined) args['cpu-index'] = cpu;
    await this.execute('memsave', args);
  }

  /** Runs a human-monitor command such as `info registers`, `xp /4wx 0x40000000`, `info mtree`; returns its text. */
  hmp(commandLine: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine }, opts);
  }

  // ---- wire handling ----

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line !== '') this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Json;
    try {
      msg = JSON.parse(line) as Json;
    } catch {
      this.fail(new BootscopeError(ErrorCode.Qemu, `QMP at ${this.host}:${this.port} sent a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`));
      this.socket.destroy();
      return;
    }
    if ('QMP' in msg) {
      const w = this.greetingWaiter;
      this.greetingWaiter = undefined;
      w?.resolve(msg.QMP as QmpGreeting);
      return;
    }
    if (typeof msg.event === 'string') {
      const ev = msg as unknown as QmpEvent;
      for (const l of [...this.eventListeners]) l(ev);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return; // a reply to a command that already timed out
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in msg) {
      const err = msg.error as { class?: string; desc?: string };
      p.reject(new QmpCommandError(p.command, err.class ?? 'GenericError', err.desc ?? JSON.stringify(err), this.port));
    } else {
      p.resolve(msg.return);
    }
  }

  private lostError(reason: string): BootscopeError {
    return new BootscopeError(ErrorCode.Qemu, `QMP connection to ${this.host}:${this.port} was lost (${reason})`);
  }

  /** Ends the connection once: every pending request and waiter gets the same error. */
  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.greetingWaiter?.reject(err);
    this.greetingWaiter = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const l of [...this.closeListeners]) l(err);
    this.closeListeners.clear();
  }
}
