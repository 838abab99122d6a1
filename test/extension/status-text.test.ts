// The status bar text (src/extension/status-text.ts) for the states a debug session goes through.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compactCount, statusBarContent } from '../../src/extension/status-text';
import type { RecordingStatus } from '../../src/adapter/custom-requests';

const base: RecordingStatus = {
  state: 'recording', recording: true, sessionId: 3, database: '/w/bootscope.db', instructions: 12_345, rate: 3210.4,
  stage: 'pattern_painting', snapshots: 2, lastSnapshotId: 9, pc: '0x400008e8',
};

describe('status bar', () => {
  test('recording shows instructions and rate', () => assert.equal(statusBarContent(base).text, '$(record) Bootscope recording · 12.3k instr · 3.21k/s'));
  test('a replay shows where it stands, not recording counters', () => {
    const c = statusBarContent({ ...base, state: 'stopped', recording: false, position: 4321, stage: 'seL4_boot' });
    assert.equal(c.text, '$(history) Bootscope replay · instruction 4,321 of 12.3k · seL4_boot');
    assert.match(c.tooltip, /Click to go to an instruction/);
    assert.doesNotMatch(c.tooltip, /start recording/);
  });
  test('stopped shows the count without a rate', () => assert.equal(statusBarContent({ ...base, state: 'stopped' }).text, '$(debug-pause) Bootscope stopped · 12.3k instr'));
  test('recording off is said when stopped', () => assert.match(statusBarContent({ ...base, state: 'stopped', recording: false }).text, /recording off/));
  test('the tooltip names the stage and the file', () => assert.match(statusBarContent(base).tooltip, /stage: pattern_painting[\s\S]*file: \/w\/bootscope.db/));
  test('counts compact to k and M', () => assert.deepEqual([950, 1500, 12_345, 4_560_000].map(compactCount), ['950', '1.50k', '12.3k', '4.56M']));
});
