// The CLI's commands, apart from argument parsing (main.ts) so they can be tested in-process.
// Each prints human-readable output to io.out and diagnostics to io.err, and returns an exit code.
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { CaptureBackend, RecordingConfig } from '../common/config';
import { BootscopeError, ErrorCode } from '../common/errors';
import { RecordingSession, statusFor } from '../recorder/session';
import { PluginRecordingSession } from '../recorder/plugin-session';
import { chooseCapture } from '../recorder/capture-choice';
import type { RecorderProgress } from '../recorder/recorder';
import { RecordingStore } from '../store/recording-store';
import { renderHtmlReport } from '../analysis/report';
import { exportCsv, toCsvRow } from '../analysis/csv';
import { escapeForTerminal, escapeJsonForTerminal } from '../common/terminal-text';
import { loadConfigFile } from './config-file';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** True when progress lines can be redrawn in place (a terminal). */
  isTty: boolean;
  progress(line: string): void;
  /** Resolves when `out` can take more (a pipe's backpressure), so streamed results are never held in memory. */
  drained?(): Promise<void>;
}

function hex(n: bigint | number): string {
  return `0x${n.toString(16)}`;
}

function openStore(db: string, readOnly: boolean): RecordingStore {
  if (!existsSync(db)) throw new BootscopeError(ErrorCode.Database, `--db: ${db} does not exist; record one first with \`bootscope record --config FILE --db ${db}\``);
  return RecordingStore.open(db, { readOnly });
}

/** Records one boot as configured; prints the session id at the end (stdout), progress on a TTY (stderr). */
export async function runRecord(cfg: RecordingConfig, opts: { report?: string; quietSummary?: boolean; capture?: CaptureBackend }, io: CliIo): Promise<number> {
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    io.err('\nbootscope: stopping at the next instruction (Ctrl-C again to abort immediately)');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const t0 = Date.now();
  let lastProgress: RecorderProgress | undefined;
  try {
    const choice = await chooseCapture(cfg, opts.capture);
    io.err(`bootscope: ${choice.reason}`);
    const start = choice.capture === 'plugin' ? PluginRecordingSession.start : RecordingSession.start;
    const session: RecordingSession | PluginRecordingSession = await start({
      config: cfg,
      onProgress: (p) => {
        lastProgress = p;
        // Stage and function names come from the config and the guest's ELF: shown escaped, never interpreted.
        if (io.isTty) io.progress(escapeForTerminal(`${p.instructions} instructions  ${Math.round(p.rate)}/s  stage ${p.stage}  ${p.functionName} @ ${hex(p.pc)}  ${p.snapshots} snapshots`, 'cell'));
      },
      onWarning: (m) => io.err(`bootscope: warning: ${m}`),
    });
    io.err(`bootscope: recording session ${session.sessionId} of ${cfg.name ?? cfg.qemu?.kernel ?? 'guest'} into ${cfg.database}`);
    let result;
    try {
      result = await session.record({ signal: abort.signal });
      if (result.reason !== 'target-exited') await session.recorder.captureSnapshot('end');
    } catch (e) {
      if (io.isTty) io.progress('');
      throw e;
    }
    const seconds = (Date.now() - t0) / 1000;
    const ended = statusFor(result.reason);
    const status = ended.status;
    let reason = ended.reason;
    // Exit 0 means "recorded what you asked for". QEMU going away is that only when the guest shut the
    // machine down itself; a SIGTERM, a quit from elsewhere or a crash is exit 3 (EXIT.qemu), as a SIGKILL is.
    let exitCode = result.reason === 'cancelled' ? 130 : 0;
    if (result.reason === 'target-exited') {
      const cause = await session.qemuExitCause(result.stop);
      reason = cause.reason;
      if (!cause.byGuest) exitCode = 3;
    }
    const count = session.recorder.instructionCount;
    session.store.addMetric(session.sessionId, 'instructions_per_second', count / seconds, 'instr/s');
    session.store.addMetric(session.sessionId, 'recording_seconds', seconds, 's');
    const uart = session.qemu?.uartText();
    await session.close(status, reason);
    if (io.isTty) io.progress('');
    if (!opts.quietSummary) {
      io.err(`bootscope: ${count} instructions in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s), ${session.recorder.snapshots} snapshots; ${status}: ${reason}${lastProgress ? `; last stage ${lastProgress.stage}` : ''}`);
      // The guest's bytes, escaped: a guest must not clear the screen or fake a line of ours.
      if (uart) io.err(`bootscope: guest UART output:\n${escapeForTerminal(uart.trimEnd(), 'lines').split('\n').map((l) => `  | ${l}`).join('\n')}`);
    }
    if (opts.report) {
      const code = runReport(cfg.database, session.sessionId, opts.report, io);
      if (code !== 0) return code;
    }
    if (exitCode === 3) io.err(`bootscope: QEMU ended before the recording did: ${reason}; the ${count} instructions recorded so far are kept in session ${session.sessionId}`);
    io.out(String(session.sessionId));
    return exitCode;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function runReport(db: string, sessionId: number | undefined, out: string, io: CliIo): number {
  const store = openStore(db, true);
  try {
    const id = sessionId ?? store.listSessions().at(-1)?.sessionId;
    if (id === undefined) throw new BootscopeError(ErrorCode.Database, `${db} holds no recording session yet`);
    if (!store.getSession(id)) throw new BootscopeError(ErrorCode.Usage, `--session: no session ${id} in ${db}; \`bootscope sessions --db ${db}\` lists them`);
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeFileSync(out, renderHtmlReport(store, id));
    io.err(`bootscope: report for session ${id} written to ${out}`);
    return 0;
  } finally {
    store.close();
  }
}

export async function runExport(db: string, table: string, sessionId: number | undefined, out: string, io: CliIo): Promise<number> {
  const store = openStore(db, true);
  try {
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const stream = createWriteStream(out);
    const rows = await exportCsv(store, { table, sessionId }, stream);
    await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    io.err(`bootscope: ${rows} rows of ${table} written to ${out}`);
    return 0;
  } finally {
    store.close();
  }
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
  return escapeForTerminal(String(v), 'cell');
}

/** Rows `bootscope query` holds for a table (it sizes the columns); csv and json are streamed, never held. */
export const QUERY_TABLE_ROW_CAP = 10_000;

export async function runQuery(db: string, sql: string, format: 'table' | 'csv' | 'json', io: CliIo): Promise<number> {
  const store = openStore(db, true);
  try {
    const { columns, rows } = store.iterateQuery(sql);
    // In WAL mode the open statement holds only a read snapshot: waiting for the reader of our output
    // (a pager, a slow pipe) never holds up a recording.
    let written = 0;
    const paced = async (): Promise<void> => { if (++written % 256 === 0 && io.drained) await io.drained(); };
    try {
      if (format === 'json') {
        // One object per line between [ and ]: valid JSON, written as the rows come.
        let n = 0;
        io.out('[');
        for (const r of rows) {
          await paced();
          const obj = Object.fromEntries(columns.map((c, i) => [c, r[i] instanceof Uint8Array ? Buffer.from(r[i] as Uint8Array).toString('hex') : typeof r[i] === 'bigint' ? String(r[i]) : r[i]]));
          io.out(escapeJsonForTerminal(`${n++ === 0 ? '  ' : ', '}${JSON.stringify(obj)}`));
        }
        io.out(']');
      } else if (format === 'csv') {
        // Printed for reading: control characters escaped (`bootscope export` writes byte-exact CSV files).
        io.out(escapeForTerminal(toCsvRow(columns).replace(/\r\n$/, ''), 'lines'));
        for (const r of rows) {
          await paced();
          io.out(escapeForTerminal(toCsvRow(r).replace(/\r\n$/, ''), 'lines'));
        }
      } else {
        const text: string[][] = [];
        let cut = false;
        for (const r of rows) {
          if (text.length >= QUERY_TABLE_ROW_CAP) { cut = true; break; }
          text.push(r.map(cellText));
        }
        const names = columns.map((c) => escapeForTerminal(c, 'cell'));
        const widths = names.map((c, i) => Math.min(60, Math.max(c.length, ...text.map((r) => r[i].length))));
        const line = (cells: string[]): string => cells.map((c, i) => (c.length > widths[i] ? c.slice(0, widths[i] - 1) + '…' : c.padEnd(widths[i]))).join('  ').trimEnd();
        io.out(line(names));
        io.out(widths.map((w) => '-'.repeat(w)).join('  '));
        for (const r of text) io.out(line(r));
        io.err(cut
          ? `(output cut after ${QUERY_TABLE_ROW_CAP} rows: the query returns more; use --format csv or json to stream every row, or add a LIMIT)`
          : `(${text.length} row${text.length === 1 ? '' : 's'})`);
      }
    } finally {
      rows.return(undefined);
    }
    return 0;
  } finally {
    store.close();
  }
}

export function runSessions(db: string, io: CliIo): number {
  const store = openStore(db, true);
  try {
    for (const s of store.listSessions()) {
      const cell = (v: string): string => escapeForTerminal(v, 'cell');
      io.out(`${s.sessionId}\t${cell(s.startTime)}\t${cell(s.endTime ?? '-')}\t${cell(s.status ?? '-')}\t${s.instructionCount ?? 0} instructions\t${cell(s.description ?? '')}`);
    }
    return 0;
  } finally {
    store.close();
  }
}

/** The folder holding the bundled demo guest: ../guest from dist/ (bundle) or ../../guest from src/cli. */
export function guestDir(): string {
  for (const up of ['..', '../..']) {
    const d = path.resolve(__dirname, up, 'guest');
    if (existsSync(path.join(d, 'demo-arm32.json'))) return d;
  }
  throw new BootscopeError(ErrorCode.Config, `cannot find the bundled demo guest (guest/demo-arm32.json) near ${__dirname}`);
}

/**
 * The main job: record the bundled demo guest (AArch32 and/or AArch64) and write an HTML report for each,
 * then print what the recording shows: stages in order, the painted regions' final pattern results.
 */
export async function runDemo(o: { arch: 'arm' | 'aarch64' | 'both'; corrupted: boolean; outDir: string; maxInstructions?: number; capture?: CaptureBackend }, io: CliIo): Promise<number> {
  const archs = o.arch === 'both' ? ['arm32', 'aarch64'] : [o.arch === 'arm' ? 'arm32' : 'aarch64'];
  mkdirSync(o.outDir, { recursive: true });
  for (const a of archs) {
    const name = `demo-${a}${o.corrupted ? '-corrupted' : ''}`;
    const cfg = loadConfigFile(path.join(guestDir(), `${name}.json`));
    cfg.database = path.join(o.outDir, `${name}.db`);
    if (o.maxInstructions !== undefined) cfg.maxInstructions = o.maxInstructions;
    const report = path.join(o.outDir, `${name}.html`);
    io.err(`\n== ${name}: ${cfg.qemu?.binary} -M ${cfg.qemu?.machine} -cpu ${cfg.qemu?.cpu} -kernel ${path.relative(process.cwd(), cfg.qemu?.kernel ?? '')}`);
    const quiet: CliIo = { ...io, out: () => undefined };
    // Plugin capture of the demo on a machine whose own QEMU is older than 9.2: the QEMU 10 that
    // scripts/qemu10.sh provisions into .cache/qemu10, when it is there.
    const qemu10 = cfg.qemu ? path.resolve('.cache', 'qemu10', 'bin', path.basename(cfg.qemu.binary)) : '';
    if (o.capture === 'plugin' && cfg.qemu && existsSync(qemu10)) cfg.qemu.binary = qemu10;
    const code = await runRecord(cfg, { report, capture: o.capture }, quiet);
    if (code !== 0) return code;
    const store = RecordingStore.open(cfg.database, { readOnly: true });
    try {
      const id = store.listSessions().at(-1)?.sessionId as number;
      const stages = store.stages(id);
      io.out(`${name}: session ${id} in ${path.relative(process.cwd(), cfg.database)}, report ${path.relative(process.cwd(), report)}`);
      io.out(`  stages: ${stages.map((s) => `${escapeForTerminal(s.stageName, 'cell')}@${s.firstSequenceNumber}`).join(' -> ')}`);
      const snaps = store.snapshots(id);
      const last = snaps.at(-1);
      if (last) {
        for (const r of store.regions(last.snapshotId)) {
          if (r.expectedPattern === null || r.expectedPattern === undefined) continue;
          const mismatch = r.firstMismatchOffset === null || r.firstMismatchOffset === undefined ? '' : `, first mismatch at +0x${Number(r.firstMismatchOffset).toString(16)}`;
          io.out(`  ${escapeForTerminal(r.regionName, 'cell').padEnd(15)} ${hex(r.expectedPattern)}  ${Number(r.matchPercentage).toFixed(1)}% (${r.patternMatches}/${r.totalWords} words)${mismatch}`);
        }
      }
    } finally {
      store.close();
    }
  }
  return 0;
}
