// Decode errors of the packet families, as values: decoders return `T | RspDecodeError` so a caller
// narrows with `instanceof` instead of catching. Also the stub's own `E NN` / `E.message` error replies
// (GDB manual, "Standard Replies").

export type RspDecodeReason =
  /** Not hex where hex was required, or an odd number of digits. */
  | 'bad-hex'
  /** More data than the destination or the request allows. */
  | 'too-long'
  /** Fewer bytes than the request asked for. */
  | 'too-short'
  /** The reply has a shape this packet family does not know. */
  | 'malformed';

export class RspDecodeError extends Error {
  constructor(
    readonly reason: RspDecodeReason,
    detail: string,
    /** Character offset in the payload where the problem was found. */
    readonly offset: number,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'RspDecodeError';
  }
}

/** An `E NN` (errno in hex) or `E.text` reply from the stub. */
export interface ErrorReply {
  errno: number;
  /** Text of the `E.message` form (GDB 8.x+ stubs); undefined for `E NN`. */
  message?: string;
}

/**
 * `E NN` or `E.msg`, or null for any other payload. Exactly three characters for the errno form, since
 * a longer payload starting with `E` is data (e.g. `ENABLE=1,...` from qqemu.sstepbits); stubs send
 * lowercase hex for memory, so a 1-byte `m` reply is two characters and cannot collide either.
 */
export function parseErrorReply(payload: string): ErrorReply | null {
  if (payload.length === 3 && payload.charCodeAt(0) === 0x45 /* E */) {
    const n = parseInt(payload.slice(1), 16);
    if (/^[0-9a-fA-F]{2}$/.test(payload.slice(1))) return { errno: n };
    return null;
  }
  if (payload.startsWith('E.')) return { errno: -1, message: payload.slice(2) };
  return null;
}

export function formatErrorReply(reply: ErrorReply): string {
  return reply.message !== undefined ? `E.${reply.message}` : `E${reply.errno.toString(16).padStart(2, '0')}`;
}
