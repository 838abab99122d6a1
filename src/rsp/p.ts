// `p n` / `P n=r`: read / write one register by GDB regnum (GDB manual, "Packets"). Values are
// target-byte-order (little-endian) hex. QEMU 7.2 answers `p` with an empty reply until target.xml was
// read on this connection (gdb_has_xml), so the connection reads it first.

import { RspDecodeError } from './errors';
import { bigintToLittleEndian, bytesToHex, hexToBytes, littleEndianToBigint } from './hex';

export function encodeP(regnum: number): string {
  return `p${regnum.toString(16)}`;
}

/** Decode a `p` reply as an unsigned value. `xx` bytes read as 0. */
export function decodePReply(payload: string, expectedBytes?: number): bigint | RspDecodeError {
  if (payload === '') return new RspDecodeError('malformed', 'empty reply: register not available (or target.xml not read yet)', 0);
  const bytes = hexToBytes(payload);
  if (bytes instanceof RspDecodeError) return bytes;
  if (expectedBytes !== undefined && bytes.length !== expectedBytes) {
    return new RspDecodeError(bytes.length < expectedBytes ? 'too-short' : 'too-long', `register is ${expectedBytes} bytes, reply has ${bytes.length}`, 0);
  }
  return littleEndianToBigint(bytes, 0, bytes.length);
}

export function encodeBigP(regnum: number, value: bigint, byteSize: number): string {
  return `P${regnum.toString(16)}=${bytesToHex(bigintToLittleEndian(value, byteSize))}`;
}
