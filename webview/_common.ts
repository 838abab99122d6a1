// Shared by the webview bundles: the typed channel to the host (acquireVsCodeApi), DOM helpers that only
// ever set text (guest-derived strings — symbols, disassembly, region names — are data, never markup),
// and theme colours read from VS Code's CSS variables for canvas drawing.
import type { SessionSummary } from '../src/protocol/messages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export interface HostChannel<ToHost> {
  post(message: ToHost): void;
  getState<T>(): T | undefined;
  setState<T>(state: T): void;
}

/** Connects to the host: `onMessage` gets every message the host posts; returns the way to post back. */
export function connectToHost<ToHost, ToWebview>(onMessage: (message: ToWebview) => void): HostChannel<ToHost> {
  const api = acquireVsCodeApi();
  window.addEventListener('message', (e: MessageEvent<ToWebview>) => onMessage(e.data));
  return {
    post: (m) => api.postMessage(m),
    getState: <T>() => (api.getState() as T | undefined) ?? undefined,
    setState: <T>(s: T) => api.setState(s),
  };
}

type Child = Node | string | null | undefined | false;

/** Creates an element; strings become text nodes, so nothing passed here is ever parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; title?: string; attrs?: Record<string, string> } = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.title !== undefined) e.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

/** A custom element (vscode-elements) by tag name, with text children only. */
export function custom(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing from the page`);
  return e as T;
}

/** Replaces an element's children with text lines (one <div> each). */
export function setLines(target: HTMLElement, lines: string[]): void {
  target.replaceChildren(...lines.map((l) => el('div', {}, l)));
}

/** A CSS variable's value with a fallback (VS Code sets --vscode-* on <html>). */
export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export interface ThemeColours {
  foreground: string;
  muted: string;
  background: string;
  border: string;
  focus: string;
  palette: string[];
  match: string;
  differs: string;
  changedMatch: string;
  changedDiffers: string;
  missing: string;
  highContrast: boolean;
}

export function themeColours(): ThemeColours {
  const palette = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple',
    '--vscode-charts-yellow', '--vscode-charts-red', '--vscode-terminal-ansiCyan', '--vscode-terminal-ansiMagenta']
    .map((v, i) => cssVar(v, ['#3794ff', '#d18616', '#89d185', '#b180d7', '#cca700', '#f14c4c', '#29b8db', '#bc3fbc'][i]));
  return {
    foreground: cssVar('--vscode-editor-foreground', '#cccccc'),
    muted: cssVar('--vscode-descriptionForeground', '#9d9d9d'),
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    border: cssVar('--vscode-panel-border', cssVar('--vscode-contrastBorder', '#444444')),
    focus: cssVar('--vscode-focusBorder', '#007fd4'),
    palette,
    match: cssVar('--vscode-charts-green', '#89d185'),
    differs: cssVar('--vscode-charts-red', '#f14c4c'),
    changedMatch: cssVar('--vscode-charts-blue', '#3794ff'),
    changedDiffers: cssVar('--vscode-charts-orange', '#d18616'),
    missing: cssVar('--vscode-disabledForeground', '#6c6c6c'),
    highContrast: document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light'),
  };
}

/** Sizes a canvas's backing store to its CSS box times the device pixel ratio; returns the 2D context. */
export function fitCanvas(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  canvas.width = Math.max(1, Math.round(cssWidth * dpr));
  canvas.height = Math.max(1, Math.round(cssHeight * dpr));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('2D canvas unavailable');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** A floating tooltip made of text lines. */
export class Tooltip {
  readonly element = el('div', { className: 'bs-tooltip', attrs: { role: 'tooltip' } });

  constructor(parent: HTMLElement = document.body) {
    this.element.hidden = true;
    parent.append(this.element);
  }

  show(clientX: number, clientY: number, lines: string[]): void {
    setLines(this.element, lines);
    this.element.hidden = false;
    const r = this.element.getBoundingClientRect();
    const x = Math.min(clientX + 14, window.innerWidth - r.width - 4);
    const y = clientY + 16 + r.height > window.innerHeight ? clientY - r.height - 8 : clientY + 16;
    this.element.style.left = `${Math.max(0, x)}px`;
    this.element.style.top = `${Math.max(0, y)}px`;
  }

  hide(): void {
    this.element.hidden = true;
  }
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

export function formatDurationUs(us: number): string {
  if (us < 1000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

/** Fills a <vscode-single-select> (or <select>) with options; values and labels are text. */
export function setOptions(select: HTMLElement, options: { value: string; label: string; selected?: boolean }[]): void {
  const tag = select.tagName.toLowerCase() === 'select' ? 'option' : 'vscode-option';
  select.replaceChildren(...options.map((o) => {
    const opt = custom(tag, { value: o.value }, o.label);
    if (o.selected) opt.setAttribute('selected', '');
    return opt;
  }));
  const selected = options.find((o) => o.selected);
  if (selected) (select as HTMLSelectElement).value = selected.value;
}

/** The session picker every panel has: "#id description (n steps)", the selected session marked. */
export function setSessionOptions(select: HTMLElement, sessions: readonly SessionSummary[], selected: number | null): void {
  setOptions(select, sessions.map((x) => ({
    value: String(x.sessionId), label: `#${x.sessionId} ${x.description ?? ''} (${formatCount(x.instructionCount)} steps)`, selected: x.sessionId === selected,
  })));
}
