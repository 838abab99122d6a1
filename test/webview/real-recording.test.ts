// The heatmap and timeline panels on a REAL recording: the corrupted AArch32 demo recorded under QEMU in
// `before`, then shown in headless Chromium through the real panel hosts. What is on screen must be what the
// guest did: task B's buffer overwrote stack_region from 0x41000f40 with 0x0b0b0000 | i in the scheduler.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { HeatmapHost, TimelineHost } from '../../src/analysis/views/panel-hosts';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import type { HeatmapToHost, HeatmapToWebview, TimelineToHost, TimelineToWebview } from '../../src/protocol/messages';
import { RecordingStore } from '../../src/store/recording-store';
import { recordDemo, type DemoRecording } from '../support/demo-recording';
import { WORKER, launchBrowser, openPanel, screenshot } from './harness';

describe('panels on a real recording of the corrupted AArch32 demo', () => {
  let dir: string;
  let rec: DemoRecording;
  let browser: Browser;
  let runner: QueryRunner;
  let visits = 0;
  let snapshots = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bootscope-real-panels-'));
    rec = await recordDemo('demo-arm32-corrupted', path.join(dir, 'real.db'));
    const store = RecordingStore.open(rec.database, { readOnly: true });
    try {
      visits = store.stages(rec.sessionId).length;
      snapshots = store.snapshots(rec.sessionId).length;
    } finally {
      store.close();
    }
    browser = await launchBrowser();
    runner = new QueryRunner(rec.database, WORKER);
  });

  after(async () => {
    runner?.dispose();
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('heatmap: the first corruption is word 0x41000f40 = 0x0b0b0000 in the scheduler stage', async () => {
    let host: HeatmapHost | undefined;
    const panel = await openPanel<HeatmapToHost, HeatmapToWebview>(browser, 'heatmap', async (m, post) => {
      host ??= new HeatmapHost(runner, { recordingName: 'real.db', initialSessionId: rec.sessionId, post: (msg) => void post(msg) });
      await host.handle(m);
    }, { width: 1400, height: 900 });
    await panel.page.waitForSelector('body[data-state=ready]', { timeout: 30_000 });
    const text = (await panel.page.locator('.hm-region[data-region="stack_region"] .hm-corruption').textContent()) ?? '';
    assert.match(text, /First corruption: word 0x41000f40 stopped matching in snapshot \d+ \(stage scheduler_start, /);
    assert.match(text, /0x0b0b0000 instead of 0xdeadbeef/);
    for (const clean of ['data_region', 'heap_region', 'pattern_region']) {
      assert.match((await panel.page.locator(`.hm-region[data-region="${clean}"] .hm-corruption`).textContent()) ?? '', /^No corruption/, clean);
    }
    await screenshot(panel.page, 'real-heatmap-corrupted-arm32');
  });

  test('timeline: the status counts the recorded steps, stage visits and snapshots', async () => {
    let host: TimelineHost | undefined;
    const panel = await openPanel<TimelineToHost, TimelineToWebview>(browser, 'timeline', async (m, post) => {
      host ??= new TimelineHost(runner, { recordingName: 'real.db', post: (msg) => void post(msg) });
      await host.handle(m);
    });
    await panel.page.waitForSelector('body[data-state=ready]', { timeout: 30_000 });
    const status = (await panel.page.locator('#status').textContent()) ?? '';
    const steps = rec.result.instructions.toLocaleString('en-US');
    assert.ok(status.startsWith(`${steps} steps, ${visits} stage visits, ${snapshots} snapshots`), status);
    await screenshot(panel.page, 'real-timeline-corrupted-arm32');
  });
});
