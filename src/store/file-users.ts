// Who has a recording file open, so a lock left behind by a crash can be told from a live one.
// node-sqlite3-wasm (0.8.60, dist/node-sqlite3-wasm.js `_nodejsLock`/`_nodejsUnlock`) has no WAL and locks
// by mkdir("<file>.lock") for ANY lock level (readers too) and rmdir() on release, so a process killed
// inside a transaction or a query leaves the directory behind and every later access gets
// "database is locked" forever. Its unfinished transaction is rolled back by hot-journal.ts (node-sqlite3-wasm
// would not: its xCheckReservedLock sees its own lock directory).
//
// Every RecordingStore registers its process in "<file>.users/": the single writer holds the lease file
// writer.json (created with O_EXCL: at most one live writer), readers add reader.<host>.<pid>.<n>.json.
// On open, a "<file>.lock" directory is removed only when no registered user is alive on this host
// (process.kill(pid, 0) -> ESRCH); a user on another host counts as alive, so a live lock is never deleted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BootscopeError, ErrorCode } from '../common/errors';

export type UserMode = 'writer' | 'reader';

export interface FileUser {
  pid: number;
  hostname: string;
  mode: UserMode;
  startedAt: string;
  command: string;
}

export interface RegisteredUser extends FileUser {
  /** Registration file inside "<file>.users/". */
  entry: string;
  alive: boolean;
}

export const lockDirOf = (file: string): string => `${file}.lock`;
export const usersDirOf = (file: string): string => `${file}.users`;

let registrationCounter = 0;

/** true unless the pid is known dead on this host; a pid on another host cannot be checked. */
export function isUserAlive(user: Pick<FileUser, 'pid' | 'hostname'>): boolean {
  if (user.hostname !== os.hostname()) return true;
  try {
    process.kill(user.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: exists, owned by someone else
  }
}

export function listUsers(file: string): RegisteredUser[] {
  const dir = usersDirOf(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const users: RegisteredUser[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const entry = path.join(dir, name);
    try {
      const user = JSON.parse(fs.readFileSync(entry, 'utf8')) as FileUser;
      if (typeof user.pid !== 'number' || typeof user.hostname !== 'string') continue;
      users.push({ ...user, entry, alive: isUserAlive(user) });
    } catch {
      // Being written right now, or truncated by a crash: skip it; a live owner rewrites nothing, and a
      // half-written entry of a dead process is harmless.
    }
  }
  return users;
}

function describe(u: FileUser): string {
  return `process ${u.pid} on ${u.hostname} (${u.mode}, ${u.command}, since ${u.startedAt})`;
}

/** Removes registrations of dead processes; returns those still alive. */
function pruneDeadUsers(file: string, log: (line: string) => void): RegisteredUser[] {
  const alive: RegisteredUser[] = [];
  for (const u of listUsers(file)) {
    if (u.alive) {
      alive.push(u);
      continue;
    }
    log(`bootscope: ${file}: forgetting ${describe(u)}, which is no longer running`);
    fs.rmSync(u.entry, { force: true });
  }
  return alive;
}

/**
 * Called before the database is opened: drops registrations of dead processes, removes a stale
 * "<file>.lock" when no registered user is alive, enforces a single live writer, and registers this process.
 * Returns a function that unregisters it (call on close).
 */
export function registerUser(file: string, mode: UserMode, log: (line: string) => void): () => void {
  const alive = pruneDeadUsers(file, log);
  const lockDir = lockDirOf(file);
  if (fs.existsSync(lockDir) && alive.length === 0) {
    log(`bootscope: ${file}: removing stale lock ${lockDir}: no process that opened this file is still running (a recorder or reader was killed mid-transaction)`);
    fs.rmSync(lockDir, { recursive: true, force: true });
  }

  const dir = usersDirOf(file);
  fs.mkdirSync(dir, { recursive: true });
  const me: FileUser = {
    pid: process.pid,
    hostname: os.hostname(),
    mode,
    startedAt: new Date().toISOString(),
    command: path.basename(process.argv[1] ?? process.argv0),
  };
  const entry = mode === 'writer'
    ? path.join(dir, 'writer.json')
    : path.join(dir, `reader.${me.hostname}.${me.pid}.${++registrationCounter}.json`);

  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(entry, JSON.stringify(me), { flag: mode === 'writer' ? 'wx' : 'w' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = listUsers(file).find((u) => u.entry === entry);
      if (holder?.alive) {
        throw new BootscopeError(ErrorCode.Database,
          `${file}: database is in use by ${describe(holder)}; stop that recording or open the file read-only`);
      }
      fs.rmSync(entry, { force: true }); // dead writer's lease (or unreadable): take it over
    }
  }
  return () => {
    fs.rmSync(entry, { force: true });
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty: other users still registered
    }
  };
}

/** Text for a "database is locked" error: who could be holding "<file>.lock". */
export function describeLockHolders(file: string): string {
  const others = listUsers(file).filter((u) => u.alive && !(u.pid === process.pid && u.hostname === os.hostname()));
  if (others.length === 0) return `no other Bootscope process has ${file} open`;
  return `it is in use by ${others.map(describe).join('; ')}`;
}
