// Thread queries (GDB manual, "General Query Packets"): `qfThreadInfo` then `qsThreadInfo` until `l`
// list the thread ids (`m<id>,<id>...`); `qC` gives the current one (`QC<id>`). With multiprocess+,
// QEMU 7.2 writes ids as `p<pid>.<tid>` in hex (`p01.01`); one thread per vCPU.

import { RspDecodeError } from './errors';

export const THREAD_INFO_FIRST = 'qfThreadInfo';
export const THREAD_INFO_NEXT = 'qsThreadInfo';
export const CURRENT_THREAD = 'qC';

/** `m<id>,<id>` -> ids (more may follow); `l` -> null (end of list). */
export function decodeThreadInfo(payload: string): string[] | null | RspDecodeError {
  if (payload === 'l') return null;
  if (payload.startsWith('m') && payload.length > 1) return payload.slice(1).split(',');
  return new RspDecodeError('malformed', `thread list reply ${JSON.stringify(payload.slice(0, 30))}`, 0);
}

/** `QC<id>` -> id. An empty reply (stub without qC) -> null: "any thread". */
export function decodeQC(payload: string): string | null | RspDecodeError {
  if (payload === '') return null;
  if (payload.startsWith('QC') && payload.length > 2) return payload.slice(2);
  return new RspDecodeError('malformed', `qC reply ${JSON.stringify(payload.slice(0, 30))}`, 0);
}

export interface ThreadId {
  /** Process id, when the multiprocess form `p<pid>.<tid>` was used. -1 = all, 0 = any. */
  pid?: number;
  /** Thread id. -1 = all, 0 = any. */
  tid: number;
}

function idPart(s: string): number | RspDecodeError {
  if (s === '-1') return -1;
  if (!/^[0-9a-fA-F]{1,8}$/.test(s)) return new RspDecodeError('bad-hex', `thread id part ${JSON.stringify(s)}`, 0);
  return parseInt(s, 16);
}

export function decodeThreadId(text: string): ThreadId | RspDecodeError {
  if (text.startsWith('p')) {
    const dot = text.indexOf('.');
    const pid = idPart(dot < 0 ? text.slice(1) : text.slice(1, dot));
    if (pid instanceof RspDecodeError) return pid;
    if (dot < 0) return { pid, tid: -1 };
    const tid = idPart(text.slice(dot + 1));
    return tid instanceof RspDecodeError ? tid : { pid, tid };
  }
  const tid = idPart(text);
  return tid instanceof RspDecodeError ? tid : { tid };
}
