// The session browser model (src/extension/session-tree-model.ts) and the shared store registry against a
// real recording file written through RecordingStore: files → sessions → stages → snapshots → regions,
// pass/fail verdicts, the SQL a node copies (it must run), and the instruction a node reveals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingStore } from '../../src/store/recording-store';
import { StoreRegistry } from '../../src/extension/store-registry';
import { children, instructionListing, instructionOf, present, sqlFor, stageSummaries, type SessionTreeNode } from '../../src/extension/session-tree-model';

const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-tree-'));
const file = path.join(dir, 'rec.db');
const registry = new StoreRegistry();
let sessionId = 0;

/** A painted region: `matching` of its 1024 words hold the pattern. */
function painted(pattern: number, matching: number): Uint8Array {
  const data = new Uint8Array(4096);
  const view = new DataView(data.buffer);
  for (let i = 0; i < matching; i++) view.setUint32(i * 4, pattern, true);
  return data;
}

before(() => {
  const store = RecordingStore.open(file, { create: true });
  sessionId = store.beginSession({ description: 'tree test boot', arch: 'arm', qemuVersion: '7.2.0' });
  const stages = ['elfloader', 'elfloader', 'pattern_painting', 'pattern_painting', 'pattern_painting', 'elfloader'];
  stages.forEach((stage, i) => store.appendStep({
    sessionId, sequenceNumber: i + 1, pc: 0x40000000 + i * 4, bytes: new Uint8Array([0, 0, 0xa0, 0xe1]), disassembly: 'mov r0, r0',
    registers: new Map([['r0', BigInt(i)], ['pc', BigInt(0x40000000 + i * 4)]]), sp: 0x41000000, functionName: i < 2 ? 'reset' : 'paint',
    bootStage: stage, sourceFile: '/nonexistent/boot.c', sourceLine: 10 + i,
  }));
  store.addSnapshot({ sessionId, sequenceNumber: 4, trigger: 'stage', regions: [
    { name: 'stack_region', start: 0x41000000, data: painted(0xdeadbeef, 1024), expectedPattern: 0xdeadbeef },
    { name: 'heap_region', start: 0x41400000, data: painted(0xcafebabe, 100), expectedPattern: 0xcafebabe },
    { name: 'guest_base', start: 0x40000000, data: painted(0, 0) },
  ] });
  store.endSession(sessionId, 'completed', 'reached stopAt');
  store.close();
});

after(() => {
  registry.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

const lookup = (f: string): RecordingStore => registry.get(f);

function walk(): { session: SessionTreeNode; stages: SessionTreeNode[]; snapshot: SessionTreeNode; regions: SessionTreeNode[] } {
  const [fileNode] = children(lookup, [file]);
  const [session] = children(lookup, [file], fileNode);
  const stages = children(lookup, [file], session);
  const painting = stages.find((s) => s.kind === 'stage' && s.stage.name === 'pattern_painting') as SessionTreeNode;
  const [snapshot] = children(lookup, [file], painting);
  const regions = children(lookup, [file], snapshot);
  return { session, stages, snapshot, regions };
}

describe('session tree: structure', () => {
  test('the registry recognises a recording file', () => assert.equal(registry.isRecording(file), true));
  test('a file that is not a recording is refused', () => assert.equal(registry.isRecording(path.join(dir, 'missing.db')), false));
  test('the file has its session under it', () => {
    const { session } = walk();
    assert.equal(session.kind === 'session' && session.session.sessionId, sessionId);
  });
  test('stages are one node per name in order of first entry, visits summed', () => {
    const summaries = stageSummaries(lookup(file), sessionId);
    assert.deepEqual(summaries.map((s) => [s.name, s.instructions, s.visits]), [['elfloader', 3, 2], ['pattern_painting', 3, 1]]);
  });
  test('a snapshot sits under the stage it was taken in', () => {
    const { snapshot } = walk();
    assert.equal(snapshot.kind === 'snapshot' && snapshot.snapshot.sequenceNumber, 4);
  });
  test('the snapshot lists its three regions', () => assert.deepEqual(walk().regions.map((r) => present(r).label), ['stack_region', 'heap_region', 'guest_base']));
});

describe('session tree: presentation', () => {
  test('a session shows status and instruction count', () => assert.match(present(walk().session).description ?? '', /completed · 6 instr/));
  test('a fully painted region passes with 100%', () => {
    const p = present(walk().regions[0]);
    assert.equal(p.icon, 'region-pass');
    assert.match(p.description ?? '', /^100\.0% pass · md5 [0-9a-f]{8}…$/);
  });
  test('a region below the threshold fails', () => {
    const p = present(walk().regions[1]);
    assert.equal(p.icon, 'region-fail');
    assert.match(p.description ?? '', /^9\.8% fail/);
  });
  test('a region without a pattern has no verdict', () => assert.equal(present(walk().regions[2]).icon, 'region'));
  test('the region tooltip carries the full MD5', () => assert.match(present(walk().regions[0]).tooltip, /MD5 [0-9a-f]{32}/));
});

describe('session tree: copy SQL', () => {
  test('every node\'s SQL runs against the file', () => {
    const { session, stages, snapshot, regions } = walk();
    const store = lookup(file);
    for (const node of [{ kind: 'file', file } as SessionTreeNode, session, ...stages, snapshot, ...regions]) {
      assert.doesNotThrow(() => store.query(sqlFor(node)), `SQL of a ${node.kind} node`);
    }
  });
  test('the session SQL is the seed 4.1 timing query and returns its stages', () => {
    const r = lookup(file).query(sqlFor(walk().session));
    assert.deepEqual(r.rows.map((row) => row[0]), ['elfloader', 'pattern_painting']);
  });
});

describe('session tree: reveal instruction', () => {
  test('a stage points at its first instruction', () => {
    const painting = walk().stages[1];
    assert.deepEqual(instructionOf(painting), { sessionId, sequenceNumber: 3 });
  });
  test('the listing marks the instruction and its source line', () => {
    const listing = instructionListing(lookup(file), sessionId, 4);
    assert.ok(listing);
    assert.equal(listing.step.sourceLine, 13);
    assert.match(listing.text.split('\n')[listing.focusLine], /^=>\s+4\s+0x4000000c/);
  });
});
