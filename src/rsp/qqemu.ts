// QEMU-specific packets (QEMU docs, "GDB usage"; gdbstub.c in 7.2):
//   `qqemu.sstepbits` -> `ENABLE=1,NOIRQ=2,NOTIMER=4`: the single-step flag bits;
//   `qqemu.sstep` -> `0x7`: current flags; `Qqemu.sstep=N` sets them (hex). Default 7 = step with IRQs
//   and timers masked, which is what makes stepping a boot deterministic;
//   `Qqemu.PhyMemMode:1|0` makes `m`/`M` use physical addresses; `qqemu.PhyMemMode` -> `0`/`1`.

import { RspDecodeError } from './errors';

export const SSTEP_BITS_QUERY = 'qqemu.sstepbits';
export const SSTEP_QUERY = 'qqemu.sstep';
export const PHY_MEM_MODE_QUERY = 'qqemu.PhyMemMode';

/** The flags QEMU 7.2 defines, for callers that do not want to query them. */
export const SSTEP_FLAGS = { ENABLE: 1, NOIRQ: 2, NOTIMER: 4 } as const;

export function decodeSstepBits(payload: string): Map<string, number> | RspDecodeError {
  const bits = new Map<string, number>();
  for (const item of payload.split(',')) {
    const m = /^([A-Za-z_]+)=(?:0x)?([0-9a-fA-F]+)$/.exec(item);
    if (!m) return new RspDecodeError('malformed', `sstepbits item ${JSON.stringify(item.slice(0, 30))}`, 0);
    bits.set(m[1], parseInt(m[2], 16));
  }
  return bits;
}

/** `0x7` (QEMU prints it with 0x) or `7`. */
export function decodeSstep(payload: string): number | RspDecodeError {
  const m = /^(?:0x)?([0-9a-fA-F]{1,8})$/.exec(payload);
  if (!m) return new RspDecodeError('malformed', `qqemu.sstep reply ${JSON.stringify(payload.slice(0, 30))}`, 0);
  return parseInt(m[1], 16);
}

export function encodeSetSstep(flags: number): string {
  return `Qqemu.sstep=${flags.toString(16)}`;
}

export function encodeSetPhyMemMode(on: boolean): string {
  return `Qqemu.PhyMemMode:${on ? 1 : 0}`;
}

export function decodePhyMemMode(payload: string): boolean | RspDecodeError {
  if (payload === '1') return true;
  if (payload === '0') return false;
  return new RspDecodeError('malformed', `qqemu.PhyMemMode reply ${JSON.stringify(payload.slice(0, 30))}`, 0);
}
