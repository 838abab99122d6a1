// Notices that another process (the CLI, a second VS Code window) wrote to a recording file, so the tree
// view and the open panels refresh while a recording they did not start grows. Cheap by design: once a
// second it stats the file and its WAL (every commit appends to "<file>-wal"; a checkpoint rewrites the
// file), no SQLite connection, no query. The debug adapter's own recordings report through DAP events.
// No vscode import: unit-tested.
import * as fs from 'node:fs';

function statToken(file: string): string {
  const part = (f: string): string => {
    try {
      const st = fs.statSync(f, { bigint: true });
      return `${st.size}:${st.mtimeNs}`;
    } catch {
      return '-';
    }
  };
  return `${part(file)}/${part(`${file}-wal`)}`;
}

export class RecordingPoller {
  private readonly tokens = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  /** `files()` is asked at every tick (the tree's current recordings); `onChange` gets each changed file. */
  constructor(private readonly files: () => readonly string[], private readonly onChange: (file: string) => void, private readonly intervalMs = 1000) {}

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** One poll: fires onChange for every watched file whose file or WAL changed since the last poll. */
  tick(): void {
    const current = new Set(this.files());
    for (const file of [...this.tokens.keys()]) if (!current.has(file)) this.tokens.delete(file);
    for (const file of current) {
      const token = statToken(file);
      const before = this.tokens.get(file);
      this.tokens.set(file, token);
      if (before !== undefined && before !== token) this.onChange(file);
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
