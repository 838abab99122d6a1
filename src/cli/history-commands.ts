// `bootscope state` and `bootscope who-wrote`: the state of a recorded boot at any instruction (registers,
// stage, function, source line, memory with where each byte comes from) and the recorded writes to an
// address, as JSON on stdout. Reads through src/store/history.ts; the rules of "memory at N" live there.
import { existsSync } from 'node:fs';
import { BootscopeError, ErrorCode } from '../common/errors';
import { escapeJsonForTerminal } from '../common/terminal-text';
import { RecordingStore } from '../store/recording-store';
import { RecordingHistory, hexOf, type MemoryRun, type MemoryState, type TraceGap } from '../store/history';
import type { CliIo } from './commands';

/** A memory range asked for with --memory ADDR:LEN. */
export interface MemoryRequest {
  address: bigint;
  length: number;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** `0x41000f40` or `1090522944`; the flag is named in the error. */
export function parseAddress(v: string, flag: string): bigint {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(v.trim())) throw new BootscopeError(ErrorCode.Usage, `${flag}: expected an address like 0x41000f40, got ${JSON.stringify(v)}`);
  const a = BigInt(v.trim());
  if (a >= 1n << 64n) throw new BootscopeError(ErrorCode.Usage, `${flag}: ${v} is beyond the 64-bit address space`);
  return a;
}

/** `ADDR:LEN`, e.g. `0x41000f00:256`. */
export function parseMemoryRequest(v: string): MemoryRequest {
  const m = /^([^:]+):([^:]+)$/.exec(v.trim());
  if (!m) throw new BootscopeError(ErrorCode.Usage, `--memory: expected ADDR:LEN like 0x41000f00:64, got ${JSON.stringify(v)}`);
  const address = parseAddress(m[1], '--memory');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(m[2])) throw new BootscopeError(ErrorCode.Usage, `--memory: length ${JSON.stringify(m[2])} is not a whole number`);
  return { address, length: Number(m[2]) };
}

function openForReading(db: string): RecordingStore {
  if (!existsSync(db)) throw new BootscopeError(ErrorCode.Database, `--db: ${db} does not exist; record one first with \`bootscope record --config FILE --db ${db}\``);
  return RecordingStore.open(db, { readOnly: true });
}

/** One run of bytes in the JSON: absolute address, and its source flattened. */
function runJson(view: MemoryState, run: MemoryRun): Record<string, unknown> {
  const base = { address: hex(view.address + BigInt(run.offset)), offset: run.offset, length: run.length };
  const s = run.source;
  switch (s.kind) {
    case 'write': return { ...base, source: 'write', sequence_number: s.sequenceNumber };
    case 'snapshot': return { ...base, source: 'snapshot', snapshot_id: s.snapshotId, sequence_number: s.sequenceNumber, region: s.region };
    case 'unknown': return { ...base, source: 'unknown', reason: s.reason };
  }
}

/** The bytes as hex in memory order, `??` for each unknown byte. */
export function markedHex(view: MemoryState): string {
  let out = '';
  for (let k = 0; k < view.bytes.length; k++) out += view.known[k] ? view.bytes[k].toString(16).padStart(2, '0') : '??';
  return out;
}

const gapJson = (g: TraceGap): Record<string, unknown> => ({ after_sequence_number: g.afterSequenceNumber, reason: g.reason, instructions_skipped: g.instructionsSkipped });

/**
 * `bootscope state`: JSON with the state before instruction `at` executes: pc, every register (hex), stage,
 * function, exception level, source line, the trace gap it follows if any, and each --memory range.
 */
export function runState(db: string, sessionId: number, at: number, memory: readonly MemoryRequest[], io: CliIo): number {
  const store = openForReading(db);
  try {
    const history = new RecordingHistory(store);
    history.checkInstruction(sessionId, at);
    const step = store.step(sessionId, at);
    if (!step) throw new BootscopeError(ErrorCode.Usage, `instruction ${at} of session ${sessionId} is not in ${db}`);
    const registers: Record<string, string> = {};
    for (const [name, value] of step.registers) registers[name] = hex(value);
    const gaps = history.gapsBetween(sessionId, at - 1, at);
    const out = {
      database: db,
      session: sessionId,
      sequence_number: at,
      instructions: history.instructionRange(sessionId),
      pc: hex(step.pc),
      function_name: step.functionName,
      boot_stage: step.bootStage,
      exception_level: step.exceptionLevel,
      thumb: step.thumb,
      source: step.sourceFile === null ? null : { file: step.sourceFile, line: step.sourceLine },
      disassembly: step.disassembly,
      instruction_bytes: step.bytes ? hexOf(step.bytes) : null,
      registers,
      /** A gap right before this instruction: its state is not the effect of the one before. */
      gap_before: gaps.length ? gapJson(gaps[gaps.length - 1]) : null,
      memory_writes_recorded: history.writesRecorded(sessionId),
      memory: memory.map((m) => {
        const view = history.memoryAt(sessionId, at, m.address, m.length);
        let known = 0;
        for (const k of view.known) known += k;
        return { address: hex(m.address), length: m.length, hex: markedHex(view), known_bytes: known, runs: view.runs.map((r) => runJson(view, r)) };
      }),
    };
    io.out(escapeJsonForTerminal(JSON.stringify(out, null, 2)));
    return 0;
  } finally {
    store.close();
  }
}

/**
 * `bootscope who-wrote`: JSON array of the recorded writes overlapping [address, address + size), newest
 * first, each with pc, function, stage, value and old value (hex bytes in memory order; old_value null when
 * not known). `before`/`after` bound the instructions (exclusive).
 */
export function runWhoWrote(db: string, sessionId: number, address: bigint, size: number, opts: { before?: number; after?: number; limit?: number }, io: CliIo): number {
  const store = openForReading(db);
  try {
    const history = new RecordingHistory(store);
    const { first, last } = history.instructionRange(sessionId);
    if (opts.before !== undefined && (opts.before < first || opts.before > last + 1)) {
      throw new BootscopeError(ErrorCode.Usage, `--before: instruction ${opts.before} is not in session ${sessionId} of ${db}: it has instructions ${first} to ${last} (--before may also be ${last + 1}, the end)`);
    }
    if (opts.after !== undefined && (opts.after < first - 1 || opts.after > last)) {
      throw new BootscopeError(ErrorCode.Usage, `--after: instruction ${opts.after} is not in session ${sessionId} of ${db}: it has instructions ${first} to ${last}`);
    }
    if (!history.writesRecorded(sessionId)) {
      io.err(`bootscope: session ${sessionId} recorded no memory writes (gdbstub capture); record with --capture plugin to see who wrote memory`);
    }
    const rows = history.whoWrote(sessionId, address, size, opts);
    io.out(escapeJsonForTerminal(JSON.stringify(rows, null, 2)));
    return 0;
  } finally {
    store.close();
  }
}
