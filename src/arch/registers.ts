// Architecture basics shared by the target, the recorder and the views: which CPU families Bootscope
// knows, which register NAME plays which role (the layout itself comes from QEMU's target.xml), and how
// long an instruction is before it is decoded (Thumb-2: 16 or 32 bits, decided by its first halfword).
// decodeStatus is re-exported here because the recorder reads roles and status together.
export { decodeStatus, type ProcessorStatus } from './status';

export type Arch = 'arm' | 'aarch64';

export const ARCHES: readonly Arch[] = ['arm', 'aarch64'];

export function isArch(value: string): value is Arch {
  return (ARCHES as readonly string[]).includes(value);
}

/** Roles the recorder and adapter need by name: program counter, stack pointer, link register, status. */
export type RegisterRole = 'pc' | 'sp' | 'lr' | 'status';

/**
 * Register names per role as QEMU's gdbstub reports them in target.xml (gdb-xml/arm-core.xml and
 * aarch64-core.xml): the first name is QEMU's, the rest are aliases other stubs use. On AArch64 QEMU
 * calls PSTATE `cpsr` (32 bits: NZCV, DAIF, nRW, EL, SPSel) and the link register is x30.
 */
export const REGISTER_ROLE_NAMES: Readonly<Record<Arch, Readonly<Record<RegisterRole, readonly string[]>>>> = {
  arm: { pc: ['pc', 'r15'], sp: ['sp', 'r13'], lr: ['lr', 'r14'], status: ['cpsr'] },
  aarch64: { pc: ['pc'], sp: ['sp'], lr: ['x30', 'lr'], status: ['cpsr', 'pstate'] },
};

/** The register name per role, as QEMU's gdbstub names them. */
export type RegisterRoles = Readonly<Record<RegisterRole, string>>;

/** QEMU's names for pc, sp, lr and status on `arch` (see REGISTER_ROLE_NAMES for aliases). */
export function registerRoles(arch: Arch): RegisterRoles {
  const names = REGISTER_ROLE_NAMES[arch];
  return { pc: names.pc[0], sp: names.sp[0], lr: names.lr[0], status: names.status[0] };
}

/**
 * The name of the register that plays `role`, chosen among the names the target actually reports
 * (case-insensitive); undefined when none of them is there.
 */
export function registerForRole(arch: Arch, role: RegisterRole, available: Iterable<string>): string | undefined {
  const byLower = new Map<string, string>();
  for (const name of available) byLower.set(name.toLowerCase(), name);
  for (const candidate of REGISTER_ROLE_NAMES[arch][role]) {
    const found = byLower.get(candidate);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Size of an A32 or A64 instruction. */
export const FIXED_INSTRUCTION_BYTES = 4;

/**
 * Length in bytes of the Thumb instruction whose first halfword is `firstHalfword` (ARM ARM A6.1:
 * bits [15:11] of 0b11101, 0b11110 or 0b11111 start a 32-bit Thumb-2 instruction; all else is 16-bit).
 */
export function thumbInstructionLength(firstHalfword: number): 2 | 4 {
  const top5 = (firstHalfword >>> 11) & 0x1f;
  return top5 === 0b11101 || top5 === 0b11110 || top5 === 0b11111 ? 4 : 2;
}

/**
 * Length of the instruction starting at `bytes[0]` (little-endian): 4 for A32/A64, 2 or 4 for Thumb.
 * Needs at least 2 bytes for Thumb.
 */
export function instructionLength(arch: Arch, thumb: boolean, bytes: Uint8Array): 2 | 4 {
  if (arch === 'arm' && thumb) {
    if (bytes.length < 2) return 2;
    return thumbInstructionLength(bytes[0] | (bytes[1] << 8));
  }
  return 4;
}
