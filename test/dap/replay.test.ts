// The replay engine through the built adapter (dist/adapter.js) and DebugClient, on real gdbstub
// recordings of both demo guests (recorded here with RecordingSession, as `bootscope record` does). Truths
// come from the recording file read with plain SQL (registers decoded from the keyframe/delta JSON with
// json_extract, as docs/recording-format.md shows), from the ELF, and from the snapshots' bytes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RecordingStore } from '../../src/store/recording-store';
import { loadSymbols, type ProgramSymbols } from '../../src/symbols';
import { CustomRequest, type GotoResult } from '../../src/adapter/custom-requests';
import { recordDemo, GUEST_DIR, type DemoName } from '../support/demo-recording';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');

/** One register at one instruction in plain SQL: the newest row at or before it that mentions it. */
function registerBySql(store: RecordingStore, session: number, seq: number, name: string): bigint {
  const r = store.query(`SELECT json_extract(registers, '$.' || ?) FROM instruction_traces WHERE session_id = ? AND sequence_number <= ?
      AND json_extract(registers, '$.' || ?) IS NOT NULL ORDER BY sequence_number DESC LIMIT 1`, [name, session, seq, name]).rows[0];
  const v = r[0];
  return typeof v === 'string' ? BigInt(v) : BigInt(v as number);
}

function scalar(store: RecordingStore, sql: string, params: (number | bigint | string)[]): number | null {
  const row = store.query(sql, params).rows[0];
  return row && row[0] !== null ? Number(row[0]) : null;
}

const DEMOS: { name: DemoName; elf: string }[] = [
  { name: 'demo-aarch64', elf: 'build/demo-aarch64.elf' },
  { name: 'demo-arm32', elf: 'build/demo-arm32.elf' },
];

for (const demo of DEMOS) {
  const elfPath = path.join(GUEST_DIR, demo.elf);
  const skip = !existsSync(ADAPTER) || !existsSync(elfPath) ? `needs ${ADAPTER} and ${elfPath} (node esbuild.mjs; make -C guest)` : false;

  describe(`replay of ${demo.name}`, { skip }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), `bootscope-replay-${demo.name}-`));
    const database = path.join(dir, 'rec.db');
    let dc: DebugClient;
    let store: RecordingStore;
    let symbols: ProgramSymbols;
    let session = 0;
    let first = 0;
    let last = 0;
    const outputs: string[] = [];

    const top = async (): Promise<DebugProtocol.StackFrame> => (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    const registers = async (): Promise<Map<string, bigint>> => {
      const f = await top();
      const scopes = await dc.scopesRequest({ frameId: f.id });
      const regs = scopes.body.scopes.find((s) => s.name === 'Registers');
      assert.ok(regs, 'a Registers scope');
      const vars = await dc.variablesRequest({ variablesReference: regs.variablesReference });
      return new Map(vars.body.variables.map((v) => [v.name, BigInt(v.value.split(' ')[0])]));
    };
    const boot = async (): Promise<Map<string, string>> => {
      const f = await top();
      const scopes = await dc.scopesRequest({ frameId: f.id });
      const b = scopes.body.scopes.find((s) => s.name === 'Boot');
      assert.ok(b, 'a Boot scope');
      const vars = await dc.variablesRequest({ variablesReference: b.variablesReference });
      return new Map(vars.body.variables.map((v) => [v.name, v.value]));
    };
    const position = async (): Promise<number> => Number(/^([\d,]+)/.exec((await boot()).get('instruction') ?? '')?.[1].replace(/,/g, ''));
    /** Everything the views show at a stop: position, registers, frames, 64 bytes at sp. */
    const state = async (): Promise<string> => {
      const frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames.map((f) => `${f.name}@${f.instructionPointerReference}:${f.line}`);
      const regs = await registers();
      const sp = regs.get('sp') ?? 0n;
      const mem = await dc.customRequest('readMemory', { memoryReference: `0x${sp.toString(16)}`, count: 64 }) as DebugProtocol.ReadMemoryResponse;
      return JSON.stringify({ at: await position(), frames, regs: [...regs].map(([k, v]) => `${k}=${v.toString(16)}`), mem: mem.body });
    };
    const stopped = (reason?: string): Promise<DebugProtocol.StoppedEvent> => dc.waitForEvent('stopped').then((e) => {
      const ev = e as DebugProtocol.StoppedEvent;
      if (reason) assert.equal(ev.body.reason, reason, `stop reason (${ev.body.description ?? ''})`);
      return ev;
    });
    const goto = async (args: Record<string, unknown>): Promise<number> => {
      const wait = stopped();
      const r = await dc.customRequest(CustomRequest.goto, args);
      await wait;
      return (r.body as GotoResult).sequenceNumber;
    };

    before(async () => {
      const rec = await recordDemo(demo.name, database, { maxInstructions: 40_000 });
      session = rec.sessionId;
      store = RecordingStore.open(database, { readOnly: true, log: () => undefined });
      symbols = loadSymbols([elfPath]);
      first = scalar(store, 'SELECT MIN(sequence_number) FROM instruction_traces WHERE session_id = ?', [session]) as number;
      last = scalar(store, 'SELECT MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [session]) as number;
      dc = new DebugClient('node', ADAPTER, 'bootscope');
      dc.defaultTimeout = 30_000;
      dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
      await dc.start();
    });

    after(async () => {
      await dc?.stop().catch(() => undefined);
      store?.close(null);
      rmSync(dir, { recursive: true, force: true });
    });

    describe('launch', () => {
      test('initialize announces Step Back', async () => {
        const r = await dc.initializeRequest();
        assert.equal(r.body?.supportsStepBack, true);
      });

      test('a session that does not exist fails the launch naming the sessions there are', async () => {
        const bad = new DebugClient('node', ADAPTER, 'bootscope');
        await bad.start();
        try {
          await bad.initializeRequest();
          await assert.rejects(bad.launchRequest({ replay: { database, session: 99 }, cwd: GUEST_DIR } as DebugProtocol.LaunchRequestArguments), new RegExp(`no session 99; its sessions are ${session}`));
        } finally {
          await bad.stop();
        }
      });

      test('stops on entry at the first recorded instruction', async () => {
        const entry = stopped();
        await Promise.all([dc.launch({ replay: { database, session }, cwd: GUEST_DIR } as DebugProtocol.LaunchRequestArguments), dc.configurationDoneRequest()]);
        await entry;
        assert.equal(await position(), first);
        const pc = BigInt((await top()).instructionPointerReference ?? '-1');
        assert.equal(pc, registerBySql(store, session, first, 'pc'));
      });
    });

    describe('registers', () => {
      test('at random instructions they equal instruction_traces', async () => {
        // A fixed-seed LCG: the same instructions every run, spread over the whole session.
        let x = 12345;
        for (let i = 0; i < 6; i++) {
          x = (x * 1103515245 + 12345) % 2 ** 31;
          const seq = first + (x % (last - first + 1));
          assert.equal(await goto({ sequenceNumber: seq }), seq);
          const shown = await registers();
          assert.ok(shown.size >= 16, `registers shown: ${[...shown.keys()].join(', ')}`);
          for (const [name, value] of shown) assert.equal(value, registerBySql(store, session, seq, name), `${name} at instruction ${seq}`);
        }
      });
    });

    describe('stepBack / stepIn', () => {
      test('N steps back then N steps forward by instruction return to identical states', async () => {
        const start = Math.floor((first + last) / 2);
        await goto({ sequenceNumber: start });
        const states: string[] = [await state()];
        const n = 12;
        for (let i = 0; i < n; i++) {
          const s = stopped('step');
          await dc.stepBackRequest({ threadId: 1, granularity: 'instruction' });
          await s;
          states.push(await state());
        }
        assert.equal(await position(), start - n);
        for (let i = n - 1; i >= 0; i--) {
          const s = stopped('step');
          await dc.stepInRequest({ threadId: 1, granularity: 'instruction' });
          await s;
          assert.equal(await state(), states[i], `state ${i} steps back from ${start}`);
        }
      });

      test('a line step back lands on the first instruction of the previous line, and a line step forward returns', async () => {
        // An instruction with a source line, not the first of its line run.
        const seq = scalar(store, `SELECT t.sequence_number FROM instruction_traces t JOIN instruction_traces p ON p.session_id = t.session_id
            AND p.sequence_number = t.sequence_number - 1 WHERE t.session_id = ? AND t.source_line IS NOT NULL AND p.source_line IS NOT NULL
            AND p.source_line <> t.source_line AND p.function_name = t.function_name AND t.sequence_number > ? ORDER BY t.sequence_number LIMIT 1`, [session, first + 100]);
        assert.ok(seq, 'the recording has a line change inside a function');
        await goto({ sequenceNumber: seq });
        const here = (await top()).line;
        const s = stopped('step');
        await dc.stepBackRequest({ threadId: 1 });
        await s;
        const back = await position();
        assert.ok(back < seq, `moved back (${back} < ${seq})`);
        const line = symbols.lineAt(registerBySql(store, session, back, 'pc'));
        const before = symbols.lineAt(registerBySql(store, session, back - 1, 'pc'));
        assert.ok(line, 'the previous line has line information');
        assert.notEqual(`${before?.file}:${before?.line}`, `${line.file}:${line.line}`, 'stopped on the first instruction of its line');
        assert.notEqual((await top()).line, here);
      });
    });

    describe('breakpoints', () => {
      test('a function breakpoint stops at its first execution going forward and its last going back', async () => {
        const name = 'vPaintMemoryPattern';
        const address = symbols.lookup(name) as bigint;
        const hits = store.query('SELECT sequence_number FROM instruction_traces WHERE session_id = ? AND pc_address = ? ORDER BY sequence_number', [session, Number(address)]).rows.map((r) => Number(r[0]));
        assert.ok(hits.length >= 2, `${name} ran at least twice (${hits.length})`);
        await goto({ sequenceNumber: first });
        const set = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name }] });
        assert.equal(set.body.breakpoints[0].verified, true);
        let s = stopped('breakpoint');
        await dc.continueRequest({ threadId: 1 });
        await s;
        assert.equal(await position(), hits[0]);
        s = stopped('breakpoint');
        await dc.continueRequest({ threadId: 1 });
        await s;
        assert.equal(await position(), hits[1]);
        await goto({ sequenceNumber: last });
        s = stopped('breakpoint');
        await dc.reverseContinueRequest({ threadId: 1 });
        await s;
        assert.equal(await position(), hits[hits.length - 1]);
        await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
      });

      test('a source line breakpoint stops where the line\'s code runs, both ways', async () => {
        const file = path.join(GUEST_DIR, 'src', 'painting.c');
        const fn = symbols.functionAt(symbols.lookup('vPaintMemoryPattern') as bigint);
        assert.ok(fn);
        const set = await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: 11 }] });
        const bp = set.body.breakpoints[0];
        assert.equal(bp.verified, true, bp.message);
        const addresses = symbols.breakpointAddressesFor(file, bp.line as number).map(Number);
        const hits = store.query(`SELECT sequence_number FROM instruction_traces WHERE session_id = ? AND pc_address IN (${addresses.map(() => '?').join(',')}) ORDER BY sequence_number`, [session, ...addresses]).rows.map((r) => Number(r[0]));
        assert.ok(hits.length >= 2, `line ${bp.line} ran at least twice`);
        await goto({ sequenceNumber: first });
        let s = stopped('breakpoint');
        await dc.continueRequest({ threadId: 1 });
        await s;
        assert.equal(await position(), hits[0]);
        assert.equal((await top()).line, bp.line);
        await goto({ sequenceNumber: last });
        s = stopped('breakpoint');
        await dc.reverseContinueRequest({ threadId: 1 });
        await s;
        assert.equal(await position(), hits[hits.length - 1]);
        await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [] });
      });

      test('an instruction (address) breakpoint stops at the instruction, both ways', async () => {
        const seq = Math.floor(first + (last - first) * 0.4);
        const pc = registerBySql(store, session, seq, 'pc');
        const hits = store.query('SELECT sequence_number FROM instruction_traces WHERE session_id = ? AND pc_address = ? ORDER BY sequence_number', [session, Number(pc)]).rows.map((r) => Number(r[0]));
        const set = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: `0x${pc.toString(16)}` }] }) as DebugProtocol.SetInstructionBreakpointsResponse;
        assert.equal(set.body.breakpoints[0].verified, true);
        await goto({ sequenceNumber: seq });
        const after = hits.find((h) => h > seq);
        const beforeHit = [...hits].reverse().find((h) => h < seq);
        let s = stopped(after === undefined ? 'pause' : 'breakpoint');
        await dc.continueRequest({ threadId: 1 });
        await s;
        assert.equal(await position(), after ?? last);
        await goto({ sequenceNumber: seq });
        s = stopped(beforeHit === undefined ? 'pause' : 'breakpoint');
        await dc.reverseContinueRequest({ threadId: 1 });
        await s;
        assert.equal(await position(), beforeHit ?? first);
        await dc.customRequest('setInstructionBreakpoints', { breakpoints: [] });
      });

      test('continue without breakpoints stops at the end of the recording and says so', async () => {
        await goto({ sequenceNumber: first });
        const s = stopped();
        await dc.continueRequest({ threadId: 1 });
        const ev = await s;
        assert.match(ev.body.description ?? '', /end of the recording/);
        assert.equal(await position(), last);
      });
    });

    describe('goto', () => {
      test('a snapshot: the memory view shows the snapshot\'s bytes, memory outside any region is unreadable', async () => {
        const snap = store.snapshots(session).find((s) => s.sequenceNumber !== null && s.sequenceNumber > first);
        assert.ok(snap, 'the recording has a snapshot after its first instruction');
        assert.equal(await goto({ snapshotId: snap.snapshotId }), snap.sequenceNumber);
        const region = store.regions(snap.snapshotId, { withData: true }).find((r) => r.regionName === 'stack_region');
        assert.ok(region?.data);
        const r = await dc.customRequest('readMemory', { memoryReference: `0x${region.startAddress.toString(16)}`, count: 4096 }) as DebugProtocol.ReadMemoryResponse;
        assert.equal(r.body?.unreadableBytes, 0);
        assert.deepEqual(Buffer.from(r.body?.data ?? '', 'base64'), Buffer.from(region.data.subarray(0, 4096)));
        // 16 bytes before the region: never captured; the reply says how many, and the region's bytes follow.
        const edge = await dc.customRequest('readMemory', { memoryReference: `0x${(region.startAddress - 16n).toString(16)}`, count: 32 }) as DebugProtocol.ReadMemoryResponse;
        assert.equal(edge.body?.data ?? '', '');
        assert.equal(edge.body?.unreadableBytes, 16);
        // 0x30000000 is in no region of the demo configuration: never captured, so never shown.
        const none = await dc.customRequest('readMemory', { memoryReference: '0x30000000', count: 64 }) as DebugProtocol.ReadMemoryResponse;
        assert.equal(none.body?.unreadableBytes, 64);
        assert.equal(Buffer.from(none.body?.data ?? '', 'base64').length, 0);
      });

      test('one instruction after a snapshot of a gdbstub recording, memory is unknown (no stores were recorded)', async () => {
        const snap = store.snapshots(session).find((s) => s.sequenceNumber !== null && s.sequenceNumber > first && s.sequenceNumber < last) as { sequenceNumber: number };
        await goto({ sequenceNumber: snap.sequenceNumber + 1 });
        const r = await dc.customRequest('readMemory', { memoryReference: '0x41000000', count: 16 }) as DebugProtocol.ReadMemoryResponse;
        assert.equal(r.body?.unreadableBytes, 16);
      });

      test('a stage entry', async () => {
        const visit = store.stages(session).find((v) => v.stageName === 'pattern_painting');
        assert.ok(visit);
        assert.equal(await goto({ stage: 'pattern_painting' }), visit.firstSequenceNumber);
        assert.equal((await boot()).get('stage'), 'pattern_painting');
      });

      test('an instruction outside the session is refused naming the range', async () => {
        await assert.rejects(dc.customRequest(CustomRequest.goto, { sequenceNumber: last + 1 }), new RegExp(`instructions ${first} to ${last}`));
      });
    });

    describe('dataBreakpoints', () => {
      test('on a gdbstub recording they stay unverified and say that stores were not recorded', async () => {
        const info = await dc.dataBreakpointInfoRequest({ name: '0x41000000', asAddress: true, bytes: 4 } as DebugProtocol.DataBreakpointInfoArguments);
        const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId as string, accessType: 'write' }] });
        assert.equal(set.body.breakpoints[0].verified, false);
        assert.match(set.body.breakpoints[0].message ?? '', /recorded no stores/);
        await dc.setDataBreakpointsRequest({ breakpoints: [] });
      });
    });

    describe('live-only requests', () => {
      test('setVariable and writeMemory are refused: a replay cannot change the recording', async () => {
        await assert.rejects(dc.setVariableRequest({ variablesReference: 1, name: 'r0', value: '1' }), /cannot be changed|recorded state/);
        await assert.rejects(dc.customRequest('writeMemory', { memoryReference: '0x41000000', data: 'AAAAAA==' }), /recorded memory/);
      });
    });
  });
}
