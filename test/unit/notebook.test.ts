// SQL notebooks without VS Code: the *.bsql text format round-trips and diffs as plain lines, and a cell
// runs against a real recording (seed 4.1 with the session bound, row cap, escaping, SQLite errors,
// cancellation) through the same QueryRunner worker the controller uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import { QUERY_PRESETS } from '../../src/analysis/views/presets';
import { SEED_BOOT_SEQUENCE_TIMING } from '../../src/analysis/seed-queries';
import { ErrorCode, type BootscopeError } from '../../src/common/errors';
import { csvChunks, newNotebookCells, renderTableHtml, runSqlCell } from '../../src/extension/notebook/execution';
import { formatNotebook, parseNotebook, type NotebookText } from '../../src/extension/notebook/format';
import { HOSTILE, demoRecording } from '../webview/fixtures';

const WORKER = path.resolve(__dirname, '../../dist/query-worker.js');

describe('notebook text format', () => {
  const nb: NotebookText = {
    recording: 'recordings/demo.db',
    session: 1,
    cells: [
      { kind: 'markdown', source: '# Boot timing\n\nSeed 4.1, per stage.\n  indented line\n--not a marker' },
      { kind: 'sql', source: SEED_BOOT_SEQUENCE_TIMING },
      { kind: 'sql', source: "SELECT 'a;b' AS x; -- trailing comment" },
      { kind: 'markdown', source: '' },
    ],
  };

  test('round-trips cells, kinds, recording and session', () => {
    assert.deepEqual(parseNotebook(formatNotebook(nb)), nb);
  });

  test('formats to readable SQL text: header, one marker line per cell, markdown as comments', () => {
    const text = formatNotebook(nb);
    assert.ok(text.startsWith('-- Bootscope SQL notebook\n-- recording: recordings/demo.db\n-- session: 1\n\n-- %% [markdown]\n-- # Boot timing\n--\n-- Seed 4.1, per stage.\n'));
    assert.ok(text.includes(`-- %% [sql]\n${SEED_BOOT_SEQUENCE_TIMING}\n`), 'SQL is stored verbatim');
    assert.ok(text.endsWith('\n'));
  });

  test('editing one cell changes only that cell\'s lines (diffs well)', () => {
    const edited = { ...nb, cells: nb.cells.map((c, i) => (i === 2 ? { ...c, source: "SELECT 'changed' AS x;" } : c)) };
    const a = formatNotebook(nb).split('\n');
    const b = formatNotebook(edited).split('\n');
    assert.equal(a.length, b.length);
    assert.deepEqual(a.map((l, i) => (l === b[i] ? null : i)).filter((i) => i !== null).length, 1);
  });

  test('a plain SQL file without markers opens as one SQL cell', () => {
    assert.deepEqual(parseNotebook('SELECT 1;\n'), { cells: [{ kind: 'sql', source: 'SELECT 1;' }] });
  });

  test('a new notebook holds the seed queries 4.1-4.3 verbatim under headings', () => {
    const cells = newNotebookCells('recordings/demo.db');
    const sql = cells.filter((c) => c.kind === 'sql').map((c) => c.source);
    for (const p of QUERY_PRESETS.filter((x) => x.id.startsWith('seed-'))) assert.ok(sql.includes(p.sql), p.label);
    assert.match(cells[0].source, /^# Analysis of `recordings\/demo.db`/);
  });
});

describe('notebook cell execution against a recording', () => {
  const rec = demoRecording();
  let runner: QueryRunner;

  before(() => { runner = new QueryRunner(rec.file, WORKER); });
  after(() => runner.dispose());

  test('seed 4.1 runs verbatim with ? bound to the session: one row per stage', async () => {
    const t = await runSqlCell(runner, SEED_BOOT_SEQUENCE_TIMING, rec.bootSession);
    assert.deepEqual(t.columns, ['boot_stage', 'start_time', 'end_time', 'instruction_count']);
    assert.deepEqual(t.rows.map((r) => r[0]), ['elfloader', 'seL4_boot', 'rootserver_start', 'camkes_init', 'freertos_main', 'pattern_painting', 'scheduler_start']);
    assert.equal(t.rows.reduce((a, r) => a + Number(r[3]), 0), rec.instructions);
  });

  test('without a session in the notebook, ? binds the newest session', async () => {
    const t = await runSqlCell(runner, 'SELECT COUNT(*) FROM instruction_traces WHERE session_id = ?', null);
    assert.equal(t.rows[0][0], 300, 'the hostile-names session (the newest) has 300 steps');
  });

  test('caps the table and says how many rows there were', async () => {
    const t = await runSqlCell(runner, 'SELECT sequence_number FROM instruction_traces WHERE session_id = :session', rec.bootSession, { rowCap: 10 });
    assert.equal(t.rows.length, 10);
    assert.equal(t.totalRows, rec.instructions);
    assert.match(renderTableHtml(t), new RegExp(`showing 10 of ${rec.instructions} rows`));
    const csv = [...csvChunks(t)].join('');
    assert.equal(csv.split('\r\n')[0], 'sequence_number');
  });

  test('guest strings are escaped in the HTML table', async () => {
    const t = await runSqlCell(runner, 'SELECT DISTINCT function_name FROM instruction_traces WHERE session_id = ?', rec.hostileSession);
    const html = renderTableHtml(t);
    assert.ok(t.rows.some((r) => r[0] === HOSTILE));
    assert.ok(!html.includes('<img'), html);
    assert.ok(html.includes('&#60;img src=x onerror=alert(1)&#62;'));
  });

  test("a bad statement rejects with SQLite's message", async () => {
    await assert.rejects(runSqlCell(runner, 'SELECT nope FROM boot_sessions', 1), /no such column: nope/);
  });

  test('a write statement is refused: notebooks are read-only', async () => {
    await assert.rejects(runSqlCell(runner, 'DELETE FROM boot_sessions', 1), /query refused/);
  });

  test('cancellation stops a long query and the next cell runs', async () => {
    const abort = new AbortController();
    const t0 = Date.now();
    const p = runSqlCell(runner, 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c', 1, { signal: abort.signal });
    setTimeout(() => abort.abort(), 300);
    await assert.rejects(p, (e: BootscopeError) => e.code === ErrorCode.Cancelled);
    assert.ok(Date.now() - t0 < 3000);
    const t = await runSqlCell(runner, 'SELECT COUNT(*) FROM boot_sessions', 1);
    assert.equal(t.rows[0][0], 2);
  });
});
