// BreakpointTable (src/adapter/breakpoints.ts) against the DWARF fixtures in test/fixtures/elf: source
// lines bind through the line table (moving to the next line with code), functions through symbols,
// and what cannot bind says why. No QEMU.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadSymbols } from '../../src/symbols';
import { BreakpointTable, hitConditionMet, parseAddress } from '../../src/adapter/breakpoints';

const FIXTURES = path.resolve(__dirname, '../fixtures/elf');
const symbols = loadSymbols([path.join(FIXTURES, 'arm-dwarf5.elf')]);
const countSource = path.join(FIXTURES, 'src/count.c');

/** First line of count.c that the line table has code for, and a later one without code right above one with code. */
function linesOfCount(): { withCode: number; without: number } {
  const text = readFileSync(countSource, 'utf8').split('\n');
  let withCode = 0;
  let without = 0;
  for (let i = 1; i <= text.length; i++) {
    const has = symbols.addressesFor(countSource, i).length > 0;
    if (has && !withCode) withCode = i;
    if (!has && !without && withCode && symbols.addressesFor(countSource, i + 1).length > 0) without = i;
  }
  return { withCode, without };
}

describe('setBreakpoints: source lines', () => {
  const { withCode } = linesOfCount();
  test('a line with code is verified at its address', () => {
    const [bp] = new BreakpointTable(symbols).setSourceBreakpoints(countSource, [{ line: withCode }]);
    assert.equal(bp.verified, true);
    assert.deepEqual(bp.addresses, symbols.breakpointAddressesFor(countSource, withCode));
  });
  test('a line far past the end of the file stays unverified with a message', () => {
    const [bp] = new BreakpointTable(symbols).setSourceBreakpoints(countSource, [{ line: 100000 }]);
    assert.equal(bp.verified, false);
    assert.match(bp.message ?? '', /no code/);
  });
  test('without an ELF a source breakpoint says to set "elf"', () => {
    const [bp] = new BreakpointTable(undefined).setSourceBreakpoints(countSource, [{ line: 1 }]);
    assert.equal(bp.verified, false);
    assert.match(bp.message ?? '', /"elf"/);
  });
});

describe('setBreakpoints: a line without code moves to the next line with code', () => {
  test('the bound line is below the requested one', () => {
    const { without } = linesOfCount();
    assert.ok(without > 0, 'count.c has a line without code right above a line with code');
    const [bp] = new BreakpointTable(symbols).setSourceBreakpoints(countSource, [{ line: without }]);
    assert.equal(bp.verified, true);
    assert.equal(bp.source?.line, without + 1);
  });
});

describe('setFunctionBreakpoints', () => {
  const someFunction = symbols.functions.functions.find((f) => f.kind === 'function') as { name: string; start: bigint };
  test('a function name binds at its symbol address', () => {
    const [bp] = new BreakpointTable(symbols).setFunctionBreakpoints([{ name: someFunction.name }]);
    assert.equal(bp.verified, true);
    assert.deepEqual(bp.addresses, [someFunction.start]);
  });
  test('an address is accepted as a function breakpoint', () => {
    const [bp] = new BreakpointTable(symbols).setFunctionBreakpoints([{ name: '0x40000100' }]);
    assert.deepEqual(bp.addresses, [0x40000100n]);
  });
  test('an unknown name is unverified and the message names it', () => {
    const [bp] = new BreakpointTable(symbols).setFunctionBreakpoints([{ name: 'no_such_function' }]);
    assert.equal(bp.verified, false);
    assert.match(bp.message ?? '', /no_such_function/);
  });
});

describe('hit conditions', () => {
  test('"3" stops from the third hit on', () => assert.deepEqual([1, 2, 3, 4].map((n) => hitConditionMet('3', n)), [false, false, true, true]));
  test('"%2" stops on every second hit', () => assert.deepEqual([1, 2, 3, 4].map((n) => hitConditionMet('%2', n)), [false, true, false, true]));
  test('hitAt counts hits per breakpoint', () => {
    const t = new BreakpointTable(symbols);
    t.setInstructionBreakpoints([{ instructionReference: '0x40000100', hitCondition: '2' }]);
    assert.deepEqual(t.hitAt(0x40000100n).stopIds, []);
    assert.equal(t.hitAt(0x40000100n).stopIds.length, 1);
  });
});

describe('instruction references', () => {
  test('parseAddress accepts an offset', () => assert.equal(parseAddress('0x40000100+0x8'), 0x40000108n));
  test('parseAddress refuses a name', () => assert.equal(parseAddress('main'), undefined));
});
