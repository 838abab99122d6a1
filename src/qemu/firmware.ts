// What QEMU needs beyond the guest: whether the user's own arguments set up networking (otherwise the
// launcher turns the default NIC off, so no NIC option ROM is ever loaded), and which Debian package provides
// a ROM or firmware file QEMU reports missing. Pure functions over argv and stderr text; no QEMU here.

/**
 * True when `extraArgs` configure networking themselves: any -nic, -net or -netdev option (QEMU accepts one
 * or two leading dashes, and `-opt=value`). A `-device` NIC alone does not count: `-nic none` only drops the
 * machine's *default* NIC, and a NIC the user adds with -device is still created.
 */
export function configuresNetworking(extraArgs: readonly string[]): boolean {
  return extraArgs.some((a) => /^--?(nic|net|netdev)(=|$)/.test(a));
}

/** A ROM/firmware file QEMU could not find, and where Debian gets it from (when known). */
export interface MissingFirmware {
  /** The name as QEMU printed it (may be a path). */
  file: string;
  /** The Debian package that ships it, when the name is one Bootscope knows. */
  debianPackage?: string;
  /** Where that package installs it, when QEMU does not search there by itself (pass the full path). */
  installedAt?: string;
}

// Debian 12 file lists (dpkg -c of each package). QEMU's Debian build searches /usr/share/qemu,
// /usr/share/seabios and /usr/lib/ipxe/qemu for bare names; the EDK2 images live elsewhere and are passed
// by full path.
const FIRMWARE_PACKAGES: { name: RegExp; debianPackage: string; dir?: string }[] = [
  // iPXE option ROMs of the emulated NICs (virtio-net, e1000, rtl8139, ...): /usr/lib/ipxe/qemu
  { name: /^(efi|pxe)-[\w-]+\.rom$/, debianPackage: 'ipxe-qemu' },
  // SeaBIOS and its VGA BIOSes: /usr/share/seabios
  { name: /^(bios(-256k|-microvm)?\.bin|vgabios(-[\w-]+)?\.bin)$/, debianPackage: 'seabios' },
  // EDK2 (UEFI) for AArch64 and AArch32 `virt`
  { name: /^QEMU_EFI\.fd$/, debianPackage: 'qemu-efi-aarch64', dir: '/usr/share/qemu-efi-aarch64' },
  { name: /^AAVMF_(CODE|VARS)(\.[\w]+)?\.fd$/, debianPackage: 'qemu-efi-aarch64', dir: '/usr/share/AAVMF' },
  { name: /^AAVMF32_(CODE|VARS)\.fd$/, debianPackage: 'qemu-efi-arm', dir: '/usr/share/AAVMF' },
  // Small ROMs QEMU itself ships (sgabios, linuxboot, the OpenBIOS/SLOF images, ...)
  { name: /^(sgabios\.bin|linuxboot(_dma)?\.bin|multiboot(_dma)?\.bin|pvh\.bin|kvmvapic\.bin|qboot\.rom|QEMU,[\w]+\.bin|openbios-[\w]+|slof\.bin|vof\.bin|skiboot\.lid|s390-[\w]+\.img|palcode-[\w]+|hppa-firmware\.img|npcm7xx_bootrom\.bin|opensbi-[\w-]+\.(bin|elf))$/, debianPackage: 'qemu-system-data' },
];

// QEMU 7.2's wordings: hw/core/loader.c (rom_add_file: `failed to find romfile "X"`), hw/*/boot code
// (`Could not find ROM image 'X'`), hw/i386/x86.c (`could not load PC BIOS 'X'`), and boards that say
// `could not load bios` / `Unable to load the BIOS/firmware image` with the name after it.
const MISSING_FIRMWARE_PATTERNS: RegExp[] = [
  /failed to find romfile "([^"]+)"/i,
  /could not find ROM image '([^']+)'/i,
  /could not load (?:PC )?BIOS '([^']+)'/i,
  /could not load (?:the )?(?:bios|firmware)(?: image)?[: ]+'?"?([^'"\s]+)/i,
];

/** The first missing ROM/firmware file QEMU's stderr names, with its Debian package when known. */
export function findMissingFirmware(stderr: string): MissingFirmware | undefined {
  for (const pattern of MISSING_FIRMWARE_PATTERNS) {
    const m = pattern.exec(stderr);
    if (!m) continue;
    const file = m[1];
    const base = file.slice(file.lastIndexOf('/') + 1);
    const known = FIRMWARE_PACKAGES.find((k) => k.name.test(base));
    return {
      file,
      debianPackage: known?.debianPackage,
      installedAt: known?.dir !== undefined ? `${known.dir}/${base}` : undefined,
    };
  }
  return undefined;
}

/** One sentence telling the user what to install (or how to find out), for an error message. */
export function missingFirmwareAdvice(missing: MissingFirmware): string {
  if (missing.debianPackage === undefined) {
    return `QEMU could not find the ROM/firmware file "${missing.file}". Install the package that provides it (Debian: \`apt-file search ${missing.file.slice(missing.file.lastIndexOf('/') + 1)}\` names it) or pass the file's full path.`;
  }
  const where = missing.installedAt !== undefined ? `, then pass its full path ${missing.installedAt} (QEMU does not search that folder)` : '';
  const orPath = missing.file.includes('/') && missing.installedAt === undefined ? ' (or correct the path)' : '';
  return `QEMU could not find the ROM/firmware file "${missing.file}", which Debian's ${missing.debianPackage} package provides: install it with \`apt-get install -y ${missing.debianPackage}\`${where}${orPath}.`;
}
