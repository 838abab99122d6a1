// Trace gaps (issue 14): whatever changes the guest behind the recorder's back while a debug session
// records — steps and continues with recording off, a memory write from the debugger — is marked in the
// file as a trace_gaps row after the last recorded step, with the reason and the instructions skipped when
// known, and the next recorded row holds the real state after it. The built adapter under DebugClient,
// against real QEMU and the AArch32 demo guest.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { RecordingHistory } from '../../src/store/history';
import { CustomRequest, type RecordingStatus } from '../../src/adapter/custom-requests';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');
const GUEST = path.join(ROOT, 'guest');
const ELF = path.join(GUEST, 'build/demo-arm32.elf');

function rows(db: string, sql: string): unknown[][] {
  const store = RecordingStore.open(db, { readOnly: true, log: () => undefined });
  try {
    return store.query(sql).rows;
  } finally {
    store.close(null);
  }
}

const skip = !existsSync(ADAPTER) || !existsSync(ELF) ? `needs ${ADAPTER} and ${ELF} (node esbuild.mjs; make -C guest)` : false;

describe('trace gaps in a recording debug session (arm)', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-gaps-'));
  const database = path.join(dir, 'rec.db');
  let dc: DebugClient;
  let qemuPid = 0;
  let sessionId = 0;
  const guestConfig = JSON.parse(readFileSync(path.join(GUEST, 'demo-arm32.json'), 'utf8')) as Record<string, unknown>;

  const pc = async (): Promise<bigint> => BigInt((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].instructionPointerReference ?? '0');
  const recorded = async (): Promise<number> => ((await dc.customRequest(CustomRequest.recordingStatus)).body as RecordingStatus).instructions;
  const stepInstruction = (): Promise<unknown> => Promise.all([dc.stepInRequest({ threadId: 1, granularity: 'instruction' }), dc.waitForEvent('stopped')]);
  const gaps = (): unknown[][] => rows(database, `SELECT after_sequence_number, reason, instructions_skipped FROM trace_gaps WHERE session_id = ${sessionId} ORDER BY gap_id`);
  const pcAt = (seq: number): bigint => BigInt(rows(database, `SELECT pc_address FROM instruction_traces WHERE session_id = ${sessionId} AND sequence_number = ${seq}`)[0][0] as number);

  before(async () => {
    dc = new DebugClient('node', ADAPTER, 'bootscope');
    dc.defaultTimeout = 30_000;
    dc.on('output', (e: DebugProtocol.OutputEvent) => {
      const m = /pid (\d+)/.exec(e.body.output);
      if (m) qemuPid = Number(m[1]);
      const s = /session (\d+)\)/.exec(e.body.output);
      if (s) sessionId = Number(s[1]);
    });
    await dc.start();
    await Promise.all([
      dc.configurationSequence(),
      dc.launch({ ...guestConfig, type: 'bootscope', request: 'launch', cwd: GUEST, database, record: true, stopOnEntry: true,
        snapshots: { onStageChange: false, everyInstructions: 0, threshold: 90 } } as DebugProtocol.LaunchRequestArguments),
      dc.assertStoppedLocation('entry', {}),
    ]);
    await stepInstruction();
    assert.ok(sessionId > 0, 'the adapter named its session');
  });

  after(async () => {
    await dc.stop().catch(() => undefined);
    if (qemuPid) { try { process.kill(qemuPid, 'SIGKILL'); } catch { /* already gone */ } }
    rmSync(dir, { recursive: true, force: true });
  });

  test('two steps with recording off: one gap after the last recorded step, 2 instructions skipped', async () => {
    const last = await recorded();
    await dc.customRequest(CustomRequest.stopRecording);
    await stepInstruction();
    await stepInstruction();
    const real = await pc();
    await dc.customRequest(CustomRequest.startRecording);
    assert.deepEqual(gaps(), [], 'nothing is marked until the recorder records again');
    await stepInstruction();
    assert.deepEqual(gaps(), [[last, 'step-unrecorded', 2]]);
    assert.equal(pcAt(last + 1), real, 'the row after the gap is the state the guest really reached');
  });

  test('a continue with recording off: a gap whose length is unknown', async () => {
    const last = await recorded();
    await dc.customRequest(CustomRequest.stopRecording);
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'vPaintMemoryPattern' }] });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', {})]);
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    await dc.customRequest(CustomRequest.startRecording);
    await stepInstruction();
    assert.deepEqual(gaps().slice(1), [[last, 'continue-unrecorded', null]]);
  });

  test('a memory write from the debugger while recording: a gap of 0 instructions, and history stops there', async () => {
    const last = await recorded();
    const address = 0x41000f40;
    await dc.customRequest('writeMemory', { memoryReference: `0x${address.toString(16)}`, data: Buffer.from([1, 2, 3, 4]).toString('base64') });
    await stepInstruction();
    assert.deepEqual(gaps().slice(2), [[last, 'memory-write', 0]]);
    const store = RecordingStore.open(database, { readOnly: true, log: () => undefined });
    try {
      const history = new RecordingHistory(store);
      assert.deepEqual(history.gapsBetween(sessionId, last, last + 1).map((g) => g.reason), ['memory-write']);
    } finally {
      store.close(null);
    }
  });
});
