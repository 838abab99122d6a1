// RSP framing: the byte-at-a-time receive state machine (Ready -> Body -> Checksum1 -> Checksum2, after
// daniel5151/gdbstub src/protocol/recv_packet.rs) and the packet encoder. Pure: bytes in, events out.
// GDB manual, "Overview" of the Remote Protocol: `$payload#cs`, `}` escapes, `*` run-length, `%` notifications.

/** Largest decoded payload we accept by default. QEMU 7.2 advertises PacketSize=1000 (hex); RLE can
 * expand a packet, so leave room, but stay bounded so garbage cannot grow memory without limit. */
export const DEFAULT_MAX_PACKET_SIZE = 0x10000;

const DOLLAR = 0x24; // '$'
const HASH = 0x23; // '#'
const PERCENT = 0x25; // '%'
const BRACE = 0x7d; // '}'
const STAR = 0x2a; // '*'
const PLUS = 0x2b; // '+'
const MINUS = 0x2d; // '-'
const INTERRUPT = 0x03; // ^C, sent raw outside any packet to stop a running target

/** A framing error: a value, never a thrown string. Each says what was wrong with which bytes. */
export type FrameError =
  /** The two hex digits after `#` do not match the modulo-256 sum of the body. */
  | { kind: 'checksum-mismatch'; received: number; calculated: number; notification: boolean }
  /** A character after `#` is not a hex digit. */
  | { kind: 'bad-checksum-hex'; byte: number }
  /** A new `$`/`%` started before the previous packet reached its `#`. */
  | { kind: 'missing-checksum'; bodyLength: number }
  /** The decoded body grew past the limit; the rest of the packet was discarded. */
  | { kind: 'oversized'; limit: number }
  /** `*` with nothing to repeat, or a count character outside the printable range. */
  | { kind: 'bad-run-length'; offset: number }
  /** `}` as the last body byte: nothing to unescape. */
  | { kind: 'bad-escape'; offset: number }
  /** Bytes outside any packet that are not `+`, `-`, or 0x03. Coalesced: one error per run. */
  | { kind: 'garbage'; length: number }
  /** The input ended in the middle of a packet (only reported by `end()`). */
  | { kind: 'truncated'; state: 'body' | 'checksum' };

export type FrameEvent =
  /** A packet whose checksum verified. `payload` is unescaped and run-length expanded (a fresh copy). */
  | { kind: 'packet'; payload: Uint8Array }
  | { kind: 'notification'; payload: Uint8Array }
  | { kind: 'ack' }
  | { kind: 'nak' }
  | { kind: 'interrupt' }
  | { kind: 'error'; error: FrameError };

const ACK: FrameEvent = Object.freeze({ kind: 'ack' });
const NAK: FrameEvent = Object.freeze({ kind: 'nak' });
const INTERRUPT_EVENT: FrameEvent = Object.freeze({ kind: 'interrupt' });

const enum State {
  Ready,
  Body,
  Checksum1,
  Checksum2,
  /** Inside an oversized packet: skip to its `#` and two checksum characters. */
  Discard,
  DiscardChecksum1,
  DiscardChecksum2,
}

/** Hex digit value, or -1. */
export function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Receive state machine. Feed it any chunking of the byte stream; it emits events through `emit`.
 * Never throws on any input; memory is bounded by `maxPacketSize`.
 */
export class PacketDecoder {
  private state = State.Ready;
  private readonly buf: Uint8Array;
  private len = 0;
  private sum = 0;
  private escape = false;
  private runPending = false;
  private notification = false;
  private badRle = -1;
  private badEscape = -1;
  private received = 0;
  private garbageRun = 0;

  constructor(readonly maxPacketSize = DEFAULT_MAX_PACKET_SIZE) {
    this.buf = new Uint8Array(maxPacketSize);
  }

  push(bytes: Uint8Array, emit: (event: FrameEvent) => void): void {
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      switch (this.state) {
        case State.Ready:
          if (c === DOLLAR || c === PERCENT) {
            this.flushGarbage(emit);
            this.begin(c === PERCENT);
          } else if (c === PLUS) {
            this.flushGarbage(emit);
            emit(ACK);
          } else if (c === MINUS) {
            this.flushGarbage(emit);
            emit(NAK);
          } else if (c === INTERRUPT) {
            this.flushGarbage(emit);
            emit(INTERRUPT_EVENT);
          } else {
            this.garbageRun++;
          }
          break;
        case State.Body:
          // Fast path for the bulk of an `m`/`g` reply: a run of plain bytes (no `#$}*`, no escape or
          // run-length pending) is copied and summed in one tight loop. Per-byte dispatch through
          // bodyByte/append capped a 64 KiB pipelined read at ~10 MB/s on the 2-core machine.
          if (!this.escape && !this.runPending && c !== HASH && c !== DOLLAR && c !== BRACE && c !== STAR && this.len < this.buf.length) {
            const buf = this.buf;
            const limit = buf.length;
            let len = this.len;
            let sum = this.sum;
            let j = i;
            for (; j < bytes.length && len < limit; j++) {
              const b = bytes[j];
              if (b === HASH || b === DOLLAR || b === BRACE || b === STAR) break;
              buf[len++] = b;
              sum += b;
            }
            this.len = len;
            this.sum = sum & 0xff;
            i = j - 1; // the for loop's i++ lands on the first byte not consumed
            break;
          }
          if (c === HASH) {
            this.state = State.Checksum1;
          } else if (c === DOLLAR) {
            // `$` inside a body (it is always escaped in data): the previous packet lost its `#cs`.
            // Resynchronise on the new one. (`%` is NOT special here: binary data does not escape it.)
            emit({ kind: 'error', error: { kind: 'missing-checksum', bodyLength: this.len } });
            this.begin(false);
          } else {
            this.sum = (this.sum + c) & 0xff;
            this.bodyByte(c, emit);
          }
          break;
        case State.Discard:
          if (c === HASH) this.state = State.DiscardChecksum1;
          else if (c === DOLLAR) this.begin(false);
          break;
        case State.DiscardChecksum1:
          this.state = State.DiscardChecksum2;
          break;
        case State.DiscardChecksum2:
          this.state = State.Ready;
          break;
        case State.Checksum1: {
          const d = hexDigit(c);
          if (d < 0) {
            emit({ kind: 'error', error: { kind: 'bad-checksum-hex', byte: c } });
            this.resyncAfterBadChecksum(c);
          } else {
            this.received = d << 4;
            this.state = State.Checksum2;
          }
          break;
        }
        case State.Checksum2: {
          const d = hexDigit(c);
          if (d < 0) {
            emit({ kind: 'error', error: { kind: 'bad-checksum-hex', byte: c } });
            this.resyncAfterBadChecksum(c);
          } else {
            this.received |= d;
            this.state = State.Ready;
            this.finish(emit);
          }
          break;
        }
      }
    }
  }

  /** The stream ended (connection closed, or end of a test input): report a packet left half-read. */
  end(emit: (event: FrameEvent) => void): void {
    this.flushGarbage(emit);
    if (this.state === State.Body) emit({ kind: 'error', error: { kind: 'truncated', state: 'body' } });
    else if (this.state === State.Checksum1 || this.state === State.Checksum2) {
      emit({ kind: 'error', error: { kind: 'truncated', state: 'checksum' } });
    }
    this.state = State.Ready;
    this.len = 0;
  }

  /** True while a packet is half-received (the target uses it to tell "silence" from "slow packet"). */
  get inPacket(): boolean {
    return this.state !== State.Ready;
  }

  private begin(notification: boolean): void {
    this.state = State.Body;
    this.notification = notification;
    this.len = 0;
    this.sum = 0;
    this.escape = false;
    this.runPending = false;
    this.badRle = -1;
    this.badEscape = -1;
  }

  private flushGarbage(emit: (event: FrameEvent) => void): void {
    if (this.garbageRun > 0) {
      emit({ kind: 'error', error: { kind: 'garbage', length: this.garbageRun } });
      this.garbageRun = 0;
    }
  }

  /** After a non-hex checksum character: a `$`/`%` there starts the next packet; anything else is dropped. */
  private resyncAfterBadChecksum(c: number): void {
    if (c === DOLLAR || c === PERCENT) this.begin(c === PERCENT);
    else this.state = State.Ready;
  }

  private bodyByte(c: number, emit: (event: FrameEvent) => void): void {
    if (this.escape) {
      this.escape = false;
      this.append(c ^ 0x20, emit);
      return;
    }
    if (this.runPending) {
      this.runPending = false;
      // Run-length: `X*n` means X repeated (n - 29) more times; n is printable, so at least 3 repeats.
      // GDB never sends `#`/`$` as a count (they would be ambiguous), and a count below ' ' is invalid.
      const repeat = c - 29;
      if (c < 0x20 || c > 0x7e || this.len === 0) {
        if (this.badRle < 0) this.badRle = this.len;
        return;
      }
      const prev = this.buf[this.len - 1];
      for (let k = 0; k < repeat && this.state === State.Body; k++) this.append(prev, emit);
      return;
    }
    if (c === BRACE) this.escape = true;
    else if (c === STAR) this.runPending = true;
    else this.append(c, emit);
  }

  private append(byte: number, emit: (event: FrameEvent) => void): void {
    if (this.len >= this.buf.length) {
      emit({ kind: 'error', error: { kind: 'oversized', limit: this.buf.length } });
      this.state = State.Discard;
      this.len = 0;
      return;
    }
    this.buf[this.len++] = byte;
  }

  private finish(emit: (event: FrameEvent) => void): void {
    if (this.received !== this.sum) {
      emit({ kind: 'error', error: { kind: 'checksum-mismatch', received: this.received, calculated: this.sum, notification: this.notification } });
    } else if (this.escape) {
      emit({ kind: 'error', error: { kind: 'bad-escape', offset: this.len } });
    } else if (this.runPending || this.badRle >= 0) {
      emit({ kind: 'error', error: { kind: 'bad-run-length', offset: this.badRle >= 0 ? this.badRle : this.len } });
    } else {
      emit({ kind: this.notification ? 'notification' : 'packet', payload: this.buf.slice(0, this.len) });
    }
    this.len = 0;
  }
}

/** Decode a whole byte array (tests, small tools): every event in order, including `end()`'s. */
export function decodeFrames(bytes: Uint8Array, maxPacketSize = DEFAULT_MAX_PACKET_SIZE): FrameEvent[] {
  const events: FrameEvent[] = [];
  const decoder = new PacketDecoder(maxPacketSize);
  const emit = (e: FrameEvent): void => {
    events.push(e);
  };
  decoder.push(bytes, emit);
  decoder.end(emit);
  return events;
}

const HEX_CHARS = new TextEncoder().encode('0123456789abcdef');

/** Whether a payload byte must be escaped inside a packet body (`$`, `#`, `}`, `*`). */
function needsEscape(c: number): boolean {
  return c === DOLLAR || c === HASH || c === BRACE || c === STAR;
}

/**
 * Frame a payload as `$payload#cs`, escaping `$#}*` (byte ^ 0x20 after `}`). Strings are taken as
 * latin1 (one char = one byte), which is what RSP payloads are.
 */
export function encodePacket(payload: string | Uint8Array): Uint8Array {
  const bytes = typeof payload === 'string' ? latin1Bytes(payload) : payload;
  let escapes = 0;
  for (let i = 0; i < bytes.length; i++) if (needsEscape(bytes[i])) escapes++;
  const out = new Uint8Array(bytes.length + escapes + 4);
  out[0] = DOLLAR;
  let o = 1;
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (needsEscape(c)) {
      out[o++] = BRACE;
      out[o++] = c ^ 0x20;
      sum += BRACE + (c ^ 0x20);
    } else {
      out[o++] = c;
      sum += c;
    }
  }
  sum &= 0xff;
  out[o++] = HASH;
  out[o++] = HEX_CHARS[sum >> 4];
  out[o++] = HEX_CHARS[sum & 15];
  return out;
}

/** Modulo-256 sum of the bytes, as in the `#cs` trailer. */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i];
  return sum & 0xff;
}

/** One char per byte (RSP payloads are 7-bit text except binary `X`/qXfer data). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Bytes to a latin1 string, in slices so large payloads do not overflow the argument limit. */
export function latin1Text(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i += 0x2000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 0x2000)) as unknown as number[]);
  }
  return s;
}
