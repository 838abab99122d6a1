// Call-stack unwinding where it is reliable without CFI: the current frame always; the caller from the
// link register while the pc sits at a function's first instructions (the frame is not set up yet); on
// AArch64 the frame-record chain through x29 (AAPCS64 6.2.3: [fp] = caller's fp, [fp+8] = return address)
// while each step lands in a known function. AArch32 frame layouts vary by compiler flags: LR only.
import type { ArchConventions } from '../arch';
import type { ProgramSymbols } from '../symbols';

export interface UnwindInput {
  conventions: ArchConventions;
  pcRegister: string;
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

function little(bytes: Uint8Array, offset: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]);
  return v;
}

export async function unwind(input: UnwindInput): Promise<Frame[]> {
  const r = input.registers;
  const c = input.conventions;
  const pc = r.get(input.pcRegister) ?? 0n;
  const frames: Frame[] = [{ pc }];
  const symbols = input.symbols;
  if (!symbols) return frames;
  const fn = symbols.functionAt(pc);
  const lrRaw = r.get(c.linkRegister);
  const lr = lrRaw === undefined ? undefined : c.returnAddress(lrRaw);
  const atEntry = fn !== undefined && pc - fn.start < PROLOGUE_BYTES;
  if (atEntry && lr !== undefined && lr !== pc && symbols.functionAt(lr)) frames.push({ pc: lr });
  if (c.frameRecordRegister === undefined) return frames;

  // Frame records (AArch64). At entry x29 is already the caller's record, which holds the caller's caller.
  const size = c.pointerSize;
  let fp = r.get(c.frameRecordRegister) ?? 0n;
  let previous = 0n;
  while (frames.length < MAX_FRAMES && fp !== 0n && fp % BigInt(size) === 0n && fp > previous) {
    let record: Uint8Array;
    try { record = await input.readMemory(fp, 2 * size); } catch { break; }
    if (record.length < 2 * size) break;
    const nextFp = little(record, 0, size);
    const ret = little(record, size, size);
    if (ret === 0n || !symbols.functionAt(ret)) break;
    frames.push({ pc: ret });
    previous = fp;
    fp = nextFp;
  }
  return frames;
}
