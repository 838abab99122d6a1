// AArch64 conventions for the debugger: BL/BLR (and the PAC forms BLRAA…) as calls, x30 as the link
// register, 4-byte breakpoints, and AAPCS64 6.2.3 frame records through x29.
import type { ArchConventions } from './conventions';

export const AARCH64_CONVENTIONS: ArchConventions = {
  arch: 'aarch64',
  pointerSize: 8,
  isCall: (mnemonic) => /^bl$/i.test(mnemonic) || /^blr/i.test(mnemonic),
  isReturn: (text) => /^(ret|reta[ab]|eret|eretaa|eretab)\b/i.test(text.trim()),
  returnAddress: (lr) => lr,
  breakpointKind: () => 4,
  linkRegister: 'x30',
  frameRecordRegister: 'x29',
};
