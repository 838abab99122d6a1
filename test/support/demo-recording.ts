// Records the bundled demo guest for tests, the same way `bootscope record` does (RecordingSession with the
// committed guest/demo-*.json), into a temporary database. Real QEMU, real gdbstub, real SQLite file.
import * as path from 'node:path';
import { loadConfigFile } from '../../src/cli/config-file';
import type { QemuConfig, RecordingConfig } from '../../src/common/config';
import type { ElfFile } from '../../src/symbols/elf';
import { RecordingSession, statusFor } from '../../src/recorder/session';
import { PluginRecordingSession } from '../../src/recorder/plugin-session';
import type { RecordingStore } from '../../src/store/recording-store';
import type { RunResult } from '../../src/recorder/recorder';

export const GUEST_DIR = path.resolve(__dirname, '..', '..', 'guest');

export type DemoName = 'demo-arm32' | 'demo-aarch64' | 'demo-arm32-corrupted' | 'demo-aarch64-corrupted';

export function demoConfig(name: DemoName, database: string, overrides: Partial<RecordingConfig> = {}): RecordingConfig {
  return { ...loadConfigFile(path.join(GUEST_DIR, `${name}.json`)), database, ...overrides };
}

/** The QEMU section of guest/demo-<arch>.json (`arch`: arm32 | aarch64), paths resolved. */
export function demoQemuConfig(arch: string): QemuConfig {
  const cfg = demoConfig(`demo-${arch}` as DemoName, '');
  if (!cfg.qemu) throw new Error(`guest/demo-${arch}.json has no qemu section`);
  return cfg.qemu;
}

/** A symbol's address in the ELF (Thumb bit cleared). */
export function elfSymbol(elf: ElfFile, name: string): bigint {
  const s = elf.symbols.find((x) => x.name === name);
  if (!s) throw new Error(`${elf.path} has no symbol ${name}`);
  return s.value & ~1n;
}

export interface DemoRecording {
  database: string;
  sessionId: number;
  result: RunResult;
  uart: string;
  warnings: string[];
  seconds: number;
}

export interface RecordDemoOptions {
  /** Another QEMU binary (e.g. the QEMU 10 of scripts/qemu10.sh), and arguments appended to the config's. */
  qemuBinary?: string;
  extraArgs?: string[];
  /** Record into this open store (e.g. one a test throttles) instead of opening `database`. */
  store?: RecordingStore;
}

/** Records one boot to its configured stop (boot_done) and closes the session as the CLI does; `overrides.capture`
 * "plugin" records with plugin capture (PluginRecordingSession), anything else with the gdbstub stepper. */
export async function recordDemo(name: DemoName, database: string, overrides: Partial<RecordingConfig> = {}, options: RecordDemoOptions = {}): Promise<DemoRecording> {
  const warnings: string[] = [];
  const t0 = Date.now();
  const config = demoConfig(name, database, overrides);
  if (config.qemu && (options.qemuBinary || options.extraArgs)) {
    config.qemu = { ...config.qemu, binary: options.qemuBinary ?? config.qemu.binary, extraArgs: [...config.qemu.extraArgs, ...options.extraArgs ?? []] };
  }
  const start = config.capture === 'plugin' ? PluginRecordingSession.start : RecordingSession.start;
  const session = await start({ config, onWarning: (w) => warnings.push(w), store: options.store });
  try {
    const result = await session.record();
    if (result.reason !== 'target-exited') await session.recorder.captureSnapshot('end');
    const uart = session.qemu?.uartText() ?? '';
    const { status, reason } = statusFor(result.reason);
    await session.close(status, reason);
    return { database, sessionId: session.sessionId, result, uart, warnings, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    await session.close('error', String(e)).catch(() => undefined);
    throw e;
  }
}
