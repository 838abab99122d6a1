// CSV export (src/analysis/csv.ts): RFC 4180 quoting of single values, and exportCsv on a real recording file
// (a synthetic session with hostile function names) streamed into a Writable with a tiny highWaterMark and a
// slow consumer: every row must arrive, parse back to what SQL returns, and the statement must be released
// when the output fails.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { CSV_EXPORT_TABLES, exportCsv, neutraliseFormula, toCsvRow } from '../../src/analysis/csv';
import { csvField as resultSetCsvField } from '../../src/analysis/views/result-set';
import { RecordingStore, type SQLiteValue } from '../../src/store/recording-store';
import { recordSyntheticSession } from '../../src/store/synthetic-session';
import { BootscopeError, ErrorCode } from '../../src/common/errors';
import { checkpointBlocked } from '../support/wal';

/** RFC 4180 parser for the tests: records of fields; a quoted field keeps commas, quotes and line breaks. */
function parseCsv(text: string): { fields: string[]; quoted: boolean[] }[] {
  const records: { fields: string[]; quoted: boolean[] }[] = [];
  let i = 0;
  while (i < text.length) {
    const fields: string[] = [];
    const quoted: boolean[] = [];
    for (;;) {
      let field = '';
      const isQuoted = text[i] === '"';
      if (isQuoted) {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          field += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') field += text[i++];
      }
      fields.push(field);
      quoted.push(isQuoted);
      if (text[i] === ',') { i++; continue; }
      assert.equal(text.slice(i, i + 2), '\r\n', `record ${records.length + 1} must end with CRLF`);
      i += 2;
      break;
    }
    records.push({ fields, quoted });
  }
  return records;
}

/** What a value should read back as from the CSV text. */
function expectedText(v: SQLiteValue): string {
  if (v === null) return '';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

/** A consumer that takes one chunk per event-loop turn with a 1-byte highWaterMark: write() returns false every time. */
class SlowSink extends Writable {
  text = '';
  drains = 0;
  constructor(private readonly failAfterChunks = Number.POSITIVE_INFINITY) {
    super({ highWaterMark: 1, decodeStrings: false });
    this.on('drain', () => { this.drains++; });
  }
  private chunks = 0;
  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    if (++this.chunks > this.failAfterChunks) { setImmediate(() => done(new Error('disk full (test)'))); return; }
    this.text += chunk.toString();
    setImmediate(() => done());
  }
}

describe('toCsvRow (RFC 4180)', () => {
  test('plain values are written bare and the record ends with CRLF', () => {
    assert.equal(toCsvRow(['main', 42, 1.5]), 'main,42,1.5\r\n');
  });
  test('a comma, a quote, CR or LF forces quotes and quotes are doubled', () => {
    assert.equal(toCsvRow(['a,b']), '"a,b"\r\n');
    assert.equal(toCsvRow(['say "hi"']), '"say ""hi"""\r\n');
    assert.equal(toCsvRow(['line1\nline2']), '"line1\nline2"\r\n');
    assert.equal(toCsvRow(['cr\ronly']), '"cr\ronly"\r\n');
    assert.equal(toCsvRow(['crlf\r\nend', '"']), '"crlf\r\nend",""""\r\n');
  });
  test('NULL is an empty field and the empty string is "" (as sqlite3 -csv writes them)', () => {
    assert.equal(toCsvRow([null, '', null]), ',"",\r\n');
  });
  test('a BLOB is lowercase hex of exactly its own bytes, also for a view into a larger buffer', () => {
    const backing = new Uint8Array([0xff, 0x00, 0xab, 0x7f, 0xee]);
    assert.equal(toCsvRow([new Uint8Array([0xde, 0xad, 0xbe, 0xef]), backing.subarray(1, 4), new Uint8Array()]), 'deadbeef,00ab7f,\r\n');
  });
  test('bigint keeps every digit and the sign', () => {
    assert.equal(toCsvRow([2n ** 63n - 1n, -(2n ** 63n)]), '9223372036854775807,-9223372036854775808\r\n');
  });
  test('REALs are written in their shortest exact form', () => {
    const third = 1 / 3;
    assert.equal(Number(toCsvRow([third]).trimEnd()), third);
  });
});

describe('toCsvRow: spreadsheet formula injection (OWASP CSV Injection)', () => {
  test('text starting with =, +, -, @, tab or CR gets a leading quote mark', () => {
    assert.equal(toCsvRow(['=HYPERLINK("http://evil.example","x")']), '"\'=HYPERLINK(""http://evil.example"",""x"")"\r\n');
    assert.equal(toCsvRow(['+cmd|\' /C calc\'!A0', '-2+3', '@SUM(A1:A2)']), "'+cmd|' /C calc'!A0,'-2+3,'@SUM(A1:A2)\r\n");
    assert.equal(toCsvRow(['\t=1+1', '\r=1+1']), '\'\t=1+1,"\'\r=1+1"\r\n');
  });
  test('numbers stay numbers: INTEGER, REAL and bigint cells, and text that is only a decimal number', () => {
    assert.equal(toCsvRow([-1, -0.5, -(2n ** 63n), '-1', '+2.5e3', '-.5']), '-1,-0.5,-9223372036854775808,-1,+2.5e3,-.5\r\n');
  });
  test('text that only looks numeric up front is still neutralised', () => {
    assert.equal(neutraliseFormula('-1+cmd|x'), "'-1+cmd|x");
    assert.equal(neutraliseFormula('-'), "'-");
    assert.equal(neutraliseFormula('main=1'), 'main=1');
  });
  test('the console and notebook CSV (result sets) neutralise the same way', () => {
    assert.deepEqual(['=1+1', '@x', '-1', -1, 2.5, null].map((v) => resultSetCsvField(v)), ["'=1+1", "'@x", '-1', '-1', '2.5', '']);
    assert.equal(resultSetCsvField('=a,"b"'), `"'=a,""b"""`);
  });
  test('column names are neutralised too', () => {
    assert.equal(toCsvRow(['=1+1 AS x']), "'=1+1 AS x\r\n");
  });
});

describe('exportCsv on a recording file', () => {
  let dir: string;
  let file: string;
  let store: RecordingStore;
  let sessionId: number;
  const hostile = ['comma,fn', 'quote"fn', 'line\nbreak', 'cr\rfn', 'crlf\r\nfn', '', 'plain_fn', 'unknown'];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-csv-'));
    file = path.join(dir, 'csv.db');
    store = RecordingStore.open(file, { log: () => undefined });
    sessionId = recordSyntheticSession(store, { instructions: 3000, seed: 3, functionNames: hostile, description: 'csv "test", with\r\nbreaks' }).sessionId;
    recordSyntheticSession(store, { instructions: 500, seed: 4 }); // a second session the filter must leave out
    store.addMetric(sessionId, 'rate, "quoted"', 1 / 3, 'instr/s');
  });
  after(() => {
    store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a 1-byte highWaterMark sink with a slow consumer gets every instruction row, equal to SQL', async () => {
    const sink = new SlowSink();
    const count = await exportCsv(store, { table: 'instruction_traces', sessionId }, sink);
    const expected = store.query('SELECT * FROM instruction_traces WHERE session_id = ? ORDER BY sequence_number', [sessionId]);
    assert.equal(count, 3000);
    assert.ok(sink.drains > 0, 'the sink never pushed back; the test did not exercise backpressure');
    const records = parseCsv(sink.text);
    assert.deepEqual(records[0].fields, expected.columns);
    assert.equal(records.length - 1, expected.rows.length);
    records.slice(1).forEach((r, i) => assert.deepEqual(r.fields, expected.rows[i].map(expectedText), `row ${i + 1}`));
    const fnColumn = expected.columns.indexOf('function_name');
    const names = new Set(records.slice(1).map((r) => r.fields[fnColumn]));
    for (const name of hostile) assert.ok(names.has(name), `${JSON.stringify(name)} did not survive the round trip`);
  });

  test('memory_regions rows carry the raw region bytes as hex, only for the chosen session', async () => {
    const sink = new SlowSink();
    const count = await exportCsv(store, { table: 'memory_regions', sessionId }, sink);
    const expected = store.query(`SELECT * FROM memory_regions WHERE snapshot_id IN
        (SELECT snapshot_id FROM memory_snapshots WHERE session_id = ?) ORDER BY region_id`, [sessionId]);
    assert.equal(count, expected.rows.length);
    const records = parseCsv(sink.text);
    const dataColumn = expected.columns.indexOf('data');
    records.slice(1).forEach((r, i) => {
      assert.equal(r.fields[dataColumn], Buffer.from(expected.rows[i][dataColumn] as Uint8Array).toString('hex'));
    });
  });

  test('NULL and the empty string stay apart; a quoted description and a REAL metric read back exactly', async () => {
    const sessions = new SlowSink();
    await exportCsv(store, { table: 'boot_sessions', sessionId }, sessions);
    const [header, row] = parseCsv(sessions.text);
    assert.equal(row.fields[header.fields.indexOf('description')], 'csv "test", with\r\nbreaks');
    const uartLog = header.fields.indexOf('uart_log');
    assert.equal(store.getSession(sessionId)?.uartLog, null);
    assert.deepEqual([row.fields[uartLog], row.quoted[uartLog]], ['', false], 'NULL must be an unquoted empty field');

    const traces = new SlowSink();
    await exportCsv(store, { table: 'instruction_traces', sessionId }, traces);
    const records = parseCsv(traces.text);
    const fnColumn = records[0].fields.indexOf('function_name');
    assert.ok(records.some((r) => r.fields[fnColumn] === '' && r.quoted[fnColumn]), 'an empty function name must be written as ""');

    const metrics = new SlowSink();
    await exportCsv(store, { table: 'metrics', sessionId }, metrics);
    const [mHeader, mRow] = parseCsv(metrics.text);
    assert.equal(mRow.fields[mHeader.fields.indexOf('name')], 'rate, "quoted"');
    assert.equal(Number(mRow.fields[mHeader.fields.indexOf('value')]), 1 / 3);
  });

  test('an unknown table is a usage error naming --table and every exportable table', async () => {
    await assert.rejects(exportCsv(store, { table: 'sqlite_master' }, new SlowSink()), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, ErrorCode.Usage);
      assert.match(e.message, /--table/);
      assert.match(e.message, /"sqlite_master"/);
      for (const t of CSV_EXPORT_TABLES) assert.ok(e.message.includes(t), `the message should offer ${t}`);
      return true;
    });
  });

  test('an unknown session is a usage error naming --session', async () => {
    await assert.rejects(exportCsv(store, { table: 'boot_stages', sessionId: 999 }, new SlowSink()), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, ErrorCode.Usage);
      assert.match(e.message, /--session/);
      return true;
    });
  });

  test('an output that fails midway rejects with its error and releases the file\'s lock', async () => {
    await assert.rejects(exportCsv(store, { table: 'instruction_traces' }, new SlowSink(2)), /disk full \(test\)/);
    // A statement left stepping would keep its read snapshot: the WAL could not be checkpointed past it.
    assert.equal(checkpointBlocked(file), 0, 'the export left its statement open');
    store.addMetric(sessionId, 'after_failed_export', 1);
  });

  test('an output destroyed before the first row rejects instead of waiting for a drain', async () => {
    const sink = new SlowSink();
    sink.destroy();
    await assert.rejects(exportCsv(store, { table: 'boot_stages' }, sink), /closed before the export finished/);
    assert.equal(checkpointBlocked(file), 0, 'the export left its statement open');
  });
});
