// Version parsing, the quirk table and the command line the launcher builds (no QEMU started here).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildQemuCommandLine } from '../../src/qemu/launcher';
import { quirksFor } from '../../src/qemu/quirks';
import { compareQemuVersions, parseQemuVersion } from '../../src/qemu/version';

describe('parseQemuVersion', () => {
  test('reads Debian\'s QEMU 7.2 banner', () => {
    const v = parseQemuVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n');
    assert.deepEqual(v, { major: 7, minor: 2, micro: 22, text: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)' });
  });

  test('a two-part version gets micro 0', () => {
    assert.deepEqual(parseQemuVersion('QEMU emulator version 9.1\n').micro, 0);
  });

  test('output without a version is an error quoting the line', () => {
    assert.throws(() => parseQemuVersion('something else entirely'), /could not read a QEMU version .*"something else entirely"/);
  });

  test('compareQemuVersions orders by major, then minor, then micro', () => {
    assert.ok(compareQemuVersions({ major: 7, minor: 2, micro: 22 }, { major: 8, minor: 0, micro: 0 }) < 0);
    assert.ok(compareQemuVersions({ major: 8, minor: 2, micro: 0 }, { major: 8, minor: 1, micro: 5 }) > 0);
    assert.equal(compareQemuVersions({ major: 7, minor: 2, micro: 1 }, { major: 7, minor: 2, micro: 1 }), 0);
  });
});

describe('quirksFor', () => {
  test('QEMU 7.2: p needs target.xml, ? deletes breakpoints and answers every time, no no-ack mode', () => {
    const q = quirksFor({ major: 7, minor: 2, micro: 22 });
    assert.equal(q.pRequiresTargetXml, true);
    assert.equal(q.questionMarkDeletesBreakpoints, true);
    assert.equal(q.questionMarkRepliesOnlyOncePerStop, false);
    assert.equal(q.hasNoAckMode, false);
    assert.equal(q.sendsT02OnConnectToRunningVm, true);
    assert.equal(q.reverseDebuggingOnlyWhenReplaying, true);
  });

  test('QEMU 8.2 reads registers without target.xml and answers ? once per stop', () => {
    const q = quirksFor({ major: 8, minor: 2, micro: 0 });
    assert.equal(q.pRequiresTargetXml, false);
    assert.equal(q.questionMarkRepliesOnlyOncePerStop, true);
  });
});

describe('buildQemuCommandLine', () => {
  const argv = buildQemuCommandLine(
    { binary: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a53', memory: '256M', kernel: '/k.elf', extraArgs: ['-smp', '1'] },
    1234, 5678,
  );

  test('halts the CPU, binds gdbstub and QMP to 127.0.0.1 with nodelay, and has no monitor', () => {
    assert.equal(argv[0], 'qemu-system-aarch64');
    assert.ok(argv.includes('-S'));
    assert.equal(argv[argv.indexOf('-gdb') + 1], 'tcp:127.0.0.1:1234');
    assert.equal(argv[argv.indexOf('-qmp') + 1], 'tcp:127.0.0.1:5678,server=on,wait=off,nodelay=on');
    assert.equal(argv[argv.indexOf('-monitor') + 1], 'none');
    assert.equal(argv[argv.indexOf('-display') + 1], 'none');
  });

  test('routes the first serial port to QEMU\'s stdout through a stdio chardev', () => {
    const chardev = argv[argv.indexOf('-chardev') + 1];
    assert.match(chardev, /^stdio,id=([\w-]+),signal=off$/);
    const id = /id=([\w-]+)/.exec(chardev)![1];
    assert.equal(argv[argv.indexOf('-serial') + 1], `chardev:${id}`);
  });

  test('passes machine, cpu, memory, kernel, and extraArgs last', () => {
    assert.deepEqual(argv.slice(1, 9), ['-M', 'virt', '-cpu', 'cortex-a53', '-m', '256M', '-kernel', '/k.elf']);
    assert.deepEqual(argv.slice(-2), ['-smp', '1']);
  });
});

describe('buildQemuCommandLine: the default NIC', () => {
  const cfg = { binary: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a15', kernel: '/k.elf' };
  const nicArgs = (argv: string[]): string[] => argv.flatMap((a, i) => (a === '-nic' ? [argv[i + 1]] : []));

  test('turns the default NIC off (-nic none) when extraArgs set up no network', () => {
    assert.deepEqual(nicArgs(buildQemuCommandLine({ ...cfg, extraArgs: ['-smp', '1'] }, 1, 2)), ['none']);
  });

  test('leaves networking to the user when extraArgs have -nic, -net or -netdev', () => {
    for (const extra of [['-nic', 'user'], ['-net', 'nic', '-net', 'user'], ['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0'], ['--nic=user']]) {
      const argv = buildQemuCommandLine({ ...cfg, extraArgs: extra }, 1, 2);
      assert.ok(!nicArgs(argv).includes('none'), `${extra.join(' ')}: no -nic none added`);
      assert.deepEqual(argv.slice(-extra.length), extra, `${extra.join(' ')}: passed as given, last`);
    }
  });

  test('a NIC added with -device alone still gets -nic none (it only drops the machine\'s default NIC)', () => {
    const argv = buildQemuCommandLine({ ...cfg, extraArgs: ['-device', 'virtio-net-pci'] }, 1, 2);
    assert.deepEqual(nicArgs(argv), ['none']);
    assert.ok(argv.indexOf('-nic') < argv.indexOf('-device'), 'the user\'s -device comes after');
  });

  test('a -device property value that merely mentions "net" is not networking', () => {
    assert.deepEqual(nicArgs(buildQemuCommandLine({ ...cfg, extraArgs: ['-device', 'loader,file=net.bin,addr=0x0'] }, 1, 2)), ['none']);
  });
});
