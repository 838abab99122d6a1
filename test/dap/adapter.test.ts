// The built standalone adapter (dist/adapter.js) driven by @vscode/debugadapter-testsupport's DebugClient
// against real QEMU and both demo guests (guest/build/demo-arm32.elf, demo-aarch64.elf). Suites are named
// after DAP requests, as in microsoft/vscode-mock-debug's src/tests/adapter.test.ts; they run in order on
// one debug session per architecture: entry → step → breakpoint (recording) → snapshot → line breakpoint
// (recording off, QEMU's own `c`) → terminate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { loadSymbols, type ProgramSymbols } from '../../src/symbols';
import { CustomRequest, type RecordingStatus, type SnapshotCaptured } from '../../src/adapter/custom-requests';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');
const GUEST = path.join(ROOT, 'guest');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Rows in the recording file, read through a separate connection as any other reader would. */
function countRows(db: string, sql: string): number {
  return Number(queryRow(db, sql)[0]);
}

function queryRow(db: string, sql: string): unknown[] {
  const store = RecordingStore.open(db, { readOnly: true, log: () => undefined });
  try {
    return store.query(sql).rows[0];
  } finally {
    store.close(null);
  }
}

const ARCHES = [
  { arch: 'arm', config: 'demo-arm32.json', elf: 'build/demo-arm32.elf' },
  { arch: 'aarch64', config: 'demo-aarch64.json', elf: 'build/demo-aarch64.elf' },
] as const;

for (const demo of ARCHES) {
  const elfPath = path.join(GUEST, demo.elf);
  const skip = !existsSync(ADAPTER) || !existsSync(elfPath) ? `needs ${ADAPTER} and ${elfPath} (node esbuild.mjs; make -C guest)` : false;

  describe(`bootscope adapter on ${demo.arch}`, { skip }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), `bootscope-dap-${demo.arch}-`));
    const database = path.join(dir, 'rec.db');
    let dc: DebugClient;
    let symbols: ProgramSymbols;
    let qemuPid = 0;
    let sessionId = 0;
    let entryPc = 0n;
    const outputs: string[] = [];

    const guestConfig = JSON.parse(readFileSync(path.join(GUEST, demo.config), 'utf8')) as Record<string, unknown>;
    const launchArgs = {
      ...guestConfig,
      type: 'bootscope',
      request: 'launch',
      cwd: GUEST,
      database,
      record: true,
      stopOnEntry: true,
      // Snapshots only on demand here, so the recorded run to the breakpoint stays short.
      snapshots: { onStageChange: false, everyInstructions: 0, threshold: 90 },
    };

    const topFrame = async (): Promise<DebugProtocol.StackFrame> => {
      const st = await dc.stackTraceRequest({ threadId: 1 });
      return st.body.stackFrames[0];
    };
    const pcOf = (f: DebugProtocol.StackFrame): bigint => BigInt(f.instructionPointerReference ?? '0');

    before(async () => {
      symbols = loadSymbols([elfPath]);
      dc = new DebugClient('node', ADAPTER, 'bootscope');
      dc.defaultTimeout = 30_000;
      dc.on('output', (e: DebugProtocol.OutputEvent) => {
        outputs.push(e.body.output);
        const m = /pid (\d+)/.exec(e.body.output);
        if (m) qemuPid = Number(m[1]);
        const s = /session (\d+)\)/.exec(e.body.output);
        if (s) sessionId = Number(s[1]);
      });
      await dc.start();
    });

    after(async () => {
      await dc.stop().catch(() => undefined);
      // Whatever happened above, no QEMU we caused may outlive the suite.
      if (qemuPid && isAlive(qemuPid)) process.kill(qemuPid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    describe('launch', () => {
      test('an invalid attribute fails the launch naming it', async () => {
        const bad = new DebugClient('node', ADAPTER, 'bootscope');
        await bad.start();
        try {
          await bad.initializeRequest();
          await assert.rejects(bad.launchRequest({ ...launchArgs, stepMode: 'fast' } as DebugProtocol.LaunchRequestArguments), /stepMode/);
        } finally {
          await bad.stop();
        }
      });

      test('stops on entry', async () => {
        await Promise.all([
          dc.configurationSequence(),
          dc.launch(launchArgs),
          dc.assertStoppedLocation('entry', {}),
        ]);
        assert.ok(qemuPid > 0, `the adapter reports the QEMU pid (${outputs.join('')})`);
        entryPc = pcOf(await topFrame());
      });
    });

    describe('threads', () => {
      test('one thread per vCPU', async () => {
        const r = await dc.threadsRequest();
        assert.equal(r.body.threads.length, 1);
      });
    });

    describe('stackTrace', () => {
      test('the top frame names the function at the pc and carries the instruction pointer', async () => {
        const f = await topFrame();
        const fn = symbols.functionAt(pcOf(f));
        assert.ok(fn, `a symbol covers the entry pc ${f.instructionPointerReference}`);
        assert.ok(f.name.startsWith(fn.name), `frame name ${f.name} starts with ${fn.name}`);
      });
    });

    describe('scopes and variables', () => {
      test('the Registers scope has pc with a memory reference and the decoded status register', async () => {
        const f = await topFrame();
        const scopes = await dc.scopesRequest({ frameId: f.id });
        assert.deepEqual(scopes.body.scopes.slice(0, 2).map((s) => s.name), ['Registers', 'Boot']);
        const vars = await dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference });
        const pc = vars.body.variables.find((v) => v.name === 'pc');
        assert.equal(BigInt(pc?.value ?? '0'), pcOf(f));
        assert.equal(BigInt(pc?.memoryReference ?? '0'), pcOf(f));
        const cpsr = vars.body.variables.find((v) => v.name === 'cpsr');
        assert.match(cpsr?.value ?? '', demo.arch === 'arm' ? / (svc|hyp|usr|sys) EL\d A32/ : / EL\dh EL\d A64/);
        const fields = await dc.variablesRequest({ variablesReference: cpsr?.variablesReference ?? 0 });
        assert.ok(fields.body.variables.some((v) => v.name === 'exception level'));
      });

      test('the Boot scope says recording is on', async () => {
        const f = await topFrame();
        const scopes = await dc.scopesRequest({ frameId: f.id });
        const boot = await dc.variablesRequest({ variablesReference: scopes.body.scopes[1].variablesReference });
        assert.equal(boot.body.variables.find((v) => v.name === 'recording')?.value, 'on');
      });
    });

    describe('evaluate', () => {
      test('a register', async () => {
        const r = await dc.evaluateRequest({ expression: 'pc', context: 'watch' });
        assert.equal(BigInt(r.body.result.split(' ')[0]), entryPc);
      });
      test('*(uint32_t*)pc reads the instruction word the ELF holds there', async () => {
        const r = await dc.evaluateRequest({ expression: `*(uint32_t*)0x${entryPc.toString(16)}`, context: 'watch' });
        const elfWord = symbols.readAt(entryPc, 4);
        assert.ok(elfWord);
        assert.equal(BigInt(r.body.result.split(' ')[0]), BigInt(new DataView(elfWord.buffer, elfWord.byteOffset).getUint32(0, true)));
      });
      test('a function symbol evaluates to its address', async () => {
        const r = await dc.evaluateRequest({ expression: 'vPaintMemoryPattern', context: 'hover' });
        assert.equal(BigInt(r.body.result.split(' ')[0]), symbols.lookup('vPaintMemoryPattern'));
      });
      test('arithmetic', async () => {
        const r = await dc.evaluateRequest({ expression: '0x10 * 4 + 1', context: 'repl' });
        assert.equal(r.body.result, '0x41 (65)');
      });
    });

    describe('readMemory', () => {
      test('returns the bytes of the loaded image at the pc', async () => {
        const r = (await dc.customRequest('readMemory', { memoryReference: `0x${entryPc.toString(16)}`, count: 16 })) as DebugProtocol.ReadMemoryResponse;
        const bytes = Buffer.from(r.body?.data ?? '', 'base64');
        assert.deepEqual(new Uint8Array(bytes), symbols.readAt(entryPc, 16));
      });
    });

    describe('disassemble', () => {
      test('five instructions from the pc, the first at the pc', async () => {
        const r = await dc.disassembleRequest({ memoryReference: `0x${entryPc.toString(16)}`, instructionCount: 5 });
        assert.equal(r.body?.instructions.length, 5);
        assert.equal(BigInt(r.body?.instructions[0].address ?? '0'), entryPc);
        // The entry code is followed by a literal pool on AArch64: only the first row must decode.
        assert.notEqual(r.body?.instructions[0].presentationHint, 'invalid');
        assert.ok(r.body?.instructions.every((i) => i.instruction.length > 0));
      });
      test('a negative instruction offset returns the rows before the address too', async () => {
        const r = await dc.disassembleRequest({ memoryReference: `0x${entryPc.toString(16)}`, instructionOffset: -3, instructionCount: 6 });
        assert.equal(r.body?.instructions.length, 6);
        assert.equal(BigInt(r.body?.instructions[3].address ?? '0'), entryPc);
      });
    });

    describe('stepIn', () => {
      test('one instruction moves the pc and records it', async () => {
        const before = ((await dc.customRequest(CustomRequest.recordingStatus)).body as RecordingStatus).instructions;
        await Promise.all([dc.stepInRequest({ threadId: 1, granularity: 'instruction' }), dc.waitForEvent('stopped')]);
        const pc = pcOf(await topFrame());
        assert.notEqual(pc, entryPc);
        const after = ((await dc.customRequest(CustomRequest.recordingStatus)).body as RecordingStatus).instructions;
        assert.equal(after, before + 1);
      });
    });

    describe('setFunctionBreakpoints + continue while recording', () => {
      test('stops at vPaintMemoryPattern with every instruction up to it in the file', async () => {
        const address = symbols.lookup('vPaintMemoryPattern') as bigint;
        const set = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'vPaintMemoryPattern' }] });
        assert.equal(set.body.breakpoints[0].verified, true);
        await Promise.all([dc.continueRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', {})]);
        assert.equal(pcOf(await topFrame()), address);
        const status = (await dc.customRequest(CustomRequest.recordingStatus)).body as RecordingStatus;
        assert.equal(status.sessionId, sessionId);
        assert.equal(countRows(database, `SELECT COUNT(*) AS n FROM instruction_traces WHERE session_id = ${sessionId}`), status.instructions);
        const last = countRows(database, `SELECT pc_address AS n FROM instruction_traces WHERE session_id = ${sessionId} ORDER BY sequence_number DESC LIMIT 1`);
        assert.equal(BigInt(last), address);
      });
    });

    describe('bootscope/captureSnapshot', () => {
      test('a new memory_snapshots row appears in the file', async () => {
        const sql = `SELECT COUNT(*) AS n FROM memory_snapshots WHERE session_id = ${sessionId}`;
        const before = countRows(database, sql);
        const r = (await dc.customRequest(CustomRequest.captureSnapshot)).body as SnapshotCaptured;
        assert.ok(r.snapshotId !== undefined);
        assert.equal(countRows(database, sql), before + 1);
        assert.equal(countRows(database, `SELECT COUNT(*) AS n FROM memory_regions WHERE snapshot_id = ${r.snapshotId}`), (guestConfig.regions as unknown[]).length);
      });
    });

    describe('setBreakpoints (source line) + continue with recording off', () => {
      test('stops in boot_done at a sched.c line, run by QEMU\'s own continue', async () => {
        await dc.customRequest(CustomRequest.stopRecording);
        await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
        const sched = path.join(GUEST, 'src/sched.c');
        const defLine = readFileSync(sched, 'utf8').split('\n').findIndex((l) => /^void boot_done\(void\)$/.test(l)) + 1;
        const set = await dc.setBreakpointsRequest({ source: { path: sched }, breakpoints: [{ line: defLine + 2 }] });
        assert.equal(set.body.breakpoints[0].verified, true, set.body.breakpoints[0].message);
        const countBefore = countRows(database, `SELECT COUNT(*) AS n FROM instruction_traces WHERE session_id = ${sessionId}`);
        await Promise.all([dc.continueRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', { path: /sched\.c$/ })]);
        const f = await topFrame();
        assert.equal(symbols.functionAt(pcOf(f))?.name, 'boot_done');
        assert.equal(countRows(database, `SELECT COUNT(*) AS n FROM instruction_traces WHERE session_id = ${sessionId}`), countBefore, 'nothing recorded with recording off');
      });
    });

    describe('next (line granularity)', () => {
      // uart_puts is inlined from demo.h, so lines alternate between demo.h and sched.c (no inline-frame
      // awareness): each `next` must change the source line, and a few reach the wfi loop's line.
      test('each step lands on another line, and the steps reach the wfi loop in boot_done', async () => {
        const sched = readFileSync(path.join(GUEST, 'src/sched.c'), 'utf8').split('\n');
        const def = sched.findIndex((l) => /^void boot_done\(void\)$/.test(l));
        const loopLine = sched.findIndex((l, i) => i > def && /for \(;;\) __asm__ volatile\("wfi"\)/.test(l)) + 1;
        let frame = await topFrame();
        for (let n = 0; n < 80 && !(frame.source?.path?.endsWith('sched.c') && frame.line === loopLine); n++) {
          await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
          const next = await topFrame();
          assert.ok(next.line !== frame.line || next.source?.path !== frame.source?.path, `step ${n} changed the line (${frame.line})`);
          frame = next;
        }
        assert.equal(frame.line, loopLine);
        assert.equal(symbols.functionAt(pcOf(frame))?.name, 'boot_done');
        // DWARF names the file "guest/src/sched.c" (reproducible build): the adapter resolves it to the real file.
        assert.equal(frame.source?.path, path.join(GUEST, 'src/sched.c'));
      });
    });

    describe('terminate', () => {
      test('stops the launched QEMU and ends the session row', async () => {
        await Promise.all([dc.terminateRequest(), dc.waitForEvent('terminated')]);
        const deadline = Date.now() + 10_000;
        while (isAlive(qemuPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.equal(isAlive(qemuPid), false, `QEMU pid ${qemuPid} is gone`);
        const [status, endTime] = queryRow(database, `SELECT status, end_time FROM boot_sessions WHERE session_id = ${sessionId}`);
        assert.equal(status, 'stopped');
        assert.ok(endTime);
      });
    });
  });
}
