// Decodes the status register by its bits: CPSR on AArch32 and PSTATE as QEMU reports it in `cpsr` on
// AArch64 (ARM ARM D1.7 / G1.9.3; QEMU target/arm pstate_read / cpsr_read). Gives the mode and exception
// level the stage detector and the Registers view show, and the Thumb bit the disassembler needs.
import type { Arch } from './registers';

export type Aarch32Mode = 'usr' | 'fiq' | 'irq' | 'svc' | 'mon' | 'abt' | 'hyp' | 'und' | 'sys';
export type Aarch64Mode = 'EL0t' | 'EL1t' | 'EL1h' | 'EL2t' | 'EL2h' | 'EL3t' | 'EL3h';

export interface ProcessorStatus {
  /** The raw register value. */
  readonly raw: number;
  /** AArch32 when arch is 'arm', or on AArch64 when PSTATE.nRW (bit 4) says the CPU runs AArch32 code. */
  readonly executionState: 'aarch32' | 'aarch64';
  /** Mode name, or `M=0x..` for an encoding the architecture reserves. */
  readonly mode: Aarch32Mode | Aarch64Mode | `M=0x${string}`;
  /** 0-3; undefined for a reserved mode encoding. AArch32: usr 0, hyp 2, mon 3, every other mode 1. */
  readonly exceptionLevel: 0 | 1 | 2 | 3 | undefined;
  /** AArch32 T bit (bit 5): executing Thumb code. Always false in AArch64 state. */
  readonly thumb: boolean;
  /**
   * AArch32 ITSTATE (IT[7:0] from CPSR bits 15:10 and 26:25, ARM ARM A2.5.2): non-zero low nibble means
   * the next Thumb instruction is inside an IT block with condition IT[7:4]. 0 in AArch64 state.
   */
  readonly itState: number;
  readonly flags: { readonly n: boolean; readonly z: boolean; readonly c: boolean; readonly v: boolean };
  /** Exception masks: true = masked. `d` (debug, bit 9) exists only in AArch64 state. */
  readonly masks: { readonly d: boolean; readonly a: boolean; readonly i: boolean; readonly f: boolean };
}

const AARCH32_MODES: Readonly<Record<number, { mode: Aarch32Mode; el: 0 | 1 | 2 | 3 }>> = {
  0x10: { mode: 'usr', el: 0 }, 0x11: { mode: 'fiq', el: 1 }, 0x12: { mode: 'irq', el: 1 },
  0x13: { mode: 'svc', el: 1 }, 0x16: { mode: 'mon', el: 3 }, 0x17: { mode: 'abt', el: 1 },
  0x1a: { mode: 'hyp', el: 2 }, 0x1b: { mode: 'und', el: 1 }, 0x1f: { mode: 'sys', el: 1 },
};

/** PSTATE.M[3:0] in AArch64 state: EL in [3:2], SP selection in [0] (t = SP_EL0, h = SP_ELx). */
const AARCH64_MODES: Readonly<Record<number, Aarch64Mode>> = {
  0b0000: 'EL0t', 0b0100: 'EL1t', 0b0101: 'EL1h', 0b1000: 'EL2t', 0b1001: 'EL2h', 0b1100: 'EL3t', 0b1101: 'EL3h',
};

const bit = (value: number, n: number): boolean => ((value >>> n) & 1) === 1;

/** IT[7:2] live in CPSR[15:10], IT[1:0] in CPSR[26:25]. */
function itStateOf(raw: number): number {
  return (((raw >>> 10) & 0x3f) << 2) | ((raw >>> 25) & 0x3);
}

export function decodeStatus(arch: Arch, value: number | bigint): ProcessorStatus {
  const raw = Number(BigInt(value) & 0xffffffffn) >>> 0;
  const flags = { n: bit(raw, 31), z: bit(raw, 30), c: bit(raw, 29), v: bit(raw, 28) };
  const aarch32 = arch === 'arm' || bit(raw, 4);
  if (aarch32) {
    const m = raw & 0x1f;
    const known = AARCH32_MODES[m];
    return {
      raw,
      executionState: 'aarch32',
      mode: known ? known.mode : `M=0x${m.toString(16)}`,
      exceptionLevel: known?.el,
      thumb: bit(raw, 5),
      itState: itStateOf(raw),
      flags,
      masks: { d: false, a: bit(raw, 8), i: bit(raw, 7), f: bit(raw, 6) },
    };
  }
  const m = raw & 0xf;
  const mode = AARCH64_MODES[m];
  return {
    raw,
    executionState: 'aarch64',
    mode: mode ?? `M=0x${m.toString(16)}`,
    exceptionLevel: mode ? ((m >>> 2) as 0 | 1 | 2 | 3) : undefined,
    thumb: false,
    itState: 0,
    flags,
    masks: { d: bit(raw, 9), a: bit(raw, 8), i: bit(raw, 7), f: bit(raw, 6) },
  };
}

/** True when the CPU executes Thumb code: the T bit in AArch32 state (including AArch32 EL0 under an AArch64 kernel). */
export function isThumb(arch: Arch, status: number | bigint): boolean {
  const raw = Number(BigInt(status) & 0xffffffffn);
  if (arch === 'aarch64' && !bit(raw, 4)) return false;
  return bit(raw, 5);
}

/**
 * What to decode the instruction at pc with: an AArch64 core in AArch32 state (PSTATE.nRW) runs A32/T32
 * code, so the disassembler needs 'arm' there, with the T bit deciding Thumb.
 */
export function instructionSetOf(arch: Arch, status: number | bigint): { readonly arch: Arch; readonly thumb: boolean } {
  const raw = Number(BigInt(status) & 0xffffffffn);
  if (arch === 'aarch64' && !bit(raw, 4)) return { arch: 'aarch64', thumb: false };
  return { arch: 'arm', thumb: bit(raw, 5) };
}
