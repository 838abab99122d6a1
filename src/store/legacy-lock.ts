// Leftovers of Bootscope before 0.2 (node-sqlite3-wasm): it locked a recording with a "<file>.lock"
// directory and registered its processes in "<file>.users/*.json" ({ pid, hostname, ... }). Those processes
// took no POSIX locks, so native SQLite cannot see them: while one of them may still run, opening the file
// here could roll back its journal underneath it. So: a live old process -> refuse, saying which; none ->
// remove the directories (when the media is writable) and say so once.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BootscopeError, ErrorCode } from '../common/errors';

interface LegacyUser { pid: number; hostname: string; mode?: string }

function legacyUsers(file: string): LegacyUser[] {
  const dir = `${file}.users`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const users: LegacyUser[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      const u = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Partial<LegacyUser>;
      if (typeof u.pid === 'number' && typeof u.hostname === 'string') users.push({ pid: u.pid, hostname: u.hostname, mode: u.mode });
    } catch {
      // half-written registration of a killed process: nobody
    }
  }
  return users;
}

function isAlive(u: LegacyUser): boolean {
  if (u.hostname !== os.hostname()) return true; // cannot check another machine: assume it runs
  if (u.pid === process.pid) return false; // a registration this process left is not a holder
  try {
    process.kill(u.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Call before SQLite opens `file`. Throws BootscopeError(Database) while an old Bootscope process holds it;
 * removes "<file>.lock" and "<file>.users" otherwise (logging what it removed). On read-only media the
 * directories stay and nothing is said: they block nothing now.
 */
export function clearLegacyLock(file: string, log: (line: string) => void): void {
  const lockDir = `${file}.lock`;
  const usersDir = `${file}.users`;
  const hasLock = fs.existsSync(lockDir);
  const hasUsers = fs.existsSync(usersDir);
  if (!hasLock && !hasUsers) return;
  const live = legacyUsers(file).filter(isAlive);
  if (live.length > 0) {
    const who = live.map((u) => `pid ${u.pid} on ${u.hostname}${u.mode ? ` (${u.mode})` : ''}`).join(', ');
    throw new BootscopeError(ErrorCode.Database,
      `${file} is open in an older Bootscope (${who}), which locks it in a way this version cannot see; close that program (or update it), then retry`);
  }
  try {
    if (hasLock) fs.rmSync(lockDir, { recursive: true, force: true });
    if (hasUsers) fs.rmSync(usersDir, { recursive: true, force: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return;
    throw e;
  }
  if (hasLock) log(`bootscope: ${file}: removed ${path.basename(lockDir)}/ left by an older Bootscope that no longer runs (that version's lock directory; this one uses SQLite's own locks)`);
}
