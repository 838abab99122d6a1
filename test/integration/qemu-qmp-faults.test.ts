// QmpClient when QEMU stops answering or dies, produced with a real QEMU 7.2: SIGSTOP makes it silent
// (per-request timeout naming the command and port), SIGKILL drops the connection (one error for all).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { QmpClient } from '../../src/qemu/qmp';
import { QEMU_TARGETS, buildTinyGuest, killIfAlive, qemuConfigFor, removeTinyGuest, type TinyGuest } from '../support/qemu-fixtures';

describe('QmpClient faults with real QEMU', () => {
  let guest: TinyGuest | undefined;
  let qemu: QemuProcess | undefined;

  before(async () => {
    guest = buildTinyGuest('aarch64');
    qemu = await launchQemu({ qemu: qemuConfigFor(QEMU_TARGETS[1], guest.elf) });
  });

  after(async () => {
    const pid = qemu?.pid;
    if (pid !== undefined) {
      try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    }
    await qemu?.shutdown();
    killIfAlive(pid);
    removeTinyGuest(guest);
  });

  test('a second QMP client gets no greeting while the launcher holds the one QMP connection', async () => {
    await assert.rejects(QmpClient.connect('127.0.0.1', qemu!.qmpPort, { connectTimeoutMs: 500 }), /no QMP greeting .* within 500 ms .*one client at a time/);
  });

  test('a request QEMU does not answer times out naming the command and the port', async () => {
    process.kill(qemu!.pid, 'SIGSTOP');
    try {
      await assert.rejects(qemu!.qmp.execute('query-status', undefined, { timeoutMs: 300 }),
        new RegExp(`QMP command "query-status" on 127\\.0\\.0\\.1:${qemu!.qmpPort} got no reply within 300 ms`));
    } finally {
      process.kill(qemu!.pid, 'SIGCONT');
    }
    // The late reply to the timed-out request is dropped; the connection keeps working.
    assert.equal((await qemu!.qmp.queryStatus()).status, 'prelaunch');
  });

  test('QEMU dying rejects every pending request with the same connection-lost error', async () => {
    process.kill(qemu!.pid, 'SIGSTOP');
    const pending = [qemu!.qmp.queryStatus(), qemu!.qmp.hmp('info registers'), qemu!.qmp.stop()];
    const outcomes = Promise.allSettled(pending);
    process.kill(qemu!.pid, 'SIGKILL');
    const results = await outcomes;
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'));
    assert.equal(new Set(reasons).size, 1, `one error for all: ${reasons.join(' | ')}`);
    assert.match(reasons[0], new RegExp(`QMP connection to 127\\.0\\.0\\.1:${qemu!.qmpPort} was lost`));
    const exit = await qemu!.exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(qemu!.isRunning(), false);
    await qemu!.shutdown(); // resolves at once for a dead QEMU
  });
});
