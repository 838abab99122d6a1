// Everything about a recording configuration that can be checked on this machine before QEMU starts or a
// boot_sessions row exists: the ELF (`elf`, `symbolFiles[i]`) and the `-kernel` image are readable, are ELFs
// where one is required, and are built for the architecture QEMU runs; the firmware file exists; symbol
// names in stopAt and stages resolve. A bad file is then a configuration error (CLI exit 2) naming the
// attribute, and nothing is left behind; a stripped ELF is accepted with one warning.
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { archOf, isSymbolName, type Arch, type RecordingConfig } from '../common/config';
import { BootscopeError, ConfigError, errorMessage } from '../common/errors';
import { ElfFile } from '../symbols/elf';
import { archOfElf, isStripped, symbolsOf, type Symbols } from '../symbols/symbols';
import { resolveStageRules } from './stage-detector';

export interface PreflightResult {
  /** Symbols of `elf` and `symbolFiles`, undefined when neither is configured. */
  symbols: Symbols | undefined;
  /** Things the user should know, each said once (e.g. a stripped ELF). */
  warnings: string[];
}

const ARCH_WORDS: Readonly<Record<Arch, string>> = { arm: 'AArch32 (ARM, e_machine EM_ARM)', aarch64: 'AArch64 (e_machine EM_AARCH64)' };

function describeArchSource(cfg: RecordingConfig): string {
  return cfg.arch ? `"arch" is "${cfg.arch}"` : `qemu.binary ${cfg.qemu?.binary ?? '?'} runs ${cfg.qemu?.binary.includes('aarch64') ? 'aarch64' : 'arm'} guests`;
}

function startsWithElfMagic(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

/** Reads an ELF a configuration attribute names; every failure is a ConfigError on that attribute. */
function readElf(file: string, field: string, expected: Arch | undefined, cfg: RecordingConfig): ElfFile {
  const want = expected ? `an ${ARCH_WORDS[expected]} ELF` : 'an ARM or AArch64 ELF';
  if (!existsSync(file)) throw new ConfigError(field, `${file} does not exist; expected ${want} (the linked image, with symbols)`);
  if (!statSync(file).isFile()) throw new ConfigError(field, `${file} is not a file; expected ${want}`);
  let elf: ElfFile;
  try {
    elf = ElfFile.read(file);
  } catch (e) {
    // ElfFile's message already starts with the path and says what is wrong (no magic, truncated, ...).
    throw new ConfigError(field, `${errorMessage(e)} Expected ${want}.`);
  }
  const arch = archOfElf(elf);
  if (expected && arch !== expected) {
    throw new ConfigError(field, `${file} is an ELF for ${arch ? ARCH_WORDS[arch] : `machine ${elf.machine}`}, but ${describeArchSource(cfg)}; `
      + `give ${want}, or change ${cfg.arch ? '"arch" and qemu.binary' : 'qemu.binary'} to match the image`);
  }
  if (!arch) throw new ConfigError(field, `${file} is an ELF for machine ${elf.machine}; Bootscope records ARM and AArch64 guests only`);
  return elf;
}

/**
 * Checks the files and symbol names of `cfg`, and loads the symbols. `targetArch` is the architecture the
 * gdbstub reported, when already connected (attach without "arch"); otherwise the one the config implies.
 */
export function preflight(cfg: RecordingConfig, targetArch?: Arch): PreflightResult {
  const expected = targetArch ?? archOf(cfg);
  const warnings: string[] = [];
  const sources = [
    ...(cfg.elf ? [{ file: cfg.elf, field: 'elf' }] : []),
    ...cfg.symbolFiles.map((file, i) => ({ file, field: `symbolFiles[${i}]` })),
  ];
  const elfs = sources.map(({ file, field }) => {
    const elf = readElf(file, field, expected, cfg);
    if (isStripped(elf)) {
      warnings.push(`${field}: ${file} has no symbols (stripped), so every function_name will be "unknown" and no function can be named in stopAt or stages; give the unstripped image for function names`);
    }
    return elf;
  });

  const kernel = cfg.qemu?.kernel;
  if (kernel !== undefined) {
    if (!existsSync(kernel) || !statSync(kernel).isFile()) {
      throw new ConfigError('qemu.kernel', `${kernel} does not exist; expected the image QEMU loads with -kernel (an ELF or a raw binary)`);
    }
    // A raw image is fine for -kernel; an ELF must be whole and for the right architecture.
    if (kernel !== cfg.elf && startsWithElfMagic(kernel)) readElf(kernel, 'qemu.kernel', expected, cfg);
  }
  const bios = cfg.qemu?.bios;
  if (bios !== undefined && (!existsSync(bios) || !statSync(bios).isFile())) {
    throw new ConfigError('qemu.bios', `${bios} does not exist; expected the firmware image QEMU runs from the reset vector with -bios`);
  }

  let symbols: Symbols | undefined;
  if (elfs.length > 0) {
    try {
      symbols = symbolsOf(elfs);
    } catch (e) {
      if (e instanceof BootscopeError) throw new ConfigError(sources[0].field, `${errorMessage(e)} Expected an ELF with readable DWARF line tables, or none.`);
      throw e;
    }
  }
  // Resolve symbol names now, so a wrong one fails before QEMU starts (the recorder resolves them again).
  const noSymbols = elfs.length > 0 && elfs.every(isStripped) ? ` (${sources.map((s) => s.file).join(', ')} has no symbols: it is stripped)` : '';
  if (cfg.stopAt !== undefined && isSymbolName(cfg.stopAt) && symbols?.lookup(cfg.stopAt) === undefined) {
    throw new ConfigError('stopAt', `symbol "${cfg.stopAt}" is not in the symbol table of ${sources.map((s) => s.field).join(', ')}${noSymbols}; give an address like "0x40003000" or a function name from nm`);
  }
  try {
    resolveStageRules(cfg.stages, symbols);
  } catch (e) {
    if (e instanceof ConfigError && noSymbols) throw new ConfigError(e.field, `${e.message.slice(e.field.length + 2)}${noSymbols}`);
    throw e;
  }
  return { symbols, warnings };
}
