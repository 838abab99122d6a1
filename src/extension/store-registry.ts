// One RecordingStore connection per recording file for the extension host's own reads and writes: the
// tree view, the commands and the inline debug adapter share it, so a recording the adapter runs is read
// with the rows it has buffered but not yet committed, and a file is not reopened for every tree refresh.
// Readers upgrade to a writer when the debug adapter or a delete needs one. Heavy SQL (panels, console,
// notebooks) runs on the query worker's own read-only connection. The file is in WAL mode, so none of
// these connections blocks a recording another process writes. No vscode import: unit-tested.
import * as path from 'node:path';
import { RecordingStore } from '../store/recording-store';

interface Entry {
  store: RecordingStore;
  writable: boolean;
}

export class StoreRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  /** An open store for `file`; `writable` opens (or upgrades to) a writer, creating the file if needed. */
  get(file: string, opts: { writable?: boolean } = {}): RecordingStore {
    const key = path.resolve(file);
    const existing = this.entries.get(key);
    if (existing && (existing.writable || !opts.writable)) return existing.store;
    if (existing) existing.store.close(null);
    const store = opts.writable
      ? RecordingStore.open(key, { create: true, log: this.log })
      : RecordingStore.open(key, { readOnly: true, log: this.log });
    this.entries.set(key, { store, writable: opts.writable === true });
    return store;
  }

  /** Whether `file` is a Bootscope recording (opens it read-only once to find out). */
  isRecording(file: string): boolean {
    try {
      this.get(file);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes one file's connection (e.g. before the file is deleted). */
  close(file: string): void {
    const key = path.resolve(file);
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    e.store.close(e.writable ? 'stopped' : null);
  }

  closeAll(): void {
    for (const key of [...this.entries.keys()]) this.close(key);
  }

  get files(): string[] {
    return [...this.entries.keys()];
  }
}
