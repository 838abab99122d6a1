// A tiny in-process gdbstub (net server speaking RSP) for the faults QEMU cannot be made to produce:
// corrupted checksums, NAKs, garbage between packets, a connection dropped mid-packet, silence, `E NN`,
// oversized packets. Everything else is tested against real QEMU (test/integration/target*.test.ts).

import * as net from 'node:net';
import { FrameEvent, PacketDecoder, encodePacket, latin1Bytes, latin1Text } from '../../src/rsp';

/** What the stub does with one received packet. `undefined` -> the default answer (a small arm target). */
export type StubAction =
  | string
  | undefined
  /** Answer nothing (silence). */
  | { silence: true }
  /** NAK the packet instead of acking it (the client must retransmit); nothing else is sent. */
  | { nak: true }
  /** Answer with a wrong checksum; on the client's `-` the correct frame is resent. */
  | { badChecksum: string }
  /** Send these raw bytes (garbage, partial frames...) before the reply (if any). */
  | { raw: string; reply?: string }
  /** Send these raw bytes, then drop the connection. */
  | { rawThenDrop: string }
  /** Answer after a delay (ms). */
  | { delayMs: number; reply: string };

export interface StubContext {
  /** How many times this exact payload was received so far (1 on first receipt). */
  seen: number;
  stub: FakeStub;
}

export type StubHandler = (payload: string, ctx: StubContext) => StubAction;

/** Target description of the fake target: r0-r15 + cpsr (regnum 25), like QEMU's arm core. */
export const FAKE_TARGET_XML =
  '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>arm</architecture>' +
  '<feature name="org.gnu.gdb.arm.core">' +
  Array.from({ length: 13 }, (_, i) => `<reg name="r${i}" bitsize="32"/>`).join('') +
  '<reg name="sp" bitsize="32" type="data_ptr"/><reg name="lr" bitsize="32"/><reg name="pc" bitsize="32" type="code_ptr"/>' +
  '<reg name="cpsr" bitsize="32" regnum="25"/></feature></target>';

/** The fake `g`: r_n = n, pc = 0x1000, cpsr = 0x1d3 (68 bytes). */
export function fakeRegisterBytes(): Uint8Array {
  const raw = new Uint8Array(68);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < 15; i++) view.setUint32(i * 4, i, true);
  view.setUint32(60, 0x1000, true);
  view.setUint32(64, 0x1d3, true);
  return raw;
}

/** The fake memory: byte at address a is a & 0xff. */
export function fakeMemoryHex(address: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ((address + i) & 0xff).toString(16).padStart(2, '0');
  return s;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function defaultAnswer(payload: string): string {
  if (payload.startsWith('qSupported')) return 'PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+';
  if (payload === '?') return 'T05thread:p01.01;';
  const x = /^qXfer:features:read:target\.xml:([0-9a-f]+),([0-9a-f]+)$/.exec(payload);
  if (x) {
    const off = parseInt(x[1], 16);
    const len = parseInt(x[2], 16);
    const part = FAKE_TARGET_XML.slice(off, off + len);
    return (off + len >= FAKE_TARGET_XML.length ? 'l' : 'm') + part;
  }
  if (payload === 'g') return hex(fakeRegisterBytes());
  const m = /^m([0-9a-f]+),([0-9a-f]+)$/.exec(payload);
  if (m) return fakeMemoryHex(parseInt(m[1], 16), parseInt(m[2], 16));
  if (payload === 's') return 'T05thread:p01.01;';
  return '';
}

export class FakeStub {
  /** Valid packets received, in order. */
  readonly received: string[] = [];
  /** Counts of `+`/`-` received from the client. */
  acks = 0;
  naks = 0;
  /** Largest number of requests received but not yet answered at any moment (pipelining depth). */
  maxOutstanding = 0;
  private outstanding = 0;
  private readonly seen = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly handler: StubHandler,
  ) {}

  static async start(handler: StubHandler = () => undefined): Promise<FakeStub> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const stub = new FakeStub(server, port, handler);
    server.on('connection', (s) => stub.serve(s));
    return stub;
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new PacketDecoder();
    let lastFrame: Uint8Array | undefined;
    const send = (bytes: Uint8Array | string): void => {
      if (!socket.destroyed) socket.write(typeof bytes === 'string' ? latin1Bytes(bytes) : bytes);
    };
    const reply = (payload: string): void => {
      lastFrame = encodePacket(payload);
      this.outstanding = Math.max(0, this.outstanding - 1);
      send(lastFrame);
    };
    const onFrame = (e: FrameEvent): void => {
      if (e.kind === 'ack') this.acks++;
      else if (e.kind === 'nak') {
        this.naks++;
        if (lastFrame) send(lastFrame); // a real stub retransmits its last packet
      } else if (e.kind === 'packet') {
        const payload = latin1Text(e.payload);
        const seen = (this.seen.get(payload) ?? 0) + 1;
        this.seen.set(payload, seen);
        const action = this.handler(payload, { seen, stub: this });
        if (typeof action === 'object' && 'nak' in action) {
          send('-');
          return;
        }
        send('+');
        this.received.push(payload);
        this.outstanding++;
        this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
        if (action === undefined) reply(defaultAnswer(payload));
        else if (typeof action === 'string') reply(action);
        else if ('silence' in action) return;
        else if ('badChecksum' in action) {
          const good = encodePacket(action.badChecksum);
          const bad = good.slice();
          bad[bad.length - 1] = bad[bad.length - 1] === 0x30 ? 0x31 : 0x30;
          lastFrame = good;
          this.outstanding--;
          send(bad);
        } else if ('rawThenDrop' in action) {
          send(action.rawThenDrop);
          socket.end(() => socket.destroy());
        } else if ('raw' in action) {
          send(action.raw);
          if (action.reply !== undefined) reply(action.reply);
        } else if ('delayMs' in action) {
          setTimeout(() => reply(action.reply), action.delayMs);
        }
      }
    };
    socket.on('data', (chunk: Buffer) => decoder.push(chunk, onFrame));
  }

  /** Send a packet to every connected client outside any request (an unsolicited stop, say). */
  broadcast(payload: string): void {
    for (const s of this.sockets) s.write(encodePacket(payload));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
