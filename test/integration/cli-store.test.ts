// The CLI's side of the store move (issue 12): `bootscope query` streams rows and caps what it holds, so a
// query without end neither exhausts memory nor runs forever in table form and says that its output was cut;
// the bin started by a Node older than 22.13 re-runs itself under .cache/node-24, or says what to do.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RecordingStore } from '../../src/store/recording-store';
import { recordSyntheticSession } from '../../src/store/synthetic-session';
import { cachedNode, nodeIsSupported } from '../../src/cli/node-version';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ENDLESS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c';

/** The machine's own `node` when it is older than 22.13 (the case the re-exec is for), else undefined. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    const r = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (r.status === 0 && !nodeIsSupported(r.stdout.trim())) return candidate;
  }
  return undefined;
}

describe('bootscope query and the bin', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-cli-store-'));
    file = path.join(dir, 'rec.db');
    const store = RecordingStore.open(file, { log: () => {} });
    recordSyntheticSession(store, { instructions: 2000, snapshots: false });
    store.close();
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test('a query without end, as a table: the first 10000 rows, a note that the output was cut, exit 0, bounded memory', () => {
    // 48 MB of heap: holding the rows (the old behaviour) dies with "heap out of memory".
    const r = spawnSync(process.execPath, ['--max-old-space-size=48', CLI, 'query', '--db', file, ENDLESS], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr.slice(0, 2000));
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2 + 10_000);
    assert.equal(lines.at(-1)?.trim(), '10000');
    assert.match(r.stderr, /output cut after 10000 rows: the query returns more; use --format csv or json/);
  });

  test('csv and json stream every row without holding them (300 000 rows in a 48 MB heap)', () => {
    for (const format of ['csv', 'json']) {
      const sql = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 300000) SELECT x, printf(\'%050d\', x) AS pad FROM c';
      const r = spawnSync(process.execPath, ['--max-old-space-size=48', CLI, 'query', '--db', file, '--format', format, sql], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
      assert.equal(r.status, 0, `${format}: ${r.stderr.slice(0, 2000)}`);
      if (format === 'json') {
        const rows = JSON.parse(r.stdout) as { x: number }[];
        assert.equal(rows.length, 300_000);
        assert.equal(rows[299_999].x, 300_000);
      } else {
        assert.equal(r.stdout.trimEnd().split('\n').length, 300_001);
      }
    }
  });

  test('started by a Node older than 22.13, the bin re-runs itself with .cache/node-24', (t) => {
    const node = oldNode();
    if (!node) { t.skip('no Node older than 22.13 on this machine'); return; }
    if (!fs.existsSync(cachedNode(ROOT))) { t.skip('no .cache/node-24 (scripts/setup.sh installs it)'); return; }
    const r = spawnSync(node, [CLI, 'sessions', '--db', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^1\t.*\tcompleted\t2000 instructions/m);
    assert.doesNotMatch(r.stderr, /ExperimentalWarning|SQLite is an experimental/);
    const bad = spawnSync(node, [CLI, 'query', '--db', file, 'DELETE FROM metrics'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 4, 'the exit status of the re-run bin is passed through');
  });

  test('started by a Node older than 22.13 with no .cache/node-24: exit 1 saying to run scripts/setup.sh or install Node >= 22.13', (t) => {
    const node = oldNode();
    if (!node) { t.skip('no Node older than 22.13 on this machine'); return; }
    const copy = path.join(dir, 'elsewhere', 'dist');
    fs.mkdirSync(copy, { recursive: true });
    fs.copyFileSync(CLI, path.join(copy, 'cli.js'));
    const r = spawnSync(node, [path.join(copy, 'cli.js'), 'sessions', '--db', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /needs Node >= 22\.13 .*this is Node \d+.*Run scripts\/setup\.sh .*or install Node 24/);
  });
});
