// The recording configuration: one definition read from a `bootscope record --config` file and from a
// launch.json `bootscope` configuration alike. parseRecordingConfig validates raw JSON and names the
// offending attribute in every error (ConfigError.field), so bad input never reaches the engine.
import * as path from 'node:path';
import { ConfigError } from './errors';

export type Arch = 'arm' | 'aarch64';

export interface QemuConfig {
  /** Executable name or path, e.g. `qemu-system-arm`. */
  binary: string;
  machine: string;
  cpu?: string;
  /** `-m` value, e.g. `1024M`. */
  memory?: string;
  /** Absolute path of the `-kernel` image (ELF or raw). */
  kernel?: string;
  bios?: string;
  extraArgs: string[];
}

/** Seed 2.3.2: a stage is a PC range [start, end) or begins when `symbol` first executes. */
export interface StageRule {
  name: string;
  start?: number;
  end?: number;
  symbol?: string;
}

/** Seed 2.3.3: a memory region captured in every snapshot; `pattern` is the painted 32-bit word. */
export interface RegionConfig {
  name: string;
  start: number;
  size: number;
  pattern?: number;
  /** Read through physical addresses (QEMU's PhyMemMode) instead of the current MMU view. */
  physical: boolean;
}

export interface SnapshotPolicy {
  /** Capture every region when the boot stage changes (seed 2.3.3). */
  onStageChange: boolean;
  /** Also capture every N instructions; 0 = never. */
  everyInstructions: number;
  /** Pattern success threshold in percent (the seed uses > 90). */
  threshold: number;
}

/**
 * `interrupts`: single-step with IRQs and timers enabled, so interrupt handlers and task switches are
 * recorded. `noirq`: QEMU's default (SSTEP_NOIRQ|SSTEP_NOTIMER) — steps never enter an interrupt.
 */
export type StepMode = 'interrupts' | 'noirq';

/** How instructions are captured: single-stepping over QEMU's gdbstub, or QEMU's TCG plugin API (QEMU >= 9.2). */
export type CaptureBackend = 'plugin' | 'gdbstub';

/** Where a record window starts or stops (plugin capture): a function, an address, a stage's entry, or an instruction count. */
export type WindowPointConfig = { symbol: string } | { pc: number } | { stage: string } | { instructions: number };

export interface RecordWindowConfig {
  start?: WindowPointConfig;
  stop?: WindowPointConfig;
}

export interface RecordingConfig {
  request: 'launch' | 'attach';
  /** Undefined: plugin capture when the QEMU and the plugin allow it, else the gdbstub (chooseCapture). */
  capture?: CaptureBackend;
  /** Plugin capture only: record from `start` to `stop`; outside, QEMU runs at full speed and only counts. */
  window?: RecordWindowConfig;
  name?: string;
  arch?: Arch;
  qemu?: QemuConfig;
  host: string;
  port?: number;
  elf?: string;
  symbolFiles: string[];
  database: string;
  description?: string;
  record: boolean;
  /** 0 = no limit. */
  maxInstructions: number;
  /** Symbol name or address at which recording stops. */
  stopAt?: string;
  timeLimitSeconds?: number;
  stepMode: StepMode;
  stages: StageRule[];
  regions: RegionConfig[];
  snapshots: SnapshotPolicy;
  stopOnEntry: boolean;
  /** Read guest memory through physical addresses by default. */
  physicalMemory: boolean;
}

export const DEFAULT_DATABASE = 'bootscope.db';
export const DEFAULT_THRESHOLD = 90;

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses `0x41000000`, `1234`, or a JSON number into a non-negative integer. */
export function parseNumber(v: Json, field: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    if (/^0x[0-9a-f]+$/i.test(s) || /^[0-9]+$/.test(s)) {
      const n = Number(s);
      if (Number.isSafeInteger(n)) return n;
    }
  }
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v.trim().replace(/_/g, ''))) {
    // A 64-bit address such as an AArch64 kernel's 0xffff0000_40000000: valid, but beyond what a JSON number holds exactly.
    throw new ConfigError(field, `${v} is above 0x1fffffffffffff, the largest address Bootscope can hold exactly; give a physical address instead (with "physical": true for a region)`);
  }
  throw new ConfigError(field, `expected a non-negative integer such as 4096 or "0x41000000", got ${JSON.stringify(v)}`);
}

function str(o: Record<string, Json>, key: string, field: string, required: true): string;
function str(o: Record<string, Json>, key: string, field: string, required?: false): string | undefined;
function str(o: Record<string, Json>, key: string, field: string, required = false): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new ConfigError(field, 'is required (a string)');
    return undefined;
  }
  if (typeof v !== 'string' || (required && v.trim() === '')) {
    throw new ConfigError(field, `expected a non-empty string, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(o: Record<string, Json>, key: string, field: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(field, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function resolvePath(p: string, baseDir: string): string {
  return path.isAbsolute(p) ? p : path.resolve(baseDir, p);
}

/** Attributes of `qemu`; also what a misplaced top-level `bios` or `kernel` is pointed back to. */
export const QEMU_KEYS = ['binary', 'machine', 'cpu', 'memory', 'kernel', 'bios', 'extraArgs'] as const;
export const STAGE_KEYS = ['name', 'pcRange', 'symbol'] as const;
export const REGION_KEYS = ['name', 'start', 'size', 'pattern', 'physical'] as const;
export const SNAPSHOT_KEYS = ['onStageChange', 'everyInstructions', 'threshold'] as const;
export const WINDOW_KEYS = ['start', 'stop'] as const;
export const WINDOW_POINT_KEYS = ['symbol', 'pc', 'stage', 'instructions'] as const;

const WINDOW_POINT_HELP = 'a function name ("vTaskA"), an address ("0x40003000"), { "stage": "NAME" } or { "instructions": N }';

/** One end of a record window: a string is a symbol or, when it reads as a number, an address. */
function parseWindowPoint(v: Json, field: string, stageNames: ReadonlySet<string>): WindowPointConfig {
  if (typeof v === 'string') {
    if (v.trim() === '') throw new ConfigError(field, `expected ${WINDOW_POINT_HELP}, got ""`);
    return isSymbolName(v) ? { symbol: v.trim() } : { pc: parseNumber(v, field) };
  }
  if (typeof v === 'number') return { pc: parseNumber(v, field) };
  if (!isObject(v)) throw new ConfigError(field, `expected ${WINDOW_POINT_HELP}, got ${JSON.stringify(v)}`);
  rejectUnknownKeys(v, WINDOW_POINT_KEYS, field);
  const keys = Object.keys(v);
  if (keys.length !== 1) throw new ConfigError(field, `give exactly one of ${WINDOW_POINT_KEYS.join(', ')}, got ${keys.length === 0 ? 'none' : keys.join(' and ')}`);
  if (v.stage !== undefined) {
    const stage = str(v, 'stage', `${field}.stage`, true);
    if (!stageNames.has(stage)) throw new ConfigError(`${field}.stage`, `no stage named "${stage}" in "stages"; configured stages: ${[...stageNames].join(', ') || '(none)'}`);
    return { stage };
  }
  if (v.instructions !== undefined) return { instructions: parseNumber(v.instructions, `${field}.instructions`) };
  if (v.symbol !== undefined) return { symbol: str(v, 'symbol', `${field}.symbol`, true) };
  return { pc: parseNumber(v.pc, `${field}.pc`) };
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean". */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known key closest to `key` (case-insensitively), if it is a plausible typo of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = editDistance(key.toLowerCase(), k.toLowerCase());
    if (dist < bestDistance) { best = k; bestDistance = dist; }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Rejects keys of `o` outside `known`, naming the path (`regions[1].patern`), a likely fix and the known keys. */
function rejectUnknownKeys(o: Record<string, Json>, known: readonly string[], prefix: string): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const guess = closestKey(k, known);
    throw new ConfigError(`${prefix}.${k}`, `unknown attribute${guess ? ` (did you mean "${guess}"?)` : ''}; known attributes of ${prefix} are ${known.join(', ')}`);
  }
}

/** True when QEMU arguments load guest code themselves, so neither qemu.kernel nor qemu.bios is needed. */
export function extraArgsLoadCode(args: readonly string[]): boolean {
  return args.some((a, i) => {
    const next = args[i + 1] ?? '';
    if (a === '-kernel' || a === '-bios' || a === '-pflash') return true;
    if (a === '-device') return /^loader(,|$)/.test(next);
    if (a === '-drive') return /(^|,)if=pflash(,|$)/.test(next);
    return false;
  });
}

/** True when a stopAt value names a symbol rather than an address. */
export function isSymbolName(spec: string): boolean {
  return !/^(0x[0-9a-f]+|[0-9]+)$/i.test(spec.trim());
}

const hexOf = (n: number | bigint): string => `0x${n.toString(16)}`;

/**
 * Regions must fit the guest's address space and not overlap one another (within the same view:
 * physical or virtual). Arch `undefined` checks only what holds for any architecture; the session checks
 * again once the gdbstub has said which one it is.
 */
export function checkRegionLayout(regions: readonly RegionConfig[], arch: Arch | undefined): void {
  const top = arch === 'arm' ? 2n ** 32n : 2n ** 64n;
  regions.forEach((r, i) => {
    const end = BigInt(r.start) + BigInt(r.size);
    if (end > top) {
      throw new ConfigError(`regions[${i}]`, `"${r.name}" [${hexOf(r.start)}, ${hexOf(end)}) runs past the top of the ${arch === 'arm' ? '32' : '64'}-bit address space (last address ${hexOf(top - 1n)}); lower "start" or "size"`);
    }
  });
  const order = regions.map((r, i) => ({ r, i })).sort((a, b) => a.r.start - b.r.start || a.i - b.i);
  for (let x = 0; x < order.length; x++) {
    for (let y = x + 1; y < order.length && order[y].r.start < order[x].r.start + order[x].r.size; y++) {
      const [a, b] = [order[x], order[y]];
      if (a.r.physical !== b.r.physical) continue; // different views of memory
      const [first, second] = a.i < b.i ? [a, b] : [b, a];
      throw new ConfigError(`regions[${second.i}]`, `"${second.r.name}" [${hexOf(second.r.start)}, ${hexOf(second.r.start + second.r.size)}) overlaps regions[${first.i}] "${first.r.name}" [${hexOf(first.r.start)}, ${hexOf(first.r.start + first.r.size)}); regions must not overlap: shrink one, or merge them into one region`);
    }
  }
}

const KNOWN_KEYS = new Set([
  'type', 'request', 'name', 'arch', 'qemu', 'host', 'port', 'elf', 'symbolFiles', 'database', 'description',
  'record', 'maxInstructions', 'stopAt', 'timeLimitSeconds', 'stepMode', 'stages', 'regions', 'snapshots',
  'stopOnEntry', 'physicalMemory', 'capture', 'window', 'cwd', 'preLaunchTask', 'postDebugTask', 'internalConsoleOptions',
  'debugServer', '__configurationTarget', '__sessionId', 'presentation', 'noDebug', '$schema',
]);

/**
 * Validates a raw configuration. Relative paths resolve against `baseDir` (the config file's folder,
 * or the workspace folder for launch.json).
 */
export function parseRecordingConfig(raw: Json, baseDir: string): RecordingConfig {
  if (!isObject(raw)) throw new ConfigError('(root)', 'expected a JSON object with the recording configuration');
  for (const k of Object.keys(raw)) {
    if (KNOWN_KEYS.has(k)) continue;
    if ((QEMU_KEYS as readonly string[]).includes(k)) {
      throw new ConfigError(k, `belongs inside "qemu": write "qemu": { "${k}": ${JSON.stringify(raw[k])}, ... } (qemu.${k})`);
    }
    const known = [...KNOWN_KEYS].filter((x) => !x.startsWith('_') && x !== '$schema').slice(0, 21);
    const guess = closestKey(k, known);
    throw new ConfigError(k, `unknown attribute${guess ? ` (did you mean "${guess}"?)` : ''}; known attributes are ${known.join(', ')}`);
  }
  const request = raw.request ?? (raw.qemu !== undefined ? 'launch' : raw.port !== undefined ? 'attach' : 'launch');
  if (request !== 'launch' && request !== 'attach') {
    throw new ConfigError('request', `expected "launch" or "attach", got ${JSON.stringify(request)}`);
  }
  const arch = raw.arch;
  if (arch !== undefined && arch !== 'arm' && arch !== 'aarch64') {
    throw new ConfigError('arch', `expected "arm" or "aarch64", got ${JSON.stringify(arch)}`);
  }

  let qemu: QemuConfig | undefined;
  if (request === 'launch') {
    if (!isObject(raw.qemu)) {
      throw new ConfigError('qemu', 'is required for "launch": an object with binary, machine, cpu, memory, and what to run: '
        + 'kernel (an ELF or raw image, loaded with -kernel) or bios (a firmware image run from the reset vector, -bios), '
        + 'e.g. "qemu": { "binary": "qemu-system-arm", "machine": "virt", "cpu": "cortex-a15", "bios": "firmware.bin" }');
    }
    const q = raw.qemu;
    rejectUnknownKeys(q, QEMU_KEYS, 'qemu');
    const extra = q.extraArgs ?? [];
    if (!Array.isArray(extra) || !extra.every((a) => typeof a === 'string')) {
      throw new ConfigError('qemu.extraArgs', 'expected an array of strings, e.g. ["-smp", "1"]');
    }
    const kernel = str(q, 'kernel', 'qemu.kernel');
    const bios = str(q, 'bios', 'qemu.bios');
    qemu = {
      binary: str(q, 'binary', 'qemu.binary') ?? (arch === 'aarch64' ? 'qemu-system-aarch64' : 'qemu-system-arm'),
      machine: str(q, 'machine', 'qemu.machine') ?? 'virt',
      cpu: str(q, 'cpu', 'qemu.cpu'),
      memory: str(q, 'memory', 'qemu.memory'),
      kernel: kernel === undefined ? undefined : resolvePath(kernel, baseDir),
      bios: bios === undefined ? undefined : resolvePath(bios, baseDir),
      extraArgs: extra as string[],
    };
  }
  let port: number | undefined;
  if (raw.port !== undefined) {
    port = parseNumber(raw.port, 'port');
    if (port < 1 || port > 65535) throw new ConfigError('port', `expected a TCP port 1..65535, got ${port}`);
  } else if (request === 'attach') {
    throw new ConfigError('port', 'is required for "attach": the gdbstub port QEMU listens on (-gdb tcp:127.0.0.1:PORT)');
  }

  const elf = str(raw, 'elf', 'elf');
  const symbolFiles = raw.symbolFiles ?? [];
  if (!Array.isArray(symbolFiles) || !symbolFiles.every((s) => typeof s === 'string')) {
    throw new ConfigError('symbolFiles', 'expected an array of ELF paths');
  }

  const stagesRaw = raw.stages ?? [];
  if (!Array.isArray(stagesRaw)) throw new ConfigError('stages', 'expected an array of {name, pcRange:[start,end]} or {name, symbol}');
  const stages: StageRule[] = stagesRaw.map((s, i) => {
    const f = `stages[${i}]`;
    if (!isObject(s)) throw new ConfigError(f, 'expected an object {name, pcRange:[start,end]} or {name, symbol}');
    rejectUnknownKeys(s, STAGE_KEYS, f);
    const name = str(s, 'name', `${f}.name`, true);
    const rule: StageRule = { name };
    if (s.pcRange !== undefined) {
      if (!Array.isArray(s.pcRange) || s.pcRange.length !== 2) {
        throw new ConfigError(`${f}.pcRange`, 'expected [start, end], e.g. ["0x60000000", "0x61000000"]');
      }
      rule.start = parseNumber(s.pcRange[0], `${f}.pcRange[0]`);
      rule.end = parseNumber(s.pcRange[1], `${f}.pcRange[1]`);
      if (rule.end <= rule.start) throw new ConfigError(`${f}.pcRange`, `end 0x${rule.end.toString(16)} must be above start 0x${rule.start.toString(16)}`);
    }
    if (s.symbol !== undefined) rule.symbol = str(s, 'symbol', `${f}.symbol`, true);
    if (rule.start === undefined && rule.symbol === undefined) {
      throw new ConfigError(f, 'needs "pcRange": [start, end] or "symbol": "function_name"');
    }
    return rule;
  });
  const seen = new Set<string>();
  stages.forEach((s, i) => {
    if (seen.has(s.name)) throw new ConfigError(`stages[${i}].name`, `"${s.name}" is used twice; stage names must be unique`);
    seen.add(s.name);
  });

  const regionsRaw = raw.regions ?? [];
  if (!Array.isArray(regionsRaw)) throw new ConfigError('regions', 'expected an array of {name, start, size, pattern?}');
  const regions: RegionConfig[] = regionsRaw.map((r, i) => {
    const f = `regions[${i}]`;
    if (!isObject(r)) throw new ConfigError(f, 'expected an object {name, start, size, pattern?}');
    rejectUnknownKeys(r, REGION_KEYS, f);
    const size = parseNumber(r.size, `${f}.size`);
    if (size === 0 || size > 64 * 1024 * 1024) throw new ConfigError(`${f}.size`, `expected 1 byte to 64 MiB, got ${size}`);
    const pattern = r.pattern === undefined || r.pattern === null ? undefined : parseNumber(r.pattern, `${f}.pattern`);
    if (pattern !== undefined && pattern > 0xffffffff) throw new ConfigError(`${f}.pattern`, 'expected a 32-bit word such as "0xDEADBEEF"');
    return {
      name: str(r, 'name', `${f}.name`, true),
      start: parseNumber(r.start, `${f}.start`),
      size,
      pattern,
      physical: bool(r, 'physical', `${f}.physical`, false),
    };
  });
  const regionNames = new Set<string>();
  regions.forEach((r, i) => {
    if (regionNames.has(r.name)) throw new ConfigError(`regions[${i}].name`, `"${r.name}" is used twice; region names must be unique`);
    regionNames.add(r.name);
  });

  const snapRaw = raw.snapshots ?? {};
  if (!isObject(snapRaw)) throw new ConfigError('snapshots', 'expected an object {onStageChange, everyInstructions, threshold}');
  rejectUnknownKeys(snapRaw, SNAPSHOT_KEYS, 'snapshots');
  const threshold = snapRaw.threshold === undefined ? DEFAULT_THRESHOLD : Number(snapRaw.threshold);
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 100) {
    throw new ConfigError('snapshots.threshold', `expected a percentage 0..100, got ${JSON.stringify(snapRaw.threshold)}`);
  }
  const snapshots: SnapshotPolicy = {
    onStageChange: bool(snapRaw, 'onStageChange', 'snapshots.onStageChange', true),
    everyInstructions: snapRaw.everyInstructions === undefined ? 0 : parseNumber(snapRaw.everyInstructions, 'snapshots.everyInstructions'),
    threshold,
  };

  const stepMode = raw.stepMode ?? 'interrupts';
  if (stepMode !== 'interrupts' && stepMode !== 'noirq') {
    throw new ConfigError('stepMode', `expected "interrupts" (record IRQ handlers and task switches) or "noirq" (QEMU's default), got ${JSON.stringify(stepMode)}`);
  }
  let timeLimitSeconds: number | undefined;
  if (raw.timeLimitSeconds !== undefined) {
    timeLimitSeconds = Number(raw.timeLimitSeconds);
    if (!Number.isFinite(timeLimitSeconds) || timeLimitSeconds <= 0) {
      throw new ConfigError('timeLimitSeconds', `expected a positive number of seconds, got ${JSON.stringify(raw.timeLimitSeconds)}`);
    }
  }
  const stopAtRaw = raw.stopAt;
  let stopAt: string | undefined;
  if (stopAtRaw !== undefined) {
    if (typeof stopAtRaw === 'number') stopAt = `0x${parseNumber(stopAtRaw, 'stopAt').toString(16)}`;
    else stopAt = str(raw, 'stopAt', 'stopAt', true);
  }

  // Symbol names resolve only through an ELF's symbol table: without one, say so now rather than after
  // QEMU started (a -bios firmware recorded without an ELF can still stop and stage by address).
  const symbolSources = elf !== undefined || symbolFiles.length > 0;
  const needsElf = (field: string, name: string, instead: string): ConfigError => new ConfigError(field,
    `"${name}" is a symbol name, and symbol names need an ELF with symbols: set "elf" to the linked image (or list it in "symbolFiles"), or ${instead}`);
  if (stopAt !== undefined && isSymbolName(stopAt) && !symbolSources) throw needsElf('stopAt', stopAt, 'give an address such as "0x40003000"');
  stages.forEach((s, i) => {
    if (s.symbol !== undefined && !symbolSources) throw needsElf(`stages[${i}].symbol`, s.symbol, 'use "pcRange": [start, end] instead');
  });
  checkRegionLayout(regions, arch as Arch | undefined ?? archOfBinary(qemu?.binary));
  // Checked last, so a malformed attribute is reported first. Without code loaded, the CPU would fetch
  // zeros from address 0 and the "recording" would be of nothing.
  if (qemu && qemu.kernel === undefined && qemu.bios === undefined && !extraArgsLoadCode(qemu.extraArgs)) {
    throw new ConfigError('qemu', 'has neither qemu.kernel nor qemu.bios, so QEMU would run empty memory from address 0 and record '
      + 'nothing of your guest; set qemu.kernel (an ELF or raw image, -kernel) or qemu.bios (a firmware image, -bios), '
      + 'or load code with qemu.extraArgs (-device loader,..., -pflash FILE, -drive if=pflash,...)');
  }

  const captureRaw = raw.capture;
  if (captureRaw !== undefined && captureRaw !== 'plugin' && captureRaw !== 'gdbstub') {
    throw new ConfigError('capture', `expected "plugin" (QEMU's TCG plugin, QEMU >= 9.2) or "gdbstub" (single-stepping), got ${JSON.stringify(captureRaw)}`);
  }
  const capture = captureRaw as CaptureBackend | undefined;
  if (capture === 'plugin' && request === 'attach') {
    throw new ConfigError('capture', '"plugin" needs a QEMU that Bootscope launches with the plugin loaded ("request": "launch"); an attached QEMU can only be recorded with "gdbstub"');
  }
  let window: RecordWindowConfig | undefined;
  if (raw.window !== undefined) {
    if (!isObject(raw.window)) throw new ConfigError('window', `expected { "start": ..., "stop": ... }, each ${WINDOW_POINT_HELP}`);
    if (capture === 'gdbstub') throw new ConfigError('window', 'record windows need "capture": "plugin" (the gdbstub stepper records every instruction it steps); remove "window" or set "capture": "plugin"');
    if (request === 'attach') throw new ConfigError('window', 'record windows need plugin capture, which needs "request": "launch"');
    rejectUnknownKeys(raw.window, WINDOW_KEYS, 'window');
    const names = new Set(stages.map((st) => st.name));
    window = {};
    if (raw.window.start !== undefined) window.start = parseWindowPoint(raw.window.start, 'window.start', names);
    if (raw.window.stop !== undefined) window.stop = parseWindowPoint(raw.window.stop, 'window.stop', names);
    for (const end of ['start', 'stop'] as const) {
      const pt = window[end];
      if (pt && 'symbol' in pt && !symbolSources) throw needsElf(`window.${end}`, pt.symbol, 'give an address such as "0x40003000"');
    }
    if (window.stop && stopAt !== undefined) throw new ConfigError('window.stop', `and "stopAt" both say where recording ends; keep one (stopAt "${stopAt}" is the same as "window": { "stop": "${stopAt}" })`);
  }

  return {
    request,
    capture,
    window,
    name: str(raw, 'name', 'name'),
    arch: arch as Arch | undefined,
    qemu,
    host: str(raw, 'host', 'host') ?? '127.0.0.1',
    port,
    elf: elf === undefined ? undefined : resolvePath(elf, baseDir),
    symbolFiles: (symbolFiles as string[]).map((s) => resolvePath(s, baseDir)),
    database: resolvePath(str(raw, 'database', 'database') ?? DEFAULT_DATABASE, baseDir),
    description: str(raw, 'description', 'description'),
    record: bool(raw, 'record', 'record', true),
    maxInstructions: raw.maxInstructions === undefined ? 0 : parseNumber(raw.maxInstructions, 'maxInstructions'),
    stopAt,
    timeLimitSeconds,
    stepMode,
    stages,
    regions,
    snapshots,
    stopOnEntry: bool(raw, 'stopOnEntry', 'stopOnEntry', false),
    physicalMemory: bool(raw, 'physicalMemory', 'physicalMemory', false),
  };
}

function archOfBinary(binary: string | undefined): Arch | undefined {
  const bin = binary ? path.basename(binary) : '';
  if (bin.includes('aarch64')) return 'aarch64';
  if (bin.includes('-arm')) return 'arm';
  return undefined;
}

/** Guesses the architecture from the QEMU binary name when `arch` is not given. */
export function archOf(cfg: RecordingConfig): Arch | undefined {
  return cfg.arch ?? archOfBinary(cfg.qemu?.binary);
}
