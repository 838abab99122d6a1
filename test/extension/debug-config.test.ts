// launch.json validation (src/extension/debug-config.ts): the demo configurations contributed in
// package.json are valid, and an invalid attribute stops the launch with a message naming it.
import { parseRecordingConfig, QEMU_KEYS, REGION_KEYS, SNAPSHOT_KEYS, STAGE_KEYS, WINDOW_KEYS, WINDOW_POINT_KEYS } from '../../src/common/config';
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
    for (const a of ['qemu', 'elf', 'symbolFiles', 'database', 'record', 'maxInstructions', 'stages', 'regions', 'snapshots', 'stepMode', 'stopOnEntry', 'stopAt', 'capture', 'window']) {
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
    ['window', launch.window, WINDOW_KEYS],
  ];
  for (const [name, schema, keys] of cases) {
    test(`${name}: same properties, no others allowed`, () => {
      assert.deepEqual(Object.keys(schema?.properties ?? {}).sort(), [...keys].sort());
      assert.equal(schema?.additionalProperties, false);
    });
  }
});

describe('debug configurations: window points in the schema and the parser', () => {
  type Alt = { type?: string; properties?: Record<string, unknown> };
  const launch = (debuggerContribution?.configurationAttributes.launch.properties ?? {}) as Record<string, { properties?: Record<string, { oneOf?: Alt[] }> }>;
  for (const end of WINDOW_KEYS) {
    test(`window.${end}: the object forms are exactly the parser's point keys`, () => {
      const keys = (launch.window?.properties?.[end]?.oneOf ?? []).flatMap((a) => Object.keys(a.properties ?? {}));
      assert.deepEqual(keys.sort(), [...WINDOW_POINT_KEYS].sort());
    });
  }
  const base = { request: 'launch', qemu: { binary: 'qemu-system-aarch64', kernel: 'k.elf' }, elf: 'k.elf', stages: [{ name: 'sched', pcRange: ['0x40003000', '0x40004000'] }] };
  test('a string is a symbol, a numeric string an address; stage and instructions objects parse', () => {
    const c = parseRecordingConfig({ ...base, capture: 'plugin', window: { start: 'vTaskA', stop: { stage: 'sched' } } }, '/');
    assert.deepEqual(c.window, { start: { symbol: 'vTaskA' }, stop: { stage: 'sched' } });
    assert.deepEqual(parseRecordingConfig({ ...base, window: { start: '0x40001000', stop: { instructions: 5000 } } }, '/').window, { start: { pc: 0x40001000 }, stop: { instructions: 5000 } });
  });
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['an unknown stage', { window: { start: { stage: 'nope' } } }, 'window.start.stage', /no stage named "nope".*sched/],
    ['two point kinds at once', { window: { stop: { stage: 'sched', instructions: 4 } } }, 'window.stop', /exactly one of/],
    ['a typo in a point', { window: { start: { symbl: 'x' } } }, 'window.start.symbl', /did you mean "symbol"/],
    ['a window with gdbstub capture', { capture: 'gdbstub', window: { start: 'vTaskA' } }, 'window', /"capture": "plugin"/],
    ['window.stop beside stopAt', { stopAt: 'boot_done', window: { stop: 'vTaskB' } }, 'window.stop', /keep one/],
    ['an unknown capture', { capture: 'fast' }, 'capture', /"plugin".*"gdbstub"/],
    ['plugin capture on attach', { request: 'attach', port: 1234, qemu: undefined, capture: 'plugin' }, 'capture', /request": "launch"/],
  ];
  for (const [what, extra, field, message] of bad) {
    test(`${what} names ${field}`, () => {
      assert.throws(() => parseRecordingConfig({ ...base, ...extra }, '/'), (e: { field?: string; message: string }) => {
        assert.equal(e.field, field);
        assert.match(e.message, message);
        return true;
      });
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
