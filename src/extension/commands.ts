// The command palette and tree context commands (ids in ids.ts). Commands that act on a live debug
// session send the adapter's custom requests (custom-requests.ts) and say so when none is active; the
// rest work on recording files through the shared StoreRegistry. Long work runs under a cancellable
// progress notification.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseRecordingConfig } from '../common/config';
import { errorMessage } from '../common/errors';
import { RecordingSession, statusFor } from '../recorder/session';
import { renderHtmlReport } from '../analysis/report';
import { CSV_EXPORT_TABLES, exportCsv } from '../analysis/csv';
import { CustomRequest, type RecordingStatus, type SnapshotCaptured } from '../adapter/custom-requests';
import { Commands, DEBUG_TYPE } from './ids';
import { instructionListing, instructionOf, sqlFor, type SessionTreeNode } from './session-tree-model';
import type { SessionTreeProvider } from './session-tree';
import type { StoreRegistry } from './store-registry';
import { ReplayCommands } from './replay-commands';

export interface CommandDeps {
  stores: StoreRegistry;
  tree: SessionTreeProvider;
  /** The bootscope debug session commands act on, if any. */
  activeSession(): vscode.DebugSession | undefined;
  output: vscode.OutputChannel;
}

const NO_SESSION = 'Bootscope: no active bootscope debug session. Start one from Run and Debug (a "bootscope" launch or attach configuration).';



export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): ReplayCommands {
  const reg = (id: string, fn: (...args: never[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        await fn(...args);
      } catch (e) {
        void vscode.window.showErrorMessage(`Bootscope: ${errorMessage(e)}`);
      }
    }));
  };

  reg(Commands.captureSnapshot, async () => {
    const session = deps.activeSession();
    if (!session) { void vscode.window.showInformationMessage(NO_SESSION); return; }
    const r = (await session.customRequest(CustomRequest.captureSnapshot)) as SnapshotCaptured;
    deps.tree.refresh();
    void vscode.window.setStatusBarMessage(r.snapshotId === undefined
      ? 'Bootscope: nothing captured (the configuration has no "regions")'
      : `Bootscope: snapshot #${r.snapshotId} captured at instruction ${r.sequenceNumber}`, 4000);
  });

  const setRecording = async (on: boolean): Promise<void> => {
    const session = deps.activeSession();
    if (!session) { void vscode.window.showInformationMessage(NO_SESSION); return; }
    const st = (await session.customRequest(on ? CustomRequest.startRecording : CustomRequest.stopRecording)) as RecordingStatus;
    void vscode.window.setStatusBarMessage(`Bootscope: recording ${st.recording ? 'on' : 'off'}`, 3000);
  };
  reg(Commands.startRecording, () => setRecording(true));
  reg(Commands.stopRecording, () => setRecording(false));

  reg(Commands.openRecording, async () => {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false, openLabel: 'Open Recording',
      filters: { 'Bootscope recordings': ['db', 'sqlite', 'sqlite3'], 'All files': ['*'] },
    });
    if (!picked?.length) return;
    const file = picked[0].fsPath;
    if (!deps.stores.isRecording(file)) {
      void vscode.window.showErrorMessage(`Bootscope: ${file} is not a Bootscope recording (no boot_sessions schema)`);
      return;
    }
    await deps.tree.addFile(file);
    await vscode.commands.executeCommand('bootscope.sessions.focus');
  });

  reg(Commands.refreshSessions, () => deps.tree.rescan());

  reg(Commands.exportCsv, async (node?: SessionTreeNode) => {
    const target = await pickSession(deps, node);
    if (!target) return;
    const table = await vscode.window.showQuickPick([...CSV_EXPORT_TABLES], { title: `Export session ${target.sessionId} as CSV`, placeHolder: 'Table' });
    if (!table) return;
    const dest = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(path.dirname(target.file), `session-${target.sessionId}-${table}.csv`)),
      filters: { CSV: ['csv'] },
    });
    if (!dest) return;
    const rows = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Bootscope: exporting ${table}…`, cancellable: false }, async () => {
      const stream = fs.createWriteStream(dest.fsPath);
      const n = await exportCsv(deps.stores.get(target.file), { table, sessionId: target.sessionId }, stream);
      await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
      return n;
    });
    const open = await vscode.window.showInformationMessage(`Bootscope: ${rows} rows written to ${dest.fsPath}`, 'Open');
    if (open) await vscode.window.showTextDocument(dest);
  });

  reg(Commands.generateReport, async (node?: SessionTreeNode) => {
    const target = await pickSession(deps, node);
    if (!target) return;
    const dest = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(path.dirname(target.file), `session-${target.sessionId}-report.html`)),
      filters: { HTML: ['html'] },
    });
    if (!dest) return;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Bootscope: generating the HTML report…' }, async () => {
      fs.writeFileSync(dest.fsPath, renderHtmlReport(deps.stores.get(target.file), target.sessionId));
    });
    const open = await vscode.window.showInformationMessage(`Bootscope: report written to ${dest.fsPath}`, 'Open in Browser');
    if (open) await vscode.env.openExternal(dest);
  });

  reg(Commands.copySql, async (node?: SessionTreeNode) => {
    if (!node) return;
    await vscode.env.clipboard.writeText(sqlFor(node));
    void vscode.window.setStatusBarMessage('Bootscope: SQL copied', 2000);
  });

  reg(Commands.revealInstruction, async (node?: SessionTreeNode) => {
    if (!node) return;
    const at = instructionOf(node);
    if (!at) { void vscode.window.showInformationMessage('Bootscope: this node has no recorded instruction'); return; }
    await revealRecordedInstruction(deps.stores, node.file, at.sessionId, at.sequenceNumber);
  });

  reg(Commands.deleteSession, async (node?: SessionTreeNode) => {
    if (node?.kind !== 'session') return;
    const id = node.session.sessionId;
    const answer = await vscode.window.showWarningMessage(
      `Delete session #${id} (${node.session.description ?? 'no description'}) with its ${node.session.instructionCount.toLocaleString('en-US')} instructions and snapshots from ${path.basename(node.file)}? This cannot be undone.`,
      { modal: true }, 'Delete');
    if (answer !== 'Delete') return;
    const store = deps.stores.get(node.file, { writable: true });
    store.deleteSession(id);
    deps.tree.refresh();
  });

  reg(Commands.recordHeadless, () => recordHeadless(deps));

  const replay = new ReplayCommands({ stores: deps.stores, recordingFiles: () => deps.tree.recordingFiles });
  replay.register(context, reg);
  return replay;
}

/**
 * Shows recorded instruction `sequenceNumber`: its source line when the file exists, and beside it the
 * trace around it (a read-only listing from the recording, which works without a live debug session).
 */
export async function revealRecordedInstruction(stores: StoreRegistry, file: string, sessionId: number, sequenceNumber: number): Promise<void> {
  const listing = instructionListing(stores.get(file), sessionId, sequenceNumber);
  if (!listing) {
    void vscode.window.showInformationMessage(`Bootscope: instruction ${sequenceNumber} of session ${sessionId} is not in the trace (recorded with "record": false?)`);
    return;
  }
  const { step } = listing;
  const hasSource = step.sourceFile !== null && step.sourceLine !== null && fs.existsSync(step.sourceFile);
  if (hasSource) {
    const doc = await vscode.workspace.openTextDocument(step.sourceFile as string);
    const line = Math.max(0, (step.sourceLine as number) - 1);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(line, 0, line, 0), preview: true });
  }
  const trace = await vscode.workspace.openTextDocument({ content: listing.text, language: 'plaintext' });
  await vscode.window.showTextDocument(trace, {
    selection: new vscode.Range(listing.focusLine, 0, listing.focusLine, 0),
    viewColumn: hasSource ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preview: true,
  });
}

/** The session a file/session command acts on: the tree node's, or picked from the known files. */
async function pickSession(deps: CommandDeps, node?: SessionTreeNode): Promise<{ file: string; sessionId: number } | undefined> {
  if (node?.kind === 'session') return { file: node.file, sessionId: node.session.sessionId };
  if (node && 'sessionId' in node) return { file: node.file, sessionId: node.sessionId };
  const files = deps.tree.recordingFiles;
  if (files.length === 0) {
    void vscode.window.showInformationMessage('Bootscope: no recording files in this workspace. Record one first, or use "Open Recording…".');
    return undefined;
  }
  const items = files.flatMap((file) => deps.stores.get(file).listSessions().reverse().map((s) => ({
    label: `#${s.sessionId} ${s.description ?? ''}`.trim(),
    description: `${s.status} · ${s.instructionCount.toLocaleString('en-US')} instr`,
    detail: file,
    file,
    sessionId: s.sessionId,
  })));
  const picked = await vscode.window.showQuickPick(items, { title: 'Bootscope: pick a session', matchOnDetail: true });
  return picked ? { file: picked.file, sessionId: picked.sessionId } : undefined;
}

/** Replaces ${workspaceFolder} (and ${workspaceFolderBasename}) the way VS Code does for launch.json. */
function substitute(value: unknown, folder: string): unknown {
  if (typeof value === 'string') return value.replace(/\$\{workspaceFolder\}/g, folder).replace(/\$\{workspaceFolderBasename\}/g, path.basename(folder));
  if (Array.isArray(value)) return value.map((v) => substitute(v, folder));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, folder)]));
  return value;
}

/** Record Boot (headless): a bootscope launch configuration recorded without the debugger UI. */
async function recordHeadless(deps: CommandDeps): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const items: (vscode.QuickPickItem & { raw?: Record<string, unknown>; folder?: string; browse?: boolean })[] = [];
  for (const f of folders) {
    const launch = vscode.workspace.getConfiguration('launch', f.uri).get<Record<string, unknown>[]>('configurations', []);
    for (const c of launch) {
      if (c.type === DEBUG_TYPE && c.request === 'launch') items.push({ label: String(c.name ?? 'bootscope'), description: f.name, raw: c, folder: f.uri.fsPath });
    }
  }
  items.push({ label: '$(file) Choose a recording configuration file (JSON)…', browse: true });
  const picked = await vscode.window.showQuickPick(items, { title: 'Bootscope: Record Boot (headless)', placeHolder: 'Configuration to record' });
  if (!picked) return;
  let raw: Record<string, unknown>;
  let baseDir: string;
  if (picked.browse) {
    const file = await vscode.window.showOpenDialog({ filters: { JSON: ['json'] }, openLabel: 'Record' });
    if (!file?.length) return;
    raw = JSON.parse(fs.readFileSync(file[0].fsPath, 'utf8')) as Record<string, unknown>;
    baseDir = path.dirname(file[0].fsPath);
  } else {
    baseDir = picked.folder ?? process.cwd();
    raw = substitute(picked.raw, baseDir) as Record<string, unknown>;
  }
  const { type: _type, ...attributes } = raw;
  const config = parseRecordingConfig({ ...attributes, request: 'launch' }, typeof raw.cwd === 'string' ? raw.cwd : baseDir);
  const store = deps.stores.get(config.database, { writable: true });
  await deps.tree.addFile(config.database);
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Bootscope: recording ${config.name ?? 'boot'}`, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    let last = 0;
    const session = await RecordingSession.start({
      config, store,
      onProgress: (p) => {
        progress.report({ message: `${p.instructions.toLocaleString('en-US')} instructions · ${Math.round(p.rate).toLocaleString('en-US')}/s · ${p.stage}` });
        if (Date.now() - last > 1000) { last = Date.now(); deps.tree.refreshSoon(); }
      },
      onWarning: (m) => deps.output.appendLine(`warning: ${m}`),
      onUart: (t) => deps.output.append(t),
    });
    deps.output.appendLine(`recording session ${session.sessionId} into ${config.database}`);
    try {
      const result = await session.record({ signal: abort.signal });
      if (result.reason !== 'target-exited') await session.recorder.captureSnapshot('end');
      const { status, reason } = statusFor(result.reason);
      await session.close(status, reason);
      deps.tree.refresh();
      void vscode.window.showInformationMessage(`Bootscope: session ${session.sessionId} ${status} (${reason}), ${result.instructions.toLocaleString('en-US')} instructions`);
    } catch (e) {
      await session.close('error', errorMessage(e)).catch(() => undefined);
      throw e;
    }
  });
}
