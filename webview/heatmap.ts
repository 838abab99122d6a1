// Pattern heatmap webview (seed 2.4): for each painted region, a words × snapshots matrix (match /
// differs / changed since the previous snapshot) and, for the snapshot chosen with the slider, the region's
// words as a grid; hover shows address, value, expected value, snapshot and stage; the first corruption is
// outlined and spelled out. Clicking a word of the grid asks who wrote it (the last recorded store before
// that snapshot and the list of stores, each with a button that moves a replay debug session there).
// Regions sit side by side. Host side: HeatmapHost.
import './_common.css';
import './heatmap.css';
import {
  CELL_CHANGED, CELL_MATCHES, CELL_MISSING, HEATMAP_MAX_WORDS,
  type HeatmapRegionSummary, type HeatmapToHost, type HeatmapToWebview, type HeatmapWrite, type HeatmapWrites, type RegionHeatmap,
} from '../src/protocol/messages';
import { Tooltip, connectToHost, el, fitCanvas, formatCount, hex32, setSessionOptions, themeColours, type ThemeColours } from './_common';

const MATRIX_MAX_ROWS = 256;
const GRID_COLUMNS = 64;

interface RegionView {
  summary: HeatmapRegionSummary;
  card: HTMLElement;
  matrix: HTMLCanvasElement;
  grid: HTMLCanvasElement;
  info: HTMLElement;
  /** Who wrote the word clicked last. */
  writes: HTMLElement;
  data?: RegionHeatmap;
  values?: Uint32Array;
  states?: Uint8Array;
  /** Words per matrix row (the matrix folds words when the region has more than MATRIX_MAX_ROWS). */
  fold: number;
}

let sessionId: number | null = null;
let regions: RegionView[] = [];
let snapshotIndex = 0;
let snapshotCount = 0;
let nextRequestId = 1;
const pending = new Map<number, RegionView>();
const pendingWrites = new Map<number, RegionView>();

const host = connectToHost<HeatmapToHost, HeatmapToWebview>(onMessage);

const titleEl = el('span', { className: 'bs-title' }, 'Pattern heatmap');
const sessionSelect = el('select', { className: 'bs-select', attrs: { id: 'session', 'aria-label': 'Session' } });
const slider = el('input', { className: 'hm-slider', attrs: { id: 'snapshot-slider', type: 'range', min: '0', max: '0', value: '0', 'aria-label': 'Snapshot' } });
const sliderLabel = el('span', { className: 'bs-status', attrs: { id: 'snapshot-label' } });
const errorEl = el('div', { className: 'bs-error', attrs: { id: 'error', role: 'alert' } });
const regionsEl = el('div', { className: 'hm-regions', attrs: { id: 'regions' } });
const legendEl = el('div', { className: 'bs-legend', attrs: { id: 'legend' } });
const tooltip = new Tooltip();
errorEl.hidden = true;

document.body.append(
  el('div', { className: 'bs-header' }, titleEl, el('label', { className: 'bs-field' }, 'Session', sessionSelect),
    el('label', { className: 'bs-field' }, 'Snapshot', slider), sliderLabel),
  legendEl, errorEl, regionsEl,
);

function renderLegend(t: ThemeColours): void {
  const item = (colour: string, label: string): HTMLElement => {
    const sw = el('span', { className: 'bs-swatch' });
    sw.style.background = colour;
    return el('span', { className: 'bs-legend-item' }, sw, label);
  };
  const ring = el('span', { className: 'bs-swatch hm-ring-swatch' });
  ring.style.borderColor = t.focus;
  legendEl.replaceChildren(item(t.match, 'matches pattern'), item(t.differs, 'differs'), item(t.changedMatch, 'changed since previous snapshot, now matching'),
    item(t.changedDiffers, 'changed since previous snapshot, differs'), item(t.missing, 'not captured'),
    el('span', { className: 'bs-legend-item' }, ring, 'first corruption'));
}

function cellColour(t: ThemeColours, state: number): string {
  if (state & CELL_MISSING) return t.missing;
  if (state & CELL_CHANGED) return state & CELL_MATCHES ? t.changedMatch : t.changedDiffers;
  return state & CELL_MATCHES ? t.match : t.differs;
}

/** Severity for folding several words into one matrix pixel row: the worst state wins. */
function severity(state: number): number {
  if (state & CELL_MISSING) return 0;
  if (!(state & CELL_MATCHES)) return state & CELL_CHANGED ? 4 : 3;
  return state & CELL_CHANGED ? 2 : 1;
}

function regionWidth(): number {
  const n = Math.max(1, regions.length);
  const avail = document.body.clientWidth - 32;
  return Math.max(260, Math.min(560, Math.floor(avail / Math.min(n, 3)) - 16));
}

function matrixGeometry(r: RegionView): { colW: number; rowH: number; rows: number; width: number; height: number } {
  const d = r.data!;
  const rows = Math.ceil(d.wordCount / r.fold);
  const width = regionWidth();
  const colW = Math.max(2, Math.floor((width - 2) / Math.max(1, d.snapshots.length)));
  const rowH = rows <= 64 ? 4 : rows <= 128 ? 2 : 1;
  return { colW, rowH, rows, width: colW * d.snapshots.length, height: rows * rowH };
}

function gridGeometry(r: RegionView): { cell: number; cols: number; rows: number } {
  const d = r.data!;
  const cols = Math.min(GRID_COLUMNS, d.wordCount);
  const cell = Math.max(2, Math.min(10, Math.floor(regionWidth() / Math.max(1, cols))));
  return { cell, cols, rows: Math.ceil(d.wordCount / Math.max(1, cols)) };
}

function drawRegion(r: RegionView): void {
  const d = r.data;
  r.card.style.width = `${regionWidth()}px`;
  if (!d || !r.states || !r.values) return;
  const t = themeColours();
  const S = d.snapshots.length;
  // Matrix: x = snapshot, y = word (folded).
  const g = matrixGeometry(r);
  const ctx = fitCanvas(r.matrix, g.width, g.height);
  for (let s = 0; s < S; s++) {
    for (let row = 0; row < g.rows; row++) {
      let worst = -1;
      let worstState = CELL_MISSING;
      for (let k = 0; k < r.fold; k++) {
        const w = row * r.fold + k;
        if (w >= d.wordCount) break;
        const st = r.states[s * d.wordCount + w];
        const sev = severity(st);
        if (sev > worst) { worst = sev; worstState = st; }
      }
      ctx.fillStyle = cellColour(t, worstState);
      ctx.fillRect(s * g.colW, row * g.rowH, g.colW - (g.colW > 3 ? 1 : 0), g.rowH);
    }
  }
  ctx.strokeStyle = t.foreground;
  ctx.lineWidth = 1;
  ctx.strokeRect(snapshotIndex * g.colW + 0.5, 0.5, g.colW - 1, g.height - 1);
  const fc = d.firstCorruption;
  if (fc && fc.wordIndex >= d.wordStart && fc.wordIndex < d.wordStart + d.wordCount) {
    const row = Math.floor((fc.wordIndex - d.wordStart) / r.fold);
    ctx.strokeStyle = t.focus;
    ctx.lineWidth = 2;
    ctx.strokeRect(fc.snapshotIndex * g.colW - 2, row * g.rowH - 3, g.colW + 4, g.rowH + 6);
  }

  // Word grid of the selected snapshot.
  const gg = gridGeometry(r);
  const gctx = fitCanvas(r.grid, gg.cols * gg.cell, gg.rows * gg.cell);
  for (let w = 0; w < d.wordCount; w++) {
    gctx.fillStyle = cellColour(t, r.states[snapshotIndex * d.wordCount + w]);
    gctx.fillRect((w % gg.cols) * gg.cell, Math.floor(w / gg.cols) * gg.cell, gg.cell - (gg.cell > 3 ? 1 : 0), gg.cell - (gg.cell > 3 ? 1 : 0));
  }
  if (fc && snapshotIndex >= fc.snapshotIndex && fc.wordIndex >= d.wordStart && fc.wordIndex < d.wordStart + d.wordCount) {
    const w = fc.wordIndex - d.wordStart;
    gctx.strokeStyle = t.focus;
    gctx.lineWidth = 2;
    gctx.strokeRect((w % gg.cols) * gg.cell - 2, Math.floor(w / gg.cols) * gg.cell - 2, gg.cell + 4, gg.cell + 4);
  }

  // Text summary (data, never markup).
  let matches = 0;
  for (let w = 0; w < d.wordCount; w++) if (r.states[snapshotIndex * d.wordCount + w] & CELL_MATCHES) matches++;
  const lines = [
    `${formatCount(matches)} of ${formatCount(d.wordCount)} words match ${hex32(d.expectedPattern)} in snapshot ${d.snapshots[snapshotIndex]?.snapshotId ?? '?'} (${((matches * 100) / Math.max(1, d.wordCount)).toFixed(1)} %)`,
  ];
  if (d.wordCount < d.totalWords) lines.push(`showing words ${d.wordStart}–${d.wordStart + d.wordCount - 1} of ${d.totalWords}`);
  r.info.replaceChildren(...lines.map((l) => el('div', {}, l)));
  const corruption = r.card.querySelector('.hm-corruption') as HTMLElement;
  corruption.textContent = fc
    ? `First corruption: word ${fc.address} stopped matching in snapshot ${fc.snapshotId} (stage ${fc.stage}, ${fc.timestamp}): ${hex32(fc.value)} instead of ${hex32(fc.expected)}`
    : 'No corruption: no word that matched the pattern stopped matching.';
  corruption.classList.toggle('found', !!fc);
}

function cellDetails(r: RegionView, s: number, w: number): string[] {
  const d = r.data!;
  const st = r.states![s * d.wordCount + w];
  const snap = d.snapshots[s];
  const addr = BigInt(d.startAddress) + BigInt((d.wordStart + w) * 4);
  const prev = s > 0 ? r.values![(s - 1) * d.wordCount + w] : undefined;
  const lines = [
    `${r.summary.name}  word ${d.wordStart + w} at 0x${addr.toString(16)}`,
    `snapshot ${snap.snapshotId} (${snap.trigger ?? 'snapshot'}) · stage ${snap.stage}`,
    snap.sequenceNumber !== null ? `step #${formatCount(snap.sequenceNumber)} · ${snap.timestamp}` : snap.timestamp,
  ];
  if (st & CELL_MISSING) lines.push('region not captured in this snapshot');
  else {
    lines.push(`value    ${hex32(r.values![s * d.wordCount + w])}`, `expected ${hex32(d.expectedPattern)}  → ${st & CELL_MATCHES ? 'matches' : 'differs'}`);
    if (st & CELL_CHANGED && prev !== undefined) lines.push(`changed since previous snapshot (was ${hex32(prev)})`);
  }
  const fc = d.firstCorruption;
  if (fc && fc.snapshotIndex === s && fc.wordIndex === d.wordStart + w) lines.push('FIRST CORRUPTION');
  return lines;
}

function buildCard(summary: HeatmapRegionSummary): RegionView {
  const matrix = el('canvas', { className: 'hm-matrix', attrs: { 'aria-label': `${summary.name}: words by snapshots` } });
  const grid = el('canvas', { className: 'hm-grid', attrs: { 'aria-label': `${summary.name}: words of the selected snapshot` } });
  const info = el('div', { className: 'hm-info' });
  const writes = el('div', { className: 'hm-writes', attrs: { 'aria-live': 'polite' } });
  const card = el('section', { className: 'hm-region', attrs: { 'data-region': summary.name } },
    el('h3', { className: 'hm-name' }, summary.name),
    el('div', { className: 'bs-muted' }, `${summary.startAddress} · ${formatCount(summary.sizeBytes)} bytes · pattern ${hex32(summary.expectedPattern)}`),
    el('div', { className: 'hm-corruption' }, 'loading…'),
    el('div', { className: 'hm-caption bs-muted' }, 'words (down) × snapshots (across)'),
    matrix,
    el('div', { className: 'hm-caption bs-muted' }, 'selected snapshot, 64 words per row'),
    grid,
    info,
    writes,
  );
  const view: RegionView = { summary, card, matrix, grid, info, writes, fold: 1 };
  matrix.addEventListener('mousemove', (e) => {
    if (!view.data) return;
    const g = matrixGeometry(view);
    const s = Math.floor(e.offsetX / g.colW);
    const w = Math.floor(e.offsetY / g.rowH) * view.fold;
    if (s < 0 || s >= view.data.snapshots.length || w >= view.data.wordCount) { tooltip.hide(); return; }
    const lines = cellDetails(view, s, w);
    if (view.fold > 1) lines.unshift(`(${view.fold} words per row; showing the first)`);
    tooltip.show(e.clientX, e.clientY, lines);
  });
  matrix.addEventListener('click', (e) => {
    if (!view.data) return;
    setSnapshot(Math.floor(e.offsetX / matrixGeometry(view).colW));
  });
  grid.addEventListener('mousemove', (e) => {
    if (!view.data) return;
    const gg = gridGeometry(view);
    const w = Math.floor(e.offsetY / gg.cell) * gg.cols + Math.floor(e.offsetX / gg.cell);
    if (w < 0 || w >= view.data.wordCount || e.offsetX >= gg.cols * gg.cell) { tooltip.hide(); return; }
    tooltip.show(e.clientX, e.clientY, cellDetails(view, snapshotIndex, w));
  });
  grid.addEventListener('click', (e) => {
    if (!view.data || sessionId === null) return;
    const gg = gridGeometry(view);
    const w = Math.floor(e.offsetY / gg.cell) * gg.cols + Math.floor(e.offsetX / gg.cell);
    if (w < 0 || w >= view.data.wordCount || e.offsetX >= gg.cols * gg.cell) return;
    askWhoWrote(view, w);
  });
  for (const c of [matrix, grid]) c.addEventListener('mouseleave', () => tooltip.hide());
  return view;
}

/** Asks the host who wrote word `w` (of the words shown) as seen in the selected snapshot. */
function askWhoWrote(view: RegionView, w: number): void {
  const d = view.data!;
  const snap = d.snapshots[snapshotIndex];
  const address = `0x${(BigInt(d.startAddress) + BigInt((d.wordStart + w) * 4)).toString(16)}`;
  const requestId = nextRequestId++;
  pendingWrites.set(requestId, view);
  view.writes.dataset.state = 'loading';
  view.writes.replaceChildren(el('div', { className: 'bs-muted' }, `Who wrote ${address}…`));
  host.post({ type: 'heatmap/whoWrote', requestId, sessionId: sessionId!, regionName: view.summary.name, address, snapshotId: snap.snapshotId, sequenceNumber: snap.sequenceNumber });
}

/** A store's value as the heatmap shows words: a 4-byte store as its little-endian word, else its bytes. */
function storedValue(hexBytes: string, size: number): string {
  if (size !== 4 || hexBytes.length !== 8) return `bytes ${hexBytes}`;
  return `0x${hexBytes.slice(6, 8)}${hexBytes.slice(4, 6)}${hexBytes.slice(2, 4)}${hexBytes.slice(0, 2)}`;
}

function gotoButton(seq: number): HTMLButtonElement {
  const b = el('button', { className: 'hm-goto', attrs: { type: 'button', 'data-seq': String(seq) } }, `Go to #${formatCount(seq)}`);
  b.title = `Move a replay debug session of this recording to instruction ${seq}`;
  b.addEventListener('click', () => host.post({ type: 'heatmap/gotoInstruction', sessionId: sessionId!, sequenceNumber: seq }));
  return b;
}

function writeText(w: HeatmapWrite): string {
  const where = `${w.functionName ?? 'unknown'}${w.bootStage ? ` (${w.bootStage})` : ''} pc ${w.pc}`;
  const at = w.size === 4 ? '' : ` at ${w.address} (${w.size} bytes)`;
  return `#${formatCount(w.sequenceNumber)} ${where}: ${storedValue(w.value, w.size)}${at}, was ${w.oldValue === null ? 'unknown' : storedValue(w.oldValue, w.size)}`;
}

function renderWrites(view: RegionView, r: HeatmapWrites): void {
  const parts: HTMLElement[] = [
    el('div', { className: 'hm-writes-title' }, `Who wrote ${r.address} — snapshot ${r.snapshotId}${r.sequenceNumber !== null ? ` (before instruction #${formatCount(r.sequenceNumber)})` : ''}`),
  ];
  if (!r.writesRecorded) {
    parts.push(el('div', { className: 'hm-writes-none' }, 'This session recorded no memory writes (gdbstub capture): record it with plugin capture to see who wrote each word.'));
  } else {
    parts.push(r.lastBefore
      ? el('div', { className: 'hm-writes-last' }, `Last write before this snapshot: ${writeText(r.lastBefore)} `, gotoButton(r.lastBefore.sequenceNumber))
      : el('div', { className: 'hm-writes-last' }, 'No recorded write to this word before this snapshot.'));
    if (r.writes.length === 0) parts.push(el('div', { className: 'bs-muted' }, 'No recorded write to this word in the session.'));
    else {
      parts.push(el('div', { className: 'bs-muted' }, `All writes to it, newest first${r.writes.length >= r.limit ? ` (the newest ${r.limit})` : ''}:`));
      parts.push(el('ol', { className: 'hm-writes-list' }, ...r.writes.map((w) => {
        const li = el('li', { attrs: { 'data-seq': String(w.sequenceNumber) } }, `${writeText(w)} `, gotoButton(w.sequenceNumber));
        if (r.lastBefore && w.sequenceNumber === r.lastBefore.sequenceNumber) li.classList.add('hm-write-last');
        return li;
      })));
    }
  }
  view.writes.replaceChildren(...parts);
  view.writes.dataset.state = 'ready';
}

function setSnapshot(i: number): void {
  snapshotIndex = Math.max(0, Math.min(snapshotCount - 1, i));
  slider.value = String(snapshotIndex);
  const snap = regions.find((r) => r.data)?.data?.snapshots[snapshotIndex];
  sliderLabel.textContent = snap ? `${snapshotIndex + 1} / ${snapshotCount}: snapshot ${snap.snapshotId} · ${snap.stage} · ${snap.timestamp}` : '';
  for (const r of regions) drawRegion(r);
}

slider.addEventListener('input', () => setSnapshot(Number(slider.value)));
sessionSelect.addEventListener('change', () => host.post({ type: 'heatmap/selectSession', sessionId: Number(sessionSelect.value) }));
document.addEventListener('keydown', (e) => {
  if (e.target === slider) return;
  if (e.key === 'ArrowRight') setSnapshot(snapshotIndex + 1);
  if (e.key === 'ArrowLeft') setSnapshot(snapshotIndex - 1);
});
new ResizeObserver(() => { for (const r of regions) drawRegion(r); }).observe(document.body);

function decode(base64: string): Uint8Array {
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function onMessage(m: HeatmapToWebview): void {
  switch (m.type) {
    case 'heatmap/init': {
      titleEl.textContent = `Pattern heatmap — ${m.recordingName}`;
      sessionId = m.sessionId;
      setSessionOptions(sessionSelect, m.sessions, m.sessionId);
      renderLegend(themeColours());
      regions = m.regions.map(buildCard);
      regionsEl.replaceChildren(...regions.map((r) => r.card));
      if (regions.length === 0) regionsEl.replaceChildren(el('div', { className: 'bs-muted' }, 'No region with an expected pattern in this session.'));
      pending.clear();
      for (const r of regions) {
        const requestId = nextRequestId++;
        pending.set(requestId, r);
        host.post({ type: 'heatmap/requestRegion', requestId, sessionId: sessionId!, regionName: r.summary.name, wordStart: 0, wordCount: HEATMAP_MAX_WORDS });
      }
      document.body.dataset.state = regions.length ? 'loading' : 'ready';
      break;
    }
    case 'heatmap/region': {
      const r = pending.get(m.requestId);
      if (!r) return;
      pending.delete(m.requestId);
      r.data = m.heatmap;
      r.values = new Uint32Array(decode(m.heatmap.valuesBase64).buffer);
      r.states = decode(m.heatmap.statesBase64);
      r.fold = Math.max(1, Math.ceil(m.heatmap.wordCount / MATRIX_MAX_ROWS));
      if (snapshotCount !== m.heatmap.snapshots.length) {
        snapshotCount = m.heatmap.snapshots.length;
        slider.max = String(Math.max(0, snapshotCount - 1));
        // Open on the first corruption if there is one, else on the last snapshot.
        const fc = m.heatmap.firstCorruption;
        setSnapshot(fc ? fc.snapshotIndex : snapshotCount - 1);
      } else {
        drawRegion(r);
      }
      if (pending.size === 0) {
        const first = regions.map((x) => x.data?.firstCorruption).filter((x) => !!x).sort((a, b) => a!.snapshotIndex - b!.snapshotIndex)[0];
        if (first) setSnapshot(first.snapshotIndex);
        document.body.dataset.state = 'ready';
      }
      break;
    }
    case 'heatmap/writes': {
      const view = pendingWrites.get(m.requestId);
      if (!view) return;
      pendingWrites.delete(m.requestId);
      renderWrites(view, m.writes);
      break;
    }
    case 'error':
      errorEl.textContent = m.message;
      errorEl.hidden = false;
      if (m.requestId !== undefined) {
        const view = pendingWrites.get(m.requestId);
        if (view) { view.writes.replaceChildren(); view.writes.dataset.state = 'error'; pendingWrites.delete(m.requestId); }
      }
      if (m.requestId !== undefined) pending.delete(m.requestId);
      if (pending.size === 0) document.body.dataset.state = 'ready';
      break;
  }
}

host.post({ type: 'ready' });
