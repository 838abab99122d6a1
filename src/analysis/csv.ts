// CSV export of a recording's tables (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote,
// CR or LF, quotes doubled). Rows stream from SQLite to the output with backpressure, so exporting millions of
// instruction rows needs no more memory than one batch. Like `sqlite3 -csv`, NULL is an empty field and the
// empty string is `""`, so the two stay apart; BLOBs become lowercase hex (instruction bytes, region contents)
// and numbers their shortest exact decimal form.
//
// Spreadsheet formula injection (OWASP "CSV Injection"): a text cell that begins with `=`, `+`, `-`, `@`, tab
// or CR is run as a formula by Excel, LibreOffice and Google Sheets, and ELF symbol names, stage and region
// names and query results reach these cells. Such text is written with a leading `'`, which those tools
// treat as "this is text" and do not display. Numbers stay numbers: INTEGER and REAL values are written as
// they are (-1 stays -1), and so is text that is nothing but a decimal number ("-1", "+2.5e3"), which a
// spreadsheet reads as that number and cannot run.
import type { Writable } from 'node:stream';
import { BootscopeError, ErrorCode } from '../common/errors';
import type { RecordingStore, SQLiteValue } from '../store/recording-store';

/** Tables a session's rows can be exported from, each with the filter that selects one session. */
const EXPORTABLE: Readonly<Record<string, { order: string; sessionFilter: string }>> = {
  instruction_traces: { order: 'session_id, sequence_number', sessionFilter: 'session_id = ?' },
  memory_snapshots: { order: 'snapshot_id', sessionFilter: 'session_id = ?' },
  memory_regions: { order: 'region_id', sessionFilter: 'snapshot_id IN (SELECT snapshot_id FROM memory_snapshots WHERE session_id = ?)' },
  boot_stages: { order: 'session_id, ordinal', sessionFilter: 'session_id = ?' },
  boot_sessions: { order: 'session_id', sessionFilter: 'session_id = ?' },
  metrics: { order: 'session_id, name', sessionFilter: 'session_id = ?' },
};

export const CSV_EXPORT_TABLES: readonly string[] = Object.keys(EXPORTABLE);

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Text as a spreadsheet may safely read it: a leading `'` when it would otherwise start a formula. */
export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
}

function csvField(v: SQLiteValue | string | undefined): string {
  if (v === null || v === undefined) return '';
  let text = v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : String(v);
  if (text === '' && typeof v === 'string') return '""'; // not NULL
  if (typeof v === 'string') text = neutraliseFormula(text);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, CRLF-terminated (RFC 4180 section 2). NULL is the empty field, '' is `""`, as sqlite3 -csv writes them. */
export function toCsvRow(values: readonly (SQLiteValue | string | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/**
 * Writes `table` (all sessions, or only `sessionId`'s rows) to `out` as CSV with a header row, and resolves
 * with the number of data rows. It does not end `out`: the caller owns the stream.
 */
export async function exportCsv(store: RecordingStore, what: { table: string; sessionId?: number }, out: Writable): Promise<number> {
  const spec = EXPORTABLE[what.table];
  if (!spec) {
    throw new BootscopeError(ErrorCode.Usage, `--table: cannot export ${JSON.stringify(what.table)}; choose one of ${CSV_EXPORT_TABLES.join(', ')}`);
  }
  if (what.sessionId !== undefined && !store.getSession(what.sessionId)) {
    throw new BootscopeError(ErrorCode.Usage, `--session: no session ${what.sessionId} in this recording; \`bootscope sessions\` lists them`);
  }
  const where = what.sessionId === undefined ? '' : ` WHERE ${spec.sessionFilter}`;
  const { columns, rows } = store.iterateQuery(`SELECT * FROM ${what.table}${where} ORDER BY ${spec.order}`,
    what.sessionId === undefined ? [] : [what.sessionId]);
  let count = 0;
  let failure: Error | null = null;
  const onError = (e: Error): void => { failure = e; };
  out.on('error', onError);
  try {
    const write = async (chunk: string): Promise<void> => {
      if (failure) throw failure;
      if (out.destroyed || out.writableEnded) throw new Error('the CSV output was closed before the export finished');
      if (!out.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const settle = (): void => { out.off('drain', done); out.off('error', fail); out.off('close', closed); };
          const done = (): void => { settle(); resolve(); };
          const fail = (e: Error): void => { settle(); reject(e); };
          // Closed without an error (e.g. destroyed by its consumer): 'drain' would never come.
          const closed = (): void => { settle(); reject(failure ?? new Error('the CSV output was closed before the export finished')); };
          out.on('drain', done);
          out.on('error', fail);
          out.on('close', closed);
        });
      }
    };
    await write(toCsvRow(columns));
    // Batch small rows into one write: one write per row costs more than the SQL at millions of rows.
    let batch = '';
    for (const row of rows) {
      batch += toCsvRow(row);
      count++;
      if (batch.length >= 64 * 1024) { await write(batch); batch = ''; }
    }
    if (batch) await write(batch);
    if (failure) throw failure;
    return count;
  } finally {
    out.off('error', onError);
    rows.return(undefined); // releases the statement (and the read lock) if the output failed midway
  }
}
