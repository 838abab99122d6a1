// `attach`: the adapter connects to a gdbstub it did not start (a QEMU launched here, as a user would start
// one by hand), records from the current pc, and on disconnect detaches, leaving that QEMU running the guest
// with the single-step flags (qqemu.sstep) it had before, as the next gdb expects them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { loadConfigFile } from '../../src/cli/config-file';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { RecordingStore } from '../../src/store/recording-store';
import { loadSymbols } from '../../src/symbols';
import { GdbTarget } from '../../src/target/target';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');
const CONFIG = path.join(ROOT, 'guest', 'demo-arm32.json');
/**
 * Single-step flags set by "the user's previous gdb" before Bootscope attaches: ENABLE|NOIRQ (gdbstub.c),
 * neither QEMU's default 0x7 nor the 0x1 of Bootscope's default stepMode "interrupts", so reading it back
 * proves the value read at attach time was restored, not a default.
 */
const USER_SSTEP = 0x3;

/** qqemu.sstep as a new gdb connection to the QEMU sees it (QEMU keeps one global value for all clients). */
async function stepFlagsSeenByNextClient(port: number, set?: number): Promise<number> {
  const target = await GdbTarget.connect({ host: '127.0.0.1', port });
  try {
    if (set !== undefined) await target.setStepFlags(set);
    return await target.getStepFlags();
  } finally {
    await target.close();
  }
}

describe('bootscope adapter: attach to a running QEMU (AArch32 demo)', { skip: existsSync(ADAPTER) ? false : 'needs dist/adapter.js (node esbuild.mjs)' }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-dap-attach-'));
  const database = path.join(dir, 'attach.db');
  const cfg = loadConfigFile(CONFIG);
  const raw = JSON.parse(readFileSync(CONFIG, 'utf8')) as { stages: unknown; regions: unknown };
  const symbols = loadSymbols([cfg.elf as string]);
  let qemu: QemuProcess;
  let dc: DebugClient;

  before(async () => {
    qemu = await launchQemu({ qemu: cfg.qemu as NonNullable<typeof cfg.qemu> });
    // A gdb before us left its own flags (QEMU started with -S stays halted when it disconnects).
    assert.equal(await stepFlagsSeenByNextClient(qemu.gdbPort, USER_SSTEP), USER_SSTEP);
    dc = new DebugClient('node', ADAPTER, 'bootscope');
    dc.defaultTimeout = 30_000;
    await dc.start();
  });

  let second: DebugClient | undefined;
  after(async () => {
    await dc?.stop().catch(() => undefined);
    await second?.stop().catch(() => undefined);
    await qemu?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const topFrame = async (): Promise<DebugProtocol.StackFrame> => (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];

  test('attaches by host and port and stops where the guest is: the ELF entry', async () => {
    const args = {
      type: 'bootscope', request: 'attach', name: 'attach', host: '127.0.0.1', port: qemu.gdbPort,
      elf: cfg.elf, database, record: true, stopOnEntry: true, stages: raw.stages, regions: raw.regions,
      snapshots: { onStageChange: false, everyInstructions: 0, threshold: 90 },
    };
    await Promise.all([dc.configurationSequence(), dc.attachRequest(args as DebugProtocol.AttachRequestArguments), dc.waitForEvent('stopped')]);
    const frame = await topFrame();
    assert.equal(BigInt(frame.instructionPointerReference ?? '-1'), BigInt(symbols.lookup('elfloader_start') ?? -1));
    assert.equal(frame.name.startsWith('elfloader_start'), true, frame.name);
  });

  test('steps are recorded into the file like a launched session', async () => {
    for (let i = 0; i < 3; i++) await Promise.all([dc.stepInRequest({ threadId: 1, granularity: 'instruction' }), dc.waitForEvent('stopped')]);
    const store = RecordingStore.open(database, { readOnly: true, log: () => undefined });
    try {
      const [session] = store.listSessions();
      assert.equal(session.arch, 'arm');
      assert.equal(session.gdbPort, qemu.gdbPort);
      assert.ok(store.steps(session.sessionId, 1, 10).length >= 4, 'the entry and three steps');
    } finally {
      store.close(null);
    }
  });

  test('disconnect detaches: QEMU keeps running the guest, the session row ends as stopped', async () => {
    await dc.disconnectRequest();
    assert.equal(qemu.isRunning(), true);
    // QEMU resumes the VM right after answering `D`: wait for it to say so.
    let status = await qemu.qmp.queryStatus();
    for (const end = Date.now() + 10_000; status.status !== 'running' && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 50));
      status = await qemu.qmp.queryStatus();
    }
    assert.equal(status.status, 'running');
    const store = RecordingStore.open(database, { readOnly: true, log: () => undefined });
    try {
      const [session] = store.listSessions();
      assert.equal(session.status, 'stopped');
      assert.match(session.endReason ?? '', /detached/);
      assert.ok(session.endTime);
    } finally {
      store.close(null);
    }
  });

  test('disconnect gives QEMU back the single-step flags it had before the attach (qqemu.sstep)', async () => {
    // Runs after the disconnect above: the guest runs, and a new client's connect halts it again.
    assert.equal(await stepFlagsSeenByNextClient(qemu.gdbPort), USER_SSTEP);
  });

  test('disconnect with terminateDebuggee (the session closes without detaching) restores them too', async () => {
    // Another user setting (ENABLE|NOTIMER), another way out: RecordingSession.close() instead of `D`.
    const userFlags = 0x5;
    assert.equal(await stepFlagsSeenByNextClient(qemu.gdbPort, userFlags), userFlags);
    second = new DebugClient('node', ADAPTER, 'bootscope');
    second.defaultTimeout = 30_000;
    await second.start();
    const args = {
      type: 'bootscope', request: 'attach', name: 'attach again', host: '127.0.0.1', port: qemu.gdbPort,
      elf: cfg.elf, database, record: false, stopOnEntry: true, stepMode: 'interrupts',
    };
    await Promise.all([second.configurationSequence(), second.attachRequest(args as DebugProtocol.AttachRequestArguments), second.waitForEvent('stopped')]);
    await Promise.all([second.stepInRequest({ threadId: 1, granularity: 'instruction' }), second.waitForEvent('stopped')]);
    await second.disconnectRequest({ terminateDebuggee: true });
    assert.equal(await stepFlagsSeenByNextClient(qemu.gdbPort), userFlags);
  });
});
