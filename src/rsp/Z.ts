// `Z type,addr,kind` / `z type,addr,kind`: insert / remove break- and watchpoints (GDB manual, "Packets").
// type 0 software breakpoint, 1 hardware breakpoint, 2 write, 3 read, 4 access watchpoint; kind is the
// breakpoint length (ARM: 2 Thumb, 4 ARM/AArch64) or the watched byte count. Reply `OK`, empty if the
// type is unsupported, or `E NN`.

import { RspDecodeError, parseErrorReply } from './errors';

export type BreakpointType = 0 | 1 | 2 | 3 | 4;

export const BREAKPOINT_TYPE_NAME: Record<BreakpointType, string> = {
  0: 'software breakpoint',
  1: 'hardware breakpoint',
  2: 'write watchpoint',
  3: 'read watchpoint',
  4: 'access watchpoint',
};

export function encodeZ(insert: boolean, type: BreakpointType, address: bigint, kind: number): string {
  return `${insert ? 'Z' : 'z'}${type},${address.toString(16)},${kind.toString(16)}`;
}

/** true: done; false: the stub does not support this type (empty reply); error for anything else. */
export function decodeZReply(payload: string): boolean | RspDecodeError {
  if (payload === 'OK') return true;
  if (payload === '') return false;
  const e = parseErrorReply(payload);
  return new RspDecodeError('malformed', e ? `stub error ${payload}` : `unexpected reply ${JSON.stringify(payload.slice(0, 20))}`, 0);
}
