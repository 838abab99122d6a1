// The host side of the three panels, without vscode: each class answers its webview's messages (typed in
// src/protocol/messages.ts) with SQL through a SqlSource. src/extension/panels wraps them in webview panels;
// test/webview drives them from a real browser page through the same messages.
import { BootscopeError, ErrorCode, errorMessage } from '../../common/errors';
import {
  CONSOLE_PAGE_SIZE,
  type ConsoleToHost, type ConsoleToWebview, type HeatmapToHost, type HeatmapToWebview, type QueryPreset,
  type SessionSummary, type TimelineToHost, type TimelineToWebview,
} from '../../protocol/messages';
import { listPatternRegions, loadRegionHeatmap } from './heatmap';
import type { WordHistorySource } from './heatmap-writes';
import type { QueryMode } from './query-worker-protocol';
import { ResultSet } from './result-set';
import { listSessionSummaries, type SqlSource } from './sql-source';
import { TimelineQueries } from './timeline';

export interface PanelHostEnv<ToWebview> {
  post(message: ToWebview): void;
  /** What the panel title and header call the recording (file name relative to the workspace). */
  recordingName: string;
  /** The session to show first; default the newest one with instructions. */
  initialSessionId?: number;
}

function defaultSession(sessions: SessionSummary[], wanted?: number): number | null {
  if (wanted !== undefined && sessions.some((s) => s.sessionId === wanted)) return wanted;
  const withSteps = sessions.filter((s) => s.instructionCount > 0);
  return (withSteps.at(-1) ?? sessions.at(-1))?.sessionId ?? null;
}

// ---------------------------------------------------------------------------------------------------------

export interface TimelineHostEnv extends PanelHostEnv<TimelineToWebview> {
  /** The user clicked an instruction: reveal it (and move a debug session on this recording there). */
  revealInstruction?(sessionId: number, sequenceNumber: number): void;
}

export class TimelineHost {
  private readonly queries: TimelineQueries;
  /** From prefetch(): answered before the histogram scan queued behind it, so 'ready' need not wait. */
  private sessions: Promise<SessionSummary[]> | undefined;

  constructor(private readonly src: SqlSource, private readonly env: TimelineHostEnv) {
    this.queries = new TimelineQueries(src);
  }

  /**
   * Starts the SQL for the session the panel will show while the webview is still loading, so the
   * whole-session scan overlaps page load. Errors surface later, when the webview asks.
   */
  prefetch(): void {
    this.sessions = listSessionSummaries(this.src);
    this.sessions
      .then((sessions) => {
        const id = defaultSession(sessions, this.env.initialSessionId);
        if (id !== null) this.queries.prefetch(id);
      })
      .catch(() => undefined);
  }

  /** The recording changed on disk: drop cached aggregates and redraw. */
  async refresh(): Promise<void> {
    this.queries.invalidate();
    this.sessions = undefined;
    await this.handle({ type: 'ready' });
  }

  async handle(m: TimelineToHost): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
        case 'timeline/selectSession': {
          const sessions = await (m.type === 'ready' && this.sessions ? this.sessions : listSessionSummaries(this.src));
          this.sessions = undefined;
          const sessionId = m.type === 'ready' ? defaultSession(sessions, this.env.initialSessionId) : m.sessionId;
          const overview = sessionId === null ? null : await this.queries.overview(sessionId);
          this.env.post({ type: 'timeline/init', recordingName: this.env.recordingName, sessions, overview });
          break;
        }
        case 'timeline/requestWindow': {
          const window = await this.queries.window(m.sessionId, m.fromSeq, m.toSeq, m.buckets);
          this.env.post({ type: 'timeline/window', requestId: m.requestId, window });
          break;
        }
        case 'timeline/selectInstruction': {
          const [row] = await this.queries.instructions(m.sessionId, m.sequenceNumber, m.sequenceNumber);
          this.env.post({ type: 'timeline/instructionSelected', sessionId: m.sessionId, sequenceNumber: m.sequenceNumber, row: row ?? null });
          this.env.revealInstruction?.(m.sessionId, m.sequenceNumber);
          break;
        }
      }
    } catch (e) {
      this.env.post({ type: 'error', requestId: 'requestId' in m ? m.requestId : undefined, message: errorMessage(e) });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

export interface HeatmapHostEnv extends PanelHostEnv<HeatmapToWebview> {
  /** Answers a click on a word: who wrote it (absent: the panel says it cannot tell). */
  writes?: WordHistorySource;
  /** Moves a replay debug session of this recording to the instruction (absent: the panel says so). */
  gotoInstruction?(sessionId: number, sequenceNumber: number): Promise<void> | void;
}

export class HeatmapHost {
  constructor(private readonly src: SqlSource, private readonly env: HeatmapHostEnv) {}

  async refresh(): Promise<void> {
    await this.handle({ type: 'ready' });
  }

  async handle(m: HeatmapToHost): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
        case 'heatmap/selectSession': {
          const sessions = await listSessionSummaries(this.src);
          const sessionId = m.type === 'ready' ? defaultSession(sessions, this.env.initialSessionId) : m.sessionId;
          const regions = sessionId === null ? [] : await listPatternRegions(this.src, sessionId);
          this.env.post({ type: 'heatmap/init', recordingName: this.env.recordingName, sessions, sessionId, regions });
          break;
        }
        case 'heatmap/requestRegion': {
          const heatmap = await loadRegionHeatmap(this.src, m.sessionId, m.regionName, m.wordStart, m.wordCount);
          this.env.post({ type: 'heatmap/region', requestId: m.requestId, heatmap });
          break;
        }
        case 'heatmap/whoWrote': {
          if (!this.env.writes) throw new BootscopeError(ErrorCode.Usage, 'who wrote a word cannot be asked here (no recording history)');
          if (!/^0x[0-9a-f]+$/i.test(m.address)) throw new BootscopeError(ErrorCode.Usage, `not an address: ${JSON.stringify(m.address)}`);
          const writes = await this.env.writes.heatmapWrites({ sessionId: m.sessionId, regionName: m.regionName, address: BigInt(m.address), snapshotId: m.snapshotId, sequenceNumber: m.sequenceNumber });
          this.env.post({ type: 'heatmap/writes', requestId: m.requestId, writes });
          break;
        }
        case 'heatmap/gotoInstruction': {
          if (!this.env.gotoInstruction) throw new BootscopeError(ErrorCode.Usage, `going to instruction ${m.sequenceNumber} needs a replay debug session, which this view cannot start`);
          await this.env.gotoInstruction(m.sessionId, m.sequenceNumber);
          break;
        }
      }
    } catch (e) {
      this.env.post({ type: 'error', requestId: 'requestId' in m ? m.requestId : undefined, message: errorMessage(e) });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

/** Longest result a console keeps (beyond it the rows are counted and the user is told). */
export const CONSOLE_MAX_ROWS = 1_000_000;
const HISTORY_LENGTH = 50;

export interface ConsoleHostEnv extends PanelHostEnv<ConsoleToWebview> {
  presets: QueryPreset[];
  /** Persisted history, newest first (workspace state in VS Code). */
  loadHistory(): string[];
  saveHistory(history: string[]): void;
  copyText(text: string): PromiseLike<void> | void;
  /** Asks where to save and writes the chunks there; resolves to the path, or undefined if dismissed. */
  saveCsv(suggestedName: string, chunks: Iterable<string>): Promise<string | undefined>;
}

/** A SqlSource that can also cancel: the console's cancel button. */
export interface CancellableSqlSource extends SqlSource {
  cancel(requestId: number): void;
  readonly lastRequestId: number;
}

export class QueryConsoleHost {
  private writeMode = false;
  private readonly results = new Map<number, ResultSet>();
  private nextResultId = 1;
  /** webview requestId -> runner request id, while running. */
  private readonly running = new Map<number, number>();

  constructor(private readonly src: CancellableSqlSource, private readonly env: ConsoleHostEnv) {}

  async handle(m: ConsoleToHost): Promise<void> {
    try {
      switch (m.type) {
        case 'ready': {
          const sessions = await listSessionSummaries(this.src);
          this.env.post({
            type: 'console/init', recordingName: this.env.recordingName, sessions, sessionId: defaultSession(sessions, this.env.initialSessionId),
            presets: this.env.presets, history: this.env.loadHistory(), writeMode: this.writeMode,
          });
          break;
        }
        case 'console/run':
          await this.run(m.requestId, m.sql, m.sessionId);
          break;
        case 'console/cancel': {
          const id = this.running.get(m.requestId);
          if (id !== undefined) this.src.cancel(id);
          break;
        }
        case 'console/page': {
          const r = this.result(m.resultId);
          this.env.post({ type: 'console/page', page: { resultId: r.id, offset: m.offset, rows: r.page(m.offset, Math.min(m.limit, 5 * CONSOLE_PAGE_SIZE)) } });
          break;
        }
        case 'console/sort': {
          const r = this.result(m.resultId);
          r.sort(m.column, m.direction);
          this.env.post({ type: 'console/sorted', resultId: r.id, column: m.column, direction: m.direction, firstPage: { resultId: r.id, offset: 0, rows: r.page(0, CONSOLE_PAGE_SIZE) } });
          break;
        }
        case 'console/copy': {
          const r = this.result(m.resultId);
          await this.env.copyText(r.tsv(m.rows));
          const n = m.rows === 'all' ? r.rowCount : m.rows.length;
          this.env.post({ type: 'console/notice', message: `copied ${n} row${n === 1 ? '' : 's'} (tab-separated, with header)` });
          break;
        }
        case 'console/exportCsv': {
          const r = this.result(m.resultId);
          const file = await this.env.saveCsv(`query-${r.id}.csv`, r.csvChunks());
          if (file) this.env.post({ type: 'console/notice', message: `exported ${r.rowCount} rows to ${file}` });
          break;
        }
        case 'console/setWriteMode':
          this.writeMode = m.enabled;
          this.env.post({ type: 'console/writeMode', enabled: this.writeMode });
          break;
      }
    } catch (e) {
      this.env.post({ type: 'error', message: errorMessage(e) });
    }
  }

  private result(id: number): ResultSet {
    const r = this.results.get(id);
    if (!r) throw new BootscopeError(ErrorCode.Database, `result ${id} is no longer held; run the query again`);
    return r;
  }

  private async run(requestId: number, sql: string, sessionId: number | null): Promise<void> {
    this.remember(sql);
    const mode: QueryMode = this.writeMode ? 'write' : 'read';
    const pending = this.src.run(sql, { mode, sessionId, maxRows: CONSOLE_MAX_ROWS });
    this.running.set(requestId, this.src.lastRequestId);
    this.env.post({ type: 'console/started', requestId });
    try {
      const out = await pending;
      // Keep the latest few results only: each may hold many rows.
      for (const id of [...this.results.keys()].slice(0, Math.max(0, this.results.size - 2))) this.results.delete(id);
      const r = new ResultSet(this.nextResultId++, out.columns, out.rows, out.totalRows);
      this.results.set(r.id, r);
      this.env.post({
        type: 'console/result', requestId,
        result: { resultId: r.id, columns: r.columns, rowCount: r.rowCount, changes: out.changes, elapsedMs: out.elapsedMs, firstPage: { resultId: r.id, offset: 0, rows: r.page(0, CONSOLE_PAGE_SIZE) } },
      });
      if (out.totalRows > out.rows.length) this.env.post({ type: 'console/notice', message: `the query returned ${out.complete ? '' : 'more than '}${out.totalRows} rows; the console keeps the first ${out.rows.length}` });
    } catch (e) {
      if (e instanceof BootscopeError && e.code === ErrorCode.Cancelled) this.env.post({ type: 'console/cancelled', requestId });
      else this.env.post({ type: 'console/queryError', requestId, message: errorMessage(e) });
    } finally {
      this.running.delete(requestId);
    }
  }

  private remember(sql: string): void {
    const text = sql.trim();
    if (!text) return;
    const history = [text, ...this.env.loadHistory().filter((h) => h !== text)].slice(0, HISTORY_LENGTH);
    this.env.saveHistory(history);
    this.env.post({ type: 'console/history', history });
  }
}
