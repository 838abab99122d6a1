// SQL notebooks over a recording: the `bootscope-sql` notebook type (*.bsql, text format in format.ts),
// a controller that runs SQL cells in a QueryRunner worker (execution order, cancellation, tables capped
// at NOTEBOOK_ROW_CAP, errors as errors), "Export All Rows to CSV" for a cell, and "New Bootscope
// Notebook" pre-filled with the seed's analysis queries for the current recording.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { QueryRunner } from '../../analysis/views/query-runner';
import { BootscopeError, ErrorCode, errorMessage } from '../../common/errors';
import { resolveRecording, saveCsv, type AnalysisDeps } from '../panels';
import { formatNotebook, parseNotebook, type NotebookText } from './format';
import { csvChunks, newNotebookCells, renderTableHtml, renderTableText, runSqlCell } from './execution';

export const NOTEBOOK_TYPE = 'bootscope-sql';
export const NOTEBOOK_COMMANDS = {
  newNotebook: 'bootscope.newNotebook',
  exportCellCsv: 'bootscope.notebook.exportCellCsv',
} as const;

export type NotebookDeps = Pick<AnalysisDeps, 'currentRecording'>;

class BootscopeNotebookSerializer implements vscode.NotebookSerializer {
  deserializeNotebook(content: Uint8Array): vscode.NotebookData {
    const nb = parseNotebook(new TextDecoder().decode(content));
    const data = new vscode.NotebookData(nb.cells.map((c) => new vscode.NotebookCellData(
      c.kind === 'markdown' ? vscode.NotebookCellKind.Markup : vscode.NotebookCellKind.Code, c.source, c.kind === 'markdown' ? 'markdown' : 'sql')));
    data.metadata = { recording: nb.recording, session: nb.session };
    return data;
  }

  serializeNotebook(data: vscode.NotebookData): Uint8Array {
    const meta = data.metadata ?? {};
    const nb: NotebookText = {
      recording: typeof meta.recording === 'string' ? meta.recording : undefined,
      session: typeof meta.session === 'number' ? meta.session : undefined,
      cells: data.cells.map((c) => ({ kind: c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'sql', source: c.value })),
    };
    return new TextEncoder().encode(formatNotebook(nb));
  }
}

/** The recording a notebook is bound to, resolved against the workspace folder holding the notebook. */
function recordingOf(notebook: vscode.NotebookDocument): string {
  const rel = notebook.metadata?.recording;
  if (typeof rel !== 'string' || !rel) {
    throw new BootscopeError(ErrorCode.Config, 'this notebook names no recording: add a line "-- recording: <path relative to the workspace>" at the top of the file');
  }
  if (path.isAbsolute(rel)) return rel;
  const folder = vscode.workspace.getWorkspaceFolder(notebook.uri) ?? vscode.workspace.workspaceFolders?.[0];
  const base = folder ? folder.uri.fsPath : path.dirname(notebook.uri.fsPath);
  return path.join(base, rel);
}

function sessionOf(notebook: vscode.NotebookDocument): number | null {
  const s = notebook.metadata?.session;
  return typeof s === 'number' ? s : null;
}

export function registerNotebooks(context: vscode.ExtensionContext, deps: NotebookDeps): void {
  const workerPath = path.join(context.extensionPath, 'dist', 'query-worker.js');
  const runners = new Map<string, QueryRunner>();
  const runnerFor = (file: string): QueryRunner => {
    let r = runners.get(file);
    if (!r) runners.set(file, r = new QueryRunner(file, workerPath));
    return r;
  };
  let executionOrder = 0;

  context.subscriptions.push(vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new BootscopeNotebookSerializer(), { transientOutputs: true }));

  const controller = vscode.notebooks.createNotebookController('bootscope-sql-kernel', NOTEBOOK_TYPE, 'Bootscope recording');
  controller.supportedLanguages = ['sql'];
  controller.supportsExecutionOrder = true;
  controller.description = 'SQL against the notebook\'s recording (read-only)';
  controller.executeHandler = async (cells, notebook) => {
    // In order, one at a time: a later cell may depend on what an earlier one showed.
    for (const cell of cells) {
      const execution = controller.createNotebookCellExecution(cell);
      execution.executionOrder = ++executionOrder;
      execution.start(Date.now());
      const abort = new AbortController();
      const sub = execution.token.onCancellationRequested(() => abort.abort());
      let ok = false;
      try {
        const file = recordingOf(notebook);
        const table = await runSqlCell(runnerFor(file), cell.document.getText(), sessionOf(notebook), { signal: abort.signal });
        await execution.replaceOutput(new vscode.NotebookCellOutput([
          vscode.NotebookCellOutputItem.text(renderTableHtml(table), 'text/html'),
          vscode.NotebookCellOutputItem.text(renderTableText(table), 'text/plain'),
        ]));
        ok = true;
      } catch (e) {
        const cancelled = e instanceof BootscopeError && e.code === ErrorCode.Cancelled;
        await execution.replaceOutput(new vscode.NotebookCellOutput([
          vscode.NotebookCellOutputItem.error({ name: cancelled ? 'Cancelled' : 'SQLite error', message: errorMessage(e) }),
        ]));
      } finally {
        sub.dispose();
        execution.end(ok, Date.now());
      }
      if (abort.signal.aborted) break;
    }
  };
  controller.interruptHandler = () => {
    for (const r of runners.values()) r.dispose();
    runners.clear();
  };
  context.subscriptions.push(controller, { dispose: () => { for (const r of runners.values()) r.dispose(); } });

  context.subscriptions.push(vscode.commands.registerCommand(NOTEBOOK_COMMANDS.exportCellCsv, async (cellArg?: vscode.NotebookCell) => {
    const cell = cellArg ?? activeCell();
    if (!cell || cell.kind !== vscode.NotebookCellKind.Code) return;
    try {
      const file = recordingOf(cell.notebook);
      const table = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Bootscope: running the cell for CSV export', cancellable: true }, (_p, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return runSqlCell(runnerFor(file), cell.document.getText(), sessionOf(cell.notebook), { signal: abort.signal, rowCap: Number.MAX_SAFE_INTEGER });
      });
      const saved = await saveCsv(file, `cell-${cell.index + 1}.csv`, csvChunks(table));
      if (saved) void vscode.window.showInformationMessage(`Bootscope: exported ${table.rows.length} rows to ${vscode.workspace.asRelativePath(saved)}`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Bootscope: CSV export failed: ${errorMessage(e)}`);
    }
  }));

  context.subscriptions.push(vscode.commands.registerCommand(NOTEBOOK_COMMANDS.newNotebook, async (arg?: unknown) => {
    const file = await resolveRecording(arg, deps);
    if (!file) return;
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
    const recording = folder ? path.relative(folder.uri.fsPath, file) : file;
    const data = new vscode.NotebookData(newNotebookCells(recording).map((c) => new vscode.NotebookCellData(
      c.kind === 'markdown' ? vscode.NotebookCellKind.Markup : vscode.NotebookCellKind.Code, c.source, c.kind === 'markdown' ? 'markdown' : 'sql')));
    data.metadata = { recording };
    const doc = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, data);
    await vscode.window.showNotebookDocument(doc);
  }));
}

function activeCell(): vscode.NotebookCell | undefined {
  const editor = vscode.window.activeNotebookEditor;
  if (!editor || editor.notebook.notebookType !== NOTEBOOK_TYPE) return undefined;
  return editor.notebook.cellAt(editor.selection.start);
}
