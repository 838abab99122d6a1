// The `replay` launch configuration: parsed by src/common/replay-config.ts through the extension's launch
// check, the snippet package.json contributes is valid, and every mistake names its attribute.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkDebugConfiguration } from '../../src/extension/debug-config';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: { debuggers: { type: string; configurationSnippets: { label: string; body: Record<string, unknown> }[]; configurationAttributes: { launch: { properties: Record<string, { properties?: Record<string, unknown> }> } } }[] };
};
const dbg = pkg.contributes.debuggers.find((d) => d.type === 'bootscope');

describe('replay launch configuration', () => {
  test('the snippet, with its placeholders filled in, passes validation', () => {
    const snippet = dbg?.configurationSnippets.find((s) => /Replay/.test(s.label));
    assert.ok(snippet, 'a replay snippet is contributed');
    // VS Code's snippet syntax: "^" unquotes, ${N:default} is a tab stop with its default.
    const text = JSON.stringify(snippet.body).replace(/"\^/g, '"').replace(/\$\{\d+:([^}]*)\}/g, '$1');
    const body = JSON.parse(text.replace(/"\\"\\\\\$\{workspaceFolder\}\/([^"\\]*)\\""/g, `"${root}/$1"`).replace(/"session":"(\d+)"/, '"session":$1')) as Record<string, unknown>;
    const r = checkDebugConfiguration(body, root);
    assert.equal(r.ok, true, r.ok ? '' : r.message);
    assert.deepEqual(r.ok && r.config, { database: path.join(root, 'bootscope.db'), session: 1, at: undefined, elf: undefined });
  });

  test('the launch schema documents replay.database, replay.session and replay.at', () => {
    const replay = dbg?.configurationAttributes.launch.properties.replay;
    assert.deepEqual(Object.keys(replay?.properties ?? {}).sort(), ['at', 'database', 'session']);
  });

  test('a relative database resolves against the workspace folder', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'launch', name: 'r', replay: { database: 'rec/boot.db', session: '0x2' } }, '/ws');
    assert.deepEqual(r.ok && r.config, { database: '/ws/rec/boot.db', session: 2, at: undefined, elf: undefined });
  });

  test('a recording attribute beside replay is refused by name', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'launch', name: 'r', replay: { database: 'a.db', session: 1 }, qemu: {} }, '/ws');
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.attribute, 'qemu');
  });

  test('a missing session says what to put there', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'launch', name: 'r', replay: { database: 'a.db' } }, '/ws');
    assert.equal(!r.ok && r.attribute, 'replay.session');
    assert.match(!r.ok ? r.message : '', /session number/);
  });

  test('an unknown key inside replay is refused naming the known ones', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'launch', name: 'r', replay: { database: 'a.db', session: 1, sesion: 2 } }, '/ws');
    assert.equal(!r.ok && r.attribute, 'replay.sesion');
    assert.match(!r.ok ? r.message : '', /database, session, at/);
  });

  test('attach is not a replay', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'attach', name: 'r', replay: { database: 'a.db', session: 1 } }, '/ws');
    assert.equal(!r.ok && r.attribute, 'request');
  });
});
