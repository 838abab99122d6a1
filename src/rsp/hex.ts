// Hex helpers shared by the packet families: payload bytes <-> values without going through strings
// where the hot loop is concerned (`g` and `m` replies decode straight from packet bytes into buffers).
// Decode failures are RspDecodeError values (see errors.ts), never thrown strings.

import { latin1Bytes } from './framing';
import { RspDecodeError } from './errors';

const HEX = '0123456789abcdef';
const HEX_PAIRS: string[] = Array.from({ length: 256 }, (_, i) => HEX[i >> 4] + HEX[i & 15]);

/** Byte -> hex digit value, -1 for anything else. A module-local table rather than framing's hexDigit():
 * under tsx (tests, bench) every call to an imported function goes through a CommonJS export getter,
 * which in this per-digit loop cost more than the rest of a 64 KiB `m` read. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE[HEX.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** Bytes -> lowercase hex text (two characters per byte, memory order). */
export function bytesToHex(bytes: Uint8Array): string {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = HEX_PAIRS[bytes[i]];
  return parts.join('');
}

/**
 * Decode hex characters `src[start, end)` into `out` at `outOffset`. `xx` (GDB: "register value
 * unavailable") decodes to 0 and, if `unavailable` is given, sets that byte's flag to 1.
 * Returns the number of bytes written, or an RspDecodeError.
 */
export function decodeHexInto(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset = 0,
  unavailable?: Uint8Array,
): number | RspDecodeError {
  const count = (end - start) >> 1;
  if (((end - start) & 1) !== 0) return new RspDecodeError('bad-hex', `odd number of hex digits (${end - start})`, start);
  if (outOffset + count > out.length) return new RspDecodeError('too-long', `${count} bytes do not fit in ${out.length - outOffset}`, start);
  for (let i = 0; i < count; i++) {
    const a = src[start + 2 * i];
    const b = src[start + 2 * i + 1];
    const hi = HEX_VALUE[a];
    const lo = HEX_VALUE[b];
    if (hi < 0 || lo < 0) {
      if (a === 0x78 && b === 0x78) {
        // 'xx': the stub could not read this byte (GDB manual, "Packets", `g`).
        out[outOffset + i] = 0;
        if (unavailable) unavailable[outOffset + i] = 1;
        continue;
      }
      return new RspDecodeError('bad-hex', `not a hex byte: ${JSON.stringify(String.fromCharCode(a, b))}`, start + 2 * i);
    }
    out[outOffset + i] = (hi << 4) | lo;
  }
  return count;
}

/** Hex text (or payload bytes) -> fresh bytes. */
export function hexToBytes(hex: string | Uint8Array): Uint8Array | RspDecodeError {
  const src = typeof hex === 'string' ? latin1Bytes(hex) : hex;
  const out = new Uint8Array(src.length >> 1);
  const r = decodeHexInto(src, 0, src.length, out);
  return typeof r === 'number' ? out : r;
}

/** ASCII text -> hex of its bytes (qRcmd command, `O` output). */
export function textToHex(text: string): string {
  return bytesToHex(new TextEncoder().encode(text));
}

/** Hex of UTF-8 bytes -> text. */
export function hexToText(hex: string): string | RspDecodeError {
  const bytes = hexToBytes(hex);
  if (bytes instanceof RspDecodeError) return bytes;
  return new TextDecoder().decode(bytes);
}

/** Parse an unsigned hex number (addresses, lengths, register numbers). */
export function parseHexNumber(text: string): bigint | RspDecodeError {
  if (text.length === 0 || text.length > 32 || !/^[0-9a-fA-F]+$/.test(text)) {
    return new RspDecodeError('bad-hex', `not a hex number: ${JSON.stringify(text.slice(0, 40))}`, 0);
  }
  return BigInt('0x' + text);
}

/** Hex number as a JS number when it is known to be small (signals, lengths, register numbers). */
export function parseSmallHex(text: string): number | RspDecodeError {
  if (text.length === 0 || text.length > 8 || !/^[0-9a-fA-F]+$/.test(text)) {
    return new RspDecodeError('bad-hex', `not a hex number: ${JSON.stringify(text.slice(0, 40))}`, 0);
  }
  return parseInt(text, 16);
}

/** A value as little-endian bytes of the given width (target byte order for ARM/AArch64 little-endian). */
export function bigintToLittleEndian(value: bigint, byteLength: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  let v = BigInt.asUintN(byteLength * 8, value);
  for (let i = 0; i < byteLength; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Little-endian bytes `[offset, offset+byteLength)` as an unsigned bigint. */
export function littleEndianToBigint(bytes: Uint8Array, offset: number, byteLength: number): bigint {
  if (byteLength === 4) {
    return BigInt((bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0);
  }
  if (byteLength === 8) {
    const lo = (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
    const hi = (bytes[offset + 4] | (bytes[offset + 5] << 8) | (bytes[offset + 6] << 16) | (bytes[offset + 7] << 24)) >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  let v = 0n;
  for (let i = byteLength - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]);
  return v;
}
