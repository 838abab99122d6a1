// A query result held by the host while a console shows it: the webview pages through it (CONSOLE_PAGE_SIZE
// rows at a time), sorts it, copies rows and exports it as CSV, without ever holding all rows itself.
import type { GridCell, SortDirection } from '../../protocol/messages';
import type { SqlValue } from './query-worker-protocol';
import { neutraliseFormula } from '../csv';

/** Rank of a value's storage class in SQLite's ORDER BY: NULL < numbers < text < BLOB. */
function rank(v: SqlValue): number {
  if (v === null) return 0;
  if (typeof v === 'number' || typeof v === 'bigint') return 1;
  if (typeof v === 'string') return 2;
  return 3;
}

export function compareSqlValues(a: SqlValue, b: SqlValue): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) return a! < b! ? -1 : a! > b! ? 1 : 0;
  if (ra === 2) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  if (ra === 3) return Buffer.compare(Buffer.from(a as Uint8Array), Buffer.from(b as Uint8Array));
  return 0;
}

export function toGridCell(v: SqlValue): GridCell {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return { blob: v.byteLength, hex: Buffer.from(v.subarray(0, 16)).toString('hex') };
  return v;
}

/** Text of a value as CSV/TSV show it: integers exact, BLOBs as hex, NULL as empty. */
export function valueText(v: SqlValue): string {
  if (v === null) return '';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; text that a spreadsheet would run
 * as a formula gets a leading `'` (see neutraliseFormula in ../csv.ts), numbers stay as they are.
 */
export function csvField(v: SqlValue): string {
  const s = typeof v === 'string' ? neutraliseFormula(v) : valueText(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export class ResultSet {
  constructor(readonly id: number, readonly columns: string[], private rows: SqlValue[][], readonly totalRows: number) {}

  get rowCount(): number {
    return this.rows.length;
  }

  page(offset: number, limit: number): GridCell[][] {
    const start = Math.max(0, Math.floor(offset));
    return this.rows.slice(start, start + Math.max(0, Math.floor(limit))).map((r) => r.map(toGridCell));
  }

  sort(column: number, direction: SortDirection): void {
    if (column < 0 || column >= this.columns.length) throw new RangeError(`no column ${column} in a result of ${this.columns.length} columns`);
    const sign = direction === 'asc' ? 1 : -1;
    // Array.prototype.sort is stable: equal keys keep the query's own order.
    this.rows.sort((a, b) => sign * compareSqlValues(a[column], b[column]));
  }

  /** Tab-separated rows with a header line (what a spreadsheet pastes as cells). */
  tsv(rowIndexes: number[] | 'all'): string {
    const pick = rowIndexes === 'all' ? this.rows : rowIndexes.filter((i) => i >= 0 && i < this.rows.length).map((i) => this.rows[i]);
    const clean = (v: SqlValue): string => valueText(v).replace(/[\t\r\n]/g, ' ');
    return [this.columns.join('\t'), ...pick.map((r) => r.map(clean).join('\t'))].join('\n');
  }

  /** The whole result as CSV, in chunks (header first), in the current sort order. */
  *csvChunks(rowsPerChunk = 5000): Generator<string> {
    yield `${this.columns.map((c) => csvField(c)).join(',')}\r\n`;
    for (let i = 0; i < this.rows.length; i += rowsPerChunk) {
      yield this.rows.slice(i, i + rowsPerChunk).map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
    }
  }
}
