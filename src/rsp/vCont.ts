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

/** One `vCont` action, optionally with a signal (for C/S) and a thread id (`p1.1`, `-1` = all). */
export function encodeVCont(actions: readonly { action: VContAction; signal?: number; thread?: string }[]): string {
  return 'vCont' + actions.map((a) => `;${a.action}${a.signal !== undefined ? a.signal.toString(16).padStart(2, '0') : ''}${a.thread ? `:${a.thread}` : ''}`).join('');
}
