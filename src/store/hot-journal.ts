// Rolls back the hot rollback journal ("<file>-journal") a process killed inside a write transaction leaves.
// node-sqlite3-wasm (0.8.60) cannot: its xCheckReservedLock reports "reserved" whenever "<file>.lock" exists,
// and a connection's own SHARED lock IS that directory, so SQLite's hasHotJournal() (pager.c) never calls a
// journal hot. Pages the killed transaction had spilled or half-committed into the file would then be read as
// if committed (measured: an UPDATE killed after a cache spill showed 19,556 of 20,000 rows changed). So we
// replay the journal exactly as pager_playback() does, holding "<file>.lock" so no SQLite connection runs
// meanwhile. Format: https://www.sqlite.org/fileformat2.html#the_rollback_journal (section 4).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BootscopeError, ErrorCode } from '../common/errors';
import { lockDirOf } from './file-users';

/** pager.c aJournalMagic: the first 8 bytes of every journal header. */
const JOURNAL_MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);
/** sqlite3PendingByte: the page holding it (PAGER_SJ_PGNO) never appears in a journal. */
const PENDING_BYTE = 0x40000000;
const MAX_PATHNAME = 4096;

export type JournalRecovery =
  | 'none'         // no journal, or one that is not hot (zeroed header)
  | 'busy'         // another live connection holds the lock: its journal is not ours to touch
  | 'discarded'    // the journal held nothing to roll back; deleted
  | 'rolled-back'; // original pages written back, file truncated to its size before the transaction

export const journalOf = (file: string): string => `${file}-journal`;

/**
 * Call before SQLite opens `file`, after stale locks are removed (file-users.ts registerUser). Returns what it
 * did; throws BootscopeError(Database) when a hot journal exists but the file cannot be written.
 */
export function recoverHotJournal(file: string, log: (line: string) => void): JournalRecovery {
  const journal = journalOf(file);
  if (!fs.existsSync(journal)) return 'none';
  const lockDir = lockDirOf(file);
  try {
    fs.mkdirSync(lockDir); // node-sqlite3-wasm's lock, at every level: no connection reads or writes meanwhile
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'busy';
    throw unwritable(file, e);
  }
  try {
    if (!fs.existsSync(journal)) return 'none'; // rolled back by another process between the checks
    const result = playBack(file, journal);
    if (result.outcome === 'none') return 'none';
    fs.unlinkSync(journal); // the rollback's commit point, as in pager_end_transaction()
    syncDirectory(path.dirname(path.resolve(journal)));
    if (result.outcome === 'rolled-back') {
      log(`bootscope: ${file}: rolled back the unfinished transaction of a process that was killed (${result.pages} pages restored from ${path.basename(journal)}, file truncated to ${result.dbPages} pages)`);
    } else {
      log(`bootscope: ${file}: deleted ${path.basename(journal)}, which held nothing to roll back`);
    }
    return result.outcome;
  } catch (e) {
    if (e instanceof BootscopeError) throw e;
    throw unwritable(file, e);
  } finally {
    try { fs.rmdirSync(lockDir); } catch { /* removed by someone else: nothing to release */ }
  }
}

function unwritable(file: string, e: unknown): BootscopeError {
  return new BootscopeError(ErrorCode.Database,
    `${file}: a killed process left an unfinished transaction in ${path.basename(journalOf(file))} that must be rolled back before the file can be read, but that failed (${(e as Error).message}); make the file and its folder writable, then open it again`,
    { cause: e });
}

function syncDirectory(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the journal's deletion is then as durable as they allow.
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, position);
  return n === length ? buf : buf.subarray(0, n);
}

/** readSuperJournal() in pager.c: the super-journal name a multi-database transaction appends, or ''. */
function superJournalName(fd: number, size: number): string {
  if (size < 16) return '';
  const tail = readAt(fd, 16, size - 16);
  const len = tail.readUInt32BE(0);
  let checksum = tail.readUInt32BE(4);
  if (len === 0 || len >= MAX_PATHNAME + 1 || len > size - 16 || !tail.subarray(8, 16).equals(JOURNAL_MAGIC)) return '';
  const name = readAt(fd, len, size - 16 - len);
  for (const b of name) checksum = (checksum - b) >>> 0;
  return checksum === 0 ? name.toString('utf8').replace(/\0.*$/s, '') : '';
}

interface Playback { outcome: 'none' | 'discarded' | 'rolled-back'; pages: number; dbPages: number }

/** pager_playback() for a hot main journal (isHot = 1), writing straight to the database file. */
function playBack(file: string, journal: string): Playback {
  const jfd = fs.openSync(journal, 'r');
  let dbfd = -1;
  try {
    const journalSize = fs.fstatSync(jfd).size;
    const first = readAt(jfd, 28, 0);
    // hasHotJournal(): an empty journal or one whose first byte is 0 (zeroed by PERSIST/TRUNCATE) is not hot.
    if (first.length === 0) return { outcome: 'discarded', pages: 0, dbPages: 0 };
    if (first[0] === 0) return { outcome: 'none', pages: 0, dbPages: 0 };
    const superName = superJournalName(jfd, journalSize);
    if (superName !== '' && !fs.existsSync(superName)) {
      return { outcome: 'discarded', pages: 0, dbPages: 0 }; // the multi-file transaction committed
    }
    dbfd = fs.openSync(file, 'r+');
    if (fs.fstatSync(dbfd).size === 0) return { outcome: 'discarded', pages: 0, dbPages: 0 };

    let offset = 0;
    let sectorSize = 0;
    let pageSize = 0;
    let dbPages = 0;
    let restored = 0;
    let isFirstHeader = true;
    headers: for (;;) {
      // readJournalHdr(): headers start on sector boundaries; a missing or foreign magic ends the journal.
      if (!isFirstHeader) offset = Math.ceil(offset / sectorSize) * sectorSize;
      if (offset + Math.max(28, sectorSize) > journalSize) break;
      const header = readAt(jfd, 28, offset);
      if (header.length < 28 || !header.subarray(0, 8).equals(JOURNAL_MAGIC)) break;
      let records = header.readUInt32BE(8);
      const checksumInit = header.readUInt32BE(12);
      const originalPages = header.readUInt32BE(16);
      if (isFirstHeader) {
        sectorSize = header.readUInt32BE(20);
        pageSize = header.readUInt32BE(24) || databasePageSize(dbfd);
        if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0
          || sectorSize < 32 || sectorSize > 65536 || (sectorSize & (sectorSize - 1)) !== 0) {
          throw new Error(`journal header is corrupt (page size ${pageSize}, sector size ${sectorSize})`);
        }
      }
      offset += sectorSize;
      // 0xffffffff: written in no-sync mode; every remaining byte is page records.
      if (records === 0xffffffff) records = Math.floor((journalSize - sectorSize) / (pageSize + 8));
      if (isFirstHeader) {
        truncateDatabase(dbfd, pageSize, originalPages);
        dbPages = originalPages;
      }
      isFirstHeader = false;
      const sjPage = Math.floor(PENDING_BYTE / pageSize) + 1;
      for (let u = 0; u < records; u++) {
        // pager_playback_one_page(): page number, original content, checksum.
        if (offset + pageSize + 8 > journalSize) break headers; // short read: the rest was never synced
        const pageNo = readAt(jfd, 4, offset).readUInt32BE(0);
        const data = readAt(jfd, pageSize, offset + 4);
        const checksum = readAt(jfd, 4, offset + 4 + pageSize).readUInt32BE(0);
        offset += pageSize + 8;
        if (pageNo === 0 || pageNo === sjPage) break headers;
        if (pageNo > dbPages) continue;
        if (pageChecksum(checksumInit, data) !== checksum) break headers; // torn record: not part of the sync
        fs.writeSync(dbfd, data, 0, pageSize, (pageNo - 1) * pageSize);
        restored++;
      }
    }
    if (isFirstHeader) return { outcome: 'discarded', pages: 0, dbPages: 0 };
    fs.fsyncSync(dbfd);
    return { outcome: 'rolled-back', pages: restored, dbPages };
  } finally {
    fs.closeSync(jfd);
    if (dbfd >= 0) fs.closeSync(dbfd);
  }
}

/** pager_cksum(): the nonce plus every 200th byte counting down from pageSize - 200. */
function pageChecksum(init: number, data: Buffer): number {
  let sum = init;
  for (let i = data.length - 200; i > 0; i -= 200) sum = (sum + data[i]) >>> 0;
  return sum;
}

/** Database header offset 16: page size, big-endian, 1 meaning 65536. */
function databasePageSize(dbfd: number): number {
  const raw = readAt(dbfd, 2, 16);
  if (raw.length < 2) return 0;
  const v = raw.readUInt16BE(0);
  return v === 1 ? 65536 : v;
}

/** pager_truncate(): back to the size before the transaction (or grown by a zero page, as SQLite does). */
function truncateDatabase(dbfd: number, pageSize: number, pages: number): void {
  const current = fs.fstatSync(dbfd).size;
  const wanted = pageSize * pages;
  if (current > wanted) fs.ftruncateSync(dbfd, wanted);
  else if (current + pageSize <= wanted) fs.writeSync(dbfd, Buffer.alloc(pageSize), 0, pageSize, wanted - pageSize);
}
