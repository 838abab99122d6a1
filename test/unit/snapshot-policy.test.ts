import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotPolicy } from '../../src/recorder/snapshot-policy';

describe('SnapshotPolicy', () => {
  test('a stage change triggers a stage snapshot', () => {
    const p = new SnapshotPolicy({ onStageChange: true, everyInstructions: 0, threshold: 90 }, 6);
    assert.equal(p.due(5, false), undefined);
    assert.equal(p.due(6, true), 'stage');
  });
  test('stage snapshots can be turned off', () => {
    const p = new SnapshotPolicy({ onStageChange: false, everyInstructions: 0, threshold: 90 }, 6);
    assert.equal(p.due(6, true), undefined);
  });
  test('interval snapshots every N instructions, restarting after a stage snapshot', () => {
    const p = new SnapshotPolicy({ onStageChange: true, everyInstructions: 100, threshold: 90 }, 1);
    const fired: number[] = [];
    for (let s = 1; s <= 350; s++) if (p.due(s, s === 150)) fired.push(s);
    assert.deepEqual(fired, [100, 150, 250, 350]);
  });
  test('no regions, no snapshots', () => {
    const p = new SnapshotPolicy({ onStageChange: true, everyInstructions: 1, threshold: 90 }, 0);
    assert.equal(p.due(1, true), undefined);
  });
});
