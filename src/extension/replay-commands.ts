// Replay debugging from the UI: "Replay in Debugger" on a session (a `replay` launch configuration started
// with vscode.debug.startDebugging) and "Go to Instruction…" (a number, a stage entry, a snapshot) from the
// command palette, the Recordings view, the timeline and the heatmap. A replay of that recording already
// running is moved with the adapter's `bootscope/goto`; otherwise one is started at the instruction.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CustomRequest, type GotoArguments, type GotoResult, type WhoWroteResult, type WhoWroteRow } from '../adapter/custom-requests';
import { Commands, DEBUG_TYPE } from './ids';
import type { SessionTreeNode } from './session-tree-model';
import type { StoreRegistry } from './store-registry';

export interface ReplayDeps {
  stores: StoreRegistry;
  /** Recording files the Recordings view knows. */
  recordingFiles(): string[];
}

/** What the heatmap and the timeline pass: a recording, a session and an instruction. */
interface InstructionRef {
  database: string;
  session: number;
  sequence: number;
}

function isInstructionRef(v: unknown): v is InstructionRef {
  const o = v as Partial<InstructionRef> | undefined;
  return typeof o === 'object' && o !== null && typeof o.database === 'string' && typeof o.session === 'number' && typeof o.sequence === 'number';
}

/** What VS Code passes a debug/variables/context or debug/watch/context command. */
interface VariableContext {
  variable?: { name: string; value?: string; evaluateName?: string; memoryReference?: string };
}

/** The recording and session a bootscope debug session replays, from its launch configuration. */
function replayOf(s: vscode.DebugSession): { file: string; sessionId: number } | undefined {
  const r = s.configuration.replay as { database?: unknown; session?: unknown } | undefined;
  if (s.type !== DEBUG_TYPE || !r || typeof r.database !== 'string') return undefined;
  const cwd = typeof s.configuration.cwd === 'string' ? s.configuration.cwd : process.cwd();
  return { file: path.resolve(cwd, r.database), sessionId: Number(r.session) };
}

export class ReplayCommands {
  private readonly running: vscode.DebugSession[] = [];

  constructor(private readonly deps: ReplayDeps) {}

  register(context: vscode.ExtensionContext, reg: (id: string, fn: (...args: never[]) => unknown) => void): void {
    context.subscriptions.push(
      vscode.debug.onDidStartDebugSession((s) => { if (replayOf(s)) this.running.push(s); }),
      vscode.debug.onDidTerminateDebugSession((s) => { const i = this.running.indexOf(s); if (i >= 0) this.running.splice(i, 1); }),
    );
    reg(Commands.replayInDebugger, async (node?: SessionTreeNode) => {
      const target = await this.pickSession(node);
      if (target) await this.start(target.file, target.sessionId);
    });
    reg(Commands.gotoInstruction, (arg?: SessionTreeNode | InstructionRef) => this.gotoCommand(arg));
    reg(Commands.whoWroteThis, (arg?: VariableContext) => this.whoWroteCommand(arg));
  }

  /**
   * "Who Wrote This?" on a variable or watch expression of a replay (debug/variables/context,
   * debug/watch/context) or from the palette: the address is the variable's memoryReference (for a
   * register, the memory it points to), else the expression evaluated by the adapter, else typed. The
   * adapter's bootscope/whoWrote lists the recorded stores to its 4 bytes; picking one goes there.
   */
  private async whoWroteCommand(arg?: VariableContext): Promise<void> {
    const session = vscode.debug.activeDebugSession;
    if (!session || !replayOf(session)) {
      void vscode.window.showInformationMessage('Bootscope: Who Wrote This? works in a replay session (Recordings view → Replay in Debugger).');
      return;
    }
    // Variables pass { variable }; a watch expression may come as the expression itself ({ name, … }).
    const v = arg?.variable ?? (typeof (arg as { name?: unknown } | undefined)?.name === 'string' ? (arg as VariableContext['variable']) : undefined);
    let reference = v?.memoryReference;
    const expression = v?.evaluateName ?? (reference ? undefined : v?.name);
    if (!reference && expression) {
      const r = (await session.customRequest('evaluate', { expression, context: 'watch', frameId: vscode.debug.activeStackItem instanceof vscode.DebugStackFrame ? vscode.debug.activeStackItem.frameId : undefined })) as { memoryReference?: string; result?: string };
      reference = r.memoryReference;
    }
    if (!reference) {
      reference = await vscode.window.showInputBox({
        title: 'Bootscope: who wrote this address?', prompt: v ? `"${v.name}" has no memory address: type one` : 'An address (0x…)', placeHolder: '0x41000f40',
        validateInput: (t) => (/^\s*(0x[0-9a-f]+|[0-9]+)\s*$/i.test(t) ? undefined : 'an address, e.g. 0x41000f40'),
      });
      if (!reference) return;
    }
    const r = (await session.customRequest(CustomRequest.whoWrote, { address: reference.trim(), size: 4 })) as WhoWroteResult;
    if (!r.writesRecorded) {
      void vscode.window.showInformationMessage('Bootscope: this session recorded no memory writes (gdbstub capture): record it with --capture plugin to see who wrote each word.');
      return;
    }
    if (r.writes.length === 0) {
      void vscode.window.showInformationMessage(`Bootscope: no recorded write to ${r.address} (${r.size} bytes) in this session.`);
      return;
    }
    type Item = vscode.QuickPickItem & { write: WhoWroteRow };
    const items: Item[] = r.writes.map((w) => ({
      label: `${w.sequenceNumber <= r.position ? '$(history)' : '$(arrow-right)'} #${w.sequenceNumber.toLocaleString('en-US')}  ${w.pc}  ${w.functionName ?? '?'}`,
      description: `${w.bootStage ?? ''} · ${w.oldValue ?? '?'} → ${w.value}`,
      detail: `${w.size} byte${w.size === 1 ? '' : 's'} at ${w.address}${w.sequenceNumber === r.position ? ' · the current instruction' : w.sequenceNumber < r.position ? ' · before the current instruction' : ' · after the current instruction'}`,
      write: w,
    }));
    const picked = await vscode.window.showQuickPick(items, {
      title: `Bootscope: who wrote ${r.address} (${r.size} bytes)${v ? ` — ${v.name}` : ''}: ${r.writes.length} write${r.writes.length === 1 ? '' : 's'}, newest first`,
      matchOnDescription: true, matchOnDetail: true,
    });
    if (!picked) return;
    const g = (await session.customRequest(CustomRequest.goto, { sequenceNumber: picked.write.sequenceNumber })) as GotoResult;
    void vscode.window.setStatusBarMessage(`Bootscope: at instruction ${g.sequenceNumber.toLocaleString('en-US')}`, 3000);
  }

  /** The replay of (file, session) that is running, the active one first. */
  replaying(file: string, sessionId: number): vscode.DebugSession | undefined {
    const matches = (s: vscode.DebugSession): boolean => {
      const r = replayOf(s);
      return r !== undefined && r.file === path.resolve(file) && r.sessionId === sessionId;
    };
    const active = vscode.debug.activeDebugSession;
    if (active && matches(active)) return active;
    return [...this.running].reverse().find(matches);
  }

  /** Moves a running replay there and gives true; false when no replay of that session runs. */
  async moveIfReplaying(file: string, sessionId: number, target: GotoArguments): Promise<boolean> {
    const s = this.replaying(file, sessionId);
    if (!s) return false;
    const r = (await s.customRequest(CustomRequest.goto, target)) as GotoResult;
    void vscode.window.setStatusBarMessage(`Bootscope: at instruction ${r.sequenceNumber.toLocaleString('en-US')}`, 3000);
    return true;
  }

  private async start(file: string, sessionId: number, at?: number): Promise<void> {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file)) ?? vscode.workspace.workspaceFolders?.[0];
    const config: vscode.DebugConfiguration = {
      type: DEBUG_TYPE, request: 'launch', name: `Replay session ${sessionId} of ${path.basename(file)}`,
      replay: at === undefined ? { database: file, session: sessionId } : { database: file, session: sessionId, at },
    };
    if (!(await vscode.debug.startDebugging(folder, config))) throw new Error(`the replay of session ${sessionId} of ${file} did not start (see the Debug Console)`);
  }

  /** Moves a running replay of (file, session) to the target, else starts one there. */
  private async goto(file: string, sessionId: number, target: GotoArguments): Promise<void> {
    if (await this.moveIfReplaying(file, sessionId, target)) return;
    await this.start(file, sessionId, this.sequenceOf(file, sessionId, target));
  }

  private sequenceOf(file: string, sessionId: number, target: GotoArguments): number {
    if ('sequenceNumber' in target) return target.sequenceNumber;
    const store = this.deps.stores.get(file);
    if ('snapshotId' in target) {
      const s = store.snapshots(sessionId).find((x) => x.snapshotId === target.snapshotId);
      if (s?.sequenceNumber == null) throw new Error(`snapshot #${target.snapshotId} of session ${sessionId} has no instruction to go to`);
      return s.sequenceNumber;
    }
    const v = store.stages(sessionId).find((x) => x.stageName === target.stage && x.enterCount === (target.visit ?? 1));
    if (!v) throw new Error(`session ${sessionId} has no entry ${target.visit ?? 1} into stage ${target.stage}`);
    return v.firstSequenceNumber;
  }

  private async gotoCommand(arg?: SessionTreeNode | InstructionRef): Promise<void> {
    if (isInstructionRef(arg)) { await this.goto(arg.database, arg.session, { sequenceNumber: arg.sequence }); return; }
    if (arg && arg.kind === 'stage') { await this.goto(arg.file, arg.sessionId, { stage: arg.stage.name, visit: 1 }); return; }
    if (arg && (arg.kind === 'snapshot' || arg.kind === 'region')) { await this.goto(arg.file, arg.sessionId, { snapshotId: arg.snapshot.snapshotId }); return; }
    // The command palette (or a session/file node): the active replay's session, else pick one; then where.
    const active = vscode.debug.activeDebugSession ? replayOf(vscode.debug.activeDebugSession) : undefined;
    const target = arg && arg.kind === 'session' ? { file: arg.file, sessionId: arg.session.sessionId } : active ?? await this.pickSession(arg);
    if (!target) return;
    const where = await this.pickTarget(target.file, target.sessionId);
    if (where) await this.goto(target.file, target.sessionId, where);
  }

  /** A quick pick of "Instruction number…", every stage entry and every snapshot of the session. */
  private async pickTarget(file: string, sessionId: number): Promise<GotoArguments | undefined> {
    const store = this.deps.stores.get(file);
    const info = store.getSession(sessionId);
    type Item = vscode.QuickPickItem & { target?: GotoArguments; number?: boolean };
    const items: Item[] = [{ label: '$(symbol-number) Instruction number…', description: info ? `1 to ${info.instructionCount.toLocaleString('en-US')}` : '', number: true }];
    const stages = store.stages(sessionId);
    if (stages.length) items.push({ label: 'Stage entries', kind: vscode.QuickPickItemKind.Separator });
    for (const v of stages) items.push({ label: `$(debug-stackframe) ${v.stageName}${v.enterCount > 1 ? ` (entry ${v.enterCount})` : ''}`, description: `instruction ${v.firstSequenceNumber.toLocaleString('en-US')}`, target: { stage: v.stageName, visit: v.enterCount } });
    const snapshots = store.snapshots(sessionId).filter((s) => s.sequenceNumber !== null);
    if (snapshots.length) items.push({ label: 'Snapshots', kind: vscode.QuickPickItemKind.Separator });
    for (const s of snapshots) items.push({ label: `$(device-camera) snapshot #${s.snapshotId}`, description: `instruction ${(s.sequenceNumber as number).toLocaleString('en-US')} · ${s.trigger ?? ''} · ${s.bootStage}`, target: { snapshotId: s.snapshotId } });
    const picked = await vscode.window.showQuickPick(items, { title: `Bootscope: go to an instruction of session ${sessionId}`, matchOnDescription: true });
    if (!picked) return undefined;
    if (!picked.number) return picked.target;
    const text = await vscode.window.showInputBox({
      title: `Go to instruction (session ${sessionId})`, prompt: 'Sequence number of the recorded instruction', placeHolder: '12345',
      validateInput: (v) => (/^\s*[0-9][0-9_,]*\s*$/.test(v) ? undefined : 'a whole number, e.g. 12345'),
    });
    return text === undefined ? undefined : { sequenceNumber: Number(text.replace(/[_,\s]/g, '')) };
  }

  private async pickSession(node?: SessionTreeNode): Promise<{ file: string; sessionId: number } | undefined> {
    if (node?.kind === 'session') return { file: node.file, sessionId: node.session.sessionId };
    if (node && 'sessionId' in node) return { file: node.file, sessionId: node.sessionId };
    const files = node?.kind === 'file' ? [node.file] : this.deps.recordingFiles();
    const items = files.flatMap((file) => this.deps.stores.get(file).listSessions().filter((s) => s.instructionCount > 0).reverse().map((s) => ({
      label: `#${s.sessionId} ${s.description ?? ''}`.trim(),
      description: `${s.status} · ${s.instructionCount.toLocaleString('en-US')} instr`,
      detail: file, file, sessionId: s.sessionId,
    })));
    if (items.length === 0) {
      void vscode.window.showInformationMessage('Bootscope: no recorded session with instructions to replay. Record a boot first, or use "Open Recording…".');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(items, { title: 'Bootscope: replay which session?', matchOnDetail: true });
    return picked ? { file: picked.file, sessionId: picked.sessionId } : undefined;
  }
}
