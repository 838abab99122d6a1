// A static guard beside the browser tests: no webview source writes markup from strings (innerHTML and
// friends), so guest-derived text can only ever reach the page as text nodes or canvas glyphs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

test('webview sources use no HTML-parsing DOM sinks', () => {
  const dir = path.resolve(__dirname, '../../webview');
  const offenders = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).flatMap((f) => {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    return [...text.matchAll(/\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser)\b/g)].map((m) => `${f}: ${m[1]}`);
  });
  assert.deepEqual(offenders, []);
});
