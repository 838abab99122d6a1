#!/usr/bin/env node
// `bootscope` — the headless CLI: record a boot into a SQLite file, then report, export and query it.
// Same engine as the debug adapter (src/recorder), no vscode. Exit codes are distinct per failure kind so
// scripts can tell a usage mistake from a QEMU or database problem (see EXIT below and README).
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';
import { RecordingSession, statusFor } from '../recorder/session';
import type { CaptureBackend } from '../common/config';
import { runRecord, runReport, runExport, runQuery, runSessions, runDemo, type CliIo } from './commands';
import { escapeForTerminal } from '../common/terminal-text';
import { loadConfigFile } from './config-file';
import { parseAddress, parseMemoryRequest, runState, runWhoWrote } from './history-commands';
import { reexecOnSupportedNode } from './node-version';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  qemu: 3,
  database: 4,
  cancelled: 130,
} as const;

export function exitCodeFor(e: unknown): number {
  if (e instanceof BootscopeError) {
    switch (e.code) {
      case ErrorCode.Usage:
      case ErrorCode.Config:
        return EXIT.usage;
      case ErrorCode.Qemu:
      case ErrorCode.Connection:
      case ErrorCode.Target:
        return EXIT.qemu;
      case ErrorCode.Database:
        return EXIT.database;
      case ErrorCode.Cancelled:
        return EXIT.cancelled;
      default:
        return EXIT.failure;
    }
  }
  return EXIT.failure;
}

const USAGE = `Usage:
  bootscope demo    [--arch arm|aarch64|both] [--corrupted] [--out-dir DIR] [--capture plugin|gdbstub]
  bootscope record  --config FILE [--db FILE] [--max-instructions N] [--description TEXT] [--report FILE.html]
                    [--capture plugin|gdbstub]
  bootscope report  --db FILE [--session N] --out FILE.html
  bootscope export  --db FILE --table NAME [--session N] --out FILE.csv
  bootscope query   --db FILE "SQL" [--format table|csv|json]   (read-only)
  bootscope sessions --db FILE
  bootscope state   --db FILE --session N --at SEQ [--memory ADDR:LEN ...]   (JSON: registers, memory before SEQ)
  bootscope who-wrote --db FILE --session N --address ADDR [--size S] [--before SEQ] [--after SEQ] [--limit N]

Exit codes: 0 ok, 1 other failure, 2 bad arguments or configuration, 3 QEMU or gdbstub failure,
4 database failure, 130 cancelled (Ctrl-C).`;

export function usageError(message: string): BootscopeError {
  return new BootscopeError(ErrorCode.Usage, `${message}\n\n${USAGE}`);
}

type Options = NonNullable<ParseArgsConfig['options']>;

function parse(args: string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw usageError(errorMessage(e));
  }
}

export function parsePositiveInt(v: string | boolean | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) throw usageError(`${flag}: expected a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function parseCapture(v: string | boolean | undefined): CaptureBackend | undefined {
  if (v === undefined) return undefined;
  if (v !== 'plugin' && v !== 'gdbstub') throw usageError(`--capture: expected plugin or gdbstub, got ${JSON.stringify(v)}`);
  return v;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'record': {
        const { values } = parse(rest, {
          config: { type: 'string' }, db: { type: 'string' }, 'max-instructions': { type: 'string' },
          description: { type: 'string' }, report: { type: 'string' }, capture: { type: 'string' },
        });
        if (values.help) { io.out(USAGE); return EXIT.ok; }
        if (typeof values.config !== 'string') throw usageError('record: --config FILE is required');
        const cfg = loadConfigFile(values.config);
        if (typeof values.db === 'string') cfg.database = path.resolve(values.db);
        const max = parsePositiveInt(values['max-instructions'], '--max-instructions');
        if (max !== undefined) cfg.maxInstructions = max;
        if (typeof values.description === 'string') cfg.description = values.description;
        mkdirSync(path.dirname(cfg.database), { recursive: true });
        return await runRecord(cfg, { report: typeof values.report === 'string' ? path.resolve(values.report) : undefined, capture: parseCapture(values.capture) }, io);
      }
      case 'demo': {
        const { values } = parse(rest, { arch: { type: 'string' }, corrupted: { type: 'boolean' }, 'out-dir': { type: 'string' }, 'max-instructions': { type: 'string' }, capture: { type: 'string' } });
        if (values.help) { io.out(USAGE); return EXIT.ok; }
        const arch = (values.arch as string | undefined) ?? 'both';
        if (!['arm', 'aarch64', 'both'].includes(arch)) throw usageError(`--arch: expected arm, aarch64 or both, got ${JSON.stringify(arch)}`);
        return await runDemo({
          arch: arch as 'arm' | 'aarch64' | 'both',
          corrupted: values.corrupted === true,
          outDir: path.resolve((values['out-dir'] as string | undefined) ?? 'recordings'),
          maxInstructions: parsePositiveInt(values['max-instructions'], '--max-instructions'),
          capture: parseCapture(values.capture),
        }, io);
      }
      case 'report': {
        const { values } = parse(rest, { db: { type: 'string' }, session: { type: 'string' }, out: { type: 'string' } });
        if (typeof values.db !== 'string') throw usageError('report: --db FILE is required');
        if (typeof values.out !== 'string') throw usageError('report: --out FILE.html is required');
        return runReport(values.db, parsePositiveInt(values.session, '--session'), values.out, io);
      }
      case 'export': {
        const { values } = parse(rest, { db: { type: 'string' }, table: { type: 'string' }, session: { type: 'string' }, out: { type: 'string' } });
        if (typeof values.db !== 'string') throw usageError('export: --db FILE is required');
        if (typeof values.table !== 'string') throw usageError('export: --table NAME is required (instruction_traces, memory_snapshots, memory_regions, boot_sessions, boot_stages, metrics)');
        if (typeof values.out !== 'string') throw usageError('export: --out FILE.csv is required');
        return await runExport(values.db, values.table, parsePositiveInt(values.session, '--session'), values.out, io);
      }
      case 'query': {
        const { values, positionals } = parse(rest, { db: { type: 'string' }, format: { type: 'string' } });
        if (typeof values.db !== 'string') throw usageError('query: --db FILE is required');
        if (positionals.length !== 1) throw usageError('query: give exactly one SQL statement in quotes');
        const format = (values.format as string | undefined) ?? 'table';
        if (!['table', 'csv', 'json'].includes(format)) throw usageError(`--format: expected table, csv or json, got ${JSON.stringify(format)}`);
        return await runQuery(values.db, positionals[0], format as 'table' | 'csv' | 'json', io);
      }
      case 'sessions': {
        const { values } = parse(rest, { db: { type: 'string' } });
        if (typeof values.db !== 'string') throw usageError('sessions: --db FILE is required');
        return runSessions(values.db, io);
      }
      case 'state': {
        const { values } = parse(rest, { db: { type: 'string' }, session: { type: 'string' }, at: { type: 'string' }, memory: { type: 'string', multiple: true } });
        if (typeof values.db !== 'string') throw usageError('state: --db FILE is required');
        const session = parsePositiveInt(values.session, '--session');
        const at = parsePositiveInt(values.at, '--at');
        if (session === undefined) throw usageError('state: --session N is required');
        if (at === undefined) throw usageError('state: --at SEQ (an instruction\'s sequence_number) is required');
        const memory = ((values.memory as unknown as string[] | undefined) ?? []).map(parseMemoryRequest);
        return runState(values.db, session, at, memory, io);
      }
      case 'who-wrote': {
        const { values } = parse(rest, {
          db: { type: 'string' }, session: { type: 'string' }, address: { type: 'string' }, size: { type: 'string' },
          before: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' },
        });
        if (typeof values.db !== 'string') throw usageError('who-wrote: --db FILE is required');
        const session = parsePositiveInt(values.session, '--session');
        if (session === undefined) throw usageError('who-wrote: --session N is required');
        if (typeof values.address !== 'string') throw usageError('who-wrote: --address ADDR is required');
        return runWhoWrote(values.db, session, parseAddress(values.address, '--address'), parsePositiveInt(values.size, '--size') ?? 4, {
          before: parsePositiveInt(values.before, '--before'), after: parsePositiveInt(values.after, '--after'), limit: parsePositiveInt(values.limit, '--limit'),
        }, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return cmd === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw usageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    // Messages can quote QEMU's stderr, file contents or recorded values: escaped like any guest text.
    io.err(`bootscope: ${escapeForTerminal(errorMessage(e), 'lines')}`);
    return exitCodeFor(e);
  }
}

// Keep these exported for the tests of the record path.
export { RecordingSession, statusFor };

if (require.main === module && !reexecOnSupportedNode(__filename)) {
  const io: CliIo = {
    out: (s) => process.stdout.write(s + '\n'),
    err: (s) => process.stderr.write(s + '\n'),
    isTty: process.stderr.isTTY === true,
    progress: (s) => process.stderr.write(`\r\x1b[K${s}`),
    drained: () => (process.stdout.writableNeedDrain ? new Promise((resolve) => process.stdout.once('drain', () => resolve())) : Promise.resolve()),
  };
  main(process.argv.slice(2), io).then((code) => { process.exitCode = code; });
}
