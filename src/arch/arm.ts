// AArch32 (A32 and Thumb-2) conventions for the debugger: BL/BLX calls, the Thumb bit in LR, 2- or 4-byte
// breakpoints. AArch32 frame layouts vary by compiler flags (APCS frame or none), so no frame-record chain.
import type { ArchConventions } from './conventions';

const CONDITIONS = 'eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al';
const CALL = new RegExp(`^(bl|blx)(${CONDITIONS})?(\\.w)?$`, 'i');
const RETURN = new RegExp(`^(bx(${CONDITIONS})?\\s+lr\\b|(pop|ldm\\w*)(${CONDITIONS})?(\\.w)?\\s+.*\\bpc\\b|movs?(${CONDITIONS})?\\s+pc,\\s*lr\\b|ldr(${CONDITIONS})?(\\.w)?\\s+pc,|subs\\s+pc,\\s*lr\\b)`, 'i');

export const ARM_CONVENTIONS: ArchConventions = {
  arch: 'arm',
  pointerSize: 4,
  isCall: (mnemonic) => CALL.test(mnemonic),
  // BX LR, a POP/LDM that loads pc, MOV pc, lr, or LDR pc, [sp], #4 (AAPCS returns; also an exception return).
  isReturn: (text) => RETURN.test(text.trim()),
  // ARM ARM A2.3.2: BX/POP to an address with bit 0 set enter Thumb state; the address itself is even.
  returnAddress: (lr) => lr & ~1n,
  breakpointKind: (thumb) => (thumb ? 2 : 4),
  linkRegister: 'lr',
  frameRecordRegister: undefined,
};
