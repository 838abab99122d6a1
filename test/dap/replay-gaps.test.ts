// Stepping a replay across a trace gap. The gap is real: a live debug session of the AArch32 demo records
// a few steps, steps twice with recording off (QEMU runs instructions the file never sees), records again
// — the recorder writes a trace_gaps row — and the replay of that session must say so when it crosses it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { CustomRequest, type RecordingStatus } from '../../src/adapter/custom-requests';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');
const GUEST = path.join(ROOT, 'guest');
const ELF = path.join(GUEST, 'build/demo-arm32.elf');
const skip = !existsSync(ADAPTER) || !existsSync(ELF) ? `needs ${ADAPTER} and ${ELF} (node esbuild.mjs; make -C guest)` : false;

describe('replay across a trace gap (arm demo)', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-replay-gap-'));
  const database = path.join(dir, 'rec.db');
  let session = 0;
  let gap: { after: number; reason: string; skipped: number | null };
  let dc: DebugClient;
  const outputs: string[] = [];

  const step = async (client: DebugClient, back = false): Promise<DebugProtocol.StoppedEvent> => {
    const s = client.waitForEvent('stopped');
    if (back) await client.stepBackRequest({ threadId: 1, granularity: 'instruction' });
    else await client.stepInRequest({ threadId: 1, granularity: 'instruction' });
    return await s as DebugProtocol.StoppedEvent;
  };
  const position = async (): Promise<number> => ((await dc.customRequest(CustomRequest.recordingStatus)).body as RecordingStatus).position as number;

  before(async () => {
    // The live session that leaves the gap.
    const live = new DebugClient('node', ADAPTER, 'bootscope');
    live.defaultTimeout = 30_000;
    await live.start();
    try {
      const guestConfig = JSON.parse(readFileSync(path.join(GUEST, 'demo-arm32.json'), 'utf8')) as Record<string, unknown>;
      const entry = live.waitForEvent('stopped');
      await Promise.all([
        live.initializeRequest().then(() => live.configurationDoneRequest()),
        live.launch({ ...guestConfig, type: 'bootscope', request: 'launch', cwd: GUEST, database, record: true, stopOnEntry: true, snapshots: { onStageChange: false, everyInstructions: 0, threshold: 90 } } as DebugProtocol.LaunchRequestArguments),
      ]);
      await entry;
      for (let i = 0; i < 3; i++) await step(live);
      await live.customRequest(CustomRequest.stopRecording);
      for (let i = 0; i < 2; i++) await step(live);
      const st = await live.customRequest(CustomRequest.startRecording);
      session = (st.body as RecordingStatus).sessionId as number;
      for (let i = 0; i < 3; i++) await step(live);
    } finally {
      await live.stop().catch(() => undefined);
    }
    const store = RecordingStore.open(database, { readOnly: true, log: () => undefined });
    try {
      const rows = store.query('SELECT after_sequence_number, reason, instructions_skipped FROM trace_gaps WHERE session_id = ?', [session]).rows;
      assert.equal(rows.length, 1, `one gap recorded: ${JSON.stringify(rows)}`);
      gap = { after: Number(rows[0][0]), reason: String(rows[0][1]), skipped: rows[0][2] === null ? null : Number(rows[0][2]) };
    } finally {
      store.close(null);
    }
    dc = new DebugClient('node', ADAPTER, 'bootscope');
    dc.defaultTimeout = 30_000;
    dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
    await dc.start();
    await dc.initializeRequest();
    const entry = dc.waitForEvent('stopped');
    await Promise.all([dc.launch({ replay: { database, session, at: gap.after }, cwd: GUEST } as DebugProtocol.LaunchRequestArguments), dc.configurationDoneRequest()]);
    await entry;
  });

  after(async () => {
    await dc?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the live session recorded the gap after its third step, two instructions long', () => {
    assert.equal(gap.after, 4, 'entry row + 3 recorded steps');
    assert.equal(gap.skipped, 2);
  });

  test('a step forward across it says so in the stop and the Debug Console', async () => {
    assert.equal(await position(), gap.after);
    const ev = await step(dc);
    assert.equal(await position(), gap.after + 1);
    const text = new RegExp(`crossed 1 trace gap: after instruction ${gap.after} \\(${gap.reason}, 2 instructions not recorded\\)`);
    assert.match(ev.body.description ?? '', text);
    assert.ok(outputs.some((o) => text.test(o)), outputs.join(''));
  });

  test('a step back across it says so too; a step that crosses none says nothing', async () => {
    const back = await step(dc, true);
    assert.equal(await position(), gap.after);
    assert.match(back.body.description ?? '', /crossed 1 trace gap/);
    const plain = await step(dc, true);
    assert.doesNotMatch(plain.body.description ?? '', /gap/);
  });
});
