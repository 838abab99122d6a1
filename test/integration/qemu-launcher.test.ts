// launchQemu + QmpClient against real QEMU 7.2 on both architectures, with a tiny guest that prints a line
// on the PL011: start state, gdbstub readiness, QMP events, HMP, memory dumps, UART capture, shutdown.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { parseQemuVersion } from '../../src/qemu/version';
import {
  QEMU_TARGETS, RawRspConnection, TINY_GUEST_MESSAGE, VIRT_RAM_BASE, buildTinyGuest, killIfAlive, pidAlive, qemuConfigFor,
  removeTinyGuest, waitUntil, type TinyGuest,
} from '../support/qemu-fixtures';

for (const target of QEMU_TARGETS) {
  describe(`launchQemu ${target.binary} -M ${target.machine} -cpu ${target.cpu}`, () => {
    let guest: TinyGuest | undefined;
    let qemu: QemuProcess | undefined;
    let tmp = '';
    let uartLog = '';
    const uartChunks: string[] = [];

    before(async () => {
      guest = buildTinyGuest(target.arch);
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-qemu-test-'));
      uartLog = path.join(tmp, 'logs', 'uart.log');
      qemu = await launchQemu({ qemu: qemuConfigFor(target, guest.elf), uartLogPath: uartLog });
      qemu.onUart((c) => uartChunks.push(c));
    });

    after(async () => {
      const pid = qemu?.pid;
      await qemu?.shutdown();
      killIfAlive(pid);
      removeTinyGuest(guest);
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    test('the gdbstub answers `?` with a stop reply right after launch resolves', async () => {
      const rsp = await RawRspConnection.connect(qemu!.gdbPort);
      try {
        assert.match((await rsp.request('?')) ?? '(no reply)', /^T05thread:[0-9a-fp.]+;$/);
      } finally {
        rsp.close();
      }
    });

    test('version matches `--version` output', () => {
      const expected = parseQemuVersion(execFileSync(target.binary, ['--version'], { encoding: 'utf8' }));
      assert.deepEqual(qemu!.version, expected);
      assert.equal(qemu!.version.major, 7);
    });

    test('command line has -S, the gdbstub and QMP on 127.0.0.1 with nodelay, no monitor', () => {
      const cl = qemu!.commandLine.join(' ');
      assert.match(cl, / -S /);
      assert.match(cl, new RegExp(`-gdb tcp:127\\.0\\.0\\.1:${qemu!.gdbPort}( |$)`));
      assert.match(cl, new RegExp(`-qmp tcp:127\\.0\\.0\\.1:${qemu!.qmpPort},server=on,wait=off,nodelay=on`));
      assert.match(cl, /-monitor none/);
    });

    test('QMP greeting reports the same version as --version', () => {
      const v = qemu!.qmp.greeting.version.qemu;
      assert.deepEqual([v.major, v.minor, v.micro], [qemu!.version.major, qemu!.version.minor, qemu!.version.micro]);
    });

    test('query-status is "prelaunch" and not running because of -S', async () => {
      const st = await qemu!.qmp.queryStatus();
      assert.equal(st.status, 'prelaunch');
      assert.equal(st.running, false);
    });

    test('hmp `info registers` shows the PC at the guest entry', async () => {
      const text = await qemu!.qmp.hmp('info registers');
      if (target.arch === 'arm') assert.match(text, /R15=40000000/);
      else assert.match(text, /PC=0000000040000000/);
    });

    test('pmemsave writes exactly `size` bytes equal to the loaded image', async () => {
      const file = path.join(tmp, 'pmem.bin');
      await qemu!.qmp.pmemsave(VIRT_RAM_BASE, guest!.image.length, file);
      const bytes = fs.readFileSync(file);
      assert.equal(bytes.length, guest!.image.length);
      assert.deepEqual(bytes, guest!.image);
    });

    test('memsave of CPU 0 writes exactly `size` bytes (MMU off: virtual = physical)', async () => {
      const file = path.join(tmp, 'vmem.bin');
      await qemu!.qmp.memsave(VIRT_RAM_BASE, 64, file, 0);
      assert.deepEqual(fs.readFileSync(file), guest!.image.subarray(0, 64));
    });

    test('cont emits RESUME and the guest\'s UART line reaches uartText, onUart and the log file', async () => {
      const resumed = qemu!.qmp.waitForEvent('RESUME', 5000);
      await qemu!.qmp.cont();
      await resumed;
      assert.ok(await waitUntil(() => qemu!.uartText().includes(TINY_GUEST_MESSAGE), 5000), `uartText() = ${JSON.stringify(qemu!.uartText())}`);
      assert.equal(uartChunks.join(''), qemu!.uartText());
      assert.ok(await waitUntil(() => fs.existsSync(uartLog) && fs.readFileSync(uartLog, 'utf8').includes(TINY_GUEST_MESSAGE), 2000));
      assert.equal((await qemu!.qmp.queryStatus()).status, 'running');
    });

    test('stop emits STOP and query-status becomes "paused"', async () => {
      const stopped = qemu!.qmp.waitForEvent('STOP', 5000);
      await qemu!.qmp.stop();
      await stopped;
      assert.equal((await qemu!.qmp.queryStatus()).status, 'paused');
    });

    test('system_reset emits RESET and the guest prints its line again after cont', async () => {
      const reset = qemu!.qmp.waitForEvent('RESET', 5000);
      await qemu!.qmp.systemReset();
      await reset;
      await qemu!.qmp.cont();
      const twice = (): boolean => qemu!.uartText().split(TINY_GUEST_MESSAGE).length - 1 >= 2;
      assert.ok(await waitUntil(twice, 5000), `uartText() = ${JSON.stringify(qemu!.uartText())}`);
    });

    test('a QMP error reply rejects with the command name and QEMU\'s description', async () => {
      await assert.rejects(qemu!.qmp.execute('no-such-command'), (e: Error) => {
        assert.match(e.message, /"no-such-command"/);
        assert.match(e.message, /CommandNotFound/);
        return true;
      });
    });

    test('shutdown ends the process, resolves `exited`, and is idempotent', async () => {
      const pid = qemu!.pid;
      const first = qemu!.shutdown();
      const second = qemu!.shutdown();
      await Promise.all([first, second]);
      assert.equal(qemu!.isRunning(), false);
      assert.equal(pidAlive(pid), false);
      const exit = await qemu!.exited;
      assert.equal(exit.code, 0, 'QEMU exits with 0 after QMP quit');
      await qemu!.shutdown();
      await assert.rejects(qemu!.qmp.queryStatus(), /QMP connection to 127\.0\.0\.1:\d+ was lost/);
    });
  });
}

// The project's demo guest (guest/build, committed ELFs) boots under the launcher's command line: the
// elfloader's first line reaches uartText(). It needs 1 GiB (it copies to 0x60200000) and, on AArch64,
// virtualization=on (it enters at EL2), as guest/README.md says.
const DEMO_GUESTS = [
  { target: QEMU_TARGETS[0], machine: 'virt', elf: 'guest/build/demo-arm32.elf' },
  { target: QEMU_TARGETS[1], machine: 'virt,virtualization=on', elf: 'guest/build/demo-aarch64.elf' },
];
for (const demo of DEMO_GUESTS) {
  const elf = path.resolve(__dirname, '../..', demo.elf);
  describe(`launchQemu with the demo guest ${demo.elf}`, { skip: fs.existsSync(elf) ? false : `${demo.elf} is not built` }, () => {
    let qemu: QemuProcess | undefined;
    after(async () => {
      const pid = qemu?.pid;
      await qemu?.shutdown();
      killIfAlive(pid);
    });

    test('prints the elfloader banner on the UART after cont', async () => {
      qemu = await launchQemu({ qemu: { ...qemuConfigFor(demo.target, elf), machine: demo.machine, memory: '1024M' } });
      await qemu.qmp.cont();
      assert.ok(await waitUntil(() => qemu!.uartText().includes('[elfloader] start'), 5000), `uartText() = ${JSON.stringify(qemu.uartText())}`);
    });
  });
}
