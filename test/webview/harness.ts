// Plays the VS Code side for a webview bundle in real headless Chromium: serves the same HTML shell the
// panels use (strict CSP, nonce) from a fake origin, shims acquireVsCodeApi, and bridges messages both
// ways to the real host classes (src/analysis/views/panel-hosts.ts) running in this Node process against a
// real recording file. Collects console errors, CSP violations and dialogs (an executed XSS would open one).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeNonce, webviewHtml } from '../../src/extension/panels/html';

export const ROOT = path.resolve(__dirname, '../..');
export const ARTIFACTS = path.join(ROOT, 'artifacts', 'webview');
export const WORKER = path.join(ROOT, 'dist', 'query-worker.js');
const ORIGIN = 'https://bootscope.webview.test';

/** A subset of VS Code's Dark Modern theme variables (what the panels read). */
const DARK_THEME: Record<string, string> = {
  '--vscode-font-family': 'system-ui, sans-serif', '--vscode-font-size': '13px', '--vscode-editor-font-family': 'monospace',
  '--vscode-foreground': '#cccccc', '--vscode-editor-foreground': '#cccccc', '--vscode-editor-background': '#1f1f1f',
  '--vscode-descriptionForeground': '#9d9d9d', '--vscode-panel-border': '#2b2b2b', '--vscode-focusBorder': '#0078d4',
  '--vscode-errorForeground': '#f85149', '--vscode-charts-red': '#f14c4c', '--vscode-charts-green': '#89d185',
  '--vscode-charts-blue': '#3794ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-yellow': '#cca700',
  '--vscode-charts-purple': '#b180d7', '--vscode-input-background': '#313131', '--vscode-input-foreground': '#cccccc',
  '--vscode-dropdown-background': '#313131', '--vscode-dropdown-foreground': '#cccccc', '--vscode-list-hoverBackground': '#2a2d2e',
  '--vscode-list-activeSelectionBackground': '#04395e', '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-editorHoverWidget-background': '#202020', '--vscode-editorHoverWidget-border': '#454545',
  '--vscode-button-background': '#0078d4', '--vscode-button-foreground': '#ffffff', '--vscode-button-secondaryBackground': '#313131',
  '--vscode-button-secondaryForeground': '#cccccc', '--vscode-disabledForeground': '#6c6c6c',
};

export function chromiumPath(): string {
  return process.env.BOOTSCOPE_CHROMIUM ?? '/usr/bin/chromium';
}

/** Launches Debian's chromium. Playwright itself passes a fresh temporary --user-data-dir (and refuses one
 * in args), so every launch starts from an empty profile. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

export interface PanelPage<ToHost, ToWebview> {
  page: Page;
  /** Every message the webview posted, in order. */
  fromWebview: ToHost[];
  /** Console errors, CSP violations and dialogs seen so far. */
  problems: string[];
  dialogs: string[];
  post(message: ToWebview): Promise<void>;
}

/** Opens `dist/webview/<bundle>.js` in a page whose host is `handle` (which answers through `post`). */
export async function openPanel<ToHost, ToWebview>(
  browser: Browser,
  bundle: 'timeline' | 'heatmap' | 'console',
  handle: (message: ToHost, post: (m: ToWebview) => Promise<void>) => Promise<void> | void,
  viewport = { width: 1280, height: 860 },
): Promise<PanelPage<ToHost, ToWebview>> {
  const script = path.join(ROOT, 'dist', 'webview', `${bundle}.js`);
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`node esbuild.mjs\` first (scripts/test.mjs does)`);
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  const dialogs: string[] = [];
  const fromWebview: ToHost[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  const nonce = makeNonce();
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/panel.html') {
      await route.fulfill({ contentType: 'text/html', body: webviewHtml({ cspSource: ORIGIN, nonce, scriptUri: `${ORIGIN}/dist/webview/${bundle}.js`, styleUri: `${ORIGIN}/dist/webview/${bundle}.css`, title: bundle }) });
      return;
    }
    const file = path.join(ROOT, decodeURIComponent(url.pathname));
    if (!file.startsWith(path.join(ROOT, 'dist')) || !fs.existsSync(file)) { await route.fulfill({ status: 404, body: 'not found' }); return; }
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/octet-stream';
    await route.fulfill({ contentType: type, body: fs.readFileSync(file) });
  });
  const post = async (m: ToWebview): Promise<void> => {
    if (page.isClosed()) return; // a late reply after the test closed the page
    await page.evaluate((msg) => window.postMessage(msg, '*'), m as unknown as object).catch((e: Error) => {
      if (!page.isClosed()) problems.push(`post: ${e.message}`);
    });
  };
  await page.exposeFunction('__bootscopeToHost', async (m: ToHost) => {
    fromWebview.push(m);
    try {
      await handle(m, post);
    } catch (e) {
      problems.push(`host: ${(e as Error).message}`);
    }
  });
  // A string, not a function: tsx's transform would wrap a function with helpers the page does not have.
  await page.addInitScript(`(() => {
    let state;
    const theme = ${JSON.stringify(DARK_THEME)};
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__bootscopeToHost(m),
      getState: () => state,
      setState: (s) => { state = s; },
    });
    const applyTheme = () => {
      for (const [k, v] of Object.entries(theme)) document.documentElement.style.setProperty(k, v);
      document.body?.classList.add('vscode-dark');
    };
    if (document.documentElement) applyTheme();
    document.addEventListener('DOMContentLoaded', applyTheme);
    document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));
  })();`);
  await page.goto(`${ORIGIN}/panel.html`);
  return { page, fromWebview, problems, dialogs, post };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Elements that would exist only if a guest string had been parsed as markup. */
export async function injectedElements(page: Page): Promise<number> {
  return page.evaluate(() => document.querySelectorAll('img, script:not([src]), b[onmouseover]').length);
}
