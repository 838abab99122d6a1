// Clicking a word in the pattern heatmap says who wrote it (issue 14), in headless Chromium through the
// real HeatmapHost and StoreWordHistory: on a plugin-capture recording of the corrupted AArch32 demo
// (real QEMU 10), the overwritten stack word 0x41000f40 names task B's store as the last write before the
// snapshot, with the painter's 0xdeadbeef as the old value, and "Go to" asks for that instruction; on a
// recording without stores (gdbstub capture) the panel says it cannot tell, and why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { HeatmapHost } from '../../src/analysis/views/panel-hosts';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import { StoreWordHistory } from '../../src/analysis/views/heatmap-writes';
import type { HeatmapToHost, HeatmapToWebview } from '../../src/protocol/messages';
import { RecordingStore } from '../../src/store/recording-store';
import { qemu10 } from '../support/plugin-fixtures';
import { CLI, recordPluginDemo } from '../support/plugin-recording';
import { demoRecording } from './fixtures';
import { WORKER, launchBrowser, openPanel, screenshot, type PanelPage } from './harness';

const q = qemu10();
const skipPlugin = 'skip' in q ? q.skip : existsSync(CLI) ? false : `needs ${CLI} (node esbuild.mjs)`;

interface Opened {
  panel: PanelPage<HeatmapToHost, HeatmapToWebview>;
  gotos: Array<[number, number]>;
  runner: QueryRunner;
  words: StoreWordHistory;
}

async function openHeatmap(browser: Browser, file: string, sessionId: number): Promise<Opened> {
  const runner = new QueryRunner(file, WORKER);
  const words = new StoreWordHistory(file);
  const gotos: Array<[number, number]> = [];
  let host: HeatmapHost | undefined;
  const panel = await openPanel<HeatmapToHost, HeatmapToWebview>(browser, 'heatmap', async (m, post) => {
    host ??= new HeatmapHost(runner, {
      recordingName: path.basename(file), initialSessionId: sessionId, post: (msg) => void post(msg),
      writes: words, gotoInstruction: (s, seq) => { gotos.push([s, seq]); },
    });
    await host.handle(m);
  }, { width: 1400, height: 1000 });
  await panel.page.waitForSelector('body[data-state=ready]', { timeout: 30_000 });
  return { panel, gotos, runner, words };
}

/** Clicks word `index` of the region's grid (64 words per row) at the centre of its cell. */
async function clickWord(panel: PanelPage<HeatmapToHost, HeatmapToWebview>, region: string, index: number): Promise<void> {
  const grid = panel.page.locator(`.hm-region[data-region="${region}"] .hm-grid`);
  const box = await grid.boundingBox();
  assert.ok(box);
  const cell = box.width / 64;
  await grid.click({ position: { x: (index % 64 + 0.5) * cell, y: (Math.floor(index / 64) + 0.5) * cell } });
  await panel.page.waitForSelector(`.hm-region[data-region="${region}"] .hm-writes[data-state=ready]`, { timeout: 15_000 });
}

describe('heatmap: who wrote a clicked word, on a plugin-capture recording of the corrupted demo', { skip: skipPlugin }, () => {
  let dir: string;
  let browser: Browser;
  let opened: Opened;
  let rec: { database: string; sessionId: number };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bootscope-heatmap-writes-'));
    rec = recordPluginDemo('demo-arm32-corrupted', dir);
    browser = await launchBrowser();
    opened = await openHeatmap(browser, rec.database, rec.sessionId);
  });
  after(async () => {
    opened?.runner.dispose();
    opened?.words.dispose();
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('clicking 0x41000f40 in the first corrupted snapshot names task B\'s store, over the painted word', async () => {
    const { panel } = opened;
    const corruption = (await panel.page.locator('.hm-region[data-region="stack_region"] .hm-corruption').textContent()) ?? '';
    const m = /snapshot (\d+)/.exec(corruption);
    assert.ok(m && /word 0x41000f40/.test(corruption), corruption);
    // Independently of history.ts: the last store covering the word before that snapshot, in plain SQL.
    const store = RecordingStore.open(rec.database, { readOnly: true, log: () => undefined });
    let lastSeq: number;
    let fn: string;
    let snapshotSeq: number;
    try {
      snapshotSeq = Number(store.query(`SELECT sequence_number FROM memory_snapshots WHERE snapshot_id = ${m[1]}`).rows[0][0]);
      lastSeq = Number(store.query(`SELECT MAX(sequence_number) FROM memory_writes WHERE session_id = ${rec.sessionId}
          AND address <= ${0x41000f40} AND address + size > ${0x41000f40} AND sequence_number < ${snapshotSeq}`).rows[0][0]);
      fn = String(store.query(`SELECT function_name FROM instruction_traces WHERE session_id = ${rec.sessionId} AND sequence_number = ${lastSeq}`).rows[0][0]);
    } finally {
      store.close(null);
    }
    assert.equal(fn, 'vTaskB');
    await clickWord(panel, 'stack_region', 0xf40 / 4);
    const writes = panel.page.locator('.hm-region[data-region="stack_region"] .hm-writes');
    const title = (await writes.locator('.hm-writes-title').textContent()) ?? '';
    assert.equal(title, `Who wrote 0x41000f40 — snapshot ${m[1]} (before instruction #${snapshotSeq.toLocaleString('en-US')})`);
    const last = (await writes.locator('.hm-writes-last').textContent()) ?? '';
    assert.match(last, new RegExp(`^Last write before this snapshot: #${lastSeq.toLocaleString('en-US')} vTaskB \\(scheduler_start\\) pc 0x[0-9a-f]+: 0x0b0b0000, was 0xdeadbeef`));
    const items = await writes.locator('.hm-writes-list li').allTextContents();
    assert.ok(items.some((t) => /vPaintMemoryPattern .*: 0xdeadbeef, was /.test(t)), `the painter's store is listed: ${items.join(' | ')}`);
    assert.equal(await writes.locator(`.hm-writes-list li.hm-write-last[data-seq="${lastSeq}"]`).count(), 1, 'the last write before the snapshot is marked in the list');
    await panel.page.mouse.move(1, 1); // the grid's hover tooltip away from the list
    await screenshot(panel.page, 'heatmap-who-wrote-corrupted-arm32');

    await writes.locator('.hm-writes-last .hm-goto').click();
    for (let i = 0; i < 50 && opened.gotos.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(opened.gotos, [[rec.sessionId, lastSeq]]);
    assert.deepEqual(panel.fromWebview.filter((x) => x.type === 'heatmap/gotoInstruction'), [{ type: 'heatmap/gotoInstruction', sessionId: rec.sessionId, sequenceNumber: lastSeq }]);
    assert.deepEqual(panel.problems, []);
  });
});

describe('heatmap: who wrote a clicked word, on a recording without stores', () => {
  let browser: Browser;
  let opened: Opened;
  const rec = demoRecording();

  before(async () => {
    browser = await launchBrowser();
    opened = await openHeatmap(browser, rec.file, rec.bootSession);
  });
  after(async () => {
    opened?.runner.dispose();
    opened?.words.dispose();
    await browser?.close();
  });

  test('says the session recorded no memory writes and how to get them; nothing to go to', async () => {
    const { panel } = opened;
    await clickWord(panel, 'stack_region', 0x800 / 4);
    const writes = panel.page.locator('.hm-region[data-region="stack_region"] .hm-writes');
    assert.match((await writes.locator('.hm-writes-title').textContent()) ?? '', /^Who wrote 0x41000800 — snapshot \d+/);
    assert.equal((await writes.locator('.hm-writes-none').textContent()) ?? '',
      'This session recorded no memory writes (gdbstub capture): record it with plugin capture to see who wrote each word.');
    assert.equal(await writes.locator('.hm-goto').count(), 0);
    assert.deepEqual(panel.problems, []);
  });
});
