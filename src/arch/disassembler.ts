// Text disassembly of A32, T32 and A64 instructions through Capstone (@alexaltea/capstone-js, an
// Emscripten/WASM build). Only mnemonic + operand text is used: the package's detail/operand mode is broken
// in this build and is not relied on. The recorder disassembles every stepped instruction, so results are cached by
// (mode, instruction word), and by address too for instructions whose text shows an absolute target.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import MCapstone from '@alexaltea/capstone-js';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import { type Arch, instructionLength } from './registers';

export interface DisassembledInstruction {
  /** `mnemonic operands` (just the mnemonic when there are no operands), Capstone's syntax. */
  readonly text: string;
  readonly mnemonic: string;
  readonly operands: string;
  /** Bytes the instruction occupies: 4 (A32/A64) or 2/4 (T32). */
  readonly size: number;
}

export interface RangeInstruction extends DisassembledInstruction {
  readonly address: bigint;
  readonly bytes: Uint8Array;
  /** False for bytes that decode to no instruction: text is then `.word 0x...` / `.short 0x...`. */
  readonly valid: boolean;
}

export interface DisassemblerOptions {
  /** Cache results (default true). Off only to measure what the cache saves. */
  readonly cache?: boolean;
  /** Decode Thumb as an M-profile core (Cortex-M: MRS/MSR name MSP, PSP, PRIMASK...). Default A-profile. */
  readonly mProfile?: boolean;
  /** Most cached results kept before the cache is emptied and starts again (default 200,000). */
  readonly maxCacheEntries?: number;
}

export interface DisassemblyCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
}

/** Decoder modes, also the high part of the cache key. */
const enum DecodeMode { Arm = 0, Thumb = 1, A64 = 2 }

interface CacheEntry {
  /** null: the bytes decode to no instruction. */
  readonly result: DisassembledInstruction | null;
  /** The text depends on the instruction's address (pc-relative branch/adr/literal with an absolute target). */
  readonly addressDependent: boolean;
  byAddress?: Map<bigint, DisassembledInstruction | null>;
}

/** Distance of the second decode that tells whether the text depends on the address; a page, so ADRP changes too. */
const ADDRESS_PROBE = 0x1000n;

/**
 * Capstone 5.0 prints some negative A64 immediates as the unsigned 64-bit pattern: `mov w1,
 * #-0xffffffff80000000` (for #0x80000000 / -2147483648) and post-index `[x0], #0xfffffffffffffffc` (for
 * #-4); objdump and the ARM ARM say -0x80000000 and -0x4. Rewrite those to the signed value.
 */
function fixA64NegativeImmediates(operands: string): string {
  if (!operands.includes('#-0x') && !operands.includes('], #0x')) return operands;
  const twosComplement = (hex: string): bigint | undefined => {
    const v = BigInt(`0x${hex}`);
    return v >= 1n << 63n ? (1n << 64n) - v : undefined;
  };
  return operands
    .replace(/#-0x([0-9a-f]{16})\b/g, (m, hex: string) => { const magnitude = twosComplement(hex); return magnitude === undefined ? m : `#-0x${magnitude.toString(16)}`; })
    .replace(/\], #0x([0-9a-f]{16})$/, (m, hex: string) => { const magnitude = twosComplement(hex); return magnitude === undefined ? m : `], #-0x${magnitude.toString(16)}`; });
}

let modulePromise: Promise<MCapstone.CapstoneModule> | undefined;

/**
 * capstone.wasm next to this code: dist/capstone.wasm in the esbuild bundle (esbuild.mjs copies it
 * there), else the package's own copy when running from source (tsx). Read here and handed over as
 * `wasmBinary` so a missing file is reported by us, naming where we looked.
 */
function loadCapstoneWasm(): Uint8Array {
  const candidates = [join(__dirname, 'capstone.wasm')];
  try {
    candidates.push(join(dirname(require.resolve('@alexaltea/capstone-js')), 'capstone.wasm'));
  } catch {
    // Not resolvable from a bundle installed without node_modules: the first candidate must do.
  }
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new BootscopeError(ErrorCode.Symbols, `capstone.wasm not found (looked in ${candidates.join(', ')}); rebuild with \`node esbuild.mjs\`, which copies it next to the bundle.`);
  }
  return readFileSync(found);
}

function loadCapstone(): Promise<MCapstone.CapstoneModule> {
  modulePromise ??= (async () => {
    try {
      return await MCapstone({ wasmBinary: loadCapstoneWasm() });
    } catch (e) {
      modulePromise = undefined; // let a later create() try again
      if (e instanceof BootscopeError) throw e;
      throw new BootscopeError(ErrorCode.Symbols, `could not start the Capstone disassembler: ${errorMessage(e)}`, { cause: e });
    }
  })();
  return modulePromise;
}

export class Disassembler {
  private readonly cache = new Map<number, CacheEntry>();
  private cachedResults = 0;
  private hits = 0;
  private misses = 0;

  private constructor(
    private readonly handles: readonly [MCapstone.CapstoneHandle, MCapstone.CapstoneHandle, MCapstone.CapstoneHandle],
    private readonly useCache: boolean,
    private readonly maxCacheEntries: number,
  ) {}

  /** Loads Capstone once per process (later calls reuse the module) and opens the A32, T32 and A64 decoders. */
  static async create(options: DisassemblerOptions = {}): Promise<Disassembler> {
    const cs = await loadCapstone();
    // MODE_V8 adds the ARMv8 AArch32 instructions (CRC32, ...) without changing how v7 code decodes.
    const thumbMode = cs.MODE_THUMB | cs.MODE_V8 | (options.mProfile ? cs.MODE_MCLASS : 0);
    const handles = [
      new cs.Capstone(cs.ARCH_ARM, cs.MODE_ARM | cs.MODE_V8),
      new cs.Capstone(cs.ARCH_ARM, thumbMode),
      new cs.Capstone(cs.ARCH_ARM64, cs.MODE_ARM),
    ] as const;
    return new Disassembler(handles, options.cache ?? true, options.maxCacheEntries ?? 200_000);
  }

  /** Frees the decoders. The Disassembler is unusable afterwards. */
  close(): void {
    for (const h of this.handles) h.close();
    this.cache.clear();
  }

  get cacheStats(): DisassemblyCacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.cachedResults };
  }

  /**
   * Decodes the one instruction at the start of `bytes` (extra bytes are ignored; Thumb needs 4 bytes
   * when the first halfword starts a 32-bit instruction). Undefined when the bytes are too short or are
   * no valid instruction. `thumb` is ignored for 'aarch64'.
   * `itState` is the CPU's ITSTATE (ProcessorStatus.itState): inside a Thumb IT block the same bytes mean
   * a conditional, non-flag-setting instruction (`adds r0, #1` is `addeq r0, #1` after `it eq`), which a
   * lone decode cannot know.
   */
  disassemble(arch: Arch, thumb: boolean, bytes: Uint8Array, address: bigint | number, itState = 0): DisassembledInstruction | undefined {
    const mode = arch === 'aarch64' ? DecodeMode.A64 : thumb ? DecodeMode.Thumb : DecodeMode.Arm;
    const size = mode === DecodeMode.Thumb ? instructionLength('arm', true, bytes) : 4;
    if (bytes.length < size) return undefined;
    const word = size === 2
      ? bytes[0] | (bytes[1] << 8)
      : (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
    const at = typeof address === 'bigint' ? address : BigInt(address);
    // Condition of the current IT-block slot (IT[7:4]), or -1 outside an IT block.
    const itCondition = mode === DecodeMode.Thumb && (itState & 0xf) !== 0 ? (itState >>> 4) & 0xf : -1;
    if (!this.useCache) return this.decode(mode, bytes.subarray(0, size), at, itCondition) ?? undefined;

    // mode 0-2, plus 16 Thumb-in-IT-block variants (one per condition): all below 2^53 with the word.
    const key = (itCondition < 0 ? mode : 3 + itCondition) * 0x1_0000_0000 + word;
    const entry = this.cache.get(key);
    if (entry) {
      this.hits++;
      if (!entry.addressDependent) return entry.result ?? undefined;
      let byAddress = entry.byAddress;
      if (!byAddress) entry.byAddress = byAddress = new Map();
      const known = byAddress.get(at);
      if (known !== undefined) return known ?? undefined;
      this.hits--; // the word was known but not at this address: a real decode
      this.misses++;
      const result = this.decode(mode, bytes.subarray(0, size), at, itCondition);
      this.remember(() => byAddress.set(at, result));
      return result ?? undefined;
    }
    this.misses++;
    const instruction = bytes.subarray(0, size);
    const result = this.decode(mode, instruction, at, itCondition);
    // Decode again one page further: a different text means Capstone printed an absolute target
    // (B/BL/CBZ/ADR/ADRP/LDR literal...), so the address must be part of the key.
    const probe = result ? this.decode(mode, instruction, at + ADDRESS_PROBE, itCondition) : null;
    const addressDependent = result !== null && probe !== null && probe.text !== result.text;
    this.remember(() => this.cache.set(key, addressDependent
      ? { result: null, addressDependent, byAddress: new Map([[at, result]]) }
      : { result, addressDependent }));
    return result ?? undefined;
  }

  /**
   * Decodes up to `maxCount` consecutive instructions from `bytes` starting at `address` (for the
   * Disassembly view). Bytes that decode to nothing become one invalid entry of the instruction's size
   * (`.word`/`.short`) and decoding goes on after them. Stops when too few bytes remain. Thumb IT blocks
   * are followed as the CPU does (ITSTATE from the IT instruction, advanced per instruction), so their
   * instructions read as conditional.
   */
  disassembleRange(arch: Arch, thumb: boolean, bytes: Uint8Array, address: bigint | number, maxCount: number): RangeInstruction[] {
    const out: RangeInstruction[] = [];
    const base = typeof address === 'bigint' ? address : BigInt(address);
    let offset = 0;
    let itState = 0;
    while (out.length < maxCount && offset < bytes.length) {
      const rest = bytes.subarray(offset);
      const size = instructionLength(arch, thumb, rest);
      if (rest.length < size) break;
      const at = base + BigInt(offset);
      const instructionBytes = bytes.slice(offset, offset + size);
      const decoded = this.disassemble(arch, thumb, rest, at, itState);
      if (arch === 'arm' && thumb) {
        const halfword = rest[0] | (rest[1] << 8);
        if (itState !== 0) {
          // ITAdvance (ARM ARM A2.5.2): shift the mask, leave the block when it runs out.
          itState = (itState & 0x7) === 0 ? 0 : (itState & 0xe0) | ((itState << 1) & 0x1f);
        } else if (size === 2 && (halfword & 0xff00) === 0xbf00 && (halfword & 0xf) !== 0) {
          itState = halfword & 0xff; // IT firstcond:mask is the initial ITSTATE
        }
      }
      if (decoded) {
        out.push({ ...decoded, address: at, bytes: instructionBytes, valid: true });
      } else {
        const value = size === 2
          ? rest[0] | (rest[1] << 8)
          : (rest[0] | (rest[1] << 8) | (rest[2] << 16) | (rest[3] << 24)) >>> 0;
        const mnemonic = size === 2 ? '.short' : '.word';
        const operands = `0x${value.toString(16).padStart(size * 2, '0')}`;
        out.push({ text: `${mnemonic} ${operands}`, mnemonic, operands, size, address: at, bytes: instructionBytes, valid: false });
      }
      offset += size;
    }
    return out;
  }

  private remember(store: () => void): void {
    if (this.cachedResults >= this.maxCacheEntries) {
      // A boot rarely executes more distinct instruction words than this; when one does, start over
      // rather than track recency on the hot path.
      this.cache.clear();
      this.cachedResults = 0;
    }
    store();
    this.cachedResults++;
  }

  /** One instruction through Capstone; `itCondition` >= 0 decodes it as the single slot of `IT <cond>`. */
  private decode(mode: DecodeMode, instruction: Uint8Array, address: bigint, itCondition = -1): DisassembledInstruction | null {
    let decoded: MCapstone.CapstoneInstruction[];
    try {
      if (itCondition < 0) {
        decoded = this.handles[mode].disasm(instruction, address, 1);
      } else {
        // Capstone keeps IT state only within one call: prefix `IT <cond>` (0xbf00 | cond << 4 | mask
        // 0b1000, ARM ARM A8.8.55) at address - 2 and keep the second instruction.
        const withIt = new Uint8Array(2 + instruction.length);
        withIt[0] = ((itCondition << 4) | 0x8) & 0xff;
        withIt[1] = 0xbf;
        withIt.set(instruction, 2);
        decoded = this.handles[mode].disasm(withIt, address - 2n, 2).slice(1);
      }
    } catch {
      return null; // capstone-js throws a string when nothing decodes
    }
    const first = decoded[0];
    if (!first || first.size !== instruction.length) return null;
    const operands = mode === DecodeMode.A64 ? fixA64NegativeImmediates(first.op_str) : first.op_str;
    return Object.freeze({ text: operands ? `${first.mnemonic} ${operands}` : first.mnemonic, mnemonic: first.mnemonic, operands, size: first.size });
  }
}
