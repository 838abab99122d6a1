// The query console bundle in headless Chromium, hosted by the real QueryConsoleHost and a QueryRunner
// worker on a copy of a recording: a seed preset runs and exports CSV, 100k rows scroll with a bounded DOM,
// sort/copy work, SQLite errors show verbatim, read-only is enforced until write mode is turned on, a long
// query is cancelled without leaving the file locked, and hostile strings stay text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { QueryConsoleHost } from '../../src/analysis/views/panel-hosts';
import { QUERY_PRESETS } from '../../src/analysis/views/presets';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import { checkpointBlocked } from '../support/wal';
import type { ConsoleToHost, ConsoleToWebview } from '../../src/protocol/messages';
import { HOSTILE, copyRecording, demoRecording } from './fixtures';
import { ARTIFACTS, WORKER, injectedElements, launchBrowser, openPanel, screenshot, type PanelPage } from './harness';

describe('query console webview', () => {
  let browser: Browser;
  let runner: QueryRunner;
  let panel: PanelPage<ConsoleToHost, ConsoleToWebview>;
  let dir: string;
  let file: string;
  const toWebview: ConsoleToWebview[] = [];
  const copied: string[] = [];
  let history: string[] = [];
  const rec = demoRecording();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-console-'));
    file = copyRecording(rec.file, dir);
    browser = await launchBrowser();
    runner = new QueryRunner(file, WORKER);
    let hostRef: QueryConsoleHost | undefined;
    panel = await openPanel<ConsoleToHost, ConsoleToWebview>(browser, 'console', async (m, post) => {
      hostRef ??= new QueryConsoleHost(runner, {
        recordingName: path.basename(file), initialSessionId: rec.bootSession, presets: [...QUERY_PRESETS],
        post: (msg) => { toWebview.push(msg); void post(msg); },
        loadHistory: () => history, saveHistory: (h) => { history = h; },
        copyText: (t) => { copied.push(t); },
        saveCsv: async (name, chunks) => {
          fs.mkdirSync(ARTIFACTS, { recursive: true });
          const out = path.join(ARTIFACTS, name);
          fs.writeFileSync(out, [...chunks].join(''));
          return out;
        },
      });
      await hostRef.handle(m);
    });
    await panel.page.waitForFunction(() => (document.querySelector('#preset') as HTMLSelectElement | null)?.options.length);
  });

  after(async () => {
    runner?.dispose();
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(sql: string): Promise<void> {
    await panel.page.locator('#sql').fill(sql);
    await panel.page.locator('#run').click();
    await panel.page.waitForFunction(() => !document.querySelector('#run')?.hasAttribute('disabled'));
  }
  const status = async (): Promise<string> => (await panel.page.locator('#status').textContent()) ?? '';
  const cells = async (row: number): Promise<string[]> => panel.page.locator(`.grid-row[data-row="${row}"] .grid-cell`).allTextContents();

  test("offers the seed's queries 4.1-4.3 as presets", async () => {
    const labels = await panel.page.locator('#preset option').allTextContents();
    for (const l of ['4.1 Boot sequence timing', '4.1 Memory evolution tracking', '4.2 Function execution mapping', '4.3 Pattern-instruction correlation']) {
      assert.ok(labels.includes(l), `${l} in ${labels.join(' | ')}`);
    }
  });

  test('runs preset 4.1 for the selected session and exports the result as CSV', async () => {
    await panel.page.selectOption('#preset', 'seed-4.1-timing');
    assert.equal(await panel.page.locator('#sql').inputValue(), QUERY_PRESETS[0].sql);
    await panel.page.locator('#run').click();
    await panel.page.waitForFunction(() => /rows? in/.test(document.querySelector('#status')?.textContent ?? ''));
    assert.match(await status(), /^7 rows in /);
    assert.deepEqual(await panel.page.locator('.grid-head').allTextContents(), ['boot_stage', 'start_time', 'end_time', 'instruction_count']);
    assert.equal((await cells(0))[0], 'elfloader');
    await screenshot(panel.page, 'console-preset-4.1');
    await panel.page.locator('#export').click();
    await panel.page.waitForFunction(() => document.querySelector('#notice')?.textContent?.startsWith('exported'));
    const csvFile = /to (.*)$/.exec((await panel.page.locator('#notice').textContent())!)![1];
    const lines = fs.readFileSync(csvFile, 'utf8').trimEnd().split('\r\n');
    assert.equal(lines[0], 'boot_stage,start_time,end_time,instruction_count');
    assert.equal(lines.length, 8);
    assert.match(lines[1], /^elfloader,\d{4}-\d\d-\d\dT[\d:.]+Z,\d{4}-[\d:T.-]+Z,\d+$/);
  });

  test('a 100k-row result scrolls with a bounded number of DOM rows and pages fetched on demand', async () => {
    await run(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
               SELECT x, x * 2 AS doubled, printf('row %d', x) AS label FROM c`);
    assert.match(await status(), /^100,000 rows in /);
    const timing = await panel.page.evaluate(async () => {
      const vp = document.querySelector('#grid') as HTMLElement;
      const frames: number[] = [];
      for (let i = 1; i <= 40; i++) {
        const t0 = performance.now();
        vp.scrollTop = (vp.scrollHeight * i) / 40;
        await new Promise((r) => requestAnimationFrame(() => r(null)));
        frames.push(performance.now() - t0);
      }
      frames.sort((a, b) => a - b);
      return { median: frames[frames.length >> 1], rows: document.querySelectorAll('.grid-row').length };
    });
    assert.ok(timing.rows < 150, `${timing.rows} rows in the DOM`);
    // Median, not worst: the machine is shared, and one GC or a neighbour's burst says nothing about the grid.
    assert.ok(timing.median < 40, `median scroll-to-paint ${timing.median.toFixed(1)} ms`);
    await panel.page.waitForFunction(() => document.querySelector('.grid-row[data-row="99999"] .grid-cell')?.textContent === '100000');
    assert.deepEqual(await cells(99999), ['100000', '200000', 'row 100000']);
    await screenshot(panel.page, 'console-100k-bottom');
  });

  test('sorting by a column asks the host and shows the largest value first when descending', async () => {
    await panel.page.locator('#grid').evaluate((e) => { e.scrollTop = 0; });
    await panel.page.locator('.grid-head[data-column="0"]').click();
    await panel.page.waitForFunction(() => document.querySelector('.grid-head[data-column="0"]')?.textContent?.endsWith('▲'));
    await panel.page.locator('.grid-head[data-column="0"]').click();
    await panel.page.waitForFunction(() => document.querySelector('.grid-head[data-column="0"]')?.textContent?.endsWith('▼'));
    assert.deepEqual(await cells(0), ['100000', '200000', 'row 100000']);
  });

  test('copy puts the selected rows on the clipboard as tab-separated text with a header', async () => {
    await panel.page.locator('.grid-row[data-row="0"]').click();
    await panel.page.locator('.grid-row[data-row="2"]').click({ modifiers: ['Shift'] });
    await panel.page.locator('#grid').press('Control+c');
    await panel.page.waitForFunction(() => document.querySelector('#notice')?.textContent?.startsWith('copied 3 rows'));
    assert.equal(copied.at(-1), 'x\tdoubled\tlabel\n100000\t200000\trow 100000\n99999\t199998\trow 99999\n99998\t199996\trow 99998');
  });

  test("shows SQLite's own error message", async () => {
    await run('SELECT * FROM no_such_table');
    assert.equal(await panel.page.locator('#error').isVisible(), true);
    assert.match((await panel.page.locator('#error').textContent()) ?? '', /no such table: no_such_table/);
  });

  test('is read-only until write mode is turned on for this console', async () => {
    await run("UPDATE boot_sessions SET description = 'edited' WHERE session_id = 1");
    assert.match((await panel.page.locator('#error').textContent()) ?? '', /query refused: only SELECT/);
    await panel.page.locator('#write-mode').click();
    await panel.page.waitForSelector('#write-banner:not([hidden])');
    await run("UPDATE boot_sessions SET description = 'edited' WHERE session_id = 1");
    assert.match(await status(), /^1 row\(s\) changed/);
    await panel.page.locator('#write-mode').click();
    await panel.page.waitForSelector('#write-banner[hidden]', { state: 'attached' });
    await run('SELECT description FROM boot_sessions WHERE session_id = 1');
    assert.deepEqual(await cells(0), ['edited']);
  });

  test('cancels a long query, keeps the page responsive and leaves the file unlocked', async () => {
    await panel.page.locator('#sql').fill('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c');
    await panel.page.locator('#run').click();
    await panel.page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Running…');
    await panel.page.locator('#cancel').click();
    // A billion-row recursive count runs for minutes: seeing "Cancelled" (not a count) proves the cancel.
    await panel.page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Cancelled');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(checkpointBlocked(file), 0, 'the cancelled query left a read snapshot or lock on the file');
    await run('SELECT COUNT(*) AS n FROM boot_sessions');
    assert.deepEqual(await cells(0), ['2']);
  });

  test('guest strings and column names that look like markup are shown as text', async () => {
    await run(`SELECT function_name AS "<b onmouseover=alert(3)>", disassembly FROM instruction_traces WHERE session_id = ${rec.hostileSession} LIMIT 3`);
    assert.equal(await panel.page.locator('.grid-head').first().textContent(), '<b onmouseover=alert(3)>');
    assert.equal((await cells(0))[0], HOSTILE);
    assert.equal(await injectedElements(panel.page), 0);
    assert.deepEqual(panel.dialogs, []);
    await screenshot(panel.page, 'console-hostile');
  });

  test('keeps a history of the queries run, newest first', async () => {
    const entries = await panel.page.locator('#history option').allTextContents();
    assert.ok(entries[1].startsWith('SELECT function_name AS'), entries[1]);
    assert.ok(history.length >= 8);
  });

  test('no CSP violation or console error', () => {
    assert.deepEqual(panel.problems, []);
  });
});
