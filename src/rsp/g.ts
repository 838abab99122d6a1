// `g` / `G`: read / write all general registers (GDB manual, "Packets"). The reply is the registers in
// regnum order as target-byte-order (little-endian here) hex; `xx` marks bytes the stub cannot read.
// decodeG works on payload bytes into a preallocated buffer: it is on the recorder's hot path.

import { RspDecodeError } from './errors';
import { bytesToHex, decodeHexInto, littleEndianToBigint } from './hex';
import type { RegisterInfo, RegisterLayout } from './targetXml';

export const G_READ = 'g';

/**
 * Decode a `g` reply (payload bytes) into raw register bytes. Pass `out` to reuse a buffer of the right
 * size; `unavailable`, if given, gets 1 for each `xx` byte.
 */
export function decodeG(payload: Uint8Array, out?: Uint8Array, unavailable?: Uint8Array): Uint8Array | RspDecodeError {
  const bytes = out ?? new Uint8Array(payload.length >> 1);
  const n = decodeHexInto(payload, 0, payload.length, bytes, 0, unavailable);
  if (typeof n !== 'number') return n;
  return n === bytes.length ? bytes : bytes.subarray(0, n);
}

export function encodeG(raw: Uint8Array): string {
  return 'G' + bytesToHex(raw);
}

/** Register name -> unsigned value. */
export type RegisterValues = Map<string, bigint>;

/** Decode every register that `g` carries (those with a gOffset) from raw `g` bytes. */
export function decodeRegisterValues(layout: RegisterLayout, raw: Uint8Array): RegisterValues {
  const values: RegisterValues = new Map();
  for (const r of layout.registers) {
    if (r.gOffset === undefined || r.gOffset + r.byteSize > raw.length) continue;
    // First name wins on duplicates, as in layout.byName.
    if (!values.has(r.name)) values.set(r.name, littleEndianToBigint(raw, r.gOffset, r.byteSize));
  }
  return values;
}

/** One register's value from raw `g` bytes, or undefined if `g` does not carry it. */
export function registerFromG(reg: RegisterInfo, raw: Uint8Array): bigint | undefined {
  if (reg.gOffset === undefined || reg.gOffset + reg.byteSize > raw.length) return undefined;
  return littleEndianToBigint(raw, reg.gOffset, reg.byteSize);
}
