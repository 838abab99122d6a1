// The pattern heatmap bundle in headless Chromium, hosted by the real HeatmapHost: every painted region
// side by side, the corrupted stack's first corruption spelled out and highlighted, hover details, the
// snapshot slider, and a hostile region name shown as text. Screenshots: artifacts/webview/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { HeatmapHost } from '../../src/analysis/views/panel-hosts';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import type { HeatmapToHost, HeatmapToWebview } from '../../src/protocol/messages';
import { HOSTILE, demoRecording } from './fixtures';
import { WORKER, injectedElements, launchBrowser, openPanel, screenshot, type PanelPage } from './harness';

describe('heatmap webview', () => {
  let browser: Browser;
  let runner: QueryRunner;
  let panel: PanelPage<HeatmapToHost, HeatmapToWebview>;
  const toWebview: HeatmapToWebview[] = [];
  const rec = demoRecording();

  before(async () => {
    browser = await launchBrowser();
    runner = new QueryRunner(rec.file, WORKER);
    let hostRef: HeatmapHost | undefined;
    panel = await openPanel<HeatmapToHost, HeatmapToWebview>(browser, 'heatmap', async (m, post) => {
      hostRef ??= new HeatmapHost(runner, {
        recordingName: path.basename(rec.file), initialSessionId: rec.bootSession,
        post: (msg) => { toWebview.push(msg); void post(msg); },
      }, );
      await hostRef.handle(m);
    }, { width: 1400, height: 900 });
    await panel.page.waitForSelector('body[data-state=ready]', { timeout: 20_000 });
  });

  after(async () => {
    runner?.dispose();
    await browser?.close();
  });

  test('shows every region with an expected pattern side by side', async () => {
    const names = await panel.page.locator('.hm-region .hm-name').allTextContents();
    assert.deepEqual(names, ['stack_region', 'data_region', 'heap_region', 'pattern_region']);
    const boxes = await Promise.all(names.map((_, i) => panel.page.locator('.hm-region').nth(i).boundingBox()));
    assert.ok(boxes[1]!.x > boxes[0]!.x && Math.abs(boxes[1]!.y - boxes[0]!.y) < 2, 'first two regions are on one row');
  });

  test("reports the corrupted stack's first corruption: the word, the snapshot and the stage", async () => {
    const stack = panel.page.locator('.hm-region[data-region="stack_region"] .hm-corruption');
    const text = (await stack.textContent()) ?? '';
    // recordSyntheticSession fills stack bytes 0x800..0x83f with 0x11 when the scheduler starts.
    assert.match(text, /First corruption: word 0x41000800 stopped matching in snapshot \d+ \(stage scheduler_start, /);
    assert.match(text, /0x11111111 instead of 0x12345678/);
    const region = toWebview.find((m) => m.type === 'heatmap/region' && m.heatmap.regionName === 'stack_region');
    assert.ok(region && region.type === 'heatmap/region' && region.heatmap.firstCorruption);
    assert.equal(await panel.page.locator('#snapshot-slider').inputValue(), String(region.heatmap.firstCorruption.snapshotIndex), 'the slider opens on the corruption');
    const painted = panel.page.locator('.hm-region[data-region="pattern_region"] .hm-corruption');
    assert.match((await painted.textContent()) ?? '', /^No corruption/);
    await screenshot(panel.page, 'heatmap-first-corruption');
  });

  test('hovering the corrupted word shows address, value, expected value, snapshot and stage', async () => {
    const grid = panel.page.locator('.hm-region[data-region="stack_region"] canvas.hm-grid');
    const box = (await grid.boundingBox())!;
    const cell = box.width / 64; // 64 words per row
    const word = 0x800 / 4;
    await panel.page.mouse.move(box.x + (word % 64) * cell + cell / 2, box.y + Math.floor(word / 64) * cell + cell / 2);
    const tip = (await panel.page.locator('.bs-tooltip').textContent()) ?? '';
    assert.match(tip, /stack_region {2}word 512 at 0x41000800/);
    assert.match(tip, /value {4}0x11111111/);
    assert.match(tip, /expected 0x12345678 {2}→ differs/);
    assert.match(tip, /stage scheduler_start/);
    assert.match(tip, /FIRST CORRUPTION/);
  });

  test('the slider moves every region to another snapshot', async () => {
    await panel.page.locator('#snapshot-slider').fill('0');
    const label = (await panel.page.locator('#snapshot-label').textContent()) ?? '';
    assert.match(label, /^1 \/ 15: snapshot \d+ · elfloader/);
    const info = (await panel.page.locator('.hm-region[data-region="pattern_region"] .hm-info').textContent()) ?? '';
    assert.match(info, /^0 of 4,096 words match 0xdeadbeef/, 'nothing is painted before the boot starts');
    await screenshot(panel.page, 'heatmap-first-snapshot');
  });

  test('a hostile region name shows as text in the card and the tooltip', async () => {
    await panel.page.selectOption('#session', String(rec.hostileSession));
    await panel.page.waitForFunction((n) => document.querySelector('.hm-region .hm-name')?.textContent === n && document.body.dataset.state === 'ready', HOSTILE);
    const card = panel.page.locator('.hm-region').first();
    assert.equal(await card.locator('.hm-name').textContent(), HOSTILE);
    assert.match((await card.locator('.hm-corruption').textContent()) ?? '', /First corruption: word 0x42000028 .*0x41414141 instead of 0xdeadbeef/);
    const box = (await card.locator('canvas.hm-matrix').boundingBox())!;
    await panel.page.mouse.move(box.x + 2, box.y + 2);
    assert.ok(((await panel.page.locator('.bs-tooltip').textContent()) ?? '').startsWith(HOSTILE));
    assert.equal(await injectedElements(panel.page), 0);
    assert.deepEqual(panel.dialogs, []);
    await screenshot(panel.page, 'heatmap-hostile-region');
  });

  test('no CSP violation, console error or host error', () => {
    assert.deepEqual(panel.problems, []);
    assert.deepEqual(toWebview.filter((m) => m.type === 'error'), []);
  });
});
