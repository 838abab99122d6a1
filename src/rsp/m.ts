// `m addr,length` / `M addr,length:XX...`: read / write target memory (GDB manual, "Packets").
// QEMU 7.2 refuses reads above MAX_PACKET_LENGTH/2 = 0x800 bytes per packet (E22), so callers chunk.

import { RspDecodeError } from './errors';
import { bytesToHex, decodeHexInto } from './hex';

/** Largest `m` length QEMU 7.2 accepts (its 4096-byte packet buffer holds 2 hex digits per byte). */
export const MAX_MEMORY_CHUNK = 0x800;

export function encodeM(address: bigint, length: number): string {
  return `m${address.toString(16)},${length.toString(16)}`;
}

/**
 * Decode an `m` reply into `out[offset, offset+length)`. A reply shorter than asked means the stub could
 * read only part (GDB manual: "reply may contain fewer bytes than requested"): reported as too-short.
 */
export function decodeMInto(payload: Uint8Array, out: Uint8Array, offset: number, length: number): number | RspDecodeError {
  if (payload.length > 2 * length) return new RspDecodeError('too-long', `asked ${length} bytes, got ${payload.length >> 1}`, 0);
  const n = decodeHexInto(payload, 0, payload.length, out, offset);
  if (typeof n !== 'number') return n;
  if (n < length) return new RspDecodeError('too-short', `asked ${length} bytes, got ${n}`, payload.length);
  return n;
}

export function encodeWriteM(address: bigint, bytes: Uint8Array): string {
  return `M${address.toString(16)},${bytes.length.toString(16)}:${bytesToHex(bytes)}`;
}

/** Largest `M` data length that fits a packet of `packetSize` bytes (framing + header + 2 hex per byte). */
export function maxWriteChunk(packetSize: number, address: bigint): number {
  const header = 1 + address.toString(16).length + 1 + 8 + 1; // M addr , len :
  return Math.max(1, Math.floor((packetSize - 4 - header) / 2));
}
