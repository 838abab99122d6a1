// One connection to one gdbstub (QEMU's): a request queue over TCP that keeps several requests in flight
// (the stub answers in order), acks every packet, retransmits on NAK, and turns replies into typed values
// via src/rsp. This is what the recorder's hot loop calls (step + g + m), so the common path allocates little.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import {
  CLIENT_FEATURES,
  CONTINUE,
  CURRENT_THREAD,
  FeatureMap,
  FrameError,
  FrameEvent,
  MAX_MEMORY_CHUNK,
  PHY_MEM_MODE_QUERY,
  PacketDecoder,
  RegisterInfo,
  RegisterLayout,
  RegisterValues,
  RspDecodeError,
  SSTEP_BITS_QUERY,
  SSTEP_QUERY,
  STEP,
  StopReply,
  THREAD_INFO_FIRST,
  THREAD_INFO_NEXT,
  BreakpointType,
  BREAKPOINT_TYPE_NAME,
  buildRegisterLayout,
  decodeG,
  decodeMInto,
  decodePhyMemMode,
  decodePReply,
  decodeQC,
  decodeQRcmdReply,
  decodeQSupported,
  decodeRegisterValues,
  decodeSstep,
  decodeSstepBits,
  decodeStopReply,
  decodeThreadInfo,
  decodeVContQuery,
  encodeVCont,
  VCONT_QUERY,
  VContRequest,
  decodeZReply,
  describeStopReply,
  encodeBigP,
  encodeG,
  encodeM,
  encodeP,
  encodePacket,
  encodeQRcmd,
  encodeQSupported,
  encodeSetPhyMemMode,
  encodeSetSstep,
  encodeWriteM,
  encodeZ,
  hexToText,
  latin1Text,
  looksLikeStopReply,
  maxWriteChunk,
  packetSizeOf,
  parseErrorReply,
  readTargetDescription,
  withGPacketSize,
} from '../rsp';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Budget for the whole connect (TCP retries + handshake). Default 10 s. */
  timeoutMs?: number;
  /** Pause between TCP connection attempts while QEMU is not listening yet. Default 100 ms. */
  connectRetryMs?: number;
  /** No progress on an outstanding request for this long is fatal. Default 5 s. `cont` never times out. */
  requestTimeoutMs?: number;
  /** Requests in flight at once (the stub answers in order). Default 8. */
  window?: number;
}

/** `E NN` from the stub: recoverable (the connection stays usable), names the packet that failed. */
export class GdbReplyError extends BootscopeError {
  constructor(
    readonly packet: string,
    readonly reply: string,
    readonly endpoint: string,
    detail?: string,
  ) {
    super(ErrorCode.Target, `gdbstub ${endpoint} answered ${JSON.stringify(reply.slice(0, 60))} to ${JSON.stringify(packet)}${detail ? `: ${detail}` : ''}`);
    this.name = 'GdbReplyError';
  }
}

export type { BreakpointType, RegisterInfo, RegisterLayout, RegisterValues, SignalStop, StopReason, StopReply, VContRequest } from '../rsp';

/** Architectures the recorder knows, from target.xml `<architecture>`. */
export type TargetArch = 'arm' | 'aarch64';

const enum Expect {
  /** One reply packet. */
  Reply,
  /** A stop reply, possibly after `O` console packets; nothing may be sent while it is outstanding. */
  Stop,
  /** qRcmd: `O` output packets, then `OK`. */
  Monitor,
  /** `?` (halt reason): its answer IS a stop reply, but the target is not resumed (not a barrier). */
  HaltReason,
}

interface Pending {
  /** Payload as text, for error messages (cut short). */
  readonly packet: string;
  readonly frame: Uint8Array;
  readonly expect: Expect;
  readonly resolve: (payload: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  /** `c` waits for the guest as long as it takes; everything else times out. */
  readonly noTimeout: boolean;
  /** qRcmd output collected from `O` packets. */
  readonly output?: string[];
  sent: boolean;
  naks: number;
  /** For resume requests: the promise step()/cont() returned, which interrupt() hands out too. */
  stop?: Promise<StopReply>;
}

export interface GdbTargetEvents {
  /** A stop reply nobody asked for (e.g. QEMU's T02 when connecting to a running VM). */
  stop: [StopReply];
  /** `O` output outside qRcmd (target output while running). */
  console: [string];
  /** The connection ended; `error` is set when it was not our own close(). */
  close: [BootscopeError | undefined];
  /** A framing problem the connection recovered from (garbage, bad checksum NAKed, ...). */
  'protocol-error': [FrameError];
}

const STEP_FRAME = encodePacket(STEP);
const CONTINUE_FRAME = encodePacket(CONTINUE);
const G_FRAME = encodePacket('g');
const ACK_BYTE = new Uint8Array([0x2b]);
const NAK_BYTE = new Uint8Array([0x2d]);
const INTERRUPT_BYTE = new Uint8Array([0x03]);
const MAX_NAKS = 5;

export class GdbTarget extends EventEmitter<GdbTargetEvents> {
  readonly endpoint: string;
  // Set by the handshake in connect(); public read-only through the getters below.
  private features_: FeatureMap = new Map();
  private layout_: RegisterLayout | undefined;
  private arch_: TargetArch = 'arm';
  private initialStop_: StopReply | undefined;
  private stopAtConnect_: StopReply | undefined;
  private handshaking = true;

  private readonly decoder = new PacketDecoder();
  private readonly queue: Pending[] = [];
  /** Sent and not yet acked, oldest first: the `-` NAK refers to the oldest. */
  private readonly unacked: Pending[] = [];
  private sentCount = 0;
  /** Bytes written this event-loop turn, sent as one segment by flushOutgoing. */
  private outgoing: Uint8Array[] = [];
  /** Acks not yet placed in `outgoing`: a run of them goes out as one `++++` buffer. */
  private outgoingAcks = 0;
  private flushScheduled = false;
  private readonly flushOutgoing = (): void => this.flush();
  private fatal: BootscopeError | undefined;
  private closedByUs = false;
  private lastProgress = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly requestTimeoutMs: number;
  private readonly window: number;
  /** Largest packet the stub accepts (qSupported PacketSize; QEMU 7.2: 0x1000). */
  private packetSize = 0x1000;
  private readonly onFrame = (e: FrameEvent): void => this.handleFrame(e);
  private readonly closed: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    opts: ConnectOptions,
  ) {
    super();
    this.endpoint = `${opts.host}:${opts.port}`;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.window = Math.max(1, opts.window ?? 8);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.lastProgress = Date.now();
      this.decoder.push(chunk, this.onFrame);
    });
    socket.on('error', (err) => this.fail(new BootscopeError(ErrorCode.Connection, `connection to gdbstub ${this.endpoint} failed: ${err.message}`, { cause: err })));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.decoder.end(this.onFrame);
        this.fail(
          this.closedByUs
            ? new BootscopeError(ErrorCode.Connection, `connection to gdbstub ${this.endpoint} was closed by the client`)
            : new BootscopeError(ErrorCode.Connection, `connection to gdbstub ${this.endpoint} was closed by the other side (did QEMU exit?)`),
        );
        if (this.timer) clearTimeout(this.timer);
        this.emit('close', this.closedByUs ? undefined : this.fatal);
        resolve();
      });
    });
  }

  /**
   * Connect (retrying while nothing listens yet), then the handshake: qSupported, `?`, target.xml with its
   * includes, and one `g` to learn which registers the `g` packet carries.
   */
  static async connect(opts: ConnectOptions): Promise<GdbTarget> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const socket = await connectWithRetry(opts.host, opts.port, deadline, opts.connectRetryMs ?? 100);
    const target = new GdbTarget(socket, opts);
    const handshakeTimer = setTimeout(() => target.fail(new BootscopeError(ErrorCode.Connection, `gdbstub ${target.endpoint} did not finish the handshake within ${timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
    try {
      await target.handshake();
      return target;
    } catch (e) {
      socket.destroy();
      throw e instanceof BootscopeError ? e : new BootscopeError(ErrorCode.Target, `handshake with gdbstub ${target.endpoint} failed: ${errorMessage(e)}`, { cause: e });
    } finally {
      clearTimeout(handshakeTimer);
    }
  }

  /** qSupported reply: feature name -> value, or true/false for `+`/`-`. */
  get features(): ReadonlyMap<string, string | boolean> {
    return this.features_;
  }

  /** Registers from target.xml, with offsets in the `g` packet. */
  get layout(): RegisterLayout {
    if (!this.layout_) throw new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint}: target description not read yet`);
    return this.layout_;
  }

  /** From target.xml `<architecture>`. */
  get arch(): TargetArch {
    return this.arch_;
  }

  /** Reply to the one `?` sent at connect. */
  get initialStop(): StopReply {
    return this.initialStop_ ?? { kind: 'signal', signal: 0, registers: new Map(), extra: new Map() };
  }

  /** A stop the stub sent on its own during connect(): QEMU 7.2 sends `T02thread:..;` (and pauses the VM)
   * when a client connects to a VM that is running. undefined when the VM was already stopped (e.g. -S).
   * The `stop` event for it fires before connect() resolves, so no listener can see it: read it here. */
  get stopAtConnect(): StopReply | undefined {
    return this.stopAtConnect_;
  }

  private async handshake(): Promise<void> {
    const features = this.decodeOrThrow(encodeQSupported(CLIENT_FEATURES), decodeQSupported(await this.request(encodeQSupported(CLIENT_FEATURES))));
    // `?` is sent here and never again: in QEMU 7.2 it deletes every breakpoint (gdb_breakpoint_remove_all
    // in handle_target_halt, meant for gdb's initial connect). Later stop state comes from step/cont replies.
    this.features_ = features;
    this.packetSize = packetSizeOf(features) ?? this.packetSize;
    const initialStop = this.decodeOrThrow('?', decodeStopReply(latin1Text(await this.enqueue(encodePacket('?'), '?', Expect.HaltReason))));
    // target.xml must be read before `p`/`P`: QEMU 7.2 answers them empty until it was (gdb_has_xml),
    // and it decides what `g` carries. Each new connection resets that flag, so read it on every connect.
    let docs: Map<string, string>;
    try {
      docs = await readTargetDescription((p) => this.request(p));
    } catch (e) {
      if (e instanceof RspDecodeError) throw new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint}: cannot read the target description: ${e.message}`, { cause: e });
      throw e;
    }
    const described = this.decodeOrThrow('target.xml', buildRegisterLayout(docs));
    const raw = this.decodeOrThrow('g', decodeG(await this.requestBytes(G_FRAME, 'g')));
    if (raw.length === 0) throw new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint} answered \`g\` with no registers`);
    const layout = withGPacketSize(described, raw.length);
    const arch = archOf(layout.architecture);
    if (!arch) throw new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint} describes architecture ${JSON.stringify(layout.architecture)}; Bootscope records arm and aarch64 guests`);
    this.layout_ = layout;
    this.arch_ = arch;
    this.initialStop_ = initialStop;
    this.handshaking = false;
  }

  // ---- low level -------------------------------------------------------------------------------------

  /** Send one packet, resolve with its reply payload (latin1 text). `E NN` replies resolve too. */
  request(payload: string): Promise<string> {
    return this.enqueue(encodePacket(payload), payload, Expect.Reply).then((p) => latin1Text(p));
  }

  /** Several requests sent back to back (pipelined within the window); replies in the same order. */
  requestMany(payloads: readonly string[]): Promise<string[]> {
    return Promise.all(payloads.map((p) => this.request(p)));
  }

  private requestBytes(frame: Uint8Array, packet: string): Promise<Uint8Array> {
    return this.enqueue(frame, packet, Expect.Reply);
  }

  private enqueue(frame: Uint8Array, packet: string, expect: Expect, extra?: { noTimeout?: boolean; output?: string[] }): Promise<Uint8Array> {
    if (this.fatal) return Promise.reject(this.fatal);
    return new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({
        packet: packet.length > 80 ? packet.slice(0, 77) + '...' : packet,
        frame,
        expect,
        resolve,
        reject,
        noTimeout: extra?.noTimeout ?? false,
        ...(extra?.output ? { output: extra.output } : {}),
        sent: false,
        naks: 0,
      });
      this.pump();
    });
  }

  /** Queue a resume packet; remember its promise so interrupt() can hand out the same one. */
  private resume(frame: Uint8Array, packet: string, noTimeout: boolean): Promise<StopReply> {
    const reply = this.enqueue(frame, packet, Expect.Stop, { noTimeout });
    const entry = this.queue[this.queue.length - 1];
    const stop = reply.then((p) => this.stopFrom(packet, p));
    if (entry && entry.expect === Expect.Stop && !this.fatal) entry.stop = stop;
    return stop;
  }

  /** Send queued requests while the window allows. A resume (`s`/`c`) is a barrier: QEMU 7.2 stops the
   * VM on ANY byte received while it runs (gdb_read_byte), so nothing follows it until its stop reply. */
  private pump(): void {
    while (this.sentCount < this.queue.length && this.sentCount < this.window) {
      if (this.sentCount > 0 && this.queue[this.sentCount - 1].expect === Expect.Stop) return;
      const next = this.queue[this.sentCount];
      if (next.expect === Expect.Stop && this.sentCount > 0) return; // resume only once the pipe is empty
      next.sent = true;
      this.sentCount++;
      this.unacked.push(next);
      this.write(next.frame);
      if (this.sentCount === 1) this.lastProgress = Date.now();
      this.armTimer();
    }
  }

  /** Writes of one event-loop turn go out in one segment, in order (the ack `+` rides with the next
   * request). Acks in a row are merged into one buffer: a pipelined 64 KiB read acks 32 replies, and one
   * writev entry per `+` cost more than the `m` requests themselves. */
  private write(bytes: Uint8Array): void {
    if (bytes === ACK_BYTE) {
      this.outgoingAcks++;
    } else {
      this.takeAcks();
      this.outgoing.push(bytes);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushOutgoing);
    }
  }

  private takeAcks(): void {
    if (this.outgoingAcks === 0) return;
    this.outgoing.push(this.outgoingAcks === 1 ? ACK_BYTE : new Uint8Array(this.outgoingAcks).fill(0x2b));
    this.outgoingAcks = 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    this.takeAcks();
    const parts = this.outgoing;
    this.outgoing = [];
    if (parts.length === 0 || this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  private handleFrame(e: FrameEvent): void {
    switch (e.kind) {
      case 'packet':
        // Ack every packet: QEMU has no QStartNoAckMode. (QEMU in system mode does not wait for the ack.)
        if (!this.fatal) this.write(ACK_BYTE);
        this.handlePacket(e.payload);
        return;
      case 'ack':
        this.unacked.shift();
        return;
      case 'nak':
        this.retransmit();
        return;
      case 'notification':
      case 'interrupt':
        return; // no notifications without non-stop mode; 0x03 is client -> stub only
      case 'error':
        this.emit('protocol-error', e.error);
        if (e.error.kind === 'checksum-mismatch' && !this.fatal) {
          this.write(NAK_BYTE); // the stub retransmits
        } else if (e.error.kind === 'oversized' || e.error.kind === 'bad-escape' || e.error.kind === 'bad-run-length') {
          // A complete reply we cannot use: it still answered the oldest request, so fail that one alone
          // and keep the stream in step.
          const head = this.sentCount > 0 ? this.queue[0] : undefined;
          if (head) this.settle(head, undefined, new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint} sent an unusable reply to ${JSON.stringify(head.packet)} (${e.error.kind})`));
        }
        return;
    }
  }

  /** The oldest unacked packet was NAKed: send it again. The stub has answered (or will answer) the
   * packets sent after it first, so its reply now comes after theirs: move it behind them in the queue. */
  private retransmit(): void {
    const nacked = this.unacked.shift();
    if (!nacked) return;
    if (++nacked.naks > MAX_NAKS) {
      this.fail(new BootscopeError(ErrorCode.Connection, `gdbstub ${this.endpoint} rejected ${JSON.stringify(nacked.packet)} ${MAX_NAKS} times (bad checksum); giving up`));
      return;
    }
    const at = this.queue.indexOf(nacked);
    if (at >= 0 && at < this.sentCount - 1) {
      this.queue.splice(at, 1);
      this.queue.splice(this.sentCount - 1, 0, nacked);
    }
    this.unacked.push(nacked);
    this.write(nacked.frame);
  }

  private handlePacket(payload: Uint8Array): void {
    const head = this.sentCount > 0 ? this.queue[0] : undefined;
    const first = payload[0];
    const isOutput = first === 0x4f /* O */ && !(payload.length === 2 && payload[1] === 0x4b) /* OK */;
    if (!head) {
      this.unsolicited(payload, isOutput);
      return;
    }
    switch (head.expect) {
      case Expect.Stop:
      case Expect.HaltReason:
        if (isOutput) {
          this.unsolicited(payload, true);
          return;
        }
        break;
      case Expect.Monitor:
        if (isOutput) {
          const text = hexToText(latin1Text(payload, 1));
          if (!(text instanceof RspDecodeError)) head.output?.push(text);
          return;
        }
        break;
      case Expect.Reply:
        // T/S/W/X + 2 hex is never an answer to a non-resume request (m/g/p data is lowercase hex):
        // it is a stop nobody asked for, e.g. QEMU 7.2's T02 when a client connects to a running VM.
        if ((first === 0x54 || first === 0x53 || first === 0x57 || first === 0x58) && looksLikeStopReply(latin1Text(payload))) {
          this.unsolicited(payload, false);
          return;
        }
        break;
    }
    this.settle(head, payload, undefined);
  }

  private settle(head: Pending, payload: Uint8Array | undefined, error: Error | undefined): void {
    this.queue.shift();
    this.sentCount--;
    const u = this.unacked.indexOf(head);
    if (u >= 0) this.unacked.splice(u, 1); // its reply proves it arrived, even if the `+` got lost
    this.lastProgress = Date.now();
    if (error) head.reject(error);
    else head.resolve(payload as Uint8Array);
    this.pump();
  }

  private unsolicited(payload: Uint8Array, isOutput: boolean): void {
    const text = latin1Text(payload);
    if (isOutput) {
      const out = hexToText(text.slice(1));
      if (!(out instanceof RspDecodeError)) this.emit('console', out);
      return;
    }
    const stop = decodeStopReply(text);
    if (stop instanceof RspDecodeError) return;
    if (this.handshaking) this.stopAtConnect_ ??= stop;
    this.emit('stop', stop);
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.checkTimeout(), this.requestTimeoutMs);
    this.timer.unref();
  }

  /** One timer for the whole queue: fatal when the oldest outstanding request saw no progress for
   * requestTimeoutMs. A late reply could otherwise answer the wrong request, so this closes the connection. */
  private checkTimeout(): void {
    this.timer = undefined;
    if (this.fatal || this.sentCount === 0) return;
    const head = this.queue[0];
    if (head.noTimeout) return;
    const idle = Date.now() - this.lastProgress;
    if (idle >= this.requestTimeoutMs) {
      const half = this.decoder.inPacket ? ' (a reply had started but did not finish)' : '';
      this.fail(new BootscopeError(ErrorCode.Connection, `gdbstub ${this.endpoint} did not answer ${JSON.stringify(head.packet)} within ${this.requestTimeoutMs} ms${half}; closing the connection. Is QEMU stuck or paused by something else?`));
      this.socket.destroy();
      return;
    }
    this.timer = setTimeout(() => this.checkTimeout(), this.requestTimeoutMs - idle);
    this.timer.unref();
  }

  /** Fatal: every pending request rejects with the same error, and later requests too. */
  private fail(error: BootscopeError): void {
    if (this.fatal) return;
    this.fatal = error;
    const pending = this.queue.splice(0);
    this.sentCount = 0;
    this.unacked.length = 0;
    for (const p of pending) p.reject(error);
    if (!this.socket.destroyed) this.socket.destroy();
  }

  private decodeOrThrow<T>(packet: string, value: T | RspDecodeError): T {
    if (value instanceof RspDecodeError) throw new GdbReplyError(packet, '', this.endpoint, value.message);
    return value;
  }

  /** Resolve a request's reply, turning `E NN` into a GdbReplyError (recoverable). */
  private async checked(packet: string): Promise<string> {
    const reply = await this.request(packet);
    if (parseErrorReply(reply)) throw new GdbReplyError(packet, reply, this.endpoint);
    return reply;
  }

  // ---- registers --------------------------------------------------------------------------------------

  /** Raw `g` bytes (layout.gPacketSize long), decoded straight from the packet. */
  async readRegisters(): Promise<Uint8Array> {
    const payload = await this.requestBytes(G_FRAME, 'g');
    if (payload.length === 3 && payload[0] === 0x45) throw new GdbReplyError('g', latin1Text(payload), this.endpoint);
    const raw = decodeG(payload, new Uint8Array(payload.length >> 1));
    if (raw instanceof RspDecodeError) throw new GdbReplyError('g', latin1Text(payload, 0, 40), this.endpoint, raw.message);
    return raw;
  }

  decodeRegisters(raw: Uint8Array): RegisterValues {
    return decodeRegisterValues(this.layout, raw);
  }

  register(nameOrNum: string | number): RegisterInfo {
    const reg = typeof nameOrNum === 'number' ? this.layout.byNumber.get(nameOrNum) : this.layout.byName.get(nameOrNum);
    if (!reg) throw new BootscopeError(ErrorCode.Target, `register ${JSON.stringify(nameOrNum)} is not in the target description of ${this.endpoint} (${this.layout.architecture})`);
    return reg;
  }

  async readRegister(nameOrNum: string | number): Promise<bigint> {
    const reg = this.register(nameOrNum);
    const packet = encodeP(reg.regnum);
    const reply = await this.checked(packet);
    const value = decodePReply(reply, reg.byteSize);
    if (value instanceof RspDecodeError) throw new GdbReplyError(packet, reply, this.endpoint, value.message);
    return value;
  }

  async writeRegister(nameOrNum: string | number, value: bigint): Promise<void> {
    const reg = this.register(nameOrNum);
    const packet = encodeBigP(reg.regnum, value, reg.byteSize);
    const reply = await this.checked(packet);
    if (reply === 'OK') return;
    if (reply === '' && reg.gOffset !== undefined) {
      // Stub without `P`: read-modify-write the whole `g` block.
      const raw = await this.readRegisters();
      let v = BigInt.asUintN(reg.byteSize * 8, value);
      for (let i = 0; i < reg.byteSize; i++, v >>= 8n) raw[reg.gOffset + i] = Number(v & 0xffn);
      await this.writeRegisters(raw);
      return;
    }
    throw new GdbReplyError(packet, reply, this.endpoint, 'expected OK');
  }

  async writeRegisters(raw: Uint8Array): Promise<void> {
    const reply = await this.checked(encodeG(raw));
    if (reply !== 'OK') throw new GdbReplyError('G...', reply, this.endpoint, 'expected OK');
  }

  // ---- memory -----------------------------------------------------------------------------------------

  /** Read memory in chunks of <= 0x800 bytes (QEMU 7.2's limit), all queued at once so `window` of them
   * are in flight: one round trip per window instead of per chunk. `E NN` -> GdbReplyError. */
  readMemory(address: bigint | number, length: number): Promise<Uint8Array> {
    const base = BigInt(address);
    const out = new Uint8Array(length);
    if (length === 0) return Promise.resolve(out);
    // The stub's PacketSize bounds its reply buffer: 2 hex digits per byte. Power-of-two chunks keep
    // aligned reads aligned (0x800 with QEMU's PacketSize=0x1000, whose `m` accepts up to 0x800 bytes).
    const chunk = Math.min(MAX_MEMORY_CHUNK, 2 ** Math.floor(Math.log2(Math.max(2, this.packetSize / 2))));
    const parts: Promise<void>[] = [];
    for (let off = 0; off < length; off += chunk) {
      const n = Math.min(chunk, length - off);
      const packet = encodeM(base + BigInt(off), n);
      parts.push(
        this.requestBytes(encodePacket(packet), packet).then((payload) => {
          if (payload.length === 3 && payload[0] === 0x45) throw new GdbReplyError(packet, latin1Text(payload), this.endpoint, 'memory not readable');
          const r = decodeMInto(payload, out, off, n);
          if (r instanceof RspDecodeError) throw new GdbReplyError(packet, latin1Text(payload, 0, 40), this.endpoint, r.message);
        }),
      );
    }
    return parts.length === 1 ? parts[0].then(() => out) : Promise.all(parts).then(() => out);
  }

  async writeMemory(address: bigint | number, bytes: Uint8Array): Promise<void> {
    const base = BigInt(address);
    const chunk = Math.min(MAX_MEMORY_CHUNK, maxWriteChunk(this.packetSize, base + BigInt(bytes.length)));
    const parts: Promise<void>[] = [];
    for (let off = 0; off < bytes.length; off += chunk) {
      const packet = encodeWriteM(base + BigInt(off), bytes.subarray(off, Math.min(bytes.length, off + chunk)));
      parts.push(
        this.checked(packet).then((reply) => {
          if (reply !== 'OK') throw new GdbReplyError(packet, reply, this.endpoint, 'expected OK');
        }),
      );
    }
    await Promise.all(parts);
  }

  // ---- execution --------------------------------------------------------------------------------------

  /** Single-step one instruction (the hot loop). QEMU 7.2 answers `T05thread:p01.01;`, not `S05`. */
  step(): Promise<StopReply> {
    return this.resume(STEP_FRAME, STEP, false);
  }

  /** Continue; resolves at the next stop (breakpoint, watchpoint, interrupt()). Never times out. */
  cont(): Promise<StopReply> {
    return this.resume(CONTINUE_FRAME, CONTINUE, true);
  }

  /** Actions `vCont` supports (`vCont?`; QEMU 7.2: c, C, s, S); empty when the stub has no vCont. */
  async vContActions(): Promise<Set<string>> {
    const reply = await this.checked(VCONT_QUERY);
    return this.decodeOrThrow(VCONT_QUERY, decodeVContQuery(reply));
  }

  /** Resume with `vCont;action[:thread]...` (GDB manual, "vCont"): e.g. step only thread p01.01.
   * Like cont(), it never times out when any action continues (`c`/`C`); a step-only vCont does. */
  vCont(actions: readonly VContRequest[]): Promise<StopReply> {
    const packet = encodeVCont(actions);
    const continues = actions.some((a) => a.action === 'c' || a.action === 'C');
    return this.resume(encodePacket(packet), packet, continues);
  }

  /** True while a `c` (or `s`) is outstanding. Requests made meanwhile wait in the queue. */
  get running(): boolean {
    return this.sentCount > 0 && this.queue[0].expect === Expect.Stop;
  }

  /** Stop a running target: 0x03 outside any packet. Resolves with the stop reply of the pending `c`
   * (QEMU: `T02thread:...;`). Throws if nothing is running (a stray byte would be ignored anyway). */
  interrupt(): Promise<StopReply> {
    if (this.fatal) return Promise.reject(this.fatal);
    const head = this.sentCount > 0 ? this.queue[0] : undefined;
    if (!head || head.expect !== Expect.Stop) {
      return Promise.reject(new BootscopeError(ErrorCode.Target, `interrupt: the target at ${this.endpoint} is not running (no c/s outstanding)`));
    }
    this.write(INTERRUPT_BYTE);
    return head.stop ?? Promise.reject(new BootscopeError(ErrorCode.Target, `interrupt: no resume promise for ${head.packet}`));
  }

  private stopFrom(packet: string, payload: Uint8Array): StopReply {
    const text = latin1Text(payload);
    const stop = decodeStopReply(text);
    if (stop instanceof RspDecodeError) {
      if (parseErrorReply(text)) throw new GdbReplyError(packet, text, this.endpoint);
      throw new GdbReplyError(packet, text, this.endpoint, stop.message);
    }
    return stop;
  }

  /** `bs`/`bc` abort a QEMU that is not replaying a record (7.2: the packet reaches replay code that
   * asserts), so they are sent only when qSupported advertised ReverseStep / ReverseContinue. */
  async reverseStep(): Promise<StopReply> {
    if (this.features.get('ReverseStep') !== true) throw new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint} does not advertise ReverseStep (QEMU needs -icount record/replay); not sending bs`);
    return this.resume(encodePacket('bs'), 'bs', false);
  }

  async reverseContinue(): Promise<StopReply> {
    if (this.features.get('ReverseContinue') !== true) throw new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint} does not advertise ReverseContinue (QEMU needs -icount record/replay); not sending bc`);
    return this.resume(encodePacket('bc'), 'bc', true);
  }

  // ---- break/watchpoints ------------------------------------------------------------------------------

  /** Z0 sw / Z1 hw breakpoint (kind = instruction length: 4 ARM/AArch64, 2 Thumb), Z2 write / Z3 read /
   * Z4 access watchpoint (kind = byte count). false when the stub does not support that type. */
  async insertBreakpoint(type: BreakpointType, address: bigint | number, kind: number): Promise<boolean> {
    return this.breakpoint(true, type, BigInt(address), kind);
  }

  async removeBreakpoint(type: BreakpointType, address: bigint | number, kind: number): Promise<boolean> {
    return this.breakpoint(false, type, BigInt(address), kind);
  }

  private async breakpoint(insert: boolean, type: BreakpointType, address: bigint, kind: number): Promise<boolean> {
    const packet = encodeZ(insert, type, address, kind);
    const reply = await this.request(packet);
    const r = decodeZReply(reply);
    if (r instanceof RspDecodeError) throw new GdbReplyError(packet, reply, this.endpoint, `${insert ? 'cannot set' : 'cannot remove'} ${BREAKPOINT_TYPE_NAME[type]} at 0x${address.toString(16)}`);
    return r;
  }

  // ---- QEMU specifics ---------------------------------------------------------------------------------

  /** Flag name -> bit, from `qqemu.sstepbits` (ENABLE, NOIRQ, NOTIMER in 7.2). */
  async stepFlagBits(): Promise<Map<string, number>> {
    const reply = await this.checked(SSTEP_BITS_QUERY);
    return this.decodeOrThrow(SSTEP_BITS_QUERY, decodeSstepBits(reply));
  }

  async getStepFlags(): Promise<number> {
    const reply = await this.checked(SSTEP_QUERY);
    return this.decodeOrThrow(SSTEP_QUERY, decodeSstep(reply));
  }

  async setStepFlags(flags: number): Promise<void> {
    const packet = encodeSetSstep(flags);
    const reply = await this.checked(packet);
    if (reply !== 'OK') throw new GdbReplyError(packet, reply, this.endpoint, 'expected OK');
  }

  /** `m`/`M` on physical addresses (true) or virtual through the MMU (false, QEMU's default). */
  async setPhysicalMemoryMode(on: boolean): Promise<void> {
    const packet = encodeSetPhyMemMode(on);
    const reply = await this.checked(packet);
    if (reply !== 'OK') throw new GdbReplyError(packet, reply, this.endpoint, 'expected OK (QEMU 5.2+ supports PhyMemMode)');
  }

  async getPhysicalMemoryMode(): Promise<boolean> {
    const reply = await this.checked(PHY_MEM_MODE_QUERY);
    return this.decodeOrThrow(PHY_MEM_MODE_QUERY, decodePhyMemMode(reply));
  }

  /** Run a monitor (HMP) command through qRcmd; the text of all `O` packets before `OK`. */
  async monitor(command: string): Promise<string> {
    const packet = encodeQRcmd(command);
    const output: string[] = [];
    const payload = await this.enqueue(encodePacket(packet), `qRcmd,${command}`, Expect.Monitor, { output });
    const reply = decodeQRcmdReply(latin1Text(payload));
    if (reply instanceof RspDecodeError) throw new GdbReplyError(`qRcmd,${command}`, latin1Text(payload), this.endpoint, reply.message);
    if (reply.kind === 'unsupported') throw new GdbReplyError(`qRcmd,${command}`, '', this.endpoint, 'monitor commands are not supported by this stub');
    return output.join('');
  }

  // ---- threads ----------------------------------------------------------------------------------------

  async threads(): Promise<string[]> {
    const ids: string[] = [];
    let packet = THREAD_INFO_FIRST;
    for (let guard = 0; guard < 100_000; guard++) {
      const reply = await this.checked(packet);
      const part = this.decodeOrThrow(packet, decodeThreadInfo(reply));
      if (part === null) return ids;
      ids.push(...part);
      packet = THREAD_INFO_NEXT;
    }
    throw new BootscopeError(ErrorCode.Target, `gdbstub ${this.endpoint}: thread list never ended`);
  }

  /** Current thread id (`qC`), or '' if the stub does not say. */
  async currentThread(): Promise<string> {
    const reply = await this.checked(CURRENT_THREAD);
    return this.decodeOrThrow(CURRENT_THREAD, decodeQC(reply)) ?? '';
  }

  // ---- lifecycle --------------------------------------------------------------------------------------

  /**
   * Detach (`D`): the stub removes our breakpoints and lets the guest run on (QEMU resumes the VM once no
   * process is attached). With multiprocess extensions negotiated the packet must name the process,
   * `D;pid` (QEMU 7.2 answers a bare `D` with E22 and stays halted). The connection stays open; close() it.
   */
  async detach(): Promise<void> {
    let packet = 'D';
    if (this.features_.get('multiprocess') === true) {
      const thread = await this.currentThread();
      const pid = /^p([0-9a-f]+)/i.exec(thread)?.[1] ?? '1';
      packet = `D;${parseInt(pid, 16).toString(16)}`;
    }
    const reply = await this.request(packet);
    if (reply !== 'OK') throw new GdbReplyError(packet, reply, this.endpoint, 'detach refused');
  }

  /** Close the connection without detaching (no `D`: QEMU 7.2 resumes the VM on `D`). A stopped VM stays
   * stopped; a running one keeps running. Pending requests reject with ErrorCode.Connection. */
  async close(): Promise<void> {
    this.closedByUs = true;
    this.flush(); // what was written this turn still goes out, as it did before close()
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
    await this.closed;
    clearTimeout(t);
  }

  /** Human-readable description for logs. */
  static describe(stop: StopReply): string {
    return describeStopReply(stop);
  }
}

function archOf(architecture: string): TargetArch | undefined {
  if (architecture === 'aarch64' || architecture.startsWith('aarch64')) return 'aarch64';
  if (architecture === 'arm' || architecture.startsWith('arm')) return 'arm';
  return undefined;
}

async function connectWithRetry(host: string, port: number, deadline: number, retryMs: number): Promise<net.Socket> {
  let lastError: unknown;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host, port });
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error('TCP connect timed out'));
        }, Math.max(1, deadline - Date.now()));
        s.once('connect', () => {
          clearTimeout(timer);
          s.removeAllListeners('error');
          resolve(s);
        });
        s.once('error', (e) => {
          clearTimeout(timer);
          s.destroy();
          reject(e);
        });
      });
    } catch (e) {
      lastError = e;
      if (Date.now() + retryMs >= deadline) break;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
  throw new BootscopeError(ErrorCode.Connection, `cannot connect to gdbstub ${host}:${port}: ${errorMessage(lastError)}. Is QEMU running with -gdb tcp:${host}:${port}?`, { cause: lastError });
}
