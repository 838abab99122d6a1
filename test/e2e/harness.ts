// End-to-end harness: a real VS Code (code-server, installed by scripts/e2e/install-code-server.sh) with a
// packaged .vsix installed, opened on a temp workspace in headless Chromium through playwright-core, plus
// the helpers a test needs to drive it like a user: command palette, notifications, views, webviews, logs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const ARTIFACT_DIR = join(REPO_ROOT, 'artifacts', 'e2e');
const CHROMIUM = '/usr/bin/chromium';

/** Paths written by scripts/e2e/install-code-server.sh into <cache>/env.json. */
export interface E2eEnvironment {
  node: string;
  nodeVersion: string;
  codeServerEntry: string;
  codeServerVersion: string;
}

export function loadE2eEnvironment(): E2eEnvironment {
  const cache = process.env.BOOTSCOPE_E2E_CACHE ?? join(REPO_ROOT, '.cache', 'e2e');
  const file = join(cache, 'env.json');
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run "bash scripts/e2e/install-code-server.sh" first (it installs Node 24 and code-server there)`);
  }
  const env = JSON.parse(readFileSync(file, 'utf8')) as E2eEnvironment;
  for (const p of [env.node, env.codeServerEntry]) {
    if (!existsSync(p)) throw new Error(`${p} (from ${file}) does not exist: rerun scripts/e2e/install-code-server.sh`);
  }
  return env;
}

/** A free TCP port on 127.0.0.1: listen on port 0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Thrown by a probe to end waitFor at once: what it waits for cannot happen any more. */
export class FatalUiError extends Error {}

/** Polls `probe` until it returns a value other than undefined, or throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      if (e instanceof FatalUiError) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every file under `dir` (recursively), for finding logs whose folder names carry timestamps. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** A temp folder for one test run: code-server's and Chromium's profiles, the workspace, logs. */
export interface E2eDirs {
  root: string;
  userData: string;
  extensions: string;
  workspace: string;
  browserProfile: string;
}

export function makeE2eDirs(): E2eDirs {
  const root = mkdtempSync(join(tmpdir(), 'bootscope-e2e-'));
  const dirs = {
    root,
    userData: join(root, 'user-data'),
    extensions: join(root, 'extensions'),
    workspace: join(root, 'workspace'),
    browserProfile: join(root, 'chromium-profile'),
  };
  for (const d of [dirs.userData, dirs.extensions, dirs.workspace, dirs.browserProfile]) mkdirSync(d, { recursive: true });
  return dirs;
}

/**
 * Fills the workspace: a copy of `fixtureDir` (launch.json and friends) plus `files` (files or whole
 * folders) copied from the repository (e.g. the demo guest ELF and its sources), so the test never writes
 * into the source tree.
 */
export function prepareWorkspace(dirs: E2eDirs, fixtureDir: string, files: ReadonlyArray<{ from: string; to: string }>): void {
  cpSync(fixtureDir, dirs.workspace, { recursive: true });
  for (const f of files) {
    const to = join(dirs.workspace, f.to);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(f.from, to, { recursive: true });
  }
}

/**
 * User settings that keep the first-run UI (welcome page, tips, chat, update checks) out of the way, so
 * what the test sees is what the extension contributes.
 */
export function writeUserSettings(dirs: E2eDirs, extra: Record<string, unknown> = {}): void {
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'chat.disableAIFeatures': true,
    'chat.commandCenter.enabled': false,
    'git.enabled': false,
    'window.dialogStyle': 'custom',
    // Show Run and Debug (Call Stack, Variables) whenever a session pauses, as most users have it.
    'debug.openDebug': 'openOnDebugBreak',
    ...extra,
  };
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
}

/** Environment for code-server: its config and data stay inside the temp folder, not in $HOME. */
function codeServerEnv(dirs: E2eDirs): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(dirs.root, 'xdg-config'),
    XDG_DATA_HOME: join(dirs.root, 'xdg-data'),
    XDG_CACHE_HOME: join(dirs.root, 'xdg-cache'),
    NODE_OPTIONS: '',
  };
}

function commonArgs(dirs: E2eDirs): string[] {
  return [
    '--config', join(dirs.root, 'code-server.yaml'),
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    '--disable-telemetry',
    '--disable-update-check',
  ];
}

/** `code-server --install-extension <vsix>`: returns its output; throws when the install failed. */
export function installVsix(env: E2eEnvironment, dirs: E2eDirs, vsix: string): string {
  writeFileSync(join(dirs.root, 'code-server.yaml'), 'auth: none\n');
  const res = spawnSync(env.node, [env.codeServerEntry, ...commonArgs(dirs), '--install-extension', vsix], {
    env: codeServerEnv(dirs), encoding: 'utf8', timeout: 120_000,
  });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  if (res.status !== 0 || !/successfully installed/i.test(output)) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit ${res.status}, signal ${res.signal}):\n${output}`);
  }
  return output;
}

/** The ids (publisher.name) of the extensions installed in the extensions dir, with versions. */
export function listInstalledExtensions(env: E2eEnvironment, dirs: E2eDirs): string[] {
  const res = spawnSync(env.node, [env.codeServerEntry, ...commonArgs(dirs), '--list-extensions', '--show-versions'], {
    env: codeServerEnv(dirs), encoding: 'utf8', timeout: 60_000,
  });
  return (res.stdout ?? '').split('\n').map((l) => l.trim()).filter((l) => /^[\w-]+\.[\w-]+@/.test(l));
}

/** A running code-server we started, in its own process group so stop() reaches its children too. */
export class CodeServer {
  private exited: Promise<void>;
  private output = '';

  private constructor(readonly process: ChildProcess, readonly port: number, readonly dirs: E2eDirs) {
    this.exited = new Promise((r) => process.once('exit', () => r()));
    const keep = (chunk: Buffer): void => { this.output += chunk.toString('utf8'); };
    process.stdout?.on('data', keep);
    process.stderr?.on('data', keep);
  }

  get pid(): number {
    if (this.process.pid === undefined) throw new Error('code-server has no pid');
    return this.process.pid;
  }

  get log(): string { return this.output; }

  /** URL of the workbench opened on the workspace folder. */
  get workspaceUrl(): string {
    return `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.dirs.workspace)}`;
  }

  static async start(env: E2eEnvironment, dirs: E2eDirs): Promise<CodeServer> {
    const port = await freePort();
    writeFileSync(join(dirs.root, 'code-server.yaml'), 'auth: none\n');
    const child = spawn(env.node, [
      env.codeServerEntry, ...commonArgs(dirs),
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      dirs.workspace,
    ], { env: codeServerEnv(dirs), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const server = new CodeServer(child, port, dirs);
    let exitCode: number | null | undefined;
    child.once('exit', (code) => { exitCode = code ?? -1; });
    // code-server logs "HTTP server listening on http://127.0.0.1:PORT/" once it accepts connections.
    await waitFor('code-server to listen', () => {
      if (exitCode !== undefined) throw new Error(`code-server exited with ${exitCode}:\n${server.output}`);
      return /HTTP server listening on/.test(server.output) ? true : undefined;
    }, 60_000);
    return server;
  }

  /** SIGTERM to the process group we created, then SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const group = -this.pid;
    try { process.kill(group, 'SIGTERM'); } catch { return; }
    const timedOut = await Promise.race([this.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10_000))]);
    if (timedOut) {
      try { process.kill(group, 'SIGKILL'); } catch { /* already gone */ }
      await this.exited;
    }
    // The extension host and its children share the group; make sure none of them outlived the server.
    try { process.kill(group, 'SIGKILL'); } catch { /* group empty: expected */ }
  }

  /** The folder of this run's logs: <user-data-dir>/logs/<timestamp>/ (the newest one). */
  logsDir(): string | undefined {
    const root = join(this.dirs.userData, 'logs');
    if (!existsSync(root)) return undefined;
    const runs = readdirSync(root).sort();
    return runs.length ? join(root, runs[runs.length - 1]) : undefined;
  }

  /**
   * The remote extension host's log (where activation and activation failures are written):
   * <user-data-dir>/logs/<timestamp>/exthost<N>/remoteexthost.log for the server's extension host.
   */
  extensionHostLog(): string {
    return this.logFiles(/exthost\d*\/remoteexthost\.log$/).map((f) => readFileSync(f, 'utf8')).join('\n');
  }

  /**
   * Waits until the extension host has started activating `extensionId` (publisher.name) and returns
   * the log line naming the activation event. VS Code logs
   * "ExtensionService#_doActivateExtension <id>, startup: ..., activationEvent: '...'" when it begins.
   */
  async waitForActivation(extensionId: string, timeoutMs = 60_000): Promise<string> {
    const re = new RegExp(`ExtensionService#_doActivateExtension ${escapeRegExp(extensionId)},.*`);
    return waitFor(`${extensionId} to activate (extension host log)`, () => re.exec(this.extensionHostLog())?.[0], timeoutMs, 250);
  }

  /**
   * Error lines of the extension host log that concern `extensionId`: a failed activation
   * ("Activating extension <id> failed due to an error:" followed by the stack) or any [error] entry whose
   * text (with its stack lines) names the extension id or its install folder.
   */
  extensionErrors(extensionId: string): string[] {
    const entries = this.extensionHostLog().split(/\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[)/);
    const folder = `${extensionId.toLowerCase()}-`;
    return entries.filter((e) => /^\S+ \S+ \[error\]/.test(e) && (e.includes(extensionId) || e.toLowerCase().includes(folder)));
  }

  /** Files under this run's log folder whose path matches `pattern`. */
  logFiles(pattern: RegExp): string[] {
    const dir = this.logsDir();
    return dir ? filesUnder(dir).filter((f) => pattern.test(f)) : [];
  }
}

/** Processes whose command line contains every one of `needles` (read from /proc, Linux only). */
export function processesMatching(...needles: string[]): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try { cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { continue; }
    if (cmdline && needles.every((n) => cmdline.includes(n))) out.push({ pid: Number(name), cmdline });
  }
  return out;
}

/** Headless Chromium (Debian's) with a fresh profile, one page sized for readable screenshots. */
export async function launchBrowser(dirs: E2eDirs): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(dirs.browserProfile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? await context.newPage();
  return { context, page };
}

export interface NotificationToast {
  message: string;
  source: string;
  severity: 'info' | 'warning' | 'error' | 'unknown';
}

/** The VS Code workbench in one page: waits and actions on its DOM (selectors of VS Code 1.139). */
export class Workbench {
  private shot = 0;

  constructor(readonly page: Page) {
    mkdirSync(ARTIFACT_DIR, { recursive: true });
  }

  /** Loads the workbench and waits until its parts are laid out and the explorer shows the folder. */
  async open(url: string, workspaceName: string): Promise<void> {
    await this.page.goto(url);
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 90_000 });
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
    await this.page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: 60_000 });
    // The explorer header names the folder once the remote file system answered.
    await this.page.locator('.explorer-folders-view, .pane-header', { hasText: new RegExp(workspaceName, 'i') }).first()
      .waitFor({ state: 'visible', timeout: 60_000 });
  }

  /** Saves a full-page screenshot as artifacts/e2e/NN-<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    this.shot += 1;
    const file = join(ARTIFACT_DIR, `${String(this.shot).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  private get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /**
   * Runs a command from the command palette by its full title as shown there ("Category: Title"):
   * types it, waits for the row with exactly that label, and picks it.
   */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    const row = await this.pickQuickInputRow('>' + title, title, timeoutMs);
    await row.click();
    await this.quickInput.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
  }

  /**
   * Types `text` into the quick input and returns the row labelled exactly `label`. The list is computed
   * when typing, so a command an extension registers a moment later is missing from it: close and retype
   * until the row shows or `timeoutMs` passes.
   */
  async pickQuickInputRow(text: string, label: string, timeoutMs = 30_000): Promise<Locator> {
    const labelRe = new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`);
    const row = this.quickInput.locator('.monaco-list-row').filter({ has: this.page.locator('.label-name', { hasText: labelRe }) }).first();
    return waitFor(`"${label}" in the quick input (typed "${text}")`, async () => {
      await this.openQuickInput(text);
      try {
        await row.waitFor({ state: 'visible', timeout: 3_000 });
        return row;
      } catch {
        return undefined;
      }
    }, timeoutMs, 100);
  }

  /** Opens the quick input (F1) with `text` typed; leaves it open for the caller to pick a row. */
  async openQuickInput(text: string): Promise<Locator> {
    await this.closeQuickInput();
    await this.page.locator('.monaco-workbench').click({ position: { x: 800, y: 5 } }).catch(() => undefined);
    await this.page.keyboard.press('F1');
    const input = this.quickInput.locator('input').first();
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill(text);
    return input;
  }

  async closeQuickInput(): Promise<void> {
    if (await this.quickInput.isVisible()) {
      await this.page.keyboard.press('Escape');
      await this.quickInput.waitFor({ state: 'hidden', timeout: 10_000 });
    }
  }

  /** Notification toasts on screen now (newest first, as VS Code stacks them). */
  async notifications(): Promise<NotificationToast[]> {
    const items = this.page.locator('.notifications-toasts .notification-list-item');
    return items.evaluateAll((els) => els.map((el) => {
      const icon = el.querySelector('.notification-list-item-icon')?.className ?? '';
      const severity = /codicon-error/.test(icon) ? 'error' as const
        : /codicon-warning/.test(icon) ? 'warning' as const
          : /codicon-info/.test(icon) ? 'info' as const : 'unknown' as const;
      return {
        message: el.querySelector('.notification-list-item-message')?.textContent?.trim() ?? '',
        source: el.querySelector('.notification-list-item-source')?.textContent?.trim() ?? '',
        severity,
      };
    }));
  }

  /** Opens a view by its name through "View: Open View" and returns its pane. */
  async openView(viewName: string): Promise<Locator> {
    const row = await this.pickQuickInputRow('view ' + viewName, viewName);
    await row.click();
    const pane = this.viewPane(viewName);
    await pane.waitFor({ state: 'visible', timeout: 30_000 });
    return pane;
  }

  /** The pane of a view in the side bar or panel, found by its header title. */
  viewPane(viewName: string): Locator {
    return this.page.locator('.pane').filter({
      has: this.page.locator('.pane-header h3.title', { hasText: new RegExp(`^\\s*${escapeRegExp(viewName)}\\s*$`, 'i') }),
    }).first();
  }

  /** The row of a tree pane whose label (first line of its accessible label) matches `label`. */
  treeRow(pane: Locator, label: RegExp): Locator {
    return pane.locator('.monaco-list-row').filter({ has: this.page.locator('.monaco-tl-contents .label-name, .monaco-tl-contents .monaco-highlighted-label', { hasText: label }) }).first();
  }

  /** Waits for a tree row labelled `label`, expands it when collapsed, and returns it. */
  async expandTreeRow(pane: Locator, label: RegExp, timeoutMs = 30_000): Promise<Locator> {
    const row = this.treeRow(pane, label);
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    if ((await row.getAttribute('aria-expanded')) === 'false') {
      await row.locator('.monaco-tl-twistie').click();
      await waitFor(`tree row ${label} to expand`, async () => ((await row.getAttribute('aria-expanded')) === 'true' ? true : undefined), timeoutMs);
    }
    return row;
  }

  /** Text of the status bar (all entries, left to right). */
  async statusBarText(): Promise<string> {
    return (await this.page.locator('.part.statusbar').innerText()).replace(/\s+/g, ' ').trim();
  }

  /**
   * Adds a function breakpoint through the Breakpoints view's input and waits until the debug adapter
   * verified it (VS Code draws codicon-debug-breakpoint-function; an unresolved one gets "-unverified").
   * VS Code 1.139 lists this command, and "Remove All Breakpoints", without a "Debug:" category.
   */
  async addFunctionBreakpoint(functionName: string): Promise<void> {
    await this.runCommand('Add Function Breakpoint');
    const input = this.page.locator('.debug-breakpoints .monaco-inputbox input, .pane-body .monaco-list-row .monaco-inputbox input').first();
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(functionName);
    await input.press('Enter');
    // Breakpoint rows carry aria-label "<name>, Function Breakpoint".
    const row = this.viewPane('Breakpoints').locator(`.monaco-list-row[aria-label^="${functionName}, Function Breakpoint"]`);
    await row.locator('.codicon-debug-breakpoint-function').waitFor({ state: 'visible', timeout: 15_000 });
  }

  /** Continues and waits until the session pauses again with `functionName` as the top stack frame. */
  async continueUntilFrame(functionName: string, timeoutMs: number): Promise<void> {
    await this.runCommand('Debug: Continue');
    await waitFor(`the top stack frame to be ${functionName}`, async () => {
      if ((await this.topStackFrame(1_000).catch(() => '')) === functionName) return true;
      await this.failOnShownError();
      return undefined;
    }, timeoutMs, 500);
    await this.waitForDebugPaused();
  }

  /** Name of the top stack frame in the Call Stack view of a paused session. */
  async topStackFrame(timeoutMs = 30_000): Promise<string> {
    await this.showRunAndDebug();
    const frame = this.page.locator('.debug-call-stack .monaco-list-row .stack-frame').first();
    await frame.waitFor({ state: 'visible', timeout: timeoutMs });
    return (await frame.locator('.expression').first().textContent() ?? '').trim();
  }

  /** The Variables view of the Run and Debug side bar (opened if needed). */
  async variablesPane(): Promise<Locator> {
    await this.showRunAndDebug();
    const pane = this.viewPane('Variables');
    await pane.waitFor({ state: 'visible', timeout: 30_000 });
    return pane;
  }

  /** Opens the Run and Debug side bar unless it is showing. */
  async showRunAndDebug(): Promise<void> {
    if (await this.page.locator('.part.sidebar .debug-call-stack, .part.sidebar .debug-variables').first().isVisible().catch(() => false)) return;
    await this.runCommand('View: Show Run and Debug');
  }

  /**
   * The rows of the Variables view now in the DOM, as name/value pairs (scopes have no value). The list is
   * virtualised: rows scrolled out of the pane are not in the DOM at all (see variableValue).
   */
  async readVariables(): Promise<Array<{ name: string; value: string }>> {
    const pane = await this.variablesPane();
    // A variable's name is rendered with its separator ("pc =" in VS Code 1.139, "pc:" in older ones).
    return pane.locator('.monaco-list-row').evaluateAll((els) => els.map((el) => ({
      name: (el.querySelector('.monaco-tl-contents .name, .monaco-tl-contents .scope')?.textContent ?? '').trim().replace(/\s*[=:]$/, ''),
      value: el.querySelector('.monaco-tl-contents .value')?.textContent?.trim() ?? '',
    })));
  }

  /**
   * Shows scope `scope` of the Variables view expanded and every other scope collapsed, scrolled to the
   * top: the view's "Collapse All" title action, then a click on the scope's twistie. Scope rows carry
   * aria-label "Scope <name>".
   */
  async expandOnlyScope(scope: string): Promise<Locator> {
    const pane = await this.variablesPane();
    const target = pane.locator(`.monaco-list-row[aria-label="Scope ${scope.replace(/"/g, '\\"')}"]`);
    if (await target.isVisible() && (await target.getAttribute('aria-expanded')) === 'true' && (await pane.locator('.monaco-list-row[aria-label^="Scope "][aria-expanded="true"]').count()) === 1) return pane;
    // Title actions show while the pointer is over the pane header.
    await pane.locator('.pane-header').hover();
    await pane.locator('.pane-header .action-label.codicon-collapse-all').click();
    await waitFor('the Variables view to collapse', async () => ((await pane.locator('.monaco-list-row[aria-expanded="true"]').count()) === 0 ? true : undefined), 15_000);
    await target.waitFor({ state: 'visible', timeout: 30_000 });
    // A click that lands while the tree re-renders (the debug session's stop refreshes it) only selects the
    // row: click the twistie again whenever it is still collapsed a moment later.
    let clickedAt = 0;
    await waitFor(`scope ${scope} to expand`, async () => {
      if ((await target.getAttribute('aria-expanded')) === 'true') return true;
      if (Date.now() - clickedAt > 2000) {
        await target.locator('.monaco-tl-twistie').click();
        clickedAt = Date.now();
      }
      return undefined;
    }, 15_000);
    return pane;
  }

  /**
   * Waits for the Variables view to show `name` in `scope` and returns its value. A row below the pane's
   * fold is brought into view with the keyboard, as a user would: focus the list, arrow down (the list
   * reveals the focused row), and Home again once the focus reaches the end.
   */
  async variableValue(name: string, scope: string, timeoutMs = 30_000): Promise<string> {
    const pane = await this.expandOnlyScope(scope);
    const list = pane.locator('.monaco-list').first();
    let lastFocused = '';
    return waitFor(`variable ${name} in scope ${scope} of the Variables view`, async () => {
      const row = (await this.readVariables()).find((r) => r.name === name);
      if (row && row.value) return row.value;
      await list.focus();
      const focused = await list.locator('.monaco-list-row.focused').first().getAttribute('data-index', { timeout: 500 }).catch(() => '');
      if (focused === lastFocused) await list.press('Home');
      else for (let i = 0; i < 5; i++) await list.press('ArrowDown');
      lastFocused = focused ?? '';
      return undefined;
    }, timeoutMs);
  }

  /**
   * Waits until a debug session is paused (the debug toolbar shows Continue). Fails at once, with its
   * text, when VS Code shows an error instead: a modal dialog (a failed launch) or an error toast.
   */
  async waitForDebugPaused(timeoutMs = 60_000): Promise<void> {
    const paused = this.page.locator('.debug-toolbar .action-label.codicon-debug-continue');
    await waitFor('the debug session to pause', async () => {
      if (await paused.isVisible()) return true;
      await this.failOnShownError();
      return undefined;
    }, timeoutMs, 250);
  }

  /** Throws FatalUiError with its text when a modal dialog or an error toast is on screen. */
  async failOnShownError(): Promise<void> {
    const dialog = this.page.locator('.monaco-dialog-box');
    if (await dialog.isVisible()) throw new FatalUiError(`VS Code shows a dialog: ${(await dialog.innerText()).replace(/\s+/g, ' ')}`);
    const error = (await this.notifications()).find((n) => n.severity === 'error');
    if (error) throw new FatalUiError(`VS Code shows an error: ${error.message}`);
  }

  /**
   * The active editor group's active tab: its name ("painting.c", "Disassembly"; from the tab's aria-label,
   * as the name is drawn in two spans, "painting" and ".c") and the breadcrumbs above the editor, which
   * show a workspace file's folders and name ("guest", "src", "painting.c").
   */
  async activeEditorTab(timeoutMs = 30_000): Promise<{ label: string; breadcrumbs: string[] }> {
    const group = this.page.locator('.part.editor .editor-group-container.active').first();
    const tab = group.locator('.tab.active').first();
    await tab.waitFor({ state: 'visible', timeout: timeoutMs });
    return {
      // "painting.c, preview" for a preview tab: the name is what comes before the first comma.
      label: (await tab.getAttribute('aria-label') ?? '').split(', ')[0],
      breadcrumbs: (await group.locator('.breadcrumbs-control .monaco-breadcrumb-item').allInnerTexts()).map((t) => t.trim()).filter((t) => t.length),
    };
  }

  /** Visible text of the editor area (an editor that failed to open says so there, e.g. "Could not load source"). */
  async editorAreaText(): Promise<string> {
    return (await this.page.locator('.part.editor').innerText()).replace(/\s+/g, ' ');
  }

  /**
   * The line the active text editor highlights as the top stack frame: VS Code draws
   * `debug-top-stack-frame-line` over the whole line and the stack-frame arrow in the glyph margin (a
   * widget of its own in VS Code 1.139, not inside the margin's line overlays). Returns
   * the line number the gutter shows beside it and the line's text as rendered (Monaco's non-breaking
   * spaces as spaces, the inline arrow glyph at the frame's column dropped); waits until the highlight is
   * on screen.
   */
  async topStackFrameLine(timeoutMs = 30_000): Promise<{ lineNumber: number; text: string; arrow: boolean }> {
    const editor = this.page.locator('.part.editor .editor-group-container.active .monaco-editor').first();
    // No named functions inside evaluate(): tsx compiles them with a `__name` helper the page does not have.
    return waitFor('the top stack frame line highlighted in the active editor', () => editor.evaluate((root) => {
      const highlight = root.querySelector('.view-overlays .debug-top-stack-frame-line');
      if (!highlight || highlight.getBoundingClientRect().height === 0) return undefined;
      const y = highlight.getBoundingClientRect().top;
      const [number, line, arrow] = ['.margin-view-overlays .line-numbers', '.view-lines .view-line', '.codicon-debug-stackframe']
        .map((selector) => [...root.querySelectorAll(selector)].find((el) => Math.abs(el.getBoundingClientRect().top - y) < 2));
      const lineNumber = Number(number?.textContent?.trim());
      // Monaco draws spaces as U+00A0; the arrow VS Code puts at the frame's column is a codicon, a
      // private-use character (U+EB8B) in the line's text.
      const text = line?.textContent?.replace(/\u00a0/g, ' ').replace(/\p{Co}/gu, '');
      if (!lineNumber || text === undefined) return undefined;
      return { lineNumber, text, arrow: arrow !== undefined };
    }), timeoutMs);
  }

  /**
   * The Disassembly view's row marked as the current instruction (VS Code puts the stack-frame arrow in its
   * first column and the top-stack-frame background on it): the text of its instruction cell, which reads
   * "<address> <bytes> <instruction>". Waits until the view shows one.
   */
  async currentInstructionInDisassembly(timeoutMs = 30_000): Promise<string> {
    const view = this.page.locator('.part.editor .disassembly-view').first();
    await view.waitFor({ state: 'visible', timeout: timeoutMs });
    const row = view.locator('.monaco-list-row').filter({ has: this.page.locator('.codicon-debug-stackframe') }).first();
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    return (await row.locator('.instruction').first().innerText()).replace(/\s+/g, ' ').trim();
  }

  async waitForNoDebugSession(timeoutMs = 60_000): Promise<void> {
    await this.page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: timeoutMs });
  }

  /**
   * The frame holding a webview's content. VS Code hosts each webview in an outer iframe
   * (class "webview", the service worker host) that loads the extension's HTML into an inner iframe
   * (id "active-frame"); the content is reached through page.frames(). Picks the first inner frame
   * that contains `selector` (and, when given, `text`).
   */
  async webviewFrame(selector: string, text?: RegExp, timeoutMs = 60_000): Promise<Frame> {
    return waitFor(`a webview containing ${selector}${text ? ` with text ${text}` : ''}`, async () => {
      for (const frame of this.page.frames()) {
        if (frame.name() !== 'active-frame' && !/fake\.html|index\.html\?id=/.test(frame.url())) continue;
        const match = text ? frame.locator(selector, { hasText: text }) : frame.locator(selector);
        if (await match.count().catch(() => 0)) return frame;
      }
      return undefined;
    }, timeoutMs, 500);
  }
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Removes the temp folder of a run (best effort: a failing cleanup must not hide the test's result). */
export function removeE2eDirs(dirs: E2eDirs): void {
  rmSync(dirs.root, { recursive: true, force: true, maxRetries: 3 });
}
