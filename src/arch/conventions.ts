// What the debugger needs to know about one architecture beyond its register layout (which comes from
// target.xml): which instructions are calls, where a call returns, how long a software breakpoint is, the
// pointer size, and the registers a frame chain is read from. One object per architecture (arm.ts,
// aarch64.ts), looked up once by the engine, so no other module asks `arch === 'arm'` for these.
import type { Arch } from './registers';
import { ARM_CONVENTIONS } from './arm';
import { AARCH64_CONVENTIONS } from './aarch64';

export interface ArchConventions {
  readonly arch: Arch;
  /** Bytes in a data pointer (the expression evaluator's `void *`, a watched pointer's size). */
  readonly pointerSize: 4 | 8;
  /** A call whose return lands at pc + size (so step-over runs to there). */
  isCall(mnemonic: string): boolean;
  /** A return from a function (Capstone text, mnemonic and operands): where stepping back over a call starts. */
  isReturn(instruction: string): boolean;
  /** The code address a link-register value returns to (AArch32 keeps the Thumb state in bit 0). */
  returnAddress(linkRegister: bigint): bigint;
  /** The Z0 breakpoint `kind` for code at an address (GDB RSP: the breakpoint length; 2 = Thumb). */
  breakpointKind(thumb: boolean): number;
  /** Link register and frame pointer names as QEMU's target.xml has them (stack unwinding). */
  readonly linkRegister: string;
  /** The frame-record chain ([fp] = caller's fp, [fp + pointerSize] = return address), when the ABI fixes it. */
  readonly frameRecordRegister: string | undefined;
}

export function archConventions(arch: Arch): ArchConventions {
  return arch === 'aarch64' ? AARCH64_CONVENTIONS : ARM_CONVENTIONS;
}
