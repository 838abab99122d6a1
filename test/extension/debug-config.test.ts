// launch.json validation (src/extension/debug-config.ts): the demo configurations contributed in
// package.json are valid, and an invalid attribute stops the launch with a message naming it.
import { QEMU_KEYS, REGION_KEYS, SNAPSHOT_KEYS, STAGE_KEYS } from '../../src/common/config';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkDebugConfiguration } from '../../src/extension/debug-config';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: { debuggers: { type: string; initialConfigurations: Record<string, unknown>[]; configurationAttributes: Record<string, { properties: Record<string, unknown> }> }[] };
};
const debuggerContribution = pkg.contributes.debuggers.find((d) => d.type === 'bootscope');
const substitute = (c: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(c).replaceAll('${workspaceFolder}', root)) as Record<string, unknown>;

describe('debug configurations: package.json', () => {
  test('the bootscope debugger is contributed', () => assert.ok(debuggerContribution));
  for (const c of debuggerContribution?.initialConfigurations ?? []) {
    test(`initial configuration "${String(c.name)}" passes validation`, () => {
      const r = checkDebugConfiguration(substitute(c), root);
      assert.equal(r.ok, true, r.ok ? '' : r.message);
    });
  }
  test('every attribute the parser knows has a launch schema entry', () => {
    const launch = debuggerContribution?.configurationAttributes.launch.properties ?? {};
    for (const a of ['qemu', 'elf', 'symbolFiles', 'database', 'record', 'maxInstructions', 'stages', 'regions', 'snapshots', 'stepMode', 'stopOnEntry', 'stopAt']) {
      assert.ok(a in launch, `launch schema lacks "${a}"`);
    }
  });
});

describe('debug configurations: the launch schema and the parser know the same nested keys', () => {
  type Schema = { properties?: Record<string, Schema>; items?: Schema; additionalProperties?: boolean };
  const launch = (debuggerContribution?.configurationAttributes.launch.properties ?? {}) as Record<string, Schema>;
  const cases: [string, Schema | undefined, readonly string[]][] = [
    ['qemu', launch.qemu, QEMU_KEYS],
    ['stages[]', launch.stages?.items, STAGE_KEYS],
    ['regions[]', launch.regions?.items, REGION_KEYS],
    ['snapshots', launch.snapshots, SNAPSHOT_KEYS],
  ];
  for (const [name, schema, keys] of cases) {
    test(`${name}: same properties, no others allowed`, () => {
      assert.deepEqual(Object.keys(schema?.properties ?? {}).sort(), [...keys].sort());
      assert.equal(schema?.additionalProperties, false);
    });
  }
});

describe('debug configurations: invalid ones name the attribute', () => {
  test('a bad region pattern names regions[0].pattern', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'launch', name: 'x', qemu: { binary: 'qemu-system-arm' }, regions: [{ name: 'r', start: 0, size: 16, pattern: 'zz' }] }, root);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.attribute, 'regions[0].pattern');
  });
  test('attach without a port names "port"', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'attach', name: 'x' }, root);
    assert.equal(!r.ok && r.attribute, 'port');
  });
  test('the message quotes the configuration name', () => {
    const r = checkDebugConfiguration({ type: 'bootscope', request: 'launch', name: 'My boot', stepMode: 'fast', qemu: {} }, root);
    assert.match(!r.ok ? r.message : '', /invalid "stepMode" in launch configuration "My boot"/);
  });
});
