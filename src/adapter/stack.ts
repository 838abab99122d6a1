// Call-stack unwinding where it is reliable without CFI: the current frame always; the caller from the
// link register while the pc sits at a function's first instructions (the frame is not set up yet); on
// AArch64 the frame-record chain through x29 (AAPCS64 6.2.3: [fp] = caller's fp, [fp+8] = return address)
// while each step lands in a known function. AArch32 frame layouts vary by compiler flags: LR only.
import type { Arch } from '../common/config';
import type { ProgramSymbols } from '../symbols';

export interface UnwindInput {
  arch: Arch;
  registers: ReadonlyMap<string, bigint>;
  symbols: ProgramSymbols | undefined;
  readMemory(address: bigint, length: number): Promise<Uint8Array>;
}

export interface Frame {
  pc: bigint;
}

const MAX_FRAMES = 32;
/** Instructions at a function's start before its frame record exists (stp x29, x30 / mov x29, sp). */
const PROLOGUE_BYTES = 8n;

function u64(bytes: Uint8Array, offset: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]);
  return v;
}

export async function unwind(input: UnwindInput): Promise<Frame[]> {
  const r = input.registers;
  const pc = r.get('pc') ?? r.get('r15') ?? 0n;
  const frames: Frame[] = [{ pc }];
  const symbols = input.symbols;
  if (!symbols) return frames;
  const fn = symbols.functionAt(pc);
  const lrRaw = input.arch === 'aarch64' ? r.get('x30') : r.get('lr') ?? r.get('r14');
  const lr = lrRaw === undefined ? undefined : input.arch === 'arm' ? lrRaw & ~1n : lrRaw;
  const atEntry = fn !== undefined && pc - fn.start < PROLOGUE_BYTES;
  if (atEntry && lr !== undefined && lr !== pc && symbols.functionAt(lr)) frames.push({ pc: lr });
  if (input.arch !== 'aarch64') return frames;

  // AArch64 frame records. At entry x29 is already the caller's record, which holds the caller's caller.
  let fp = r.get('x29') ?? 0n;
  let previous = 0n;
  while (frames.length < MAX_FRAMES && fp !== 0n && fp % 8n === 0n && fp > previous) {
    let record: Uint8Array;
    try { record = await input.readMemory(fp, 16); } catch { break; }
    if (record.length < 16) break;
    const nextFp = u64(record, 0);
    const ret = u64(record, 8);
    if (ret === 0n || !symbols.functionAt(ret)) break;
    frames.push({ pc: ret });
    previous = fp;
    fp = nextFp;
  }
  return frames;
}
