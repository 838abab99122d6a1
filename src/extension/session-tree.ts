// The Bootscope "Recordings" tree view: adapts session-tree-model.ts (vscode-free) to a TreeDataProvider.
// Finds recording files in the workspace (plus files opened with "Open Recording…"), and refreshes live
// while a debug session records (status events, debounced) and at once when a snapshot is captured.
import * as vscode from 'vscode';
import { errorMessage } from '../common/errors';
import { children, present, type NodeIcon, type SessionTreeNode } from './session-tree-model';
import type { StoreRegistry } from './store-registry';

const ICONS: Record<NodeIcon, vscode.ThemeIcon> = {
  'database': new vscode.ThemeIcon('database'),
  'session-recording': new vscode.ThemeIcon('record', new vscode.ThemeColor('debugIcon.breakpointForeground')),
  'session-completed': new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  'session-stopped': new vscode.ThemeIcon('debug-stop'),
  'session-failed': new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  'stage': new vscode.ThemeIcon('symbol-event'),
  'snapshot': new vscode.ThemeIcon('device-camera'),
  'region-pass': new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed')),
  'region-fail': new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  'region': new vscode.ThemeIcon('symbol-array'),
};

const RECORDING_GLOB = '**/*.{db,sqlite,sqlite3}';
const EXCLUDE_GLOB = '**/{node_modules,.git,dist,out}/**';
const OPENED_KEY = 'bootscope.openedRecordings';

export class SessionTreeProvider implements vscode.TreeDataProvider<SessionTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SessionTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private files: string[] = [];
  private scanned = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly stores: StoreRegistry, private readonly state: vscode.Memento) {
    const watcher = vscode.workspace.createFileSystemWatcher(RECORDING_GLOB);
    watcher.onDidCreate(() => this.rescan());
    watcher.onDidDelete(() => this.rescan());
    this.disposables.push(watcher, this.changed);
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
  }

  /** Files shown at the root: recordings found in the workspace, opened ones, and those in use. */
  get recordingFiles(): string[] {
    return this.files;
  }

  /** Adds a file (Open Recording…, or the database of a debug session that just started). */
  async addFile(file: string): Promise<void> {
    const opened = new Set(this.state.get<string[]>(OPENED_KEY, []));
    opened.add(file);
    await this.state.update(OPENED_KEY, [...opened]);
    this.rescan();
  }

  rescan(): void {
    this.scanned = false;
    this.changed.fire(undefined);
  }

  /** Refresh now (a snapshot was captured: it must show within a second). */
  refresh(): void {
    if (this.refreshTimer) { clearTimeout(this.refreshTimer); this.refreshTimer = undefined; }
    this.changed.fire(undefined);
  }

  /** Refresh at most every `ms` (live counters while recording). */
  refreshSoon(ms = 1000): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => { this.refreshTimer = undefined; this.changed.fire(undefined); }, ms);
  }

  private async scan(): Promise<void> {
    const found = await vscode.workspace.findFiles(RECORDING_GLOB, EXCLUDE_GLOB, 200);
    const candidates = new Set<string>([
      ...found.map((u) => u.fsPath),
      ...this.state.get<string[]>(OPENED_KEY, []),
      ...this.stores.files,
    ]);
    this.files = [...candidates].filter((f) => this.stores.isRecording(f)).sort();
    this.scanned = true;
  }

  async getChildren(node?: SessionTreeNode): Promise<SessionTreeNode[]> {
    if (!node && !this.scanned) await this.scan();
    try {
      return children((f) => this.stores.get(f), this.files, node);
    } catch (e) {
      void vscode.window.showWarningMessage(`Bootscope: cannot read ${node && 'file' in node ? node.file : 'recordings'}: ${errorMessage(e)}`);
      return [];
    }
  }

  getTreeItem(node: SessionTreeNode): vscode.TreeItem {
    const p = present(node);
    const item = new vscode.TreeItem(p.label, p.collapsible ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = p.id;
    item.description = p.description;
    item.tooltip = p.tooltip;
    item.iconPath = ICONS[p.icon];
    item.contextValue = p.contextValue;
    if (node.kind === 'file') {
      item.resourceUri = vscode.Uri.file(node.file);
      item.collapsibleState = vscode.TreeItemCollapsibleState.Expanded;
    }
    return item;
  }
}
