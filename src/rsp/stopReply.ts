// Stop replies (GDB manual, "Stop Reply Packets"): `S AA`, `T AA n:r;...`, `W AA[;process:pid]`,
// `X AA[;process:pid]`, `O XX` console output. QEMU 7.2 never sends bare `S05`: it answers a step with
// `T05thread:p01.01;` (or `T05thread:01;` without multiprocess), `T02thread:..;` after an interrupt or
// when a client connects to a running VM, and `T05thread:..;watch:ADDR;` (also rwatch/awatch) on a
// watchpoint hit. Keys we do not model are kept in `extra` so nothing is silently lost.

import { RspDecodeError } from './errors';
import { hexToText, parseHexNumber, parseSmallHex } from './hex';

/** GDB signal numbers that matter here (GDB's own numbering, not the host's). */
export const GDB_SIGNAL = { INT: 2, TRAP: 5 } as const;

export type WatchKind = 'watch' | 'rwatch' | 'awatch';

export type StopReason =
  | { kind: WatchKind; address: bigint }
  | { kind: 'swbreak' }
  | { kind: 'hwbreak' };

export interface SignalStop {
  kind: 'signal';
  signal: number;
  /** `thread:` value as sent (`p01.01`, `01`), if any. */
  thread?: string;
  core?: number;
  reason?: StopReason;
  /** `NN:value` pairs: regnum -> little-endian hex value as sent. */
  registers: Map<number, string>;
  /** Other `key:value` pairs, unparsed. */
  extra: Map<string, string>;
}

export type StopReply =
  | SignalStop
  | { kind: 'exited'; status: number; process?: string }
  | { kind: 'terminated'; signal: number; process?: string }
  /** `O` console output (qRcmd output, or target output while running). */
  | { kind: 'output'; text: string };

/** Cheap test used by the connection to spot an unsolicited stop among ordinary replies. */
export function looksLikeStopReply(payload: string): boolean {
  const c = payload.charCodeAt(0);
  // T/S/W/X + two hex digits. None of these letters is a hex digit, so `m`/`g`/`p` data never matches.
  if (c !== 0x54 && c !== 0x53 && c !== 0x57 && c !== 0x58) return false;
  if (payload.length < 3 || !/^[0-9a-fA-F]{2}$/.test(payload.slice(1, 3))) return false;
  return payload.length === 3 || payload.charAt(0) === 'T' || payload.charAt(3) === ';';
}

export function decodeStopReply(payload: string): StopReply | RspDecodeError {
  const c = payload.charAt(0);
  if (c === 'O' && payload !== 'OK') {
    const text = hexToText(payload.slice(1));
    return text instanceof RspDecodeError ? text : { kind: 'output', text };
  }
  if (c !== 'S' && c !== 'T' && c !== 'W' && c !== 'X') {
    return new RspDecodeError('malformed', `not a stop reply: ${JSON.stringify(payload.slice(0, 40))}`, 0);
  }
  const code = parseSmallHex(payload.slice(1, 3));
  if (code instanceof RspDecodeError || payload.length < 3) return new RspDecodeError('bad-hex', `stop reply ${JSON.stringify(payload.slice(0, 40))} has no 2-digit code`, 1);
  const rest = payload.slice(3);

  if (c === 'W' || c === 'X') {
    let process: string | undefined;
    if (rest !== '') {
      const m = /^;process:([0-9a-fA-F]+)$/.exec(rest);
      if (!m) return new RspDecodeError('malformed', `exit reply suffix ${JSON.stringify(rest.slice(0, 40))}`, 3);
      process = m[1];
    }
    const base = process !== undefined ? { process } : {};
    return c === 'W' ? { kind: 'exited', status: code, ...base } : { kind: 'terminated', signal: code, ...base };
  }

  const stop: SignalStop = { kind: 'signal', signal: code, registers: new Map(), extra: new Map() };
  if (c === 'S') {
    if (rest !== '') return new RspDecodeError('malformed', `S reply with trailing ${JSON.stringify(rest.slice(0, 40))}`, 3);
    return stop;
  }
  let offset = 3;
  for (const pair of rest.split(';')) {
    if (pair === '') {
      offset += 1;
      continue;
    }
    const colon = pair.indexOf(':');
    const key = colon < 0 ? pair : pair.slice(0, colon);
    const value = colon < 0 ? '' : pair.slice(colon + 1);
    if (/^[0-9a-fA-F]+$/.test(key) && colon >= 0) {
      const regnum = parseSmallHex(key);
      if (regnum instanceof RspDecodeError || !/^([0-9a-fA-F]{2}|xx)+$/.test(value)) {
        return new RspDecodeError('bad-hex', `register pair ${JSON.stringify(pair.slice(0, 40))}`, offset);
      }
      stop.registers.set(regnum, value);
    } else if (key === 'thread') {
      stop.thread = value;
    } else if (key === 'core') {
      const core = parseSmallHex(value);
      if (core instanceof RspDecodeError) return new RspDecodeError('bad-hex', `core:${value}`, offset);
      stop.core = core;
    } else if (key === 'watch' || key === 'rwatch' || key === 'awatch') {
      const address = parseHexNumber(value);
      if (address instanceof RspDecodeError) return new RspDecodeError('bad-hex', `${key}:${value}`, offset);
      stop.reason = { kind: key, address };
    } else if (key === 'swbreak' || key === 'hwbreak') {
      stop.reason = { kind: key };
    } else {
      stop.extra.set(key, value);
    }
    offset += pair.length + 1;
  }
  return stop;
}

/** Short human description for logs and error messages. */
export function describeStopReply(stop: StopReply): string {
  switch (stop.kind) {
    case 'signal': {
      const why = stop.reason ? ('address' in stop.reason ? ` ${stop.reason.kind} 0x${stop.reason.address.toString(16)}` : ` ${stop.reason.kind}`) : '';
      return `stopped, signal ${stop.signal}${why}${stop.thread ? ` thread ${stop.thread}` : ''}`;
    }
    case 'exited':
      return `exited with status ${stop.status}`;
    case 'terminated':
      return `terminated by signal ${stop.signal}`;
    case 'output':
      return `output ${JSON.stringify(stop.text)}`;
  }
}
