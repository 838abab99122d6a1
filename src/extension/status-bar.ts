// The Bootscope status bar item: recording state, instructions recorded and rate of the active debug
// session, from the adapter's `bootscope/status` events. Clicking toggles recording (a replay: Go to Instruction…).
import * as vscode from 'vscode';
import type { RecordingStatus } from '../adapter/custom-requests';
import { Commands } from './ids';
import { statusBarContent } from './status-text';

export class RecordingStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('bootscope.status', vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = 'Bootscope recording';
  }

  show(status: RecordingStatus): void {
    if (status.state === 'terminated') { this.item.hide(); return; }
    const c = statusBarContent(status);
    this.item.text = c.text;
    this.item.tooltip = c.tooltip;
    this.item.command = status.position !== undefined ? Commands.gotoInstruction : status.recording ? Commands.stopRecording : Commands.startRecording;
    this.item.backgroundColor = status.state === 'recording' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
