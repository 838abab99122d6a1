// QmpClient's wire handling against a scripted in-process QMP peer, for what QEMU never does on its own:
// replies out of order, a line split across TCP segments, events between replies, a non-JSON line.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { QmpClient, type QmpEvent } from '../../src/qemu/qmp';

const GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'test' }, capabilities: [] } };

/** A QMP peer: sends the greeting, answers qmp_capabilities, then hands every other command to `onCommand`. */
async function startPeer(onCommand: (cmd: { execute: string; id: string; arguments?: unknown }, sock: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((sock) => {
    sock.write(JSON.stringify(GREETING) + '\r\n');
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string; id: string; arguments?: unknown };
        buf = buf.slice(nl + 1);
        if (cmd.execute === 'qmp_capabilities') sock.write(JSON.stringify({ return: {}, id: cmd.id }) + '\r\n');
        else onCommand(cmd, sock);
      }
    });
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  return { server, port: (server.address() as net.AddressInfo).port };
}

describe('QmpClient wire handling', () => {
  const servers: net.Server[] = [];
  const clients: QmpClient[] = [];
  after(() => {
    for (const c of clients) c.close();
    for (const s of servers) s.close();
  });

  test('connect reads the greeting and negotiates capabilities', async () => {
    const { server, port } = await startPeer(() => undefined);
    servers.push(server);
    const qmp = await QmpClient.connect('127.0.0.1', port);
    clients.push(qmp);
    assert.deepEqual(qmp.greeting.version.qemu, { major: 7, minor: 2, micro: 22 });
  });

  test('replies are matched to requests by id even when they arrive out of order', async () => {
    const held: Array<{ execute: string; id: string }> = [];
    const { server, port } = await startPeer((cmd, sock) => {
      held.push(cmd);
      if (held.length === 2) {
        for (const c of [...held].reverse()) sock.write(JSON.stringify({ return: `answer to ${c.execute}`, id: c.id }) + '\r\n');
      }
    });
    servers.push(server);
    const qmp = await QmpClient.connect('127.0.0.1', port);
    clients.push(qmp);
    const [a, b] = await Promise.all([qmp.execute<string>('first'), qmp.execute<string>('second')]);
    assert.equal(a, 'answer to first');
    assert.equal(b, 'answer to second');
  });

  test('an event between replies goes to onEvent listeners, not to the pending request', async () => {
    const { server, port } = await startPeer((cmd, sock) => {
      const event = JSON.stringify({ event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } });
      const reply = JSON.stringify({ return: { status: 'paused', running: false }, id: cmd.id });
      // One write holding an event and half a reply, then the rest: framing must not depend on segments.
      const wire = `${event}\r\n${reply}\r\n`;
      const cut = event.length + 10;
      sock.write(wire.slice(0, cut));
      setTimeout(() => sock.write(wire.slice(cut)), 20);
    });
    servers.push(server);
    const qmp = await QmpClient.connect('127.0.0.1', port);
    clients.push(qmp);
    const events: QmpEvent[] = [];
    qmp.onEvent((e) => events.push(e));
    const status = await qmp.queryStatus();
    assert.equal(status.status, 'paused');
    assert.deepEqual(events.map((e) => e.event), ['STOP']);
  });

  test('a line that is not JSON ends the connection and rejects the pending request saying so', async () => {
    const { server, port } = await startPeer((_cmd, sock) => sock.write('this is not json\r\n'));
    servers.push(server);
    const qmp = await QmpClient.connect('127.0.0.1', port);
    clients.push(qmp);
    await assert.rejects(qmp.execute('anything'), /sent a line that is not JSON: "this is not json"/);
    assert.equal(qmp.isClosed, true);
  });
});
