// Resume packets (GDB manual, "Packets"): `s` step, `c` continue, `vCont;action[:thread]...`, and
// `vCont?` which lists the supported actions (QEMU 7.2: `vCont;c;C;s;S`). Their reply is a stop reply
// (see stopReply.ts), sent when the target stops again.

import { RspDecodeError } from './errors';

export const STEP = 's';
export const CONTINUE = 'c';
export const VCONT_QUERY = 'vCont?';

export type VContAction = 'c' | 'C' | 's' | 'S' | 't' | 'r';

/** `vCont;c;C;s;S` -> the set of actions; empty reply -> empty set (vCont unsupported). */
export function decodeVContQuery(payload: string): Set<string> | RspDecodeError {
  if (payload === '') return new Set();
  if (!payload.startsWith('vCont')) return new RspDecodeError('malformed', `vCont? reply ${JSON.stringify(payload.slice(0, 30))}`, 0);
  return new Set(payload.split(';').slice(1).filter((a) => a !== ''));
}

/** One `vCont` action, optionally with a signal (for C/S), a range (for `r start,end`: step while pc is
 * inside [start, end)) and a thread id (`p1.1`, `-1` = all). */
export interface VContRequest {
  action: VContAction;
  signal?: number;
  range?: readonly [bigint, bigint];
  thread?: string;
}

export function encodeVCont(actions: readonly VContRequest[]): string {
  return 'vCont' + actions.map((a) => {
    const signal = a.signal !== undefined ? a.signal.toString(16).padStart(2, '0') : '';
    const range = a.action === 'r' && a.range ? `${a.range[0].toString(16)},${a.range[1].toString(16)}` : '';
    return `;${a.action}${signal}${range}${a.thread ? `:${a.thread}` : ''}`;
  }).join('');
}
