// How registers appear in the Variables view: which target.xml features form the core scope and which the
// FP/SIMD scope (read on demand with `p`, never in the hot path), and the status register decoded into
// mode, exception level, Thumb state, condition flags and exception masks (ARM ARM D1.7 / G1.9.3).
import type { Arch } from '../common/config';
import { decodeStatus } from '../arch';
import type { RegisterInfo } from '../rsp/targetXml';

export interface RegisterGroups {
  /** The general-purpose core registers (carried in `g`). */
  core: RegisterInfo[];
  /** VFP / NEON / FPU / SVE registers. */
  fpSimd: RegisterInfo[];
}

const FP_FEATURE = /\.(vfp|fpu|neon|sve|simd)\b|vfp|fpu|neon|sve/i;

export function groupRegisters(layout: { readonly registers: readonly RegisterInfo[] }): RegisterGroups {
  const core: RegisterInfo[] = [];
  const fpSimd: RegisterInfo[] = [];
  const seen = new Set<string>();
  for (const r of layout.registers) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    if (/\.core$/.test(r.feature)) core.push(r);
    else if (FP_FEATURE.test(r.feature)) fpSimd.push(r);
  }
  // A stub without the standard feature names: every register the `g` packet carries counts as core.
  if (core.length === 0) for (const r of layout.registers) if (r.gOffset !== undefined) core.push(r);
  return { core, fpSimd };
}

export function hex(value: bigint, bits?: number): string {
  const digits = bits ? Math.ceil(bits / 4) : 0;
  return `0x${BigInt.asUintN(Math.max(bits ?? 64, 1), value).toString(16).padStart(digits, '0')}`;
}

/** One-line summary of the status register: `0x600001d3 nZCv svc EL1 A32 masked:IF`. */
export function describeStatus(arch: Arch, value: bigint): string {
  const s = decodeStatus(arch, value);
  const f = s.flags;
  const flags = `${f.n ? 'N' : 'n'}${f.z ? 'Z' : 'z'}${f.c ? 'C' : 'c'}${f.v ? 'V' : 'v'}`;
  const state = s.executionState === 'aarch64' ? 'A64' : s.thumb ? 'T32' : 'A32';
  const masks = (['d', 'a', 'i', 'f'] as const).filter((m) => s.masks[m]).map((m) => m.toUpperCase()).join('');
  const el = s.exceptionLevel === undefined ? 'EL?' : `EL${s.exceptionLevel}`;
  return `${hex(value, 32)} ${flags} ${s.mode} ${el} ${state}${masks ? ` masked:${masks}` : ''}`;
}

/** The decoded fields shown as children of the status register. */
export function statusFields(arch: Arch, value: bigint): { name: string; value: string }[] {
  const s = decodeStatus(arch, value);
  const b = (x: boolean): string => (x ? '1' : '0');
  const fields = [
    { name: 'N (negative)', value: b(s.flags.n) },
    { name: 'Z (zero)', value: b(s.flags.z) },
    { name: 'C (carry)', value: b(s.flags.c) },
    { name: 'V (overflow)', value: b(s.flags.v) },
    { name: 'mode', value: String(s.mode) },
    { name: 'exception level', value: s.exceptionLevel === undefined ? 'reserved mode' : `EL${s.exceptionLevel}` },
    { name: 'execution state', value: s.executionState === 'aarch64' ? 'AArch64' : s.thumb ? 'AArch32 Thumb (T=1)' : 'AArch32 ARM (T=0)' },
  ];
  if (s.executionState === 'aarch64') fields.push({ name: 'D (debug masked)', value: b(s.masks.d) });
  fields.push(
    { name: 'A (SError masked)', value: b(s.masks.a) },
    { name: 'I (IRQ masked)', value: b(s.masks.i) },
    { name: 'F (FIQ masked)', value: b(s.masks.f) },
  );
  return fields;
}
