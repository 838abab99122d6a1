// Which capture backend records a session, and the one line that says why: plugin capture when asked for or
// when QEMU >= 9.2 (plugin API 4) and libbootscope.so is built or buildable; otherwise the gdbstub stepper.
// Asking for plugin capture where it cannot run is an error naming the QEMU version and the way out.
import type { CaptureBackend, RecordingConfig } from '../common/config';
import { BootscopeError, ConfigError, ErrorCode, errorMessage } from '../common/errors';
import { ensurePlugin } from '../capture/plugin';
import { readQemuVersion } from '../qemu/launcher';
import { compareQemuVersions, formatQemuVersion } from '../qemu/version';

/** QEMU 9.2: plugin API 4 (register reads, store values, memory reads). */
export const PLUGIN_MIN_QEMU = { major: 9, minor: 2, micro: 0 } as const;

export interface CaptureChoice {
  capture: CaptureBackend;
  /** One line for stderr: which backend and why. */
  reason: string;
}

const WAY_OUT = 'run `bash scripts/qemu10.sh` (Debian 13\'s QEMU 10 beside the system\'s) and set "qemu.binary" to .cache/qemu10/bin/qemu-system-arm or -aarch64';

/** Decides the backend; `requested` is the CLI's --capture (it overrides the config's "capture"). */
export async function chooseCapture(cfg: RecordingConfig, requested?: CaptureBackend): Promise<CaptureChoice> {
  const asked = requested ?? cfg.capture;
  const field = requested ? '--capture' : 'capture';
  if (asked === 'gdbstub') return { capture: 'gdbstub', reason: `gdbstub capture (single-stepping), as ${field} asks` };
  const need = asked === 'plugin' ? field : cfg.window ? 'window' : undefined;
  const fail = (why: string): CaptureChoice => {
    if (need) throw new BootscopeError(ErrorCode.Config, `${need}: plugin capture is not possible here: ${why}`);
    return { capture: 'gdbstub', reason: `gdbstub capture (single-stepping): ${why}` };
  };
  if (cfg.request === 'attach' || !cfg.qemu) {
    if (need) throw new ConfigError(need, 'plugin capture needs "request": "launch": the plugin is loaded when QEMU starts');
    return { capture: 'gdbstub', reason: 'gdbstub capture (single-stepping): attaching to a running QEMU, which has no capture plugin loaded' };
  }
  const version = await readQemuVersion(cfg.qemu.binary);
  if (compareQemuVersions(version, PLUGIN_MIN_QEMU) < 0) {
    return fail(`${cfg.qemu.binary} is QEMU ${formatQemuVersion(version)}, and plugin capture needs QEMU 9.2 or newer (plugin API 4); ${WAY_OUT}${need ? ', or use --capture gdbstub' : ''}`);
  }
  try {
    ensurePlugin();
  } catch (e) {
    return fail(errorMessage(e));
  }
  return { capture: 'plugin', reason: `plugin capture: ${cfg.qemu.binary} is QEMU ${formatQemuVersion(version)} (>= 9.2) and the capture plugin is built${asked ? `, as ${field} asks` : ''}` };
}
