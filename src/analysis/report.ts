// The HTML report of one recorded boot: a single self-contained file (inline CSS and SVG, no scripts, no
// network) that opens in any browser and can be attached to a bug. It shows what the views show, from the
// same store: stage timeline, stage visits, the painted regions' final pattern results with the first
// corrupted word, pattern evolution across snapshots, busiest functions, the seed's 4.1 timing query
// verbatim, metrics and the guest's UART output. Every value from the recording is HTML-escaped.
import type { RecordingStore, RegionInfo, SnapshotInfo, StageVisit } from '../store/recording-store';
import { SEED_BOOT_SEQUENCE_TIMING } from './seed-queries';

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const hex = (n: bigint | number): string => `0x${n.toString(16)}`;
const fmt = (n: number): string => n.toLocaleString('en-US');

/** A stable colour per stage name (hue from a string hash), readable on white and dark. */
function stageColour(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360} 55% 55%)`;
}

/** Red (0 %) to green (100 %) for a pattern match percentage. */
function matchColour(pct: number): string {
  return `hsl(${Math.round(Math.max(0, Math.min(100, pct)) * 1.2)} 65% 45%)`;
}

function table(headers: string[], rows: string[][], className = ''): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${className}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function timelineSvg(visits: StageVisit[], snapshots: SnapshotInfo[], total: number): string {
  if (visits.length === 0 || total === 0) return '<p>No instructions recorded.</p>';
  const width = 1000;
  const first = visits[0].firstSequenceNumber;
  const last = Math.max(visits[visits.length - 1].lastSequenceNumber, first + 1);
  const x = (seq: number): number => ((seq - first) / (last - first + 1)) * width;
  const bands = visits.map((v) => {
    const x0 = x(v.firstSequenceNumber);
    const w = Math.max(1, x(v.lastSequenceNumber + 1) - x0);
    return `<rect x="${x0.toFixed(1)}" y="20" width="${w.toFixed(1)}" height="36" fill="${stageColour(v.stageName)}"><title>${escapeHtml(
      `${v.stageName} (visit ${v.enterCount}): instructions ${fmt(v.firstSequenceNumber)}-${fmt(v.lastSequenceNumber)}, ${fmt(v.instructionCount)} steps, ${(v.durationUs / 1000).toFixed(1)} ms`)}</title></rect>`;
  }).join('\n');
  const marks = snapshots.filter((s) => s.sequenceNumber !== null).map((s) => {
    const sx = x(s.sequenceNumber as number).toFixed(1);
    return `<line x1="${sx}" x2="${sx}" y1="58" y2="70" stroke="currentColor"><title>${escapeHtml(`snapshot ${s.snapshotId} (${s.trigger ?? 'manual'}) at instruction ${s.sequenceNumber}, stage ${s.bootStage}`)}</title></line>`;
  }).join('\n');
  const names = [...new Set(visits.map((v) => v.stageName))];
  const legend = names.map((n) => `<span class="key"><span class="swatch" style="background:${stageColour(n)}"></span>${escapeHtml(n)}</span>`).join(' ');
  return `<svg class="timeline" viewBox="0 0 ${width} 74" preserveAspectRatio="none" role="img" aria-label="boot stage timeline">
<text x="0" y="12" font-size="11">instruction ${fmt(first)}</text><text x="${width}" y="12" font-size="11" text-anchor="end">${fmt(last)}</text>
${bands}
${marks}
</svg>
<div class="legend">${legend} <span class="key">| snapshots</span></div>`;
}

function mismatchText(r: RegionInfo): string {
  if (r.expectedPattern === null) return '';
  if (r.firstMismatchOffset === null) return 'none';
  return `${hex(r.startAddress + BigInt(r.firstMismatchOffset))} (+${hex(r.firstMismatchOffset)})`;
}

function finalRegionsTable(regions: RegionInfo[], dropped: Map<RegionInfo, number>): string {
  return table(['Region', 'Address', 'Size', 'Pattern', 'Matching words', 'Match', 'Result', 'First mismatch', 'MD5'], regions.map((r) => {
    const pct = r.matchPercentage ?? 0;
    const patterned = r.expectedPattern !== null;
    return [
      escapeHtml(r.regionName), `<code>${hex(r.startAddress)}</code>`, `${hex(r.size)}`,
      patterned ? `<code>${hex(r.expectedPattern as number).toUpperCase().replace('0X', '0x')}</code>` : '-',
      patterned ? `${fmt(r.patternMatches ?? 0)} / ${fmt(r.totalWords ?? 0)}` : '-',
      patterned ? `<span class="pct" style="background:${matchColour(pct)}">${pct.toFixed(1)}%</span>` : '-',
      !patterned ? '-' : !r.success ? '<span class="bad">FAIL</span>'
        : dropped.has(r) ? `<span class="bad">pass, dropped from ${(dropped.get(r) as number).toFixed(1)}%</span>` : '<span class="ok">pass</span>',
      `<code>${escapeHtml(mismatchText(r))}</code>`, `<code>${escapeHtml(r.checksum ?? '')}</code>`,
    ];
  }));
}

type RegionHistory = Map<string, { snapshot: SnapshotInfo; region: RegionInfo }[]>;

/** Each painted region's result in every snapshot, in snapshot order. */
function regionHistory(store: RecordingStore, snapshots: SnapshotInfo[]): RegionHistory {
  const perRegion: RegionHistory = new Map();
  for (const s of snapshots) {
    for (const r of store.regions(s.snapshotId)) {
      if (r.expectedPattern === null) continue;
      let list = perRegion.get(r.regionName);
      if (!list) perRegion.set(r.regionName, (list = []));
      list.push({ snapshot: s, region: r });
    }
  }
  return perRegion;
}

/**
 * Painted regions whose match fell after it had been higher (a later write overwrote the pattern), even
 * when still above the threshold: the seed's corrupted-stack case (95.3 % > 90 %) must not read as "pass".
 */
function droppedRegions(history: RegionHistory, finalRegions: RegionInfo[]): { region: RegionInfo; peak: number }[] {
  const out: { region: RegionInfo; peak: number }[] = [];
  for (const r of finalRegions) {
    if (r.expectedPattern === null || r.success === false || r.matchPercentage === null) continue;
    const peak = Math.max(...(history.get(r.regionName) ?? []).map((h) => h.region.matchPercentage ?? 0));
    if (peak > r.matchPercentage) out.push({ region: r, peak });
  }
  return out;
}

/** One row per painted region, one cell per snapshot: how the painting (and any corruption) progressed. */
function evolutionSvg(perRegion: RegionHistory, snapshots: SnapshotInfo[]): string {
  if (perRegion.size === 0) return '<p>No painted regions configured.</p>';
  const cell = 14;
  const label = 130;
  const cols = snapshots.length;
  const rows = [...perRegion.entries()].map(([name, cells], i) => {
    const y = i * (cell + 4);
    const rects = cells.map(({ snapshot, region }) => {
      const col = snapshots.indexOf(snapshot);
      const pct = region.matchPercentage ?? 0;
      return `<rect x="${label + col * cell}" y="${y}" width="${cell - 1}" height="${cell}" fill="${matchColour(pct)}"><title>${escapeHtml(
        `${name} at snapshot ${snapshot.snapshotId} (instruction ${snapshot.sequenceNumber ?? '?'}, ${snapshot.bootStage}): ${pct.toFixed(1)}% of ${region.totalWords} words`)}</title></rect>`;
    }).join('');
    return `<text x="0" y="${y + cell - 3}" font-size="11">${escapeHtml(name)}</text>${rects}`;
  }).join('\n');
  return `<svg class="evolution" width="${label + cols * cell}" height="${perRegion.size * (cell + 4)}" role="img" aria-label="pattern match per snapshot">\n${rows}\n</svg>`;
}

/** How many regions the session's configuration listed, when its config_json says. */
function configuredRegionCount(configJson: string | null): number | undefined {
  try {
    const regions: unknown = configJson ? (JSON.parse(configJson) as { regions?: unknown }).regions : undefined;
    return Array.isArray(regions) ? regions.length : undefined;
  } catch {
    return undefined; // a hand-written or older row: fall back to what the snapshots hold
  }
}

/**
 * The summary line for painted regions. It only claims "all pass" when there were painted regions and a
 * snapshot to check them in; otherwise it says which of the two is missing.
 */
function paintedSummary(configuredRegions: number | undefined, finalRegions: RegionInfo[], hasSnapshot: boolean, failing: RegionInfo[], dropped: { region: RegionInfo; peak: number }[]): string {
  const noRegions = 'none: the recording has no memory regions configured (add "regions" with a "pattern" to check painting)';
  if (configuredRegions === 0) return noRegions;
  if (!hasSnapshot) return 'not checked: no snapshot was taken';
  const painted = finalRegions.filter((r) => r.expectedPattern !== null && r.expectedPattern !== undefined);
  if (finalRegions.length === 0) return noRegions;
  if (painted.length === 0) {
    return `none: ${finalRegions.length} region${finalRegions.length === 1 ? '' : 's'} captured, none with a "pattern" to check`;
  }
  const parts: string[] = [];
  if (failing.length > 0) {
    parts.push(`${failing.length} failing: ${failing.map((r) => `${escapeHtml(r.regionName)} from ${escapeHtml(mismatchText(r))}`).join('; ')}`);
  }
  for (const { region: r, peak } of dropped) {
    parts.push(`${escapeHtml(r.regionName)} dropped from ${peak.toFixed(1)}% to ${(r.matchPercentage ?? 0).toFixed(1)}% after painting, first mismatch at ${escapeHtml(mismatchText(r))} (still above its ${r.threshold ?? '?'}% threshold)`);
  }
  return parts.length === 0 ? `<span class="ok">all ${painted.length} pass at the last snapshot</span>` : `<span class="bad">${parts.join('; ')}</span>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1e1e1e; background: #fff; }
@media (prefers-color-scheme: dark) { body { color: #ddd; background: #1e1e1e; } th { background: #333 !important; } }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #8884; }
table { border-collapse: collapse; width: 100%; font-size: 13px; } th, td { padding: 3px 8px; border: 1px solid #8884; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } code, pre { font-family: ui-monospace, monospace; } pre { background: #8881; padding: .75rem; overflow: auto; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 1rem; } dt { font-weight: 600; }
.timeline { width: 100%; height: 90px; } .legend { font-size: 12px; } .key { margin-right: .8rem; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
.pct { color: #fff; padding: 0 4px; border-radius: 3px; } .ok { color: #2e7d32; font-weight: 600; } .bad { color: #c62828; font-weight: 700; }
`;

/** Renders session `sessionId` of `store` as one HTML document. Throws when the session does not exist. */
export function renderHtmlReport(store: RecordingStore, sessionId: number): string {
  const session = store.getSession(sessionId);
  if (!session) throw new RangeError(`session ${sessionId} does not exist`);
  const visits = store.stages(sessionId);
  const snapshots = store.snapshots(sessionId);
  const last = snapshots.at(-1);
  const finalRegions = last ? store.regions(last.snapshotId) : [];
  const failing = finalRegions.filter((r) => r.expectedPattern !== null && r.success === false);
  const history = regionHistory(store, snapshots);
  const dropped = droppedRegions(history, finalRegions);
  const timing = store.query(SEED_BOOT_SEQUENCE_TIMING, [sessionId]);
  const functions = store.query(`SELECT function_name, COUNT(*) AS execution_count, COUNT(DISTINCT boot_stage) AS active_stages,
       printf('0x%x', MIN(pc_address)) AS start_addr, printf('0x%x', MAX(pc_address)) AS end_addr
FROM instruction_traces WHERE session_id = ? AND function_name != 'unknown'
GROUP BY function_name ORDER BY execution_count DESC LIMIT 30`, [sessionId]);
  const metrics = store.query('SELECT name, value, unit FROM metrics WHERE session_id = ? ORDER BY metric_id', [sessionId]);

  const summary: [string, string][] = [
    ['Description', escapeHtml(session.description ?? '')],
    ['Architecture', escapeHtml(session.arch ?? 'unknown')],
    ['Status', `${escapeHtml(session.status)}${session.endReason ? `: ${escapeHtml(session.endReason)}` : ''}`],
    ['Instructions', fmt(session.instructionCount)],
    ['Started / ended', `${escapeHtml(session.startTime)} / ${escapeHtml(session.endTime ?? '-')}`],
    ['QEMU', escapeHtml(session.qemuVersion ?? 'unknown')],
    ['ELF', session.elfPath ? `<code>${escapeHtml(session.elfPath)}</code> (md5 <code>${escapeHtml(session.elfMd5 ?? '?')}</code>)` : '-'],
    ['Snapshots', fmt(snapshots.length)],
    ['Painted regions', paintedSummary(configuredRegionCount(session.configJson), finalRegions, last !== undefined, failing, dropped)],
  ];
  const cellOf = (v: unknown): string => escapeHtml(v === null ? 'NULL' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : v);

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bootscope report: session ${sessionId}${session.description ? ` - ${escapeHtml(session.description.slice(0, 60))}` : ''}</title>
<style>${STYLE}</style></head>
<body>
<h1>Bootscope report: session ${sessionId}</h1>
<dl>${summary.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('\n')}</dl>

<h2>Boot stage timeline</h2>
${timelineSvg(visits, snapshots, session.instructionCount)}

<h2>Stage visits</h2>
${table(['#', 'Stage', 'Visit', 'First instruction', 'Last instruction', 'Instructions', 'Duration (ms)'], visits.map((v) => [
    String(v.ordinal), escapeHtml(v.stageName), String(v.enterCount), fmt(v.firstSequenceNumber), fmt(v.lastSequenceNumber), fmt(v.instructionCount), (v.durationUs / 1000).toFixed(1)]))}

<h2>Memory regions at the last snapshot${last ? ` (#${last.snapshotId}, instruction ${last.sequenceNumber ?? '?'}, stage ${escapeHtml(last.bootStage)})` : ''}</h2>
${last ? finalRegionsTable(finalRegions, new Map(dropped.map((d) => [d.region, d.peak]))) : '<p>No snapshots.</p>'}

<h2>Pattern match across snapshots</h2>
${evolutionSvg(history, snapshots)}

<h2>Busiest functions</h2>
${table(functions.columns, functions.rows.map((r) => r.map(cellOf)))}

<h2>Seed 4.1 boot sequence timing (query run verbatim)</h2>
<pre>${escapeHtml(SEED_BOOT_SEQUENCE_TIMING)}</pre>
${table(timing.columns, timing.rows.map((r) => r.map(cellOf)))}

<h2>Metrics</h2>
${table(metrics.columns, metrics.rows.map((r) => r.map(cellOf)))}

<h2>Guest UART output</h2>
<pre>${escapeHtml(session.uartLog ?? '(not captured)')}</pre>
</body></html>
`;
}
