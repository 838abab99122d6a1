// Boot-stage detection from the program counter (seed 2.3.2). Pure and synchronous: the recorder calls
// `stageAt(pc)` once per instruction, so it is a sorted-interval lookup with a one-entry cache.
//
// Rules, in the order they are applied:
// 1. A stage rule is a PC range [start, end) or a symbol; a symbol rule is the extent of that function in
//    the ELF ("the stage begins when the function first executes").
// 2. Ranges may nest (the seed's own table nests freertos_main inside camkes_init): when several ranges
//    hold the pc, the most specific (smallest) wins; on equal size, the later rule in the table wins.
// 3. A pc that no rule covers (a vector table, a helper in a gap) keeps the current stage: stages are boot
//    phases, not function labels, so an interrupt taken during `scheduler_start` stays in that stage.
//    Before any rule has matched, the stage is `unknown` (the seed's literal for "no information").
import type { StageRule } from '../common/config';
import { ConfigError } from '../common/errors';

export const UNKNOWN_STAGE = 'unknown';

export interface ResolvedStage {
  name: string;
  start: bigint;
  end: bigint;
  /** Index in the configured table (tie-break: later wins). */
  order: number;
  source: 'range' | 'symbol';
}

export interface SymbolResolver {
  /** Start and size of a function by name, or undefined. */
  functionExtent(name: string): { start: bigint; size: bigint } | undefined;
}

export function resolveStageRules(rules: readonly StageRule[], symbols?: SymbolResolver): ResolvedStage[] {
  const out: ResolvedStage[] = [];
  rules.forEach((r, i) => {
    if (r.start !== undefined && r.end !== undefined) {
      out.push({ name: r.name, start: BigInt(r.start), end: BigInt(r.end), order: i, source: 'range' });
    }
    if (r.symbol !== undefined) {
      const ext = symbols?.functionExtent(r.symbol);
      if (!ext) {
        throw new ConfigError(`stages[${i}].symbol`, `function "${r.symbol}" is not in the ELF's symbol table; check the name (nm <elf>) or use "pcRange"`);
      }
      const size = ext.size > 0n ? ext.size : 4n;
      out.push({ name: r.name, start: ext.start, end: ext.start + size, order: i, source: 'symbol' });
    }
  });
  return out;
}

/**
 * The stage lookup. Precomputes, for the sorted set of range boundaries, which stage (if any) is the most
 * specific at each elementary interval, so a lookup is one binary search.
 */
export class StageDetector {
  private readonly bounds: bigint[] = [];
  /** winner[i] applies to [bounds[i], bounds[i+1]); undefined = no rule covers it. */
  private readonly winner: (string | undefined)[] = [];
  private current = UNKNOWN_STAGE;
  private lastLo = 1n;
  private lastHi = 0n;
  private lastName: string | undefined;

  constructor(readonly stages: readonly ResolvedStage[]) {
    const points = new Set<bigint>();
    for (const s of stages) { points.add(s.start); points.add(s.end); }
    this.bounds = [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 0; i + 1 < this.bounds.length; i++) {
      const lo = this.bounds[i];
      let best: ResolvedStage | undefined;
      for (const s of stages) {
        if (s.start <= lo && lo < s.end) {
          const size = s.end - s.start;
          const bestSize = best ? best.end - best.start : 0n;
          if (!best || size < bestSize || (size === bestSize && s.order > best.order)) best = s;
        }
      }
      this.winner.push(best?.name);
    }
  }

  /** The stage whose range holds `pc` (most specific), ignoring stickiness; undefined if none. */
  ruleAt(pc: bigint): string | undefined {
    if (pc >= this.lastLo && pc < this.lastHi) return this.lastName;
    const b = this.bounds;
    let lo = 0;
    let hi = b.length - 1;
    if (hi < 1 || pc < b[0] || pc >= b[hi]) return undefined;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (b[mid] <= pc) lo = mid; else hi = mid;
    }
    this.lastLo = b[lo];
    this.lastHi = b[lo + 1];
    this.lastName = this.winner[lo];
    return this.lastName;
  }

  /** Advances the sticky current stage with the next executed pc and returns it. */
  next(pc: bigint): string {
    const hit = this.ruleAt(pc);
    if (hit !== undefined) this.current = hit;
    return this.current;
  }

  get currentStage(): string {
    return this.current;
  }

  /** Sets the current stage (attach to a running guest, or resuming a replay). */
  reset(stage: string = UNKNOWN_STAGE): void {
    this.current = stage;
  }
}
