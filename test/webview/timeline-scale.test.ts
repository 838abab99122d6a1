// Scale: a 1,000,000-step recording opens in the timeline (stages and snapshots drawn; the function lanes
// follow from one GROUP BY scan), and the page receives aggregates only — a few hundred kilobytes, not the
// rows. How long it takes is logged, not asserted: timings on shared machines belong in `npm run bench`.
// The recording is written once through RecordingStore (~30 s) and cached in .cache/webview-fixtures/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { TimelineHost } from '../../src/analysis/views/panel-hosts';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import type { TimelineToHost, TimelineToWebview } from '../../src/protocol/messages';
import { largeRecording } from './fixtures';
import { WORKER, launchBrowser, openPanel, screenshot } from './harness';

describe('timeline with a 1M-step recording', () => {
  let browser: Browser;
  let runner: QueryRunner;
  const shipped: number[] = [];
  let openedMs = 0;
  let stagesMs = 0;
  let page: import('playwright-core').Page;
  const rec = largeRecording();

  before(async () => {
    browser = await launchBrowser();
    runner = new QueryRunner(rec.file, WORKER);
    // As the panel does: the host starts its SQL while the webview loads.
    const t0 = performance.now();
    let postToPage: (m: TimelineToWebview) => Promise<void> = async () => undefined;
    const host = new TimelineHost(runner, {
      recordingName: path.basename(rec.file),
      post: (msg) => { shipped.push(JSON.stringify(msg).length); void postToPage(msg); },
    });
    host.prefetch();
    const panel = await openPanel<TimelineToHost, TimelineToWebview>(browser, 'timeline', async (m, post) => {
      postToPage = post;
      await host.handle(m);
    });
    page = panel.page;
    await page.waitForSelector('body[data-state=overview], body[data-state=ready]', { timeout: 30_000 });
    stagesMs = performance.now() - t0;
    await page.waitForSelector('body[data-state=ready]', { timeout: 30_000 });
    openedMs = performance.now() - t0;
    console.log(`1M steps: stages drawn after ${stagesMs.toFixed(0)} ms, lanes after ${openedMs.toFixed(0)} ms (page load, worker start and SQL included); ${shipped.length} messages, ${shipped.reduce((a, b) => a + b, 0)} bytes to the page`);
  });

  after(async () => {
    runner?.dispose();
    await browser?.close();
  });

  test('opens: axis, every stage band and snapshot marker drawn, function lanes counted', async () => {
    const status = (await page.locator('#status').textContent()) ?? '';
    assert.match(status, /^1,000,000 steps, 15 stage visits, 15 snapshots/);
    assert.ok(stagesMs <= openedMs);
    await screenshot(page, 'timeline-1m');
  });

  test('ships aggregates, never the rows: under 300 kB reach the page', () => {
    const bytes = shipped.reduce((a, b) => a + b, 0);
    assert.ok(bytes < 300_000, `${bytes} bytes`);
  });
});
