// Pause during a replay's continue: a continue that searches a long session for a breakpoint it never
// reaches yields between chunks of the search, so a pause stops it part way, at a recorded instruction,
// with the reason 'pause'. The session is the store's synthetic boot (1 M instructions, no ELF).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { recordSyntheticSession } from '../../src/store/synthetic-session';
import { CustomRequest, type RecordingStatus } from '../../src/adapter/custom-requests';

const ADAPTER = path.resolve(__dirname, '../..', 'dist/adapter.js');
const INSTRUCTIONS = 1_000_000;
const skip = !existsSync(ADAPTER) ? `needs ${ADAPTER} (node esbuild.mjs)` : false;

describe('pause during a replay continue', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-replay-pause-'));
  const database = path.join(dir, 'synthetic.db');
  let dc: DebugClient;
  let first = 0;
  const outputs: string[] = [];

  before(async () => {
    const store = RecordingStore.open(database, { log: () => undefined });
    let sessionId: number;
    try {
      const s = recordSyntheticSession(store, { instructions: INSTRUCTIONS, snapshots: false });
      sessionId = s.sessionId;
      first = s.firstSeq;
    } finally {
      store.close();
    }
    dc = new DebugClient('node', ADAPTER, 'bootscope');
    dc.defaultTimeout = 60_000;
    dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
    await dc.start();
    await dc.initializeRequest();
    const entry = dc.waitForEvent('stopped');
    await Promise.all([dc.launch({ replay: { database, session: sessionId } } as DebugProtocol.LaunchRequestArguments), dc.configurationDoneRequest()]);
    await entry;
  });

  after(async () => {
    await dc?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a replay without an ELF says so and still starts', () => {
    assert.ok(outputs.some((o) => /names no ELF/.test(o)), outputs.join(''));
  });

  test('pause stops the continue part way, with reason pause', async () => {
    // 0x4 is never executed: without the pause, continue would search to the end of the session.
    await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: '0x4' }] });
    const stopped = dc.waitForEvent('stopped');
    await dc.continueRequest({ threadId: 1 });
    await dc.pauseRequest({ threadId: 1 });
    const ev = await stopped as DebugProtocol.StoppedEvent;
    assert.equal(ev.body.reason === 'instruction breakpoint' ? /pause/.test(ev.body.description ?? '') : ev.body.reason === 'pause', true, JSON.stringify(ev.body));
    const at = ((await dc.customRequest(CustomRequest.recordingStatus)).body as RecordingStatus).position as number;
    assert.ok(at > first && at < first + INSTRUCTIONS - 1, `paused at ${at}, inside the session (${first}…${first + INSTRUCTIONS - 1})`);
  });
});
