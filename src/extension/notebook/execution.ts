// Running one SQL cell of a notebook against its recording, and rendering the outcome: an HTML table
// capped at NOTEBOOK_ROW_CAP rows (every value escaped: guest strings are data, never markup), or the
// error with SQLite's message. Free of vscode so the unit tests run it against real recordings.
import { escapeHtml } from '../panels/html';
import type { QueryRunner, SqlValue } from '../../analysis/views/query-runner';
import { csvField, valueText } from '../../analysis/views/result-set';
import { QUERY_PRESETS } from '../../analysis/views/presets';
import type { NotebookText } from './format';

export const NOTEBOOK_ROW_CAP = 500;

export interface CellTable {
  columns: string[];
  rows: SqlValue[][];
  /** Rows the statement produced (rows holds at most the cap). */
  totalRows: number;
  /** false when counting stopped far past the cap: totalRows is "at least". Default true. */
  complete?: boolean;
  changes?: number;
  elapsedMs: number;
}

/** Runs a cell read-only, binding ? / :session to `sessionId`; rejects with SQLite's message or Cancelled. */
export async function runSqlCell(runner: QueryRunner, sql: string, sessionId: number | null, o: { signal?: AbortSignal; rowCap?: number } = {}): Promise<CellTable> {
  // No `-- session:` line: the newest session of the recording.
  if (sessionId === null) {
    const newest = await runner.run('SELECT MAX(session_id) FROM boot_sessions', { mode: 'internal', signal: o.signal });
    const v = newest.rows[0]?.[0];
    sessionId = v === null || v === undefined ? null : Number(v);
  }
  const r = await runner.run(sql, { mode: 'read', sessionId, maxRows: o.rowCap ?? NOTEBOOK_ROW_CAP, signal: o.signal });
  return { columns: r.columns, rows: r.rows, totalRows: r.totalRows, complete: r.complete, changes: r.changes, elapsedMs: r.elapsedMs };
}

function cellHtml(v: SqlValue): string {
  if (v === null) return '<td class="null"><i>NULL</i></td>';
  if (v instanceof Uint8Array) return `<td>BLOB(${v.byteLength}) ${escapeHtml(Buffer.from(v.subarray(0, 16)).toString('hex'))}${v.byteLength > 16 ? '…' : ''}</td>`;
  const numeric = typeof v === 'number' || typeof v === 'bigint';
  return `<td${numeric ? ' style="text-align:right"' : ''}>${escapeHtml(valueText(v))}</td>`;
}

/** The table as HTML for a notebook output (text/html). */
export function renderTableHtml(t: CellTable): string {
  const head = `<tr>${t.columns.map((c) => `<th style="text-align:left">${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map(cellHtml).join('')}</tr>`).join('\n');
  const ms = t.elapsedMs < 10 ? t.elapsedMs.toFixed(1) : Math.round(t.elapsedMs).toString();
  const total = t.complete === false ? `more than ${t.totalRows}` : String(t.totalRows);
  const note = t.totalRows > t.rows.length
    ? `showing ${t.rows.length} of ${total} rows (${ms} ms) — use “Export All Rows to CSV” in the cell toolbar for the rest`
    : `${t.totalRows} row${t.totalRows === 1 ? '' : 's'} (${ms} ms)`;
  return `<div class="bootscope-result"><table>\n${head}\n${body}\n</table><p><small>${escapeHtml(note)}</small></p></div>`;
}

/** The table as text (text/plain fallback and what a terminal shows). */
export function renderTableText(t: CellTable): string {
  const lines = [t.columns.join('\t'), ...t.rows.map((r) => r.map(valueText).join('\t'))];
  if (t.totalRows > t.rows.length) lines.push(`… ${t.complete === false ? 'more than ' : ''}${t.totalRows - t.rows.length} more rows`);
  return lines.join('\n');
}

export function* csvChunks(t: Pick<CellTable, 'columns' | 'rows'>, rowsPerChunk = 5000): Generator<string> {
  yield `${t.columns.map(csvField).join(',')}\r\n`;
  for (let i = 0; i < t.rows.length; i += rowsPerChunk) {
    yield t.rows.slice(i, i + rowsPerChunk).map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
  }
}

/** Cells of a new notebook: a title, then each seed query (4.1-4.3) under its own heading. */
export function newNotebookCells(recording: string): NotebookText['cells'] {
  const cells: NotebookText['cells'] = [{
    kind: 'markdown',
    source: `# Analysis of \`${recording}\`\n\nThe analysis queries of the methodology Bootscope implements (sections 4.1–4.3 of Bootscope's docs/methodology.md). \`?\` and \`:session\` are bound to the notebook's session (\`-- session: N\` at the top; default: the newest).`,
  }];
  for (const p of QUERY_PRESETS) {
    cells.push({ kind: 'markdown', source: `## ${p.label}` }, { kind: 'sql', source: p.sql });
  }
  return cells;
}
