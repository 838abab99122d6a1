// A debug session with plugin capture (issue 13 item 4): QEMU 10 runs the guest with the capture plugin
// while the adapter drives it through the gdbstub of the same QEMU. Continue runs at plugin speed and every
// instruction lands in the file; at a breakpoint, a step or a pause the file holds every instruction up to
// the stop (the plugin's buffer is flushed when the stopped vCPU goes idle). The built adapter under
// DebugClient, the AArch32 demo guest, compared with the CLI's plugin capture of the same boot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { CustomRequest, type RecordingStatus } from '../../src/adapter/custom-requests';
import { loadSymbols } from '../../src/symbols';
import { recordDemo } from '../support/demo-recording';
import { qemu10 } from '../support/plugin-fixtures';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');
const GUEST = path.join(ROOT, 'guest');
const ELF = path.join(GUEST, 'build/demo-arm32.elf');
const q = qemu10();
const skip = !existsSync(ADAPTER) || !existsSync(ELF) ? `needs ${ADAPTER} and ${ELF}` : 'skip' in q ? q.skip : false;
/** Painting runs before the scheduler arms the timer: up to here every boot executes the same instructions. */
const BREAK_AT = 'vPaintMemoryPattern';

function query(db: string, sql: string): unknown[][] {
  const store = RecordingStore.open(db, { readOnly: true, log: () => undefined });
  try {
    return store.query(sql).rows;
  } finally {
    store.close(null);
  }
}

describe('debug session with plugin capture (arm, QEMU 10)', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-dap-plugin-'));
  const database = path.join(dir, 'rec.db');
  let dc: DebugClient;
  let qemuPid = 0;
  let sessionId = 0;
  const console: string[] = [];
  let reference: bigint[] = [];
  const breakAt = loadSymbols([ELF]).lookup(BREAK_AT) ?? 0n;
  const guestConfig = JSON.parse(readFileSync(path.join(GUEST, 'demo-arm32.json'), 'utf8')) as { qemu: Record<string, unknown> };

  const status = async (): Promise<RecordingStatus> => (await dc.customRequest(CustomRequest.recordingStatus)).body as RecordingStatus;
  const pc = async (): Promise<bigint> => BigInt((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].instructionPointerReference ?? '0');
  const pcs = (): bigint[] => query(database, `SELECT pc_address FROM instruction_traces WHERE session_id = ${sessionId} ORDER BY sequence_number`).map((r) => BigInt(r[0] as number));

  before(async () => {
    if ('skip' in q) return;
    // The reference: the CLI's plugin capture of the same boot to the same function (the last row is the stop).
    const ref = await recordDemo('demo-arm32', path.join(dir, 'ref.db'), { capture: 'plugin', stopAt: BREAK_AT }, { qemuBinary: q.binaries.arm });
    reference = query(ref.database, `SELECT pc_address FROM instruction_traces WHERE session_id = ${ref.sessionId} ORDER BY sequence_number`).map((r) => BigInt(r[0] as number));
    dc = new DebugClient('node', ADAPTER, 'bootscope');
    dc.defaultTimeout = 30_000;
    dc.on('output', (e: DebugProtocol.OutputEvent) => {
      console.push(e.body.output);
      const m = /pid (\d+)/.exec(e.body.output);
      if (m) qemuPid = Number(m[1]);
      const s = /session (\d+)\)/.exec(e.body.output);
      if (s) sessionId = Number(s[1]);
    });
    await dc.start();
    await Promise.all([
      dc.configurationSequence(),
      dc.launch({ ...guestConfig, qemu: { ...guestConfig.qemu, binary: q.binaries.arm }, type: 'bootscope', request: 'launch', cwd: GUEST, database,
        record: true, stopOnEntry: true, capture: 'plugin' } as DebugProtocol.LaunchRequestArguments),
      dc.assertStoppedLocation('entry', {}),
    ]);
    assert.ok(sessionId > 0, 'the adapter named its session');
  });

  after(async () => {
    await dc?.stop().catch(() => undefined);
    if (qemuPid) { try { process.kill(qemuPid, 'SIGKILL'); } catch { /* already gone */ } }
    rmSync(dir, { recursive: true, force: true });
  });

  test('the Debug Console says plugin capture and why', () => {
    assert.ok(console.some((l) => /^bootscope: plugin capture: .*QEMU 10\.\d+\.\d+ \(>= 9\.2\).*as capture asks/.test(l)), console.join(''));
  });

  test('continue to a breakpoint: every instruction before it is in the file, as the CLI records them', async () => {
    assert.ok(reference.length > 4000 && reference[reference.length - 1] === breakAt);
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: BREAK_AT }] });
    const [, stopped] = await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.match(String(stopped.body.reason), /breakpoint/);
    assert.equal(await pc(), breakAt);
    const rows = pcs();
    assert.equal((await status()).instructions, rows.length);
    // The instruction at the breakpoint has not run yet: the file ends with the one before it.
    assert.deepEqual(rows, reference.slice(0, -1));
  });

  test('steps are recorded by the plugin too, each row at the pc the stop reported', async () => {
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
    for (let i = 0; i < 3; i++) {
      const before = await pc();
      const n = pcs().length;
      await Promise.all([dc.stepInRequest({ threadId: 1, granularity: 'instruction' }), dc.waitForEvent('stopped')]);
      const rows = pcs();
      assert.equal(rows.length, n + 1, `step ${i + 1} adds one row`);
      assert.equal(rows[rows.length - 1], before, `step ${i + 1}: the row is the instruction that was at the stop`);
    }
  });

  test('continue at plugin speed to the end of the boot, then pause: every instruction up to the pause is in the file', async () => {
    // After its last task switch the demo enters boot_done and waits in WFI with interrupts masked forever.
    const n = pcs().length;
    const early: unknown[] = [];
    const onStop = (e: unknown): void => { early.push(e); };
    dc.on('stopped', onStop);
    await dc.continueRequest({ threadId: 1 });
    // Until the count stops growing: the guest has reached boot_done's WFI (ticks are real time here).
    for (let last = -1, t0 = Date.now(); Date.now() - t0 < 15_000;) {
      await new Promise((r) => setTimeout(r, 400));
      const now = (await status()).instructions;
      if (now === last) break;
      last = now;
    }
    dc.off('stopped', onStop);
    assert.deepEqual(early, [], 'the run went on until the pause');
    await Promise.all([dc.pauseRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const rows = pcs();
    assert.ok(rows.length > n + 20_000, `${rows.length - n} instructions recorded during the continue`);
    assert.equal((await status()).instructions, rows.length);
    const symbols = loadSymbols([ELF]);
    const stopPc = await pc();
    assert.equal(symbols.functionAt(stopPc)?.name, 'boot_done', `paused at 0x${stopPc.toString(16)}`);
    // The last recorded instruction is the WFI the vCPU halted on; the stop is at the instruction after it.
    const last = rows[rows.length - 1];
    assert.equal(symbols.functionAt(last)?.name, 'boot_done');
    assert.equal(last + 4n, stopPc, 'nothing executed after the last recorded instruction');
    const seq = query(database, `SELECT MIN(sequence_number), MAX(sequence_number), COUNT(*) FROM instruction_traces WHERE session_id = ${sessionId}`)[0].map(Number);
    assert.equal(seq[1] - seq[0] + 1, seq[2], 'sequence numbers have no gaps');
    assert.ok(Number(query(database, `SELECT COUNT(*) FROM memory_writes WHERE session_id = ${sessionId}`)[0][0]) > 1000);
  });
});
