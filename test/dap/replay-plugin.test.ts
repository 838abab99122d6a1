// Data breakpoints in a replay, on a plugin-capture recording of the corrupted AArch32 demo
// (`bootscope record --capture plugin`, QEMU 10, -icount): task B's buffer overflows into the painted
// stack_region (guest/demo-arm32-corrupted.json: 0x41000f40 and up). Truths are plain SQL over
// memory_writes and instruction_traces of the same file, not the history module the engine uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { CustomRequest } from '../../src/adapter/custom-requests';
import { GUEST_DIR } from '../support/demo-recording';
import { qemu10 } from '../support/plugin-fixtures';
import { CLI, recordPluginDemo } from '../support/plugin-recording';

const ADAPTER = path.resolve(__dirname, '../..', 'dist/adapter.js');
const WORD = 0x41000f40;
const q = qemu10();
const skip = !existsSync(ADAPTER) || !existsSync(CLI) ? `needs ${ADAPTER} and ${CLI} (node esbuild.mjs)` : 'skip' in q ? q.skip : false;

describe('replay data breakpoints on the corrupted build (plugin capture, demo-arm32-corrupted)', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-replay-plugin-'));
  let dc: DebugClient;
  let store: RecordingStore;
  let session = 0;
  let first = 0;
  let last = 0;
  /** Every recorded store that covers a byte of WORD, oldest first (plain SQL). */
  let writes: { seq: number; value: string }[] = [];

  const position = async (): Promise<number> => ((await dc.customRequest(CustomRequest.recordingStatus)).body as { position: number }).position;
  const stopped = (reason: string): Promise<DebugProtocol.StoppedEvent> => dc.waitForEvent('stopped').then((e) => {
    const ev = e as DebugProtocol.StoppedEvent;
    assert.equal(ev.body.reason, reason, `stop reason (${ev.body.description ?? ''})`);
    return ev;
  });
  const goto = async (sequenceNumber: number): Promise<void> => {
    const s = dc.waitForEvent('stopped');
    await dc.customRequest(CustomRequest.goto, { sequenceNumber });
    await s;
  };
  const word = async (): Promise<string> => {
    const r = await dc.customRequest('readMemory', { memoryReference: `0x${WORD.toString(16)}`, count: 4 }) as DebugProtocol.ReadMemoryResponse;
    assert.equal(r.body?.unreadableBytes, 0, 'the word is known at every instruction of a plugin-capture recording');
    return Buffer.from(r.body?.data ?? '', 'base64').toString('hex');
  };

  before(async () => {
    const rec = recordPluginDemo('demo-arm32-corrupted', dir);
    session = rec.sessionId;
    store = RecordingStore.open(rec.database, { readOnly: true, log: () => undefined });
    const range = store.query('SELECT MIN(sequence_number), MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [session]).rows[0];
    first = Number(range[0]);
    last = Number(range[1]);
    writes = store.query(`SELECT sequence_number, hex(value), address FROM memory_writes WHERE session_id = ? AND address < ? AND address + size > ?
        ORDER BY sequence_number`, [session, WORD + 4, WORD]).rows.map((r) => ({ seq: Number(r[0]), value: String(r[1]).toLowerCase() }));
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

  test('the recording holds the painter\'s store and task B\'s overflowing store to the word', () => {
    assert.ok(writes.length >= 2, `stores to 0x${WORD.toString(16)}: ${JSON.stringify(writes)}`);
    assert.equal(writes.at(-1)?.value, '00000b0b');
  });

  test('a write data breakpoint on the word is verified', async () => {
    const info = await dc.dataBreakpointInfoRequest({ name: `0x${WORD.toString(16)}`, asAddress: true, bytes: 4 } as DebugProtocol.DataBreakpointInfoArguments);
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId as string, accessType: 'write' }] });
    assert.equal(set.body.breakpoints[0].verified, true, set.body.breakpoints[0].message);
  });

  test('reverse-continue from the end stops at the overflowing store, in vTaskB, with the painted word still there', async () => {
    await goto(last);
    const s = stopped('data breakpoint');
    await dc.reverseContinueRequest({ threadId: 1 });
    const ev = await s;
    const overflow = writes.at(-1) as { seq: number };
    assert.equal(await position(), overflow.seq);
    assert.match(ev.body.description ?? '', new RegExp(`instruction ${overflow.seq} wrote`));
    const frame = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    assert.match(frame.name, /^vTaskB/);
    const row = store.query('SELECT disassembly FROM instruction_traces WHERE session_id = ? AND sequence_number = ?', [session, overflow.seq]).rows[0];
    assert.match(String(row[0]), /^str/, 'the instruction is a store');
    assert.equal(await word(), 'efbeadde', 'before the store executes the word holds the painted 0xDEADBEEF');
    const step = stopped('step');
    await dc.stepInRequest({ threadId: 1, granularity: 'instruction' });
    await step;
    assert.equal(await word(), '00000b0b', 'after it, task B\'s 0x0b0b0000');
  });

  test('continue from the start stops just after each write in turn, then at the end; reverse-continue walks them back', async () => {
    await goto(first);
    const distinct = [...new Set(writes.map((w) => w.seq))];
    for (const w of distinct) {
      const s = stopped('data breakpoint');
      await dc.continueRequest({ threadId: 1 });
      await s;
      assert.equal(await position(), w + 1, `stopped just after the write of instruction ${w}`);
    }
    const end = dc.waitForEvent('stopped');
    await dc.continueRequest({ threadId: 1 });
    assert.match((await end as DebugProtocol.StoppedEvent).body.description ?? '', /end of the recording/);
    for (const w of [...distinct].reverse()) {
      const s = stopped('data breakpoint');
      await dc.reverseContinueRequest({ threadId: 1 });
      await s;
      assert.equal(await position(), w, `back on the writing instruction ${w}`);
    }
  });

  test('a read data breakpoint is refused: a recording holds stores, not loads', async () => {
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: `0x${WORD.toString(16)}/4`, accessType: 'read' }] });
    assert.equal(set.body.breakpoints[0].verified, false);
    assert.match(set.body.breakpoints[0].message ?? '', /not the loads/);
    await dc.setDataBreakpointsRequest({ breakpoints: [] });
  });
});
