// The `disassemble` request for VS Code's Disassembly view: exactly `instructionCount` rows starting
// `instructionOffset` instructions away from an address (negative offsets included), with the covering
// symbol at function starts and the DWARF source line per row. Fixed 4-byte A32/A64 instructions are
// simple; Thumb (2/4 bytes) decodes forward from a little before the address to find earlier boundaries.
import type { Arch } from '../common/config';
import type { Disassembler, RangeInstruction } from '../arch';
import type { ProgramSymbols, SourceLocation } from '../symbols';

export interface DisassemblyContext {
  arch: Arch;
  disassembler: Disassembler;
  symbols: ProgramSymbols | undefined;
  currentPc: bigint;
  currentThumb: boolean;
  readMemory(address: bigint, length: number): Promise<Uint8Array>;
}

export interface DisassemblyRow {
  address: bigint;
  text: string;
  bytesHex: string;
  valid: boolean;
  symbol?: string;
  line?: SourceLocation;
}

/** Thumb or not at an address: ARM mapping symbols first, then the function symbol, then the CPU state. */
function thumbAt(ctx: DisassemblyContext, address: bigint): boolean {
  if (ctx.arch !== 'arm') return false;
  const kind = ctx.symbols?.codeKindAt(address);
  if (kind !== undefined) return kind === 'thumb';
  const fn = ctx.symbols?.functionAt(address);
  if (fn) return fn.thumb;
  return ctx.currentThumb;
}

async function readSome(ctx: DisassemblyContext, address: bigint, length: number): Promise<Uint8Array | undefined> {
  try {
    return await ctx.readMemory(address, length);
  } catch {
    return undefined;
  }
}

/** Decodes forward from `start` until `count` rows; unreadable memory yields invalid `??` rows. */
async function decodeForward(ctx: DisassemblyContext, start: bigint, count: number): Promise<RangeInstruction[]> {
  const out: RangeInstruction[] = [];
  let at = start;
  while (out.length < count) {
    const thumb = thumbAt(ctx, at);
    const want = Math.min((count - out.length) * 4 + 4, 4096);
    const bytes = await readSome(ctx, at, want);
    if (!bytes) {
      const step = thumb ? 2 : 4;
      out.push({ address: at, text: '??', mnemonic: '??', operands: '', size: step, bytes: new Uint8Array(), valid: false });
      at += BigInt(step);
      continue;
    }
    const rows = ctx.disassembler.disassembleRange(ctx.arch, thumb, bytes, at, count - out.length);
    if (rows.length === 0) break;
    // Stop a chunk where the instruction set changes (Thumb/ARM interworking), so each part decodes right.
    for (const r of rows) {
      if (r.address !== at && thumbAt(ctx, r.address) !== thumb) break;
      out.push(r);
      at = r.address + BigInt(r.size);
      if (out.length >= count) break;
    }
  }
  return out;
}

/** `count` instructions ending just before `address`. */
async function decodeBackward(ctx: DisassemblyContext, address: bigint, count: number): Promise<RangeInstruction[]> {
  if (count <= 0) return [];
  const thumb = thumbAt(ctx, address);
  if (!thumb) {
    const start = address - BigInt(count * 4);
    return decodeForward(ctx, start < 0n ? 0n : start, count);
  }
  // Thumb: decode from further back; the instruction stream resynchronises within a few instructions.
  const start = address - BigInt(count * 4 + 16);
  const rows = await decodeForward(ctx, start < 0n ? 0n : start, count * 2 + 8);
  const before = rows.filter((r) => r.address + BigInt(r.size) <= address);
  const picked = before.slice(-count);
  // Pad with halfword rows if the stream did not land exactly (keeps the row count the view expects).
  while (picked.length < count) {
    const first = picked[0]?.address ?? address;
    picked.unshift({ address: first - 2n, text: '??', mnemonic: '??', operands: '', size: 2, bytes: new Uint8Array(), valid: false });
  }
  return picked;
}

export async function disassemble(ctx: DisassemblyContext, address: bigint, instructionOffset: number, instructionCount: number): Promise<DisassemblyRow[]> {
  let rows: RangeInstruction[];
  if (instructionOffset < 0) {
    const before = await decodeBackward(ctx, address, -instructionOffset);
    const remaining = instructionCount - before.length;
    const after = remaining > 0 ? await decodeForward(ctx, address, remaining) : [];
    rows = [...before, ...after].slice(0, instructionCount);
  } else {
    // Skip forward `instructionOffset` instructions first.
    const skipped = instructionOffset > 0 ? await decodeForward(ctx, address, instructionOffset) : [];
    const last = skipped[skipped.length - 1];
    const start = last ? last.address + BigInt(last.size) : address;
    rows = await decodeForward(ctx, start, instructionCount);
  }
  return rows.map((r) => {
    const fn = ctx.symbols?.functionAt(r.address);
    const row: DisassemblyRow = {
      address: r.address,
      text: r.text,
      bytesHex: Buffer.from(r.bytes).toString('hex'),
      valid: r.valid,
    };
    if (fn && fn.start === r.address) row.symbol = fn.name;
    const line = ctx.symbols?.lineAt(r.address);
    if (line) row.line = line;
    return row;
  });
}
