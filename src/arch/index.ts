// Public face of src/arch: architecture names and register roles, status-register decoding, instruction
// lengths, and the Capstone-backed disassembler. A leaf layer: imports only src/common.
export { type Arch, ARCHES, FIXED_INSTRUCTION_BYTES, instructionLength, isArch, REGISTER_ROLE_NAMES, type RegisterRole, type RegisterRoles, registerForRole, registerRoles, thumbInstructionLength } from './registers';
export { type Aarch32Mode, type Aarch64Mode, decodeStatus, instructionSetOf, isThumb, type ProcessorStatus } from './status';
export { type DisassembledInstruction, Disassembler, type DisassemblerOptions, type DisassemblyCacheStats, type RangeInstruction } from './disassembler';
export { type ArchConventions, archConventions } from './conventions';
