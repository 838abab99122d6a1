// Which process records a session, so any reader can tell a live recording from one whose process died
// (killed, crashed, machine rebooted) without a lock file. The writer stores its identity in
// boot_sessions.recorder_process: host, boot id, pid and the process's start time in clock ticks since boot
// (/proc/<pid>/stat field 22). A pid that now belongs to another process has another start time, so a
// reused pid never makes a dead session look alive; a reboot changes the boot id.
import * as fs from 'node:fs';
import * as os from 'node:os';

export type Liveness = 'alive' | 'dead' | 'unknown';

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '-';
  }
}

/** Start time of `pid` in clock ticks since boot, or null when there is no such running process (or no /proc). */
function startTicks(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the LAST ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null; // a zombie has ended; only its exit status is left
  return fields[19] ?? null; // field 22 overall; fields[0] is field 3 (state)
}

let own: string | undefined;

/** This process's identity as stored in recorder_process: "host boot-id pid start-ticks". */
export function currentRecorderProcess(): string {
  own ??= [os.hostname().replace(/\s/g, '_'), bootId(), process.pid, startTicks(process.pid) ?? '-'].join(' ');
  return own;
}

/**
 * Whether the process that wrote `identity` still runs. 'unknown' for another host (nothing to check) and
 * for an identity this code cannot read (older files have none): callers treat unknown as alive when it
 * comes from another host, and as dead when there is no identity at all.
 */
export function recorderLiveness(identity: string | null): Liveness {
  if (identity === null || identity === '') return 'unknown';
  const [host, boot, pidText, ticks] = identity.split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return 'unknown';
  if (host !== os.hostname().replace(/\s/g, '_')) return 'unknown';
  if (identity === currentRecorderProcess()) return 'alive';
  if (boot !== '-' && boot !== bootId()) return 'dead';
  if (ticks !== undefined && ticks !== '-') {
    const now = startTicks(pid);
    if (now !== null) return now === ticks ? 'alive' : 'dead';
    if (fs.existsSync('/proc/self/stat')) return 'dead'; // /proc works and has no such pid
  }
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}
