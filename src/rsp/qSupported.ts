// `qSupported`: feature negotiation (GDB manual, "General Query Packets", qSupported). The reply is
// `name=value;name+;name-;...`; we keep it as a map of name -> value string or true/false.

import { RspDecodeError } from './errors';

export type FeatureMap = Map<string, string | boolean>;

/**
 * The features we tell the stub we understand. `swbreak+`/`hwbreak+`: we parse those stop reasons;
 * `multiprocess+`: we parse `p<pid>.<tid>` thread ids (QEMU then answers `T05thread:p01.01;`);
 * `vContSupported+`: we may ask `vCont?`. We do not offer `QStartNoAckMode` (QEMU 7.2 lacks it).
 */
export const CLIENT_FEATURES = ['multiprocess+', 'swbreak+', 'hwbreak+', 'vContSupported+'];

export function encodeQSupported(features: readonly string[] = CLIENT_FEATURES): string {
  return features.length ? `qSupported:${features.join(';')}` : 'qSupported';
}

export function decodeQSupported(payload: string): FeatureMap | RspDecodeError {
  const map: FeatureMap = new Map();
  if (payload === '') return map; // stub does not implement qSupported: no features
  for (const item of payload.split(';')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq > 0) map.set(item.slice(0, eq), item.slice(eq + 1));
    else if (item.endsWith('+')) map.set(item.slice(0, -1), true);
    else if (item.endsWith('-')) map.set(item.slice(0, -1), false);
    else if (item.endsWith('?')) map.set(item.slice(0, -1), false); // "maybe": treat as not promised
    else return new RspDecodeError('malformed', `qSupported item without +, - or =: ${JSON.stringify(item)}`, 0);
  }
  return map;
}

/** `PacketSize` (hex, the largest packet the stub accepts including framing), or undefined. */
export function packetSizeOf(features: ReadonlyMap<string, string | boolean>): number | undefined {
  const v = features.get('PacketSize');
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{1,8}$/.test(v)) return undefined;
  return parseInt(v, 16);
}
