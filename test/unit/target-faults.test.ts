// GdbTarget against the in-process fake stub, only for what QEMU cannot produce: corrupted checksums,
// NAKs, garbage, a connection dropped mid-packet, silence, `E NN`, oversized replies; plus the queue's
// own rules (pipelining window, nothing sent while a resume is outstanding).

import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { BootscopeError, ErrorCode } from '../../src/common/errors';
import { GdbReplyError, GdbTarget } from '../../src/target';
import { FakeStub, StubHandler, fakeMemoryHex } from '../support/fake-stub';

let stub: FakeStub | undefined;
let target: GdbTarget | undefined;

afterEach(async () => {
  await target?.close().catch(() => undefined);
  await stub?.close();
  target = undefined;
  stub = undefined;
});

async function connect(handler?: StubHandler, requestTimeoutMs = 2000): Promise<{ stub: FakeStub; target: GdbTarget }> {
  stub = await FakeStub.start(handler);
  target = await GdbTarget.connect({ host: '127.0.0.1', port: stub.port, timeoutMs: 3000, requestTimeoutMs });
  return { stub, target };
}

describe('GdbTarget with the fake stub: handshake', () => {
  test('reads features, the initial stop, target.xml and the g size at connect', async () => {
    const { stub, target } = await connect();
    assert.equal(target.features.get('PacketSize'), '1000');
    assert.equal(target.arch, 'arm');
    assert.equal(target.layout.gPacketSize, 68);
    assert.equal(target.layout.byName.get('cpsr')?.gOffset, 64);
    assert.equal(target.initialStop.kind === 'signal' && target.initialStop.thread, 'p01.01');
    assert.deepEqual(stub.received.slice(0, 2), ['qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+', '?']);
    assert.equal(target.decodeRegisters(await target.readRegisters()).get('pc'), 0x1000n);
  });

  test('a T02 sent before the qSupported reply (QEMU: client connected to a running VM) is kept as stopAtConnect', async () => {
    const t02 = 'T02thread:p01.01;';
    const { target } = await connect((p) => (p.startsWith('qSupported') ? { raw: `$${t02}#${sum(t02)}`, reply: 'PacketSize=1000;qXfer:features:read+;multiprocess+' } : undefined));
    const stop = target.stopAtConnect;
    assert.equal(stop?.kind === 'signal' && stop.signal, 2);
    assert.equal(target.features.get('PacketSize'), '1000', 'the T02 was not taken as the qSupported reply');
  });

  test('stopAtConnect stays undefined when the stub was already stopped', async () => {
    const { target } = await connect();
    assert.equal(target.stopAtConnect, undefined);
  });

  test('connect retries until the port listens, then fails with a Connection error naming the port', async () => {
    const err = await GdbTarget.connect({ host: '127.0.0.1', port: 1, timeoutMs: 300, connectRetryMs: 50 }).catch((e: unknown) => e);
    assert.ok(err instanceof BootscopeError);
    assert.equal(err.code, ErrorCode.Connection);
    assert.match(err.message, /127\.0\.0\.1:1/);
  });
});

describe('GdbTarget with the fake stub: faults', () => {
  test('a reply with a corrupted checksum is NAKed and the retransmission accepted', async () => {
    const { stub, target } = await connect((p, { seen }) => (p === 'qC' && seen === 1 ? { badChecksum: 'QCp01.01' } : undefined));
    const errors: string[] = [];
    target.on('protocol-error', (e) => errors.push(e.kind));
    assert.equal(await target.currentThread(), 'p01.01');
    assert.equal(stub.naks, 1);
    assert.deepEqual(errors, ['checksum-mismatch']);
  });

  test('a packet the stub NAKs is retransmitted', async () => {
    const { stub, target } = await connect((p, { seen }) => (p === 'qC' ? (seen === 1 ? { nak: true } : 'QCp01.01') : undefined));
    assert.equal(await target.currentThread(), 'p01.01');
    assert.deepEqual(stub.received.filter((p) => p === 'qC'), ['qC']);
  });

  test('a NAK in the middle of pipelined requests still gives each request its own reply', async () => {
    const { target } = await connect((p, { seen }) => (p === 'm1000,4' && seen === 1 ? { nak: true } : undefined));
    const [a, b, c] = await Promise.all([target.readMemory(0x1000, 4), target.readMemory(0x2004, 4), target.readMemory(0x3008, 4)]);
    assert.deepEqual([...a], [0x00, 0x01, 0x02, 0x03]);
    assert.deepEqual([...b], [0x04, 0x05, 0x06, 0x07]);
    assert.deepEqual([...c], [0x08, 0x09, 0x0a, 0x0b]);
  });

  test('garbage between packets is skipped and reported as a protocol error', async () => {
    const { target } = await connect((p) => (p === 'qC' ? { raw: 'noise\r\n\x00\xff', reply: 'QCp01.02' } : undefined));
    const errors: string[] = [];
    target.on('protocol-error', (e) => errors.push(e.kind));
    assert.equal(await target.currentThread(), 'p01.02');
    assert.deepEqual(errors, ['garbage']);
  });

  test('connection dropped mid-packet rejects every pending request with one Connection error', async () => {
    const { target } = await connect((p) => (p === 'm1000,4' ? { rawThenDrop: '$0001' } : p.startsWith('m') ? { silence: true } : undefined));
    const pending = [target.readMemory(0x1000, 4), target.readMemory(0x2000, 4), target.readRegisters()];
    const results = await Promise.allSettled(pending);
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as unknown) : undefined));
    assert.ok(reasons.every((r) => r instanceof BootscopeError && r.code === ErrorCode.Connection), String(reasons));
    assert.equal(new Set(reasons).size, 1, 'all pending requests share one error');
    await assert.rejects(target.readRegisters(), (e: unknown) => e === reasons[0]);
  });

  test('silence times out with an error naming the packet and the port', async () => {
    const { stub, target } = await connect((p) => (p === 'm4000,10' ? { silence: true } : undefined), 300);
    const started = Date.now();
    const err = await target.readMemory(0x4000, 16).catch((e: unknown) => e);
    assert.ok(err instanceof BootscopeError);
    assert.equal(err.code, ErrorCode.Connection);
    assert.match(err.message, /"m4000,10"/);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${stub.port}`));
    assert.ok(Date.now() - started < 2000);
  });

  test('E NN is a recoverable Target error naming the packet; the connection stays usable', async () => {
    const { target } = await connect((p) => (p === 'm0,4' ? 'E14' : undefined));
    const err = await target.readMemory(0, 4).catch((e: unknown) => e);
    assert.ok(err instanceof GdbReplyError);
    assert.equal(err.code, ErrorCode.Target);
    assert.equal(err.packet, 'm0,4');
    assert.equal(err.reply, 'E14');
    assert.deepEqual([...(await target.readMemory(0x10, 2))], [0x10, 0x11]);
  });

  test('an oversized reply fails that request only', async () => {
    const { target } = await connect((p) => (p === 'qC' ? 'QC' + 'a'.repeat(0x11000) : undefined));
    const err = await target.currentThread().catch((e: unknown) => e);
    assert.ok(err instanceof BootscopeError && err.code === ErrorCode.Target, String(err));
    assert.match(err.message, /oversized/);
    assert.deepEqual([...(await target.readMemory(0x20, 1))], [0x20]);
  });
});

describe('GdbTarget with the fake stub: queue', () => {
  test('readMemory keeps several m requests in flight (pipelined) and reassembles 64 KiB', async () => {
    const { stub, target } = await connect((p) => (p.startsWith('m') ? { delayMs: 5, reply: fakeMemoryHex(parseInt(p.slice(1), 16), parseInt(p.split(',')[1], 16)) } : undefined));
    const data = await target.readMemory(0x10000, 0x10000);
    assert.equal(data.length, 0x10000);
    assert.ok(data.every((b, i) => b === (i & 0xff)));
    assert.equal(stub.received.filter((p) => p.startsWith('m')).length, 32);
    assert.ok(stub.maxOutstanding >= 4, `max in flight ${stub.maxOutstanding}`);
  });

  test('nothing is sent after a resume until its stop reply (QEMU stops on any byte while running)', async () => {
    const { stub, target } = await connect((p) => (p === 'c' ? { delayMs: 100, reply: 'T05thread:p01.01;' } : undefined));
    const stopped = target.cont();
    const regs = target.readRegisters();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stub.received[stub.received.length - 1], 'c', 'g must wait for the stop');
    assert.equal(target.running, true);
    const stop = await stopped;
    assert.equal(stop.kind === 'signal' && stop.signal, 5);
    assert.equal((await regs).length, 68);
  });

  test('vCont sends the actions as one packet and resolves with its stop reply', async () => {
    const { stub, target } = await connect((p) => (p.startsWith('vCont;') ? 'T05thread:p01.01;' : p === 'vCont?' ? 'vCont;c;C;s;S' : undefined));
    assert.deepEqual([...(await target.vContActions())], ['c', 'C', 's', 'S']);
    const stop = await target.vCont([{ action: 's', thread: 'p1.1' }]);
    assert.equal(stop.kind === 'signal' && stop.signal, 5);
    assert.equal(stub.received[stub.received.length - 1], 'vCont;s:p1.1');
  });

  test('a stop nobody asked for becomes a stop event, not the reply of the pending request', async () => {
    const { stub, target } = await connect((p) => (p === 'qC' ? { raw: `$T02thread:p01.01;#${sum('T02thread:p01.01;')}`, reply: 'QCp01.01' } : undefined));
    const stops: string[] = [];
    target.on('stop', (s) => stops.push(GdbTarget.describe(s)));
    assert.equal(await target.currentThread(), 'p01.01');
    assert.deepEqual(stops, ['stopped, signal 2 thread p01.01']);
    assert.ok(stub.acks > 0);
  });

  test('detach names the process when multiprocess is negotiated (QEMU answers a bare D with E22)', async () => {
    const { stub, target } = await connect((p) => (p === 'D;1' ? 'OK' : p === 'D' ? 'E22' : p === 'qC' ? 'QCp01.01' : undefined));
    await target.detach();
    assert.ok(stub.received.includes('D;1'), stub.received.join(' '));
    assert.ok(!stub.received.includes('D'));
  });

  test('qRcmd collects O packets before OK', async () => {
    const hex = (s: string): string => Buffer.from(s).toString('hex');
    const { target } = await connect((p) => (p.startsWith('qRcmd,') ? { raw: `$O${hex('line 1\n')}#${sum('O' + hex('line 1\n'))}`, reply: 'OK' } : undefined));
    const consoles: string[] = [];
    target.on('console', (c) => consoles.push(c));
    assert.equal(await target.monitor('info version'), 'line 1\n');
    assert.deepEqual(consoles, []);
  });

  test('close() rejects pending requests with a Connection error and emits close without error', async () => {
    const { target } = await connect((p) => (p === 'qC' ? { silence: true } : undefined));
    let closeError: unknown = 'not emitted';
    target.on('close', (e) => (closeError = e));
    const pending = target.currentThread();
    await target.close();
    await assert.rejects(pending, (e: unknown) => e instanceof BootscopeError && e.code === ErrorCode.Connection);
    assert.equal(closeError, undefined);
  });
});

function sum(s: string): string {
  let n = 0;
  for (let i = 0; i < s.length; i++) n += s.charCodeAt(i);
  return (n & 0xff).toString(16).padStart(2, '0');
}
