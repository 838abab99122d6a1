// The adapter's `bootscope/whoWrote` custom request (the debugger's "Who Wrote This?") on a plugin-capture
// recording of the corrupted AArch32 demo (`bootscope record --capture plugin`, QEMU 10, -icount): task B
// overflows into stack_region from 0x41000f40 up. Truths are plain SQL over memory_writes joined with
// instruction_traces of the same file, not the history module the adapter answers from.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { CustomRequest, type WhoWroteResult } from '../../src/adapter/custom-requests';
import { GUEST_DIR } from '../support/demo-recording';
import { qemu10 } from '../support/plugin-fixtures';
import { CLI, recordPluginDemo } from '../support/plugin-recording';

const ADAPTER = path.resolve(__dirname, '../..', 'dist/adapter.js');
const WORD = 0x41000f40;
const q = qemu10();
const skip = !existsSync(ADAPTER) || !existsSync(CLI) ? `needs ${ADAPTER} and ${CLI} (node esbuild.mjs)` : 'skip' in q ? q.skip : false;

describe('bootscope/whoWrote in a replay (plugin capture, demo-arm32-corrupted)', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-who-wrote-request-'));
  let dc: DebugClient;
  let store: RecordingStore;
  let session = 0;
  /** Every recorded store overlapping [address, address + size), newest first, by plain SQL. */
  const truth = (address: number, size: number, before = Number.MAX_SAFE_INTEGER): Array<{ sequenceNumber: number; pc: string; functionName: string | null; bootStage: string | null; address: string; size: number; value: string }> =>
    store.query(`SELECT w.sequence_number, t.pc_address, t.function_name, t.boot_stage, w.address, w.size, hex(w.value)
        FROM memory_writes w JOIN instruction_traces t ON t.session_id = w.session_id AND t.sequence_number = w.sequence_number
        WHERE w.session_id = ? AND w.address < ? AND w.address + w.size > ? AND w.sequence_number < ?
        ORDER BY w.sequence_number DESC, w.rowid DESC`, [session, address + size, address, before]).rows.map((r) => ({
      sequenceNumber: Number(r[0]), pc: `0x${BigInt(r[1] as number | bigint).toString(16)}`, functionName: r[2] as string | null, bootStage: r[3] as string | null,
      address: `0x${BigInt(r[4] as number | bigint).toString(16)}`, size: Number(r[5]), value: String(r[6]).toLowerCase(),
    }));
  const whoWrote = async (args: object): Promise<WhoWroteResult> => (await dc.customRequest(CustomRequest.whoWrote, args)).body as WhoWroteResult;
  const shape = (r: WhoWroteResult): unknown[] => r.writes.map((w) => ({ sequenceNumber: w.sequenceNumber, pc: w.pc, functionName: w.functionName, bootStage: w.bootStage, address: w.address, size: w.size, value: w.value.toLowerCase() }));

  before(async () => {
    const rec = recordPluginDemo('demo-arm32-corrupted', dir);
    session = rec.sessionId;
    store = RecordingStore.open(rec.database, { readOnly: true, log: () => undefined });
    dc = new DebugClient('node', ADAPTER, 'bootscope');
    dc.defaultTimeout = 60_000;
    await dc.start();
    await dc.initializeRequest();
    const entry = dc.waitForEvent('stopped');
    await Promise.all([dc.launch({ replay: { database: rec.database, session }, cwd: GUEST_DIR } as DebugProtocol.LaunchRequestArguments), dc.configurationDoneRequest()]);
    await entry;
  });

  after(async () => {
    await dc?.stop().catch(() => undefined);
    store?.close(null);
    rmSync(dir, { recursive: true, force: true });
  });

  test('lists every store to the corrupted stack word, newest first: task B\'s overflow, then the painter\'s', async () => {
    const expected = truth(WORD, 4);
    assert.ok(expected.length >= 2, `SQL finds stores to the word: ${JSON.stringify(expected)}`);
    const r = await whoWrote({ address: `0x${WORD.toString(16)}` });
    assert.equal(r.address, `0x${WORD.toString(16)}`);
    assert.equal(r.size, 4, 'the size defaults to a word');
    assert.equal(r.writesRecorded, true);
    assert.deepEqual(shape(r), expected);
    assert.equal(r.writes[0].functionName, 'vTaskB');
    assert.equal(r.writes[0].value, '00000b0b');
    assert.equal(r.writes.at(-1)?.functionName, 'vPaintMemoryPattern');
    // Old → new: each store's old bytes are what the previous store to the same word left.
    for (let i = 0; i + 1 < r.writes.length; i++) {
      if (r.writes[i].address === r.writes[i + 1].address && r.writes[i].size === r.writes[i + 1].size) assert.equal(r.writes[i].oldValue?.toLowerCase(), r.writes[i + 1].value.toLowerCase(), `old value of #${r.writes[i].sequenceNumber}`);
    }
  });

  test('the position it reports is the replay\'s, and `before` keeps only earlier stores', async () => {
    const [taskB] = truth(WORD, 4);
    const stopped = dc.waitForEvent('stopped');
    await dc.customRequest(CustomRequest.goto, { sequenceNumber: taskB.sequenceNumber });
    await stopped;
    const r = await whoWrote({ address: WORD, size: 4, before: taskB.sequenceNumber });
    assert.equal(r.position, taskB.sequenceNumber);
    assert.deepEqual(shape(r), truth(WORD, 4, taskB.sequenceNumber));
    assert.ok(r.writes.every((w) => w.sequenceNumber < taskB.sequenceNumber));
    assert.equal(r.writes[0].functionName, 'vPaintMemoryPattern');
  });

  test('a wider range and a limit: the newest N of SQL\'s stores overlapping it', async () => {
    const r = await whoWrote({ address: `0x${(WORD - 8).toString(16)}`, size: 32, limit: 5 });
    assert.equal(r.writes.length, 5);
    assert.deepEqual(shape(r), truth(WORD - 8, 32).slice(0, 5));
  });

  test('an address that is not one is a usage error naming the request', async () => {
    await assert.rejects(dc.customRequest(CustomRequest.whoWrote, { address: 'r0 + banana' }), /bootscope\/whoWrote needs \{ address/);
    await assert.rejects(dc.customRequest(CustomRequest.whoWrote, { address: '0x41000f40', size: 0 }), /bootscope\/whoWrote needs/);
  });
});
