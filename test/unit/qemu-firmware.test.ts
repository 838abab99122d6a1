// Missing ROM/firmware files in QEMU's stderr -> the Debian package that ships them, and the advice text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configuresNetworking, findMissingFirmware, missingFirmwareAdvice } from '../../src/qemu/firmware';

describe('findMissingFirmware', () => {
  test('a NIC option ROM (QEMU 7.2 romfile message) comes from ipxe-qemu', () => {
    const m = findMissingFirmware('qemu-system-arm: failed to find romfile "efi-virtio.rom"\n');
    assert.deepEqual(m, { file: 'efi-virtio.rom', debianPackage: 'ipxe-qemu', installedAt: undefined });
  });

  test('pxe-*.rom and a romfile given as a path are matched by the file name', () => {
    assert.equal(findMissingFirmware('failed to find romfile "pxe-e1000.rom"')?.debianPackage, 'ipxe-qemu');
    assert.equal(findMissingFirmware('-device x: failed to find romfile "/opt/roms/efi-e1000e.rom"')?.debianPackage, 'ipxe-qemu');
  });

  test('SeaBIOS and its VGA BIOSes come from seabios', () => {
    assert.equal(findMissingFirmware('-device VGA: failed to find romfile "vgabios-stdvga.bin"')?.debianPackage, 'seabios');
    assert.equal(findMissingFirmware("qemu: could not load PC BIOS 'bios-256k.bin'")?.debianPackage, 'seabios');
  });

  test('UEFI images come from qemu-efi-aarch64 / qemu-efi-arm, with the folder QEMU does not search', () => {
    assert.deepEqual(findMissingFirmware("qemu-system-aarch64: Could not find ROM image 'QEMU_EFI.fd'"),
      { file: 'QEMU_EFI.fd', debianPackage: 'qemu-efi-aarch64', installedAt: '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd' });
    assert.equal(findMissingFirmware("Could not find ROM image 'AAVMF32_CODE.fd'")?.debianPackage, 'qemu-efi-arm');
  });

  test('an unknown file is still reported, without a package', () => {
    assert.deepEqual(findMissingFirmware("qemu-system-arm: Could not find ROM image 'my-board.bin'"), { file: 'my-board.bin', debianPackage: undefined, installedAt: undefined });
  });

  test('stderr without a missing-file message gives nothing', () => {
    assert.equal(findMissingFirmware('qemu-system-arm: -no-such-option: invalid option'), undefined);
  });
});

describe('missingFirmwareAdvice', () => {
  test('names the package and the apt-get line', () => {
    const text = missingFirmwareAdvice({ file: 'efi-virtio.rom', debianPackage: 'ipxe-qemu' });
    assert.match(text, /"efi-virtio\.rom"/);
    assert.match(text, /apt-get install -y ipxe-qemu/);
  });

  test('for a file outside QEMU\'s search path, says to pass the full path', () => {
    assert.match(missingFirmwareAdvice({ file: 'QEMU_EFI.fd', debianPackage: 'qemu-efi-aarch64', installedAt: '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd' }),
      /apt-get install -y qemu-efi-aarch64.*full path \/usr\/share\/qemu-efi-aarch64\/QEMU_EFI\.fd/);
  });

  test('for an unknown file, points at apt-file', () => {
    assert.match(missingFirmwareAdvice({ file: '/x/my-board.bin' }), /apt-file search my-board\.bin/);
  });
});

describe('configuresNetworking', () => {
  test('-nic, -net, -netdev in one- or two-dash and =value forms count; other options do not', () => {
    for (const a of ['-nic', '-net', '-netdev', '--nic', '--netdev', '-nic=user']) assert.equal(configuresNetworking([a]), true, a);
    for (const a of ['-device', 'virtio-net-pci', '-nographic', '-network', 'net']) assert.equal(configuresNetworking([a]), false, a);
  });
});
