// QEMU's version, read from `<binary> --version` before a launch. Version-dependent behaviour is not
// decided here: quirks.ts turns a QemuVersion into named quirks, so callers never compare numbers.
import { BootscopeError, ErrorCode } from '../common/errors';

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
  /** The whole first line QEMU printed, e.g. `QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`. */
  text: string;
}

/** Parses the output of `qemu-system-* --version` (first line: `QEMU emulator version X.Y.Z (...)`). */
export function parseQemuVersion(output: string): QemuVersion {
  const line = output.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const m = /version\s+(\d+)\.(\d+)(?:\.(\d+))?/i.exec(line);
  if (!m) {
    throw new BootscopeError(ErrorCode.Qemu, `could not read a QEMU version from --version output ${JSON.stringify(line.slice(0, 200))}; expected "QEMU emulator version X.Y.Z"`);
  }
  return { major: Number(m[1]), minor: Number(m[2]), micro: m[3] === undefined ? 0 : Number(m[3]), text: line.trim() };
}

/** Orders versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareQemuVersions(a: Pick<QemuVersion, 'major' | 'minor' | 'micro'>, b: Pick<QemuVersion, 'major' | 'minor' | 'micro'>): number {
  return a.major - b.major || a.minor - b.minor || a.micro - b.micro;
}

export function formatQemuVersion(v: Pick<QemuVersion, 'major' | 'minor' | 'micro'>): string {
  return `${v.major}.${v.minor}.${v.micro}`;
}
