// Pins the QEMU 7.2 gdbstub behaviours that src/qemu/quirks.ts declares, on the wire with a bare RSP
// connection: if a QEMU update changes one of them, this fails and quirks.ts needs a version bound.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { quirksFor } from '../../src/qemu/quirks';
import {
  QEMU_TARGETS, RawRspConnection, VIRT_RAM_BASE, buildTinyGuest, killIfAlive, qemuConfigFor, removeTinyGuest, type TinyGuest,
} from '../support/qemu-fixtures';

for (const target of QEMU_TARGETS) {
  describe(`QEMU quirks on the wire: ${target.binary}`, () => {
    let guest: TinyGuest | undefined;
    let qemu: QemuProcess | undefined;
    let rsp: RawRspConnection | undefined;

    before(async () => {
      guest = buildTinyGuest(target.arch);
      qemu = await launchQemu({ qemu: qemuConfigFor(target, guest.elf) });
      rsp = await RawRspConnection.connect(qemu.gdbPort);
    });

    after(async () => {
      rsp?.close();
      const pid = qemu?.pid;
      await qemu?.shutdown();
      killIfAlive(pid);
      removeTinyGuest(guest);
    });

    test('connecting during -S prelaunch sends no unsolicited packet', async () => {
      assert.equal(await rsp!.nextPacket(300), undefined);
    });

    test('pRequiresTargetXml: `p0` is unsupported until target.xml is read, then returns the register', async () => {
      assert.equal(quirksFor(qemu!.version).pRequiresTargetXml, true);
      assert.equal(await rsp!.request('p0'), '');
      const xml = await rsp!.request('qXfer:features:read:target.xml:0,ffb');
      assert.match(xml ?? '', /^[lm]<\?xml/);
      assert.match((await rsp!.request('p0')) ?? '', /^[0-9a-f]{8,16}$/);
    });

    test('hasNoAckMode false: QStartNoAckMode is answered with an empty packet', async () => {
      assert.equal(quirksFor(qemu!.version).hasNoAckMode, false);
      assert.equal(await rsp!.request('QStartNoAckMode'), '');
      assert.doesNotMatch((await rsp!.request('qSupported:multiprocess+;swbreak+;hwbreak+')) ?? '', /QStartNoAckMode\+/);
    });

    test('questionMarkRepliesOnlyOncePerStop false: a second `?` is answered too', async () => {
      assert.equal(quirksFor(qemu!.version).questionMarkRepliesOnlyOncePerStop, false);
      assert.match((await rsp!.request('?')) ?? '', /^T05/);
      assert.match((await rsp!.request('?')) ?? '', /^T05/);
    });

    test('questionMarkDeletesBreakpoints: after `?`, removing a breakpoint set before it fails', async () => {
      assert.equal(quirksFor(qemu!.version).questionMarkDeletesBreakpoints, true);
      const bp = `${VIRT_RAM_BASE.toString(16)},4`;
      assert.equal(await rsp!.request(`Z0,${bp}`), 'OK');
      assert.equal(await rsp!.request(`z0,${bp}`), 'OK', 'a breakpoint set and removed with no `?` between is found');
      assert.equal(await rsp!.request(`Z0,${bp}`), 'OK');
      assert.match((await rsp!.request('?')) ?? '', /^T05/);
      assert.match((await rsp!.request(`z0,${bp}`)) ?? '', /^E/, 'the `?` removed it already');
    });

    test('sendsT02OnConnectToRunningVm: a client connecting to a running VM gets T02 and QEMU pauses', async () => {
      assert.equal(quirksFor(qemu!.version).sendsT02OnConnectToRunningVm, true);
      rsp!.close();
      await new Promise((r) => setTimeout(r, 100));
      await qemu!.qmp.cont();
      assert.equal((await qemu!.qmp.queryStatus()).status, 'running');
      const stopped = qemu!.qmp.waitForEvent('STOP', 3000);
      rsp = await RawRspConnection.connect(qemu!.gdbPort);
      assert.match((await rsp.nextPacket(2000)) ?? '(nothing)', /^T02thread:[0-9a-fp.]+;$/);
      await stopped;
      assert.equal((await qemu!.qmp.queryStatus()).status, 'paused');
    });
  });
}
