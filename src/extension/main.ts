// Extension entry point: wires the debug adapter (inline by default, sharing the store connection), the
// debug configuration provider, the Recordings tree, the commands and the status bar, and hands the shared
// pieces to the panels and notebooks. Everything with logic lives in its own module; this file connects.
import * as vscode from 'vscode';
import { BootscopeDebugSession } from '../adapter/debug-session';
import { CustomEvent, type RecordingStatus } from '../adapter/custom-requests';
import { registerCommands, revealRecordedInstruction } from './commands';
import { registerNotebooks } from './notebook';
import { registerPanels } from './panels';
import { checkDebugConfiguration } from './debug-config';
import { ContextKeys, DEBUG_TYPE, Views } from './ids';
import { SessionTreeProvider } from './session-tree';
import type { SessionTreeNode } from './session-tree-model';
import { RecordingStatusBar } from './status-bar';
import { StoreRegistry } from './store-registry';
import { RecordingPoller } from './recording-poller';

let stores: StoreRegistry | undefined;

class BootscopeConfigurationProvider implements vscode.DebugConfigurationProvider {
  /** F5 without a launch.json: offer to create one rather than guessing a QEMU command line. */
  resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    if (!config.type && !config.request && !config.name) {
      void vscode.window.showInformationMessage('Bootscope: add a "bootscope" configuration to launch.json (Run and Debug → create a launch.json file → Bootscope).');
      return undefined;
    }
    if (config.cwd === undefined && folder) config.cwd = folder.uri.fsPath;
    return config;
  }

  /** After ${...} substitution: the same validation as the adapter, so a bad attribute stops here, named. */
  resolveDebugConfigurationWithSubstitutedVariables(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    const check = checkDebugConfiguration(config, folder?.uri.fsPath);
    if (!check.ok) {
      void vscode.window.showErrorMessage(check.message, 'Open launch.json').then((a) => {
        if (a) void vscode.commands.executeCommand('workbench.action.debug.configure');
      });
      return undefined;
    }
    return config;
  }
}

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Bootscope');
  stores = new StoreRegistry((line) => output.appendLine(line));
  const registry = stores;
  const tree = new SessionTreeProvider(registry, context.workspaceState);
  const statusBar = new RecordingStatusBar();
  const treeView = vscode.window.createTreeView<SessionTreeNode>(Views.sessions, { treeDataProvider: tree, showCollapseAll: true });
  // Panels and notebooks follow "the recording the user is looking at": the tree selection, else the
  // active debug session's file, else the only recording in the workspace.
  const recordingChanged = new vscode.EventEmitter<string>();
  let selectedFile: string | undefined;
  let sessionFile: string | undefined;
  context.subscriptions.push(output, tree, statusBar, treeView, recordingChanged,
    treeView.onDidChangeSelection((e) => { if (e.selection[0]) selectedFile = e.selection[0].file; }));

  context.subscriptions.push(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new BootscopeConfigurationProvider()));
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
    createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
      const mode = vscode.workspace.getConfiguration('bootscope').get<string>('debugAdapter', 'inline');
      if (mode === 'process') {
        // A separate Node process (its own store connection): for debugging the adapter itself.
        return new vscode.DebugAdapterExecutable(process.execPath, [context.asAbsolutePath('dist/adapter.js')], { env: { ELECTRON_RUN_AS_NODE: '1' } });
      }
      return new vscode.DebugAdapterInlineImplementation(new BootscopeDebugSession({
        openStore: (file) => {
          const store = registry.get(file, { writable: true });
          void tree.addFile(file);
          return store;
        },
      }));
    },
  }));

  // Live bootscope sessions, most recent last: commands act on the active one, else the latest.
  const live: vscode.DebugSession[] = [];
  const activeSession = (): vscode.DebugSession | undefined => {
    const active = vscode.debug.activeDebugSession;
    if (active?.type === DEBUG_TYPE) return active;
    return live[live.length - 1];
  };
  context.subscriptions.push(
    vscode.debug.onDidStartDebugSession((s) => { if (s.type === DEBUG_TYPE) live.push(s); }),
    vscode.debug.onDidTerminateDebugSession((s) => {
      const i = live.indexOf(s);
      if (i >= 0) live.splice(i, 1);
      if (live.length === 0) { statusBar.hide(); void vscode.commands.executeCommand('setContext', ContextKeys.recording, false); }
      tree.refresh();
    }),
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== DEBUG_TYPE) return;
      if (e.event === CustomEvent.status) {
        const status = e.body as RecordingStatus;
        if (status.database) { sessionFile = status.database; recordingChanged.fire(status.database); }
        if (e.session === activeSession()) {
          statusBar.show(status);
          void vscode.commands.executeCommand('setContext', ContextKeys.recording, status.recording);
        }
        if (status.state === 'recording') tree.refreshSoon(); else tree.refresh();
      } else if (e.event === CustomEvent.snapshotCaptured) {
        tree.refresh();
        const body = e.body as { database?: string };
        if (body.database) recordingChanged.fire(body.database);
      }
    }),
  );

  // Recordings another process writes (e.g. `bootscope record` in a terminal): refresh as they grow.
  const poller = new RecordingPoller(() => tree.recordingFiles, (file) => {
    tree.refreshSoon();
    recordingChanged.fire(file);
  });
  poller.start();
  context.subscriptions.push({ dispose: () => poller.dispose() });

  const replay = registerCommands(context, { stores: registry, tree, activeSession, output });

  const currentRecording = (): string | undefined => selectedFile ?? sessionFile ?? (tree.recordingFiles.length === 1 ? tree.recordingFiles[0] : undefined);
  registerPanels(context, {
    currentRecording,
    onDidChangeRecording: recordingChanged.event,
    // A timeline click moves a replay of that session there; without one it shows the recorded instruction.
    revealInstruction: (file, sessionId, sequenceNumber) => void replay.moveIfReplaying(file, sessionId, { sequenceNumber })
      .then((moved) => (moved ? undefined : revealRecordedInstruction(registry, file, sessionId, sequenceNumber)))
      .catch((e: unknown) => void vscode.window.showErrorMessage(`Bootscope: ${e instanceof Error ? e.message : String(e)}`)),
  });
  registerNotebooks(context, { currentRecording });
}

export function deactivate(): void {
  stores?.closeAll();
  stores = undefined;
}
