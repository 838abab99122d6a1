// Webview panel hosts for the boot timeline, the pattern heatmap and the query console. Each panel gets
// the HTML shell of html.ts (CSP `default-src 'none'`, nonce from crypto, localResourceRoots = dist/webview),
// its own QueryRunner (a worker thread: SQL never blocks the extension host), and a vscode-free host class
// from src/analysis/views/panel-hosts.ts that answers the typed messages of src/protocol/messages.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HeatmapHost, QueryConsoleHost, TimelineHost } from '../../analysis/views/panel-hosts';
import { QUERY_PRESETS } from '../../analysis/views/presets';
import { QueryRunner } from '../../analysis/views/query-runner';
import { StoreWordHistory } from '../../analysis/views/heatmap-writes';
import type { ConsoleToHost, HeatmapToHost, PanelKind, TimelineToHost } from '../../protocol/messages';
import { makeNonce, webviewHtml } from './html';

/** What the panels need from the rest of the extension. */
export interface AnalysisDeps {
  /** The recording the user is looking at (absolute path of a .db file), if any. */
  currentRecording(): string | undefined;
  /** Fires with the absolute path of a recording whose contents changed (new rows, new session). */
  onDidChangeRecording: vscode.Event<string>;
  /** Reveal step `sequenceNumber` of `sessionId` in `file`: select its tree row, and move a debug session
   * replaying or recording that file there. Optional. */
  revealInstruction?(file: string, sessionId: number, sequenceNumber: number): void;
}

/** Command ids (also listed in contributes.json). */
export const PANEL_COMMANDS = {
  timeline: 'bootscope.openTimeline',
  heatmap: 'bootscope.openHeatmap',
  console: 'bootscope.openQueryConsole',
} as const;

/** Moves a replay debug session to an instruction: {database, session, sequence}. Registered by the replay
 * side of the extension; the heatmap calls it only when it exists. */
export const GOTO_INSTRUCTION_COMMAND = 'bootscope.gotoInstruction';

/** Runs bootscope.gotoInstruction when this build has it, else says what is missing. */
async function gotoInstruction(database: string, session: number, sequence: number): Promise<void> {
  if (!(await vscode.commands.getCommands(true)).includes(GOTO_INSTRUCTION_COMMAND)) {
    void vscode.window.showInformationMessage(`Bootscope: going to instruction ${sequence} needs replay debugging (command ${GOTO_INSTRUCTION_COMMAND}), which this version does not have.`);
    return;
  }
  await vscode.commands.executeCommand(GOTO_INSTRUCTION_COMMAND, { database, session, sequence });
}

const TITLES: Record<PanelKind, string> = { timeline: 'Boot timeline', heatmap: 'Pattern heatmap', console: 'SQL console' };
const HISTORY_KEY = 'bootscope.console.history';

/** A command argument (tree item, explorer Uri, path) or the current recording, or ask. */
export async function resolveRecording(arg: unknown, deps: Pick<AnalysisDeps, 'currentRecording'>): Promise<string | undefined> {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && 'file' in arg && typeof (arg as { file: unknown }).file === 'string') return (arg as { file: string }).file;
  const current = deps.currentRecording();
  if (current) return current;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Open recording', filters: { 'Bootscope recordings': ['db'] } });
  return picked?.[0]?.fsPath;
}

export function relativeName(file: string): string {
  return vscode.workspace.asRelativePath(file, false);
}

export function registerPanels(context: vscode.ExtensionContext, deps: AnalysisDeps): void {
  const workerPath = path.join(context.extensionPath, 'dist', 'query-worker.js');
  const webviewRoot = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');

  function open(kind: PanelKind, file: string): void {
    const panel = vscode.window.createWebviewPanel(`bootscope.${kind}`, `${TITLES[kind]}: ${path.basename(file)}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [webviewRoot],
      // The console keeps its editor text and result while hidden; the canvases redraw from the host.
      retainContextWhenHidden: kind === 'console',
    });
    const runner = new QueryRunner(file, workerPath);
    // A reply or a refresh still running when the user closes the panel must not post to the disposed
    // webview (VS Code throws "Webview is disposed" into the extension host log).
    let disposed = false;
    const post = (m: unknown): void => { if (!disposed) void panel.webview.postMessage(m); };
    const common = { recordingName: relativeName(file), post };
    let handle: (m: { type: string }) => Promise<void>;
    let refresh: (() => Promise<void>) | undefined;
    let words: StoreWordHistory | undefined;
    if (kind === 'timeline') {
      const host = new TimelineHost(runner, { ...common, revealInstruction: (s, seq) => deps.revealInstruction?.(file, s, seq) });
      host.prefetch();
      handle = (m) => host.handle(m as TimelineToHost);
      refresh = () => host.refresh();
    } else if (kind === 'heatmap') {
      words = new StoreWordHistory(file);
      const host = new HeatmapHost(runner, { ...common, writes: words, gotoInstruction: (s, seq) => gotoInstruction(file, s, seq) });
      handle = (m) => host.handle(m as HeatmapToHost);
      refresh = () => host.refresh();
    } else {
      const host = new QueryConsoleHost(runner, {
        ...common,
        presets: [...QUERY_PRESETS],
        loadHistory: () => context.workspaceState.get<string[]>(HISTORY_KEY, []),
        saveHistory: (h) => { void context.workspaceState.update(HISTORY_KEY, h); },
        copyText: (t) => vscode.env.clipboard.writeText(t),
        saveCsv: (name, chunks) => saveCsv(file, name, chunks),
      });
      handle = (m) => host.handle(m as ConsoleToHost);
    }
    panel.webview.html = webviewHtml({
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, `${kind}.js`)).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, `${kind}.css`)).toString(),
      title: TITLES[kind],
    });
    const subscriptions: vscode.Disposable[] = [
      panel.webview.onDidReceiveMessage((m: unknown) => {
        // Only our own bundle runs in the webview, but a message is still checked for shape before use.
        if (m && typeof m === 'object' && typeof (m as { type?: unknown }).type === 'string') void handle(m as { type: string });
      }),
    ];
    let timer: NodeJS.Timeout | undefined;
    if (refresh) {
      subscriptions.push(deps.onDidChangeRecording((changed) => {
        if (path.resolve(changed) !== path.resolve(file)) return;
        // A live recording changes many times a second: redraw at most once a second (a throttle, not a
        // debounce: changes that never pause must still redraw).
        if (timer) return;
        timer = setTimeout(() => { timer = undefined; void refresh!(); }, 1000);
      }));
    }
    panel.onDidDispose(() => {
      disposed = true;
      if (timer) clearTimeout(timer);
      runner.dispose();
      words?.dispose();
      for (const s of subscriptions) s.dispose();
    });
  }

  for (const kind of Object.keys(PANEL_COMMANDS) as PanelKind[]) {
    context.subscriptions.push(vscode.commands.registerCommand(PANEL_COMMANDS[kind], async (arg?: unknown) => {
      const file = await resolveRecording(arg, deps);
      if (!file) return;
      if (!fs.existsSync(file)) {
        void vscode.window.showErrorMessage(`Bootscope: recording ${file} does not exist; record one first (bootscope record) or pick another file.`);
        return;
      }
      open(kind, file);
    }));
  }
}

/** Asks where to save a CSV (next to the recording by default) and streams the chunks there. */
export async function saveCsv(recording: string, suggestedName: string, chunks: Iterable<string>): Promise<string | undefined> {
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(path.join(path.dirname(recording), suggestedName)),
    filters: { CSV: ['csv'] },
  });
  if (!target) return undefined;
  const fd = fs.openSync(target.fsPath, 'w');
  try {
    for (const chunk of chunks) fs.writeSync(fd, chunk);
  } finally {
    fs.closeSync(fd);
  }
  return target.fsPath;
}
