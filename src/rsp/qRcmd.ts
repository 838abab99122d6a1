// `qRcmd,HEX`: run a monitor command in the stub (GDB manual, "General Query Packets", qRcmd). For QEMU
// that is the HMP monitor (`info registers`, ...). The stub may send any number of `O<hex>` output
// packets before the final `OK` (or `E NN`, or empty if unsupported).

import { RspDecodeError, parseErrorReply } from './errors';
import { hexToText, textToHex } from './hex';

export function encodeQRcmd(command: string): string {
  return `qRcmd,${textToHex(command)}`;
}

export type QRcmdReply =
  | { kind: 'output'; text: string }
  | { kind: 'done' }
  | { kind: 'unsupported' };

export function decodeQRcmdReply(payload: string): QRcmdReply | RspDecodeError {
  if (payload === 'OK') return { kind: 'done' };
  if (payload === '') return { kind: 'unsupported' };
  if (payload.startsWith('O')) {
    const text = hexToText(payload.slice(1));
    return text instanceof RspDecodeError ? text : { kind: 'output', text };
  }
  const e = parseErrorReply(payload);
  return new RspDecodeError('malformed', e ? `stub error ${payload}` : `qRcmd reply ${JSON.stringify(payload.slice(0, 30))}`, 0);
}
