// Query console webview: SQL editor with presets (seed 4.1-4.3) and history, a virtual-scrolled result grid
// that asks the host for pages of rows (it never holds a whole result), sort by column, copy, CSV export,
// SQLite's error text, cancel, and a per-console write-mode switch. Host side: QueryConsoleHost.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import './_common.css';
import './console.css';
import {
  CONSOLE_PAGE_SIZE, type ConsoleToHost, type ConsoleToWebview, type GridCell, type QueryPreset, type QueryResultSummary,
  type SortDirection,
} from '../src/protocol/messages';
import { connectToHost, custom, el, formatCount, setOptions, setSessionOptions } from './_common';

const ROW_HEIGHT = 22;
const OVERSCAN = 20;

interface GridState {
  result: QueryResultSummary;
  pages: Map<number, GridCell[][]>;
  requested: Set<number>;
  sort?: { column: number; direction: SortDirection };
  selected: Set<number>;
  anchor: number | null;
  widths: number[];
}

let presets: QueryPreset[] = [];
let history: string[] = [];
let grid: GridState | null = null;
let runningRequest: number | null = null;
let nextRequestId = 1;

const host = connectToHost<ConsoleToHost, ConsoleToWebview>(onMessage);

// ---- layout ------------------------------------------------------------------------------------------------
const titleEl = el('span', { className: 'bs-title' }, 'Query console');
const sessionSelect = el('select', { className: 'bs-select', attrs: { id: 'session', 'aria-label': 'Session' } });
const presetSelect = el('select', { className: 'bs-select', attrs: { id: 'preset', 'aria-label': 'Preset query' } });
const historySelect = el('select', { className: 'bs-select', attrs: { id: 'history', 'aria-label': 'History' } });
const writeToggle = custom('vscode-checkbox', { id: 'write-mode', label: 'Write mode' }, 'Write mode');
const editor = el('textarea', { className: 'bs-editor', attrs: { id: 'sql', spellcheck: 'false', 'aria-label': 'SQL', rows: '8' } });
const runButton = custom('vscode-button', { id: 'run' }, 'Run');
const cancelButton = custom('vscode-button', { id: 'cancel', secondary: '', disabled: '' }, 'Cancel');
const copyButton = custom('vscode-button', { id: 'copy', secondary: '', disabled: '' }, 'Copy');
const exportButton = custom('vscode-button', { id: 'export', secondary: '', disabled: '' }, 'Export CSV');
const statusEl = el('div', { className: 'bs-status', attrs: { id: 'status', 'aria-live': 'polite' } });
const errorEl = el('div', { className: 'bs-error', attrs: { id: 'error', role: 'alert' } });
const noticeEl = el('div', { className: 'bs-notice', attrs: { id: 'notice' } });
const writeBanner = el('div', { className: 'bs-write-banner', attrs: { id: 'write-banner' } }, 'Write mode is on: statements can modify this recording.');
const headerRow = el('div', { className: 'grid-header', attrs: { id: 'grid-header', role: 'row' } });
const viewport = el('div', { className: 'grid-viewport', attrs: { id: 'grid', role: 'grid', tabindex: '0' } });
const spacer = el('div', { className: 'grid-spacer' });
const rowsLayer = el('div', { className: 'grid-rows' });
viewport.append(spacer, rowsLayer);
errorEl.hidden = true;
writeBanner.hidden = true;

document.body.append(
  el('div', { className: 'bs-header' }, titleEl,
    el('label', { className: 'bs-field' }, 'Session', sessionSelect),
    el('label', { className: 'bs-field' }, 'Preset', presetSelect),
    el('label', { className: 'bs-field' }, 'History', historySelect),
    writeToggle),
  writeBanner,
  editor,
  el('div', { className: 'bs-toolbar' }, runButton, cancelButton, copyButton, exportButton, statusEl),
  errorEl, noticeEl,
  el('div', { className: 'grid' }, headerRow, viewport),
);

// ---- events -------------------------------------------------------------------------------------------------
runButton.addEventListener('click', () => run());
cancelButton.addEventListener('click', () => { if (runningRequest !== null) host.post({ type: 'console/cancel', requestId: runningRequest }); });
copyButton.addEventListener('click', () => copySelection());
exportButton.addEventListener('click', () => { if (grid) host.post({ type: 'console/exportCsv', resultId: grid.result.resultId }); });
editor.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); run(); }
});
presetSelect.addEventListener('change', () => {
  const p = presets.find((x) => x.id === presetSelect.value);
  if (p) editor.value = p.sql;
  presetSelect.value = '';
});
historySelect.addEventListener('change', () => {
  const i = Number(historySelect.value);
  if (historySelect.value !== '' && history[i] !== undefined) editor.value = history[i];
  historySelect.value = '';
});
writeToggle.addEventListener('change', () => {
  host.post({ type: 'console/setWriteMode', enabled: (writeToggle as unknown as { checked: boolean }).checked });
});
viewport.addEventListener('scroll', () => renderRows());
viewport.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'c') { e.preventDefault(); copySelection(); }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'a' && grid) {
    e.preventDefault();
    grid.selected = new Set(Array.from({ length: grid.result.rowCount }, (_, i) => i));
    renderRows();
  }
});
new ResizeObserver(() => renderRows()).observe(viewport);

function setEnabled(button: HTMLElement, enabled: boolean): void {
  if (enabled) button.removeAttribute('disabled');
  else button.setAttribute('disabled', '');
}

function run(): void {
  const sql = editor.value;
  if (!sql.trim() || runningRequest !== null) return;
  const requestId = nextRequestId++;
  runningRequest = requestId;
  errorEl.hidden = true;
  noticeEl.textContent = '';
  statusEl.textContent = 'Running…';
  setEnabled(runButton, false);
  setEnabled(cancelButton, true);
  const sessionId = sessionSelect.value === '' ? null : Number(sessionSelect.value);
  host.post({ type: 'console/run', requestId, sql, sessionId });
}

function finished(): void {
  runningRequest = null;
  setEnabled(runButton, true);
  setEnabled(cancelButton, false);
}

function copySelection(): void {
  if (!grid) return;
  const rows = grid.selected.size ? [...grid.selected].sort((a, b) => a - b) : 'all';
  host.post({ type: 'console/copy', resultId: grid.result.resultId, rows });
}

// ---- messages -----------------------------------------------------------------------------------------------
function onMessage(m: ConsoleToWebview): void {
  switch (m.type) {
    case 'console/init':
      titleEl.textContent = `Query console — ${m.recordingName}`;
      presets = m.presets;
      setSessionOptions(sessionSelect, m.sessions, m.sessionId);
      setOptions(presetSelect, [{ value: '', label: 'Choose a preset…', selected: true }, ...presets.map((p) => ({ value: p.id, label: p.label }))]);
      setHistory(m.history);
      setWriteMode(m.writeMode);
      if (!editor.value && presets[0]) editor.value = presets[0].sql;
      break;
    case 'console/started':
      break;
    case 'console/result':
      if (m.requestId !== runningRequest) return;
      finished();
      showResult(m.result);
      break;
    case 'console/queryError':
      if (m.requestId !== runningRequest) return;
      finished();
      statusEl.textContent = 'Query failed';
      errorEl.textContent = m.message;
      errorEl.hidden = false;
      break;
    case 'console/cancelled':
      if (m.requestId !== runningRequest) return;
      finished();
      statusEl.textContent = 'Cancelled';
      break;
    case 'console/page':
      if (grid && m.page.resultId === grid.result.resultId) {
        grid.pages.set(Math.floor(m.page.offset / CONSOLE_PAGE_SIZE), m.page.rows);
        renderRows();
      }
      break;
    case 'console/sorted':
      if (grid && m.resultId === grid.result.resultId) {
        grid.sort = { column: m.column, direction: m.direction };
        grid.pages = new Map([[0, m.firstPage.rows]]);
        grid.requested = new Set([0]);
        grid.selected.clear();
        renderHeader();
        renderRows();
      }
      break;
    case 'console/history':
      setHistory(m.history);
      break;
    case 'console/writeMode':
      setWriteMode(m.enabled);
      break;
    case 'console/notice':
      noticeEl.textContent = m.message;
      break;
    case 'error':
      errorEl.textContent = m.message;
      errorEl.hidden = false;
      break;
  }
}

function setHistory(h: string[]): void {
  history = h;
  setOptions(historySelect, [{ value: '', label: h.length ? 'Recent queries…' : 'No history yet', selected: true },
    ...h.map((q, i) => ({ value: String(i), label: q.replace(/\s+/g, ' ').slice(0, 80) }))]);
}

function setWriteMode(enabled: boolean): void {
  (writeToggle as unknown as { checked: boolean }).checked = enabled;
  writeBanner.hidden = !enabled;
  document.body.classList.toggle('write-mode', enabled);
}

// ---- grid ---------------------------------------------------------------------------------------------------
function cellText(c: GridCell): string {
  if (c === null) return 'NULL';
  if (typeof c === 'object') return `BLOB(${c.blob}) ${c.hex}${c.blob > 16 ? '…' : ''}`;
  return String(c);
}

function showResult(r: QueryResultSummary): void {
  const ms = r.elapsedMs < 10 ? r.elapsedMs.toFixed(1) : Math.round(r.elapsedMs).toString();
  statusEl.textContent = r.changes !== undefined && r.columns.length === 0
    ? `${formatCount(r.changes)} row(s) changed in ${ms} ms`
    : `${formatCount(r.rowCount)} row${r.rowCount === 1 ? '' : 's'} in ${ms} ms`;
  const sample = r.firstPage.rows.slice(0, 50);
  const widths = r.columns.map((c, i) => {
    const longest = Math.max(c.length + 2, ...sample.map((row) => cellText(row[i]).length));
    return Math.min(48, Math.max(6, longest)) * 8 + 16;
  });
  grid = { result: r, pages: new Map([[0, r.firstPage.rows]]), requested: new Set([0]), selected: new Set(), anchor: null, widths };
  setEnabled(copyButton, true);
  setEnabled(exportButton, true);
  viewport.scrollTop = 0;
  spacer.style.height = `${r.rowCount * ROW_HEIGHT}px`;
  spacer.style.width = `${widths.reduce((a, b) => a + b, 0)}px`;
  renderHeader();
  renderRows();
}

function renderHeader(): void {
  if (!grid) { headerRow.replaceChildren(); return; }
  const g = grid;
  headerRow.replaceChildren(...g.result.columns.map((name, i) => {
    const arrow = g.sort?.column === i ? (g.sort.direction === 'asc' ? ' ▲' : ' ▼') : '';
    const cell = el('div', { className: 'grid-cell grid-head', title: `Sort by ${name}`, attrs: { role: 'columnheader', 'data-column': String(i) } }, name + arrow);
    cell.style.width = `${g.widths[i]}px`;
    cell.addEventListener('click', () => {
      const direction: SortDirection = g.sort?.column === i && g.sort.direction === 'asc' ? 'desc' : 'asc';
      host.post({ type: 'console/sort', resultId: g.result.resultId, column: i, direction });
    });
    return cell;
  }));
  headerRow.scrollLeft = viewport.scrollLeft;
}

function renderRows(): void {
  headerRow.scrollLeft = viewport.scrollLeft;
  if (!grid) { rowsLayer.replaceChildren(); return; }
  const g = grid;
  const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(g.result.rowCount - 1, Math.ceil((viewport.scrollTop + viewport.clientHeight) / ROW_HEIGHT) + OVERSCAN);
  const rows: HTMLElement[] = [];
  for (let i = first; i <= last; i++) {
    const page = Math.floor(i / CONSOLE_PAGE_SIZE);
    const data = g.pages.get(page);
    if (!data) {
      if (!g.requested.has(page)) {
        g.requested.add(page);
        host.post({ type: 'console/page', resultId: g.result.resultId, offset: page * CONSOLE_PAGE_SIZE, limit: CONSOLE_PAGE_SIZE });
      }
    }
    const values = data?.[i - page * CONSOLE_PAGE_SIZE];
    const row = el('div', { className: `grid-row${g.selected.has(i) ? ' selected' : ''}`, attrs: { role: 'row', 'data-row': String(i) } },
      ...g.result.columns.map((_, c) => {
        const v = values ? values[c] : undefined;
        const cell = el('div', { className: `grid-cell${v === null ? ' null' : ''}${typeof v === 'number' ? ' number' : ''}`, attrs: { role: 'gridcell' } },
          values ? cellText(v ?? null) : '…');
        cell.style.width = `${g.widths[c]}px`;
        return cell;
      }));
    row.style.top = `${i * ROW_HEIGHT}px`;
    row.addEventListener('click', (e) => selectRow(i, e));
    rows.push(row);
  }
  rowsLayer.replaceChildren(...rows);
  // Keep memory flat on huge results: forget pages far from the viewport.
  for (const p of g.pages.keys()) {
    if (Math.abs(p - Math.floor(first / CONSOLE_PAGE_SIZE)) > 10) { g.pages.delete(p); g.requested.delete(p); }
  }
}

function selectRow(i: number, e: MouseEvent): void {
  if (!grid) return;
  const g = grid;
  if (e.shiftKey && g.anchor !== null) {
    const [a, b] = [Math.min(g.anchor, i), Math.max(g.anchor, i)];
    if (!(e.ctrlKey || e.metaKey)) g.selected.clear();
    for (let k = a; k <= b; k++) g.selected.add(k);
  } else if (e.ctrlKey || e.metaKey) {
    if (g.selected.has(i)) g.selected.delete(i); else g.selected.add(i);
    g.anchor = i;
  } else {
    g.selected = new Set([i]);
    g.anchor = i;
  }
  renderRows();
}

host.post({ type: 'ready' });
