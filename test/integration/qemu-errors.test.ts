// launchQemu's failures against real QEMU 7.2: each says what to fix (missing binary, bad machine or CPU,
// missing guest file, an unknown option, a missing ROM or firmware file naming its Debian package), the
// default NIC is off, and a port taken between pick and bind is retried with new ports.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BootscopeError, ConfigError, ErrorCode } from '../../src/common/errors';
import { findFreePort, launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { QEMU_TARGETS, buildTinyGuest, killIfAlive, qemuConfigFor, removeTinyGuest, type TinyGuest } from '../support/qemu-fixtures';

const arm = QEMU_TARGETS[0];
const aarch64 = QEMU_TARGETS[1];

describe('launchQemu errors', () => {
  test('a missing binary names it and gives the apt-get line', async () => {
    await assert.rejects(launchQemu({ qemu: { ...qemuConfigFor(arm), binary: 'qemu-system-nonexistent-arch' } }), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, ErrorCode.Qemu);
      assert.match(e.message, /"qemu-system-nonexistent-arch" was not found \(ENOENT\)/);
      assert.match(e.message, /apt-get install -y qemu-system-arm/);
      return true;
    });
  });

  test('an unknown machine is a qemu.machine config error with QEMU\'s text', async () => {
    await assert.rejects(launchQemu({ qemu: { ...qemuConfigFor(arm), machine: 'no-such-board' } }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.field, 'qemu.machine');
      assert.match(e.message, /unsupported machine type/);
      assert.match(e.message, /-M help/);
      return true;
    });
  });

  test('a CPU the binary lacks is a qemu.cpu config error quoting QEMU', async () => {
    await assert.rejects(launchQemu({ qemu: { ...qemuConfigFor(arm), cpu: 'cortex-a53' } }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.field, 'qemu.cpu');
      assert.match(e.message, /unable to find CPU model 'cortex-a53'/);
      assert.match(e.message, /-cpu help/);
      return true;
    });
  });

  test('a kernel file that does not exist fails before spawning, naming qemu.kernel and the path', async () => {
    await assert.rejects(launchQemu({ qemu: qemuConfigFor(aarch64, '/nonexistent/bootscope/guest.elf') }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.field, 'qemu.kernel');
      assert.match(e.message, /file not found: \/nonexistent\/bootscope\/guest\.elf/);
      return true;
    });
  });

  test('QEMU exiting during start reports its exit code and stderr', async () => {
    await assert.rejects(launchQemu({ qemu: qemuConfigFor(arm, undefined, ['-no-such-option']) }), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, ErrorCode.Qemu);
      assert.match(e.message, /exited with code 1 during start/);
      assert.match(e.message, /-no-such-option: invalid option/);
      return true;
    });
  });
});

describe('launchQemu and ROM/firmware files', () => {
  let romDir: string | undefined;
  let qemu: QemuProcess | undefined;

  before(() => {
    romDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-noroms-'));
  });

  after(async () => {
    const pid = qemu?.pid;
    await qemu?.shutdown();
    killIfAlive(pid);
    if (romDir) fs.rmSync(romDir, { recursive: true, force: true });
  });

  test('a NIC option ROM that is really missing names ipxe-qemu and the apt-get line', async () => {
    const rom = path.join(romDir!, 'efi-virtio.rom');   // an empty folder: the file is not there
    await assert.rejects(launchQemu({ qemu: qemuConfigFor(arm, undefined, ['-device', `virtio-net-pci,romfile=${rom}`]) }), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, ErrorCode.Qemu);
      assert.match(e.message, /exited with code 1 during start/);
      assert.match(e.message, /Debian's ipxe-qemu package provides/);
      assert.match(e.message, /apt-get install -y ipxe-qemu/);
      assert.ok(e.message.includes(`failed to find romfile "${rom}"`), `QEMU's own line is quoted: ${e.message}`);
      return true;
    });
  });

  test('firmware outside QEMU\'s search path (-bios QEMU_EFI.fd) names qemu-efi-aarch64 and its full path', async () => {
    await assert.rejects(launchQemu({ qemu: qemuConfigFor(aarch64, undefined, ['-bios', 'QEMU_EFI.fd']) }), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, ErrorCode.Qemu);
      assert.match(e.message, /Could not find ROM image 'QEMU_EFI\.fd'/);
      assert.match(e.message, /apt-get install -y qemu-efi-aarch64/);
      assert.match(e.message, /\/usr\/share\/qemu-efi-aarch64\/QEMU_EFI\.fd/);
      return true;
    });
  });

  test('a default launch has no NIC, so no option ROM is needed', async () => {
    qemu = await launchQemu({ qemu: qemuConfigFor(arm) });
    const buses = await qemu.qmp.execute<{ devices: { class_info: { class: number; desc?: string } }[] }[]>('query-pci');
    const nics = buses.flatMap((b) => b.devices).filter((d) => d.class_info.class === 0x0200);
    assert.deepEqual(nics, [], 'no Ethernet controller on the PCI bus');
  });
});

describe('launchQemu port collisions', () => {
  let busy: net.Server | undefined;
  let busyPort = 0;
  let guest: TinyGuest | undefined;
  let qemu: QemuProcess | undefined;

  before(async () => {
    guest = buildTinyGuest('arm');
    busy = net.createServer();
    await new Promise<void>((resolve) => busy!.listen({ host: '127.0.0.1', port: 0 }, resolve));
    busyPort = (busy.address() as net.AddressInfo).port;
  });

  after(async () => {
    const pid = qemu?.pid;
    await qemu?.shutdown();
    killIfAlive(pid);
    busy?.close();
    removeTinyGuest(guest);
  });

  test('a gdbstub port taken before QEMU binds it is retried with fresh ports', async () => {
    const picked: number[] = [];
    const picker = async (): Promise<number> => {
      const port = picked.length === 0 ? busyPort : await findFreePort();
      picked.push(port);
      return port;
    };
    qemu = await launchQemu({ qemu: qemuConfigFor(arm, guest!.elf) }, picker);
    assert.equal(picked[0], busyPort, 'the first attempt got the busy port');
    assert.ok(picked.length >= 4, `a second attempt picked new ports (picked ${picked.join(', ')})`);
    assert.notEqual(qemu.gdbPort, busyPort);
    assert.equal((await qemu.qmp.queryStatus()).status, 'prelaunch');
  });

  test('a busy port in extraArgs is not mistaken for ours: one attempt, QEMU\'s error', async () => {
    let picks = 0;
    const picker = (): Promise<number> => { picks++; return findFreePort(); };
    const extra = ['-chardev', `socket,id=busy,host=127.0.0.1,port=${busyPort},server=on,wait=off`];
    await assert.rejects(launchQemu({ qemu: qemuConfigFor(arm, guest!.elf, extra) }, picker), (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.match(e.message, /Failed to find an available port/);
      assert.match(e.message, new RegExp(`port=${busyPort}`));
      return true;
    });
    assert.equal(picks, 2, 'one attempt picks two ports');
  });
});
