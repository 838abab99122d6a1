// The `-plugin` argument for libbootscope.so, and record windows resolved from what a user names (a pc, a
// symbol, a stage, an instruction count) to what the plugin understands (pc ranges and counts).
import type { StageRule } from '../../common/config';
import { ConfigError } from '../../common/errors';
import type { ProgramSymbols } from '../../symbols';

/** A pc range [start, end): a single pc is [pc, pc + 1). */
export interface PcRange {
  start: bigint;
  end: bigint;
}

/** When the plugin records: from the first instruction in `startPc` or after `startCount` instructions,
 * until (not including) the first instruction in `stopPc` or number `stopCount` + 1. Outside, it counts. */
export interface RecordWindow {
  startPc?: PcRange;
  startCount?: number;
  stopPc?: PcRange;
  stopCount?: number;
  /** Exit QEMU when the window closes (QEMU's exit handlers run, so the stream gets its END record). */
  exitOnStop?: boolean;
}

export interface PluginArgumentOptions {
  /** Path of libbootscope.so. */
  pluginPath: string;
  /** `fd:N`, `unix:PATH` or a file path (a FIFO works). */
  out: string;
  window?: RecordWindow;
  /** The plugin's output buffer (default 1 MiB). */
  bufferBytes?: number;
  /** Capacity the plugin asks for when `out` is a pipe (default 1 MiB, the usual Linux maximum). */
  pipeBytes?: number;
  /** Registers recorded beside the core set, by QEMU's name (its gdb XML's), e.g. `fpsr`, `fpcr`, `v0`. */
  extraRegisters?: readonly string[];
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

function rangeArgument(r: PcRange): string {
  return r.end === r.start + 1n ? hex(r.start) : `${hex(r.start)}:${hex(r.end)}`;
}

/** `path,out=...,start_pc=...`: the value of QEMU's `-plugin` option. */
export function pluginArgument(o: PluginArgumentOptions): string {
  // QEMU splits -plugin's value at commas and has no escape for them.
  for (const [what, v] of [['plugin path', o.pluginPath], ['out', o.out]] as const) {
    if (v.includes(',')) throw new ConfigError(what, `${JSON.stringify(v)} contains a comma, which QEMU's -plugin option cannot carry: use a path without commas`);
  }
  const parts = [o.pluginPath, `out=${o.out}`];
  const w = o.window ?? {};
  if (w.startPc && w.startCount !== undefined) throw new ConfigError('window', 'give a start pc (symbol, stage) or a start instruction count, not both');
  if (w.startPc) parts.push(`start_pc=${rangeArgument(w.startPc)}`);
  if (w.startCount !== undefined) parts.push(`start_count=${checkCount(w.startCount, 'window.startCount')}`);
  if (w.stopPc) parts.push(`stop_pc=${rangeArgument(w.stopPc)}`);
  if (w.stopCount !== undefined) parts.push(`stop_count=${checkCount(w.stopCount, 'window.stopCount')}`);
  if (w.exitOnStop) parts.push('exit_on_stop=on');
  if (o.bufferBytes !== undefined) parts.push(`buffer=${o.bufferBytes}`);
  if (o.pipeBytes !== undefined) parts.push(`pipe=${o.pipeBytes}`);
  if (o.extraRegisters?.length) {
    const bad = o.extraRegisters.find((r) => !/^[A-Za-z0-9_.]+$/.test(r));
    if (bad !== undefined) throw new ConfigError('extraRegisters', `${JSON.stringify(bad)} is not a register name (letters, digits, _ and . only)`);
    parts.push(`regs_extra=${o.extraRegisters.join(':')}`);
  }
  return parts.join(',');
}

function checkCount(n: number, field: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(field, `${n} is not a whole number of instructions`);
  return n;
}

/** Where a window starts or stops, as a user names it. */
export type WindowPoint =
  | { pc: bigint | number }
  | { symbol: string }
  | { stage: string }
  | { instructions: number };

/**
 * Resolves window points to pc ranges and counts: a symbol to its address (the first instruction of the
 * function), a stage to its pc range (or its symbol's extent), a pc to itself.
 */
export function resolveWindow(
  points: { start?: WindowPoint; stop?: WindowPoint; exitOnStop?: boolean },
  symbols: ProgramSymbols | undefined,
  stages: readonly StageRule[] = [],
): RecordWindow {
  const w: RecordWindow = { exitOnStop: points.exitOnStop };
  const resolve = (p: WindowPoint, field: string): PcRange | number => {
    if ('instructions' in p) return checkCount(p.instructions, field);
    if ('pc' in p) {
      const pc = BigInt(p.pc);
      return { start: pc, end: pc + 1n };
    }
    if ('symbol' in p) return symbolRange(p.symbol, symbols, field, false);
    const stage = stages.find((s) => s.name === p.stage);
    if (!stage) throw new ConfigError(field, `no stage named ${JSON.stringify(p.stage)}; stages are ${stages.map((s) => s.name).join(', ') || '(none configured)'}`);
    if (stage.start !== undefined && stage.end !== undefined) return { start: BigInt(stage.start), end: BigInt(stage.end) };
    return symbolRange(stage.symbol ?? '', symbols, field, true);
  };
  if (points.start) {
    const r = resolve(points.start, 'window.start');
    if (typeof r === 'number') w.startCount = r;
    else w.startPc = r;
  }
  if (points.stop) {
    const r = resolve(points.stop, 'window.stop');
    if (typeof r === 'number') w.stopCount = r;
    else w.stopPc = r;
  }
  return w;
}

function symbolRange(name: string, symbols: ProgramSymbols | undefined, field: string, extent: boolean): PcRange {
  if (!symbols) throw new ConfigError(field, `symbol ${JSON.stringify(name)} needs an ELF with symbols ("elf" in the configuration)`);
  if (extent) {
    const e = symbols.functionExtent(name);
    if (e && e.size > 0n) return { start: e.start, end: e.start + e.size };
  }
  const address = symbols.lookup(name);
  if (address === undefined) throw new ConfigError(field, `no symbol ${JSON.stringify(name)} in the ELF`);
  return { start: address, end: address + 1n };
}
