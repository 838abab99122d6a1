// The boot-stage timeline bundle in headless Chromium, hosted by the real TimelineHost against a recording:
// every stage visit is drawn where its steps are, zoom asks SQL for a narrower window, a click selects the
// instruction, and hostile symbol/stage/disassembly strings show as text. Screenshots: artifacts/webview/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { TimelineHost } from '../../src/analysis/views/panel-hosts';
import { QueryRunner } from '../../src/analysis/views/query-runner';
import type { TimelineOverview, TimelineToHost, TimelineToWebview } from '../../src/protocol/messages';
import { HOSTILE, HOSTILE_DISASSEMBLY, HOSTILE_STAGE, demoRecording } from './fixtures';
import { WORKER, injectedElements, launchBrowser, openPanel, screenshot, type PanelPage } from './harness';

const AXIS_H = 24;
const STAGE_H = 30;
const SNAP_H = 20;

describe('timeline webview', () => {
  let browser: Browser;
  let runner: QueryRunner;
  let panel: PanelPage<TimelineToHost, TimelineToWebview>;
  const toWebview: TimelineToWebview[] = [];
  const revealed: [number, number][] = [];
  const rec = demoRecording();

  before(async () => {
    browser = await launchBrowser();
    runner = new QueryRunner(rec.file, WORKER);
    let hostRef: TimelineHost | undefined;
    panel = await openPanel<TimelineToHost, TimelineToWebview>(browser, 'timeline', async (m, post) => {
      hostRef ??= new TimelineHost(runner, {
        recordingName: path.basename(rec.file), initialSessionId: rec.bootSession,
        post: (msg) => { toWebview.push(msg); void post(msg); },
        revealInstruction: (s, seq) => revealed.push([s, seq]),
      });
      await hostRef.handle(m);
    });
    await panel.page.waitForSelector('body[data-state=ready]', { timeout: 20_000 });
  });

  after(async () => {
    runner?.dispose();
    await browser?.close();
  });

  function latestOverview(): TimelineOverview {
    const init = toWebview.filter((m) => m.type === 'timeline/init').at(-1);
    assert.ok(init && init.type === 'timeline/init' && init.overview, 'host sent an overview');
    return init.overview;
  }

  async function hoverAt(seq: number, y: number, o: TimelineOverview): Promise<string> {
    const box = (await panel.page.locator('#timeline').boundingBox())!;
    const x = box.x + ((seq - o.firstSeq) / (o.lastSeq + 1 - o.firstSeq)) * box.width;
    await panel.page.mouse.move(x, box.y + y);
    return (await panel.page.locator('.bs-tooltip').textContent()) ?? '';
  }

  test('draws every stage visit where its steps are (hover over each band names it)', async () => {
    const o = latestOverview();
    assert.ok(o.stages.length >= 7, `expected the seed's stages, got ${o.stages.length}`);
    for (const b of o.stages) {
      const text = await hoverAt((b.firstSeq + b.lastSeq) / 2, AXIS_H + STAGE_H / 2, o);
      assert.match(text, new RegExp(`stage: ${b.name} \\(visit ${b.visit}\\)`), `band of ${b.name} visit ${b.visit}`);
    }
    const legend = await panel.page.locator('#legend .tl-stage').allTextContents();
    for (const name of new Set(o.stages.map((b) => b.name))) assert.ok(legend.some((l) => l.startsWith(`${name} (`)), `legend lists ${name}`);
    await screenshot(panel.page, 'timeline-overview');
  });

  test('shows the busiest functions as lanes, counted in SQL buckets', async () => {
    const win = toWebview.filter((m) => m.type === 'timeline/window').at(-1);
    assert.ok(win && win.type === 'timeline/window');
    assert.ok(win.window.lanes.length > 0 && win.window.lanes.length <= 8);
    const total = win.window.lanes.reduce((a, l) => a + l.counts.reduce((x, y) => x + y, 0), 0) + win.window.otherCounts.reduce((x, y) => x + y, 0);
    assert.equal(total, rec.instructions, 'every step is counted once');
    assert.equal(win.window.instructions, undefined, 'a whole-session window ships no instruction rows');
    const labels = await panel.page.locator('.tl-lane-label').allTextContents();
    assert.deepEqual(labels.slice(0, win.window.lanes.length), win.window.lanes.map((l) => l.functionName));
  });

  test('hovering a snapshot marker shows its stage and step', async () => {
    const o = latestOverview();
    const s = o.snapshots[3];
    const text = await hoverAt(s.sequenceNumber, AXIS_H + STAGE_H + SNAP_H / 2, o);
    assert.match(text, new RegExp(`snapshot ${s.snapshotId} `));
    assert.match(text, new RegExp(`stage: ${s.stage}`));
  });

  test('zooming in asks the host for a narrower window and redraws with smaller buckets', async () => {
    const before = toWebview.filter((m) => m.type === 'timeline/window').length;
    await panel.page.locator('#timeline').focus();
    for (let i = 0; i < 12; i++) await panel.page.keyboard.press('+');
    await panel.page.waitForFunction((n) => document.querySelector('#status')?.textContent?.includes('bucket') && n >= 0, before);
    await panel.page.waitForTimeout(400);
    const wins = toWebview.filter((m) => m.type === 'timeline/window');
    assert.ok(wins.length > before, 'a new window arrived');
    const last = wins.at(-1)!;
    assert.ok(last.type === 'timeline/window' && last.window.toSeq - last.window.fromSeq < rec.instructions / 5, 'the window is narrower');
    await screenshot(panel.page, 'timeline-zoomed');
    await panel.page.locator('#zoom-reset').click();
  });

  test('clicking a lane selects that instruction and asks the host to reveal it', async () => {
    const o = latestOverview();
    const box = (await panel.page.locator('#timeline').boundingBox())!;
    await panel.page.mouse.click(box.x + box.width / 2, box.y + AXIS_H + STAGE_H + SNAP_H + 10);
    await panel.page.waitForFunction(() => document.querySelector('#detail')?.textContent?.startsWith('Selected #'));
    assert.equal(revealed.length, 1);
    const [session, seq] = revealed[0];
    assert.equal(session, o.sessionId);
    assert.ok(Math.abs(seq - (o.firstSeq + o.lastSeq) / 2) < rec.instructions / 50, `selected #${seq} near the middle`);
  });

  test('hostile symbol, stage and disassembly strings show as text, never as markup', async () => {
    await panel.page.selectOption('#session', String(rec.hostileSession));
    await panel.page.waitForFunction((name) => document.body.dataset.state === 'ready'
      && [...document.querySelectorAll('.tl-lane-label')].some((e) => e.textContent === name), HOSTILE);
    const o = latestOverview();
    assert.equal(o.sessionId, rec.hostileSession);
    assert.ok((await panel.page.locator('.tl-lane-label').allTextContents()).includes(HOSTILE), 'the hostile symbol is a lane label, literally');
    assert.ok((await panel.page.locator('#legend').textContent())!.includes(HOSTILE_STAGE));
    const stageTip = await hoverAt(50, AXIS_H + STAGE_H / 2, o);
    assert.ok(stageTip.includes(`stage: ${HOSTILE_STAGE}`), stageTip);
    // 300 steps: narrow enough that the rows themselves come along, so hover shows the disassembly.
    const laneTip = await hoverAt(120, AXIS_H + STAGE_H + SNAP_H + 10, o);
    assert.ok(laneTip.includes(HOSTILE_DISASSEMBLY) && laneTip.includes(HOSTILE), laneTip);
    assert.equal(await injectedElements(panel.page), 0, 'no element was created from a guest string');
    assert.deepEqual(panel.dialogs, []);
    await screenshot(panel.page, 'timeline-hostile-names');
  });

  test('no CSP violation, console error or host error while doing all of the above', () => {
    assert.deepEqual(panel.problems, []);
    assert.deepEqual(toWebview.filter((m) => m.type === 'error'), []);
  });
});
