// Boot-stage timeline webview: stage visits as bands along the instruction axis (or wall time), snapshots
// as markers, activity lanes of the busiest functions; zoom (wheel, buttons, keys) and pan (drag); hover
// details; click selects an instruction (the host reveals it and moves a debug session there).
// All counts arrive aggregated by SQL (TimelineHost); single instructions only for narrow windows.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import './_common.css';
import './timeline.css';
import type {
  InstructionRow, StageBand, TimelineOverview, TimelineToHost, TimelineToWebview, TimelineWindow,
} from '../src/protocol/messages';
import {
  Tooltip, byId, connectToHost, custom, el, fitCanvas, formatCount, formatDurationUs, setLines, setSessionOptions, themeColours,
} from './_common';

const AXIS_H = 24;
const STAGE_H = 30;
const SNAP_H = 20;
const LANE_H = 22;
const LABEL_W = 200;

type Axis = 'instructions' | 'time';

let overview: TimelineOverview | null = null;
let win: TimelineWindow | null = null;
let view = { from: 0, to: 1 };
let axis: Axis = 'instructions';
let nextRequestId = 1;
let pendingRequest = 0;
let requestTimer: number | undefined;
let selectedSeq: number | null = null;
let stageColour = new Map<string, string>();

const host = connectToHost<TimelineToHost, TimelineToWebview>(onMessage);

// ---- layout ------------------------------------------------------------------------------------------------
const titleEl = el('span', { className: 'bs-title' }, 'Boot timeline');
const sessionSelect = el('select', { className: 'bs-select', attrs: { id: 'session', 'aria-label': 'Session' } });
const axisButton = custom('vscode-button', { id: 'axis', secondary: '' }, 'Axis: instructions');
const zoomIn = custom('vscode-button', { id: 'zoom-in', secondary: '', title: 'Zoom in (+)' }, '+');
const zoomOut = custom('vscode-button', { id: 'zoom-out', secondary: '', title: 'Zoom out (-)' }, '−');
const zoomReset = custom('vscode-button', { id: 'zoom-reset', secondary: '', title: 'Whole session (0)' }, 'Reset');
const statusEl = el('span', { className: 'bs-status', attrs: { id: 'status', 'aria-live': 'polite' } });
const errorEl = el('div', { className: 'bs-error', attrs: { id: 'error', role: 'alert' } });
const legendEl = el('div', { className: 'bs-legend', attrs: { id: 'legend' } });
const labelsEl = el('div', { className: 'tl-labels', attrs: { id: 'labels' } });
const canvas = el('canvas', { className: 'tl-canvas', attrs: { id: 'timeline', tabindex: '0', 'aria-label': 'Boot timeline' } });
const detailEl = el('div', { className: 'tl-detail', attrs: { id: 'detail', 'aria-live': 'polite' } });
const tooltip = new Tooltip();
errorEl.hidden = true;

document.body.append(
  el('div', { className: 'bs-header' }, titleEl, el('label', { className: 'bs-field' }, 'Session', sessionSelect), axisButton, zoomIn, zoomOut, zoomReset, statusEl),
  errorEl,
  legendEl,
  el('div', { className: 'tl-body', attrs: { id: 'body' } }, labelsEl, canvas),
  detailEl,
);

function canvasWidth(): number {
  return Math.max(200, document.body.clientWidth - LABEL_W - 28);
}
function laneCount(): number {
  return (win?.lanes.length ?? 0) + 1;
}
function canvasHeight(): number {
  return AXIS_H + STAGE_H + SNAP_H + laneCount() * LANE_H + 4;
}

// ---- axis mapping ------------------------------------------------------------------------------------------
/** Wall time at a sequence number, interpolated between stage-visit anchors (first/last step of each). */
function timeAt(seq: number): number {
  const bands = overview?.stages ?? [];
  if (bands.length === 0) return seq;
  if (seq <= bands[0].firstSeq) return bands[0].startUs;
  for (const b of bands) {
    if (seq <= b.lastSeq) {
      if (seq < b.firstSeq) return b.startUs; // gap between visits
      const span = b.lastSeq - b.firstSeq;
      return span === 0 ? b.startUs : b.startUs + ((seq - b.firstSeq) / span) * (b.endUs - b.startUs);
    }
  }
  return bands[bands.length - 1].endUs;
}

function xOf(seq: number): number {
  const w = canvasWidth();
  if (axis === 'time') {
    const t0 = timeAt(view.from);
    const t1 = timeAt(view.to + 1);
    return t1 === t0 ? 0 : ((timeAt(seq) - t0) / (t1 - t0)) * w;
  }
  return ((seq - view.from) / (view.to + 1 - view.from)) * w;
}

/** Inverse of xOf (bisection: xOf is monotonic in seq). */
function seqAt(x: number): number {
  let lo = view.from;
  let hi = view.to + 1;
  for (let i = 0; i < 60 && hi - lo > 0.5; i++) {
    const mid = (lo + hi) / 2;
    if (xOf(mid) <= x) lo = mid; else hi = mid;
  }
  return Math.min(view.to, Math.max(view.from, Math.floor(lo)));
}

// ---- drawing -----------------------------------------------------------------------------------------------
function draw(): void {
  const w = canvasWidth();
  const h = canvasHeight();
  const ctx = fitCanvas(canvas, w, h);
  const t = themeColours();
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px var(--vscode-font-family, sans-serif)';
  ctx.textBaseline = 'middle';
  if (!overview) return;

  // Axis ticks.
  ctx.strokeStyle = t.border;
  ctx.fillStyle = t.muted;
  ctx.beginPath();
  ctx.moveTo(0, AXIS_H - 0.5);
  ctx.lineTo(w, AXIS_H - 0.5);
  ctx.stroke();
  for (let i = 0; i <= 8; i++) {
    const x = (i / 8) * w;
    const seq = seqAt(Math.min(x, w - 1));
    ctx.fillRect(Math.round(x), AXIS_H - 6, 1, 6);
    const label = axis === 'time' ? `+${formatDurationUs(Math.round(timeAt(seq) - timeAt(overview.firstSeq)))}` : `#${formatCount(seq)}`;
    ctx.textAlign = i === 0 ? 'left' : i === 8 ? 'right' : 'center';
    ctx.fillText(label, x, AXIS_H / 2);
  }

  // Stage bands.
  const y0 = AXIS_H;
  for (const b of overview.stages) {
    const x0 = Math.max(0, xOf(b.firstSeq));
    const x1 = Math.min(w, xOf(b.lastSeq + 1));
    if (x1 < 0 || x0 > w) continue;
    ctx.fillStyle = stageColour.get(b.name) ?? t.palette[0];
    ctx.fillRect(x0, y0 + 2, Math.max(1, x1 - x0), STAGE_H - 4);
    if (t.highContrast) { ctx.strokeStyle = t.foreground; ctx.strokeRect(x0 + 0.5, y0 + 2.5, Math.max(1, x1 - x0) - 1, STAGE_H - 5); }
    if (x1 - x0 > 40) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(x0, y0, x1 - x0, STAGE_H);
      ctx.clip();
      ctx.fillStyle = t.background;
      ctx.textAlign = 'left';
      ctx.fillText(b.name, x0 + 4, y0 + STAGE_H / 2); // canvas text: drawn as glyphs, never parsed
      ctx.restore();
    }
  }

  // Snapshot markers.
  const ys = AXIS_H + STAGE_H;
  ctx.fillStyle = t.foreground;
  for (const s of overview.snapshots) {
    const x = xOf(s.sequenceNumber);
    if (x < -4 || x > w + 4) continue;
    ctx.beginPath();
    ctx.moveTo(x, ys + 3);
    ctx.lineTo(x + 5, ys + SNAP_H / 2);
    ctx.lineTo(x, ys + SNAP_H - 3);
    ctx.lineTo(x - 5, ys + SNAP_H / 2);
    ctx.closePath();
    ctx.fill();
  }

  // Function lanes: opacity = share of the bucket's instructions spent in that function.
  const yl = AXIS_H + STAGE_H + SNAP_H;
  if (win) {
    const lanes = [...win.lanes.map((l) => l.counts), win.otherCounts];
    lanes.forEach((counts, li) => {
      const y = yl + li * LANE_H;
      ctx.fillStyle = t.border;
      ctx.fillRect(0, y + LANE_H - 1, w, 1);
      ctx.fillStyle = li < win!.lanes.length ? t.palette[li % t.palette.length] : t.muted;
      for (let i = 0; i < counts.length; i++) {
        if (counts[i] === 0) continue;
        const s0 = win!.fromSeq + i * win!.bucketSize;
        const x0 = xOf(Math.max(view.from, s0));
        const x1 = xOf(Math.min(view.to + 1, s0 + win!.bucketSize));
        if (x1 < 0 || x0 > w) continue;
        ctx.globalAlpha = 0.25 + 0.75 * Math.min(1, counts[i] / win!.bucketSize);
        ctx.fillRect(x0, y + 3, Math.max(1, x1 - x0), LANE_H - 6);
      }
      ctx.globalAlpha = 1;
    });
  }

  // Selected instruction.
  if (selectedSeq !== null && selectedSeq >= view.from && selectedSeq <= view.to) {
    const x = Math.round(xOf(selectedSeq + 0.5));
    ctx.fillStyle = t.focus;
    ctx.fillRect(x - 1, AXIS_H, 2, h - AXIS_H);
  }
}

function renderLabels(): void {
  const rows: HTMLElement[] = [
    el('div', { className: 'tl-label', attrs: { 'data-row': 'axis' } }, axis === 'time' ? 'wall time' : 'instruction'),
    el('div', { className: 'tl-label tl-stage-label', attrs: { 'data-row': 'stages' } }, 'boot stage'),
    el('div', { className: 'tl-label', attrs: { 'data-row': 'snapshots' } }, 'snapshots'),
    ...(win?.lanes ?? []).map((l, i) => el('div', { className: 'tl-label tl-lane-label', title: l.functionName, attrs: { 'data-row': `lane-${i}` } }, l.functionName)),
    el('div', { className: 'tl-label tl-lane-label bs-muted', attrs: { 'data-row': 'other' } }, 'other functions'),
  ];
  const heights = [AXIS_H, STAGE_H, SNAP_H, ...(win?.lanes ?? []).map(() => LANE_H), LANE_H];
  rows.forEach((r, i) => { r.style.height = `${heights[i]}px`; r.style.lineHeight = `${heights[i]}px`; });
  labelsEl.replaceChildren(...rows);
}

function renderLegend(): void {
  if (!overview) { legendEl.replaceChildren(); return; }
  const seen = new Set<string>();
  const items: HTMLElement[] = [];
  for (const b of overview.stages) {
    if (seen.has(b.name)) continue;
    seen.add(b.name);
    const visits = overview.stages.filter((x) => x.name === b.name);
    const sw = el('span', { className: 'bs-swatch' });
    sw.style.background = stageColour.get(b.name) ?? '';
    items.push(el('span', { className: 'bs-legend-item tl-stage', attrs: { 'data-stage': b.name } }, sw,
      `${b.name} (${visits.length} visit${visits.length === 1 ? '' : 's'}, ${formatCount(visits.reduce((a, v) => a + v.instructionCount, 0))} steps)`));
  }
  legendEl.replaceChildren(...items);
}

function updateStatus(): void {
  if (!overview) { statusEl.textContent = 'No instructions recorded in this session.'; return; }
  const span = view.to - view.from + 1;
  const parts = [`${formatCount(overview.instructionCount)} steps, ${overview.stages.length} stage visits, ${overview.snapshots.length} snapshots`,
    `showing #${formatCount(view.from)}–#${formatCount(view.to)} (${formatCount(span)})`];
  if (win) parts.push(`bucket ${formatCount(win.bucketSize)} step${win.bucketSize === 1 ? '' : 's'}, SQL ${Math.round(win.queryMs)} ms`);
  statusEl.textContent = parts.join(' · ');
}

function redraw(): void {
  renderLabels();
  draw();
  updateStatus();
}

// ---- data requests -----------------------------------------------------------------------------------------
function requestWindow(delayMs = 60): void {
  if (!overview) return;
  window.clearTimeout(requestTimer);
  requestTimer = window.setTimeout(() => {
    if (!overview) return;
    pendingRequest = nextRequestId++;
    host.post({ type: 'timeline/requestWindow', requestId: pendingRequest, sessionId: overview.sessionId, fromSeq: view.from, toSeq: view.to, buckets: Math.ceil(canvasWidth() / 2) });
  }, delayMs);
}

function setView(from: number, to: number): void {
  if (!overview) return;
  const min = overview.firstSeq;
  const max = overview.lastSeq;
  let span = Math.max(20, Math.round(to - from));
  span = Math.min(span, max - min);
  let f = Math.round(from);
  f = Math.max(min, Math.min(f, max - span));
  view = { from: f, to: f + span };
  tooltip.hide();
  redraw();
  requestWindow();
}

function zoomAround(seq: number, factor: number): void {
  const left = seq - view.from;
  const right = view.to - seq;
  setView(seq - left * factor, seq + right * factor);
}

// ---- interaction -------------------------------------------------------------------------------------------
let drag: { x: number; from: number; to: number; moved: boolean } | null = null;

canvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  if (!overview) return;
  const seq = seqAt(e.offsetX);
  if (e.shiftKey) {
    const shift = ((view.to - view.from) * Math.sign(e.deltaY)) / 10;
    setView(view.from + shift, view.to + shift);
  } else {
    zoomAround(seq, e.deltaY < 0 ? 0.8 : 1.25);
  }
}, { passive: false });

canvas.addEventListener('mousedown', (e) => { drag = { x: e.clientX, from: view.from, to: view.to, moved: false }; });
window.addEventListener('mouseup', (e) => {
  if (drag && !drag.moved && e.target === canvas && overview) selectInstruction(seqAt(e.offsetX));
  drag = null;
});
canvas.addEventListener('mousemove', (e) => {
  if (drag && overview) {
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (drag.moved) {
      const perPx = (drag.to - drag.from) / canvasWidth();
      setView(drag.from - dx * perPx, drag.to - dx * perPx);
    }
    tooltip.hide();
    return;
  }
  hover(e);
});
canvas.addEventListener('mouseleave', () => tooltip.hide());
canvas.addEventListener('dblclick', () => { if (overview) setView(overview.firstSeq, overview.lastSeq); });
canvas.addEventListener('keydown', (e) => {
  if (!overview) return;
  const mid = (view.from + view.to) / 2;
  const step = (view.to - view.from) / 10;
  if (e.key === '+' || e.key === '=') zoomAround(mid, 0.8);
  else if (e.key === '-') zoomAround(mid, 1.25);
  else if (e.key === '0') setView(overview.firstSeq, overview.lastSeq);
  else if (e.key === 'ArrowLeft') setView(view.from - step, view.to - step);
  else if (e.key === 'ArrowRight') setView(view.from + step, view.to + step);
  else return;
  e.preventDefault();
});
zoomIn.addEventListener('click', () => zoomAround((view.from + view.to) / 2, 0.5));
zoomOut.addEventListener('click', () => zoomAround((view.from + view.to) / 2, 2));
zoomReset.addEventListener('click', () => { if (overview) setView(overview.firstSeq, overview.lastSeq); });
axisButton.addEventListener('click', () => {
  axis = axis === 'instructions' ? 'time' : 'instructions';
  axisButton.textContent = axis === 'time' ? 'Axis: wall time' : 'Axis: instructions';
  redraw();
});
sessionSelect.addEventListener('change', () => host.post({ type: 'timeline/selectSession', sessionId: Number(sessionSelect.value) }));
new ResizeObserver(() => { if (overview) { redraw(); requestWindow(150); } }).observe(document.body);

function bandAt(seq: number): StageBand | undefined {
  return overview?.stages.find((b) => seq >= b.firstSeq && seq <= b.lastSeq);
}

function instructionAt(seq: number): InstructionRow | undefined {
  return win?.instructions?.find((r) => r.sequenceNumber === seq);
}

function hover(e: MouseEvent): void {
  if (!overview) return;
  const y = e.offsetY;
  const seq = seqAt(e.offsetX);
  const lines: string[] = [];
  if (y < AXIS_H) {
    lines.push(`instruction #${formatCount(seq)}`, `+${formatDurationUs(Math.round(timeAt(seq) - timeAt(overview.firstSeq)))} since the first step`);
  } else if (y < AXIS_H + STAGE_H) {
    const b = bandAt(seq);
    if (b) {
      lines.push(`stage: ${b.name} (visit ${b.visit})`, `steps #${formatCount(b.firstSeq)}–#${formatCount(b.lastSeq)} (${formatCount(b.instructionCount)})`,
        `duration ${formatDurationUs(b.endUs - b.startUs)}`);
    }
  } else if (y < AXIS_H + STAGE_H + SNAP_H) {
    const near = overview.snapshots
      .map((s) => ({ s, d: Math.abs(xOf(s.sequenceNumber) - e.offsetX) }))
      .filter((c) => c.d <= 6)
      .sort((a, b) => a.d - b.d)[0];
    if (near) {
      const s = near.s;
      lines.push(`snapshot ${s.snapshotId} (${s.trigger ?? 'snapshot'})`, `stage: ${s.stage}`, `step #${formatCount(s.sequenceNumber)} at pc ${s.pc}`, s.timestamp);
    }
  } else if (win) {
    const li = Math.floor((y - AXIS_H - STAGE_H - SNAP_H) / LANE_H);
    const bucket = Math.floor((seq - win.fromSeq) / win.bucketSize);
    const name = li < win.lanes.length ? win.lanes[li].functionName : 'other functions';
    const counts = li < win.lanes.length ? win.lanes[li]?.counts : win.otherCounts;
    if (counts && bucket >= 0 && bucket < counts.length) {
      const s0 = win.fromSeq + bucket * win.bucketSize;
      lines.push(`function: ${name}`, `${formatCount(counts[bucket])} of ${formatCount(Math.min(win.bucketSize, win.toSeq - s0 + 1))} steps in #${formatCount(s0)}–#${formatCount(Math.min(win.toSeq, s0 + win.bucketSize - 1))}`);
    }
  }
  const row = instructionAt(seq);
  if (row) lines.push('', `#${formatCount(row.sequenceNumber)}  ${row.pc}  ${row.disassembly ?? ''}`, `in ${row.functionName ?? '?'} · ${row.stage ?? '?'}`);
  else if (lines.length) lines.push('', `click: select instruction #${formatCount(seq)}`);
  if (lines.length) tooltip.show(e.clientX, e.clientY, lines); else tooltip.hide();
}

function selectInstruction(seq: number): void {
  if (!overview) return;
  selectedSeq = seq;
  draw();
  host.post({ type: 'timeline/selectInstruction', sessionId: overview.sessionId, sequenceNumber: seq });
}

// ---- messages ----------------------------------------------------------------------------------------------
function onMessage(m: TimelineToWebview): void {
  switch (m.type) {
    case 'timeline/init':
      titleEl.textContent = `Boot timeline — ${m.recordingName}`;
      setSessionOptions(sessionSelect, m.sessions, m.overview?.sessionId ?? null);
      overview = m.overview;
      win = null;
      selectedSeq = null;
      errorEl.hidden = true;
      if (overview) {
        const t = themeColours();
        stageColour = new Map();
        for (const b of overview.stages) if (!stageColour.has(b.name)) stageColour.set(b.name, t.palette[stageColour.size % t.palette.length]);
        view = { from: overview.firstSeq, to: Math.max(overview.firstSeq, overview.lastSeq) };
        requestWindow(0);
      }
      renderLegend();
      redraw();
      document.body.dataset.state = 'overview';
      break;
    case 'timeline/window':
      if (m.requestId !== pendingRequest) return; // a newer zoom superseded it
      win = m.window;
      redraw();
      document.body.dataset.state = 'ready';
      break;
    case 'timeline/instructionSelected': {
      selectedSeq = m.sequenceNumber;
      const r = m.row;
      setLines(detailEl, r
        ? [`Selected #${formatCount(r.sequenceNumber)}  ${r.pc}  ${r.disassembly ?? ''}`, `function ${r.functionName ?? '?'} · stage ${r.stage ?? '?'} · ${r.timestamp}`]
        : [`No instruction #${m.sequenceNumber} in this session.`]);
      draw();
      break;
    }
    case 'error':
      errorEl.textContent = m.message;
      errorEl.hidden = false;
      break;
  }
}

byId('body').style.setProperty('--label-width', `${LABEL_W}px`);
host.post({ type: 'ready' });
