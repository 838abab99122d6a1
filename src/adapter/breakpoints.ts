// The adapter's breakpoints: source lines (DWARF line table), function names (ELF symbols), instruction
// addresses (Disassembly view) and data breakpoints (watchpoints, Z2/Z3/Z4). Resolves each to addresses
// and reports verified/unverified honestly, with a message saying why a breakpoint cannot bind.
// No DAP transport here: the session turns these records into DAP Breakpoint objects.
import type { ProgramSymbols } from '../symbols';

/** How far below a line without code we look for the next line that has some (gdb does the same). */
const LINE_SEARCH_WINDOW = 20;

export interface CodeBreakpoint {
  id: number;
  verified: boolean;
  message?: string;
  /** Where it binds (empty when unverified). */
  addresses: bigint[];
  /** Source breakpoints: the requested line, moved to the first line with code. */
  source?: { path: string; line: number };
  instructionReference?: string;
  functionName?: string;
  /** Hit condition as DAP gives it: `N` (stop on the N-th hit), `>N`, `%N`. */
  hitCondition?: string;
  hits: number;
}

export type WatchAccess = 'write' | 'read' | 'readWrite';

export interface DataBreakpoint {
  id: number;
  address: bigint;
  size: number;
  access: WatchAccess;
  verified: boolean;
  message?: string;
}

/** Z2 write, Z3 read, Z4 access (GDB RSP "insert watchpoint"). */
export function watchpointType(access: WatchAccess): 2 | 3 | 4 {
  return access === 'write' ? 2 : access === 'read' ? 3 : 4;
}

/** `0x40000100`, `0x40000100+8` → address, or undefined when the text is not an address. */
export function parseAddress(text: string): bigint | undefined {
  const m = /^\s*(0x[0-9a-f]+|[0-9]+)\s*(?:([+-])\s*(0x[0-9a-f]+|[0-9]+))?\s*$/i.exec(text);
  if (!m) return undefined;
  const base = BigInt(m[1]);
  if (!m[2]) return base;
  const off = BigInt(m[3]);
  return m[2] === '+' ? base + off : base - off;
}

/** The `dataId` of a data breakpoint (dataBreakpointInfo → setDataBreakpoints): `0xADDRESS/size`. */
export function formatDataId(address: bigint, size: number): string {
  return `0x${address.toString(16)}/${size}`;
}

export function parseDataId(dataId: string): { address: bigint; size: number } | undefined {
  const m = /^(0x[0-9a-f]+)\/([0-9]+)$/i.exec(dataId);
  return m ? { address: BigInt(m[1]), size: Number(m[2]) } : undefined;
}

export class BreakpointTable {
  private nextId = 1;
  private readonly bySource = new Map<string, CodeBreakpoint[]>();
  private functions: CodeBreakpoint[] = [];
  private instructions: CodeBreakpoint[] = [];
  private dataBreakpoints: DataBreakpoint[] = [];

  constructor(private readonly symbols: ProgramSymbols | undefined) {}

  /** Replaces the breakpoints of one source file (DAP setBreakpoints semantics). */
  setSourceBreakpoints(path: string, lines: { line: number; hitCondition?: string }[]): CodeBreakpoint[] {
    const list = lines.map((req) => {
      const bp: CodeBreakpoint = { id: this.nextId++, verified: false, addresses: [], source: { path, line: req.line }, hitCondition: req.hitCondition, hits: 0 };
      if (!this.symbols) {
        bp.message = 'no ELF with DWARF line information is loaded: set "elf" in the launch configuration';
        return bp;
      }
      for (let line = req.line; line < req.line + LINE_SEARCH_WINDOW; line++) {
        const addresses = this.symbols.breakpointAddressesFor(path, line);
        if (addresses.length) {
          bp.verified = true;
          bp.addresses = addresses;
          bp.source = { path, line };
          return bp;
        }
      }
      bp.message = this.symbols.files.length === 0
        ? 'the ELF has no DWARF line table: build the guest with -g'
        : `no code for ${path}:${req.line} (or the ${LINE_SEARCH_WINDOW - 1} lines below it) in the DWARF line table`;
      return bp;
    });
    if (list.length) this.bySource.set(path, list); else this.bySource.delete(path);
    return list;
  }

  setFunctionBreakpoints(names: { name: string; hitCondition?: string }[]): CodeBreakpoint[] {
    this.functions = names.map((req) => {
      const bp: CodeBreakpoint = { id: this.nextId++, verified: false, addresses: [], functionName: req.name, hitCondition: req.hitCondition, hits: 0 };
      const address = parseAddress(req.name) ?? this.symbols?.lookup(req.name.trim());
      if (address === undefined) {
        bp.message = this.symbols
          ? `"${req.name}" is not a symbol in the loaded ELF; use a function name from nm or an address such as 0x40000100`
          : 'no ELF is loaded: set "elf" in the launch configuration, or give an address such as 0x40000100';
        return bp;
      }
      bp.verified = true;
      bp.addresses = [address];
      const line = this.symbols?.lineAt(address);
      if (line) bp.source = { path: line.file, line: line.line };
      return bp;
    });
    return this.functions;
  }

  /** Disassembly-view breakpoints: `instructionReference` (our `0x...` memory references) + byte offset. */
  setInstructionBreakpoints(refs: { instructionReference: string; offset?: number; hitCondition?: string }[]): CodeBreakpoint[] {
    this.instructions = refs.map((req) => {
      const bp: CodeBreakpoint = { id: this.nextId++, verified: false, addresses: [], instructionReference: req.instructionReference, hitCondition: req.hitCondition, hits: 0 };
      const base = parseAddress(req.instructionReference);
      if (base === undefined) {
        bp.message = `instruction reference ${JSON.stringify(req.instructionReference)} is not an address`;
        return bp;
      }
      const address = base + BigInt(req.offset ?? 0);
      bp.verified = true;
      bp.addresses = [address];
      bp.instructionReference = `0x${address.toString(16)}`;
      return bp;
    });
    return this.instructions;
  }

  setDataBreakpoints(list: DataBreakpoint[]): void {
    this.dataBreakpoints = list;
  }

  newDataBreakpointId(): number {
    return this.nextId++;
  }

  get data(): readonly DataBreakpoint[] {
    return this.dataBreakpoints;
  }

  private all(): CodeBreakpoint[] {
    return [...[...this.bySource.values()].flat(), ...this.functions, ...this.instructions];
  }

  /** Every address a verified code breakpoint binds to. */
  addresses(): Set<bigint> {
    const out = new Set<bigint>();
    for (const bp of this.all()) if (bp.verified) for (const a of bp.addresses) out.add(a);
    return out;
  }

  /**
   * Counts a hit at `pc` on every breakpoint bound there and returns the ids that should stop (hit
   * conditions: `N` / `>=N` stop from the N-th hit on, `>N` after it, `%N` every N-th). An empty
   * array means: bound here but no condition is met, keep going.
   */
  hitAt(pc: bigint): { bound: boolean; stopIds: number[] } {
    let bound = false;
    const stopIds: number[] = [];
    for (const bp of this.all()) {
      if (!bp.verified || !bp.addresses.includes(pc)) continue;
      bound = true;
      bp.hits += 1;
      if (hitConditionMet(bp.hitCondition, bp.hits)) stopIds.push(bp.id);
    }
    return { bound, stopIds };
  }

  /** Data breakpoint ids covering `address` (the stop reply's `watch:ADDR`). */
  dataHitAt(address: bigint): number[] {
    return this.dataBreakpoints.filter((d) => d.verified && address >= d.address && address < d.address + BigInt(d.size)).map((d) => d.id);
  }
}

export function hitConditionMet(condition: string | undefined, hits: number): boolean {
  const c = condition?.trim();
  if (!c) return true;
  const m = /^(>=|>|%|==)?\s*(\d+)$/.exec(c);
  if (!m) return true;
  const n = Number(m[2]);
  switch (m[1]) {
    case '>': return hits > n;
    case '%': return n > 0 && hits % n === 0;
    case '==': return hits === n;
    default: return hits >= n;
  }
}
