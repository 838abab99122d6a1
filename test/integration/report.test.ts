// The HTML report (src/analysis/report.ts) on a REAL recording of the corrupted AArch32 demo guest, whose task
// B overwrites the end of stack_region (guest/README.md "Corrupted variant": 95.3 %, first mismatch at
// +0xf40): every stage, the corruption with its address, the guest's UART output. And on a synthetic session
// with hostile strings: everything escaped, and no way for the file to load or run anything.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfigFile } from '../../src/cli/config-file';
import { RecordingSession, statusFor } from '../../src/recorder/session';
import { RecordingStore } from '../../src/store/recording-store';
import { recordSyntheticSession } from '../../src/store/synthetic-session';
import { renderHtmlReport } from '../../src/analysis/report';
import type { RecordingConfig } from '../../src/common/config';

/** Elements the report is allowed to contain: text, tables, inline SVG, inline CSS. Nothing that loads or runs. */
const ALLOWED_TAGS = new Set(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'dl', 'dt', 'dd', 'p', 'div',
  'span', 'code', 'pre', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'svg', 'text', 'rect', 'line']);

function tagsOf(html: string): { name: string; attributes: string[] }[] {
  const tags: { name: string; attributes: string[] }[] = [];
  for (const m of html.matchAll(/<\/?([!a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)) {
    tags.push({ name: m[1].toLowerCase(), attributes: [...m[2].matchAll(/([^\s="']+)\s*=/g)].map((a) => a[1].toLowerCase()) });
  }
  return tags;
}

/** Fails naming the first element or attribute through which the file could fetch or execute something. */
function assertSelfContained(html: string): void {
  for (const { name, attributes } of tagsOf(html)) {
    assert.ok(ALLOWED_TAGS.has(name), `<${name}> must not appear in the report`);
    for (const a of attributes) {
      assert.ok(!/^(src|href|xlink:href|srcset|action|formaction|poster|data)$/.test(a) && !a.startsWith('on'), `<${name} ${a}=...> must not appear`);
    }
  }
  const css = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]).join('\n');
  assert.doesNotMatch(css, /url\(|@import/, 'the stylesheet must not fetch anything');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
}

/** Text of the table that follows heading `h2` (up to the next heading). */
function section(html: string, heading: string): string {
  const start = html.indexOf(`<h2>${heading}`);
  assert.ok(start >= 0, `no "${heading}" section`);
  const end = html.indexOf('<h2>', start + 4);
  return html.slice(start, end < 0 ? undefined : end);
}

describe('HTML report of a real recording of the corrupted AArch32 demo', () => {
  let dir: string;
  let config: RecordingConfig;
  let html: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-report-'));
    config = { ...loadConfigFile('guest/demo-arm32-corrupted.json'), database: path.join(dir, 'corrupted.db') };
    const session = await RecordingSession.start({ config });
    try {
      const result = await session.record();
      assert.equal(result.reason, 'stop-at', `the boot should reach ${config.stopAt}; it ended with ${result.reason}`);
      await session.recorder.captureSnapshot('end');
      const { status, reason } = statusFor(result.reason);
      await session.close(status, reason);
    } finally {
      await session.close('error', 'test failed while recording');
    }
    const store = RecordingStore.open(config.database, { readOnly: true });
    try {
      html = renderHtmlReport(store, session.sessionId);
    } finally {
      store.close();
    }
  }, { timeout: 110_000 });

  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  test('the stage visits table lists every configured stage, first entered in boot order', () => {
    const visits = section(html, 'Stage visits');
    const names = [...visits.matchAll(/<tr><td>\d+<\/td><td>([^<]*)<\/td>/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(names)], config.stages.map((s) => s.name));
    const timeline = section(html, 'Boot stage timeline');
    for (const s of config.stages) assert.ok(timeline.includes(`</span>${s.name}</span>`), `${s.name} missing from the timeline legend`);
  });

  test('the summary calls out stack_region\'s drop with its first corrupted address, 0x41000f40', () => {
    const summary = html.slice(html.indexOf('<dl>'), html.indexOf('</dl>'));
    assert.match(summary, /<span class="bad">stack_region dropped from 100\.0% to 95\.3% after painting, first mismatch at 0x41000f40 \(\+0xf40\)/);
    for (const ok of ['data_region', 'heap_region', 'pattern_region']) assert.ok(!summary.includes(ok), `${ok} is intact but flagged`);
  });

  test('the last snapshot\'s table shows stack_region at 95.3 % with its first mismatch', () => {
    const regions = section(html, 'Memory regions at the last snapshot');
    const row = regions.split('\n').find((l) => l.startsWith('<tr><td>stack_region</td>'));
    assert.ok(row, 'no stack_region row');
    assert.match(row, /976 \/ 1,024/);
    assert.match(row, /95\.3%/);
    assert.match(row, /<code>0x41000f40 \(\+0xf40\)<\/code>/);
    assert.match(row, /dropped from 100\.0%/);
  });

  test('the guest\'s UART output is included', () => {
    assert.match(section(html, 'Guest UART output'), /\[sched\] switch A-&gt;B/);
  });

  test('the report is self-contained: no scripts, no links, no external URLs', () => {
    assertSelfContained(html);
  });
});

describe('HTML report escapes hostile recording strings', () => {
  let dir: string;
  let html: string;
  const description = '<script>alert("description")</script> & \'quotes\'';
  const stage = '<img src=x onerror=alert(1)>';
  const fn = '</title><script src="https://evil.example/x.js"></script>';

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-report-hostile-'));
    const store = RecordingStore.open(path.join(dir, 'hostile.db'), { log: () => undefined });
    try {
      const s = recordSyntheticSession(store, {
        instructions: 2000, seed: 11, description,
        functionNames: [fn, 'main', '<b>bold</b>'], stageNames: ['boot', stage, 'run"quoted"'],
      });
      store.updateSession(s.sessionId, { uartLog: '<iframe src="https://evil.example"></iframe>\r\n' });
      store.addMetric(s.sessionId, '<svg onload=alert(2)>', 1, '<u>');
      html = renderHtmlReport(store, s.sessionId);
    } finally {
      store.close();
    }
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  test('a <script> description appears only escaped', () => {
    assert.ok(!html.includes('<script>'), 'raw <script> in the report');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;description&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;'));
  });

  test('hostile stage, function, metric and UART strings appear only escaped', () => {
    for (const raw of [stage, fn, '<b>bold</b>', '<svg onload=alert(2)>', '<iframe']) assert.ok(!html.includes(raw), `raw ${raw} in the report`);
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('&lt;/title&gt;&lt;script src=&quot;https://evil.example/x.js&quot;&gt;&lt;/script&gt;'));
  });

  test('no element or attribute lets the hostile strings load or run anything', () => {
    assertSelfContained(html);
  });
});
