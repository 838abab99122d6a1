// The session browser's content without vscode: recording files → sessions → stages → snapshots →
// regions, each node's label/description/tooltip/icon, the SQL a node stands for ("Copy SQL"), and the
// instruction a node points at ("Reveal Instruction"). session-tree.ts only adapts this to a TreeView,
// so this file is tested against real recording files (test/extension).
import * as path from 'node:path';
import type { RecordingStore, RegionInfo, SessionInfo, SnapshotInfo, StepRecord } from '../store/recording-store';

export interface StageSummary {
  name: string;
  /** Instructions recorded in this stage over all its visits. */
  instructions: number;
  visits: number;
  firstSequenceNumber: number;
  lastSequenceNumber: number;
  durationUs: number;
}

export type SessionTreeNode =
  | { kind: 'file'; file: string }
  | { kind: 'session'; file: string; session: SessionInfo }
  | { kind: 'stage'; file: string; sessionId: number; stage: StageSummary }
  | { kind: 'snapshot'; file: string; sessionId: number; snapshot: SnapshotInfo }
  | { kind: 'region'; file: string; sessionId: number; snapshot: SnapshotInfo; region: RegionInfo };

export type NodeIcon =
  | 'database' | 'session-recording' | 'session-completed' | 'session-stopped' | 'session-failed'
  | 'stage' | 'snapshot' | 'region-pass' | 'region-fail' | 'region';

export interface NodePresentation {
  /** Stable across refreshes, so expanded nodes stay expanded. */
  id: string;
  label: string;
  description?: string;
  tooltip: string;
  icon: NodeIcon;
  collapsible: boolean;
  /** package.json menus match `viewItem` against it (ids.ts TreeItemKinds). */
  contextValue: string;
}

/** Gives an open store for a recording file (the extension shares one connection per file). */
export type StoreLookup = (file: string) => RecordingStore;

const fmt = (n: number): string => n.toLocaleString('en-US');
const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

export function children(lookup: StoreLookup, files: readonly string[], node?: SessionTreeNode): SessionTreeNode[] {
  if (!node) return files.map((file) => ({ kind: 'file', file }));
  switch (node.kind) {
    case 'file':
      return lookup(node.file).listSessions().reverse().map((session) => ({ kind: 'session', file: node.file, session }));
    case 'session':
      return stageSummaries(lookup(node.file), node.session.sessionId).map((stage) => ({ kind: 'stage', file: node.file, sessionId: node.session.sessionId, stage }));
    case 'stage':
      return lookup(node.file).snapshots(node.sessionId)
        .filter((s) => s.bootStage === node.stage.name)
        .map((snapshot) => ({ kind: 'snapshot', file: node.file, sessionId: node.sessionId, snapshot }));
    case 'snapshot':
      return lookup(node.file).regions(node.snapshot.snapshotId)
        .map((region) => ({ kind: 'region', file: node.file, sessionId: node.sessionId, snapshot: node.snapshot, region }));
    case 'region':
      return [];
  }
}

/**
 * One entry per stage name in order of first entry (boot_stages has one row per visit), plus the stages
 * that only snapshots name (a session recorded with `record: false` still has its snapshots).
 */
export function stageSummaries(store: RecordingStore, sessionId: number): StageSummary[] {
  const byName = new Map<string, StageSummary>();
  for (const v of store.stages(sessionId)) {
    const s = byName.get(v.stageName);
    if (!s) {
      byName.set(v.stageName, {
        name: v.stageName, instructions: v.instructionCount, visits: 1,
        firstSequenceNumber: v.firstSequenceNumber, lastSequenceNumber: v.lastSequenceNumber, durationUs: v.durationUs,
      });
    } else {
      s.instructions += v.instructionCount;
      s.visits += 1;
      s.lastSequenceNumber = Math.max(s.lastSequenceNumber, v.lastSequenceNumber);
      s.durationUs += v.durationUs;
    }
  }
  for (const snap of store.snapshots(sessionId)) {
    if (byName.has(snap.bootStage)) continue;
    const seq = snap.sequenceNumber ?? 0;
    byName.set(snap.bootStage, { name: snap.bootStage, instructions: 0, visits: 0, firstSequenceNumber: seq, lastSequenceNumber: seq, durationUs: 0 });
  }
  return [...byName.values()];
}

function sessionIcon(s: SessionInfo): NodeIcon {
  switch (s.status) {
    case 'recording': return 'session-recording';
    case 'completed': return 'session-completed';
    case 'stopped': return 'session-stopped';
    default: return 'session-failed';
  }
}

/** `98.4%` with the threshold verdict, or undefined for a region without an expected pattern. */
export function patternVerdict(r: RegionInfo): string | undefined {
  if (r.expectedPattern === null) return undefined;
  const pct = r.matchPercentage ?? (r.patternMatches !== null && r.size >= 4 ? (r.patternMatches * 100) / Math.floor(r.size / 4) : null);
  if (pct === null) return undefined;
  const ok = r.success ?? pct > (r.threshold ?? 90);
  return `${pct.toFixed(1)}% ${ok ? 'pass' : 'fail'}`;
}

export function present(node: SessionTreeNode): NodePresentation {
  switch (node.kind) {
    case 'file':
      return {
        id: `file:${node.file}`, label: path.basename(node.file), description: path.dirname(node.file),
        tooltip: `Recording file ${node.file}`, icon: 'database', collapsible: true, contextValue: 'bootscope.file',
      };
    case 'session': {
      const s = node.session;
      const when = s.startTime.replace('T', ' ').slice(0, 19);
      const lines = [
        `Session ${s.sessionId}${s.description ? `: ${s.description}` : ''}`,
        `status: ${s.status}${s.endReason ? ` (${s.endReason})` : ''}`,
        `start: ${s.startTime}`, `end: ${s.endTime ?? '(still recording)'}`,
        `instructions: ${fmt(s.instructionCount)}`,
      ];
      if (s.arch) lines.push(`arch: ${s.arch}`);
      if (s.qemuVersion) lines.push(`QEMU: ${s.qemuVersion}`);
      if (s.elfPath) lines.push(`ELF: ${s.elfPath}${s.elfMd5 ? ` (md5 ${s.elfMd5})` : ''}`);
      return {
        id: `session:${node.file}:${s.sessionId}`,
        label: `#${s.sessionId} ${s.description ?? '(no description)'}`,
        description: `${s.status} · ${fmt(s.instructionCount)} instr · ${when}`,
        tooltip: lines.join('\n'), icon: sessionIcon(s), collapsible: true, contextValue: 'bootscope.session',
      };
    }
    case 'stage': {
      const st = node.stage;
      return {
        id: `stage:${node.file}:${node.sessionId}:${st.name}`,
        label: st.name,
        description: `${fmt(st.instructions)} instr${st.visits > 1 ? ` · ${st.visits} visits` : ''}`,
        tooltip: `Stage ${st.name}: ${fmt(st.instructions)} instructions in ${st.visits} visit(s), `
          + `sequence ${st.firstSequenceNumber}–${st.lastSequenceNumber}, ${(st.durationUs / 1000).toFixed(1)} ms`,
        icon: 'stage', collapsible: true, contextValue: 'bootscope.stage',
      };
    }
    case 'snapshot': {
      const s = node.snapshot;
      return {
        id: `snapshot:${node.file}:${s.snapshotId}`,
        label: `#${s.snapshotId} ${s.trigger ?? 'snapshot'}`,
        description: `${s.sequenceNumber !== null ? `seq ${fmt(s.sequenceNumber)} · ` : ''}pc ${hex(s.pc)}`,
        tooltip: `Snapshot ${s.snapshotId} (${s.trigger ?? 'unknown trigger'}) at ${s.timestamp}\nstage ${s.bootStage}, pc ${hex(s.pc)}, `
          + `${fmt(s.totalSize)} bytes${s.changedRegions !== null ? `, ${s.changedRegions} region(s) changed` : ''}`,
        icon: 'snapshot', collapsible: true, contextValue: 'bootscope.snapshot',
      };
    }
    case 'region': {
      const r = node.region;
      const verdict = patternVerdict(r);
      const md5 = r.checksum ? `md5 ${r.checksum.slice(0, 8)}…` : '';
      const pass = verdict?.endsWith('pass');
      return {
        id: `region:${node.file}:${r.regionId}`,
        label: r.regionName,
        description: [verdict, md5].filter(Boolean).join(' · '),
        tooltip: `${r.regionName}: ${hex(r.startAddress)}–${hex(r.endAddress)} (${fmt(r.size)} bytes)\n`
          + (r.expectedPattern !== null
            ? `pattern ${hex(r.expectedPattern >>> 0)}: ${r.patternMatches ?? 0}/${r.totalWords ?? Math.floor(r.size / 4)} words match (${verdict})`
            + (r.firstMismatchOffset !== null ? `, first mismatch at +${hex(r.firstMismatchOffset)}` : '') + '\n'
            : 'no expected pattern\n')
          + `MD5 ${r.checksum ?? '(none)'}`,
        icon: verdict === undefined ? 'region' : pass ? 'region-pass' : 'region-fail',
        collapsible: false, contextValue: 'bootscope.region',
      };
    }
  }
}

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The SQL a node stands for, runnable in the query console or sqlite3 (seed table names). */
export function sqlFor(node: SessionTreeNode): string {
  switch (node.kind) {
    case 'file':
      return 'SELECT session_id, start_time, end_time, description, qemu_version, status, instruction_count\nFROM boot_sessions\nORDER BY session_id;';
    case 'session':
      // Seed 4.1 "Boot Sequence Timing" for this session.
      return `SELECT boot_stage,\n       MIN(timestamp) as start_time,\n       MAX(timestamp) as end_time,\n       COUNT(*) as instruction_count\nFROM instruction_traces\nWHERE session_id = ${node.session.sessionId}\nGROUP BY boot_stage\nORDER BY MIN(sequence_number);`;
    case 'stage':
      return `SELECT sequence_number, timestamp, pc_address, disassembly, function_name\nFROM instruction_traces\nWHERE session_id = ${node.sessionId} AND boot_stage = ${sqlString(node.stage.name)}\nORDER BY sequence_number;`;
    case 'snapshot':
      return `SELECT mr.region_name, mr.start_address, mr.size, mr.expected_pattern, mr.pattern_matches,\n       (mr.pattern_matches * 100.0 / (mr.size / 4)) as match_percentage, mr.checksum\nFROM memory_regions mr\nWHERE mr.snapshot_id = ${node.snapshot.snapshotId}\nORDER BY mr.region_id;`;
    case 'region':
      return `SELECT ms.timestamp, mr.region_name,\n       (mr.pattern_matches * 100.0 / (mr.size / 4)) as match_percentage, mr.checksum\nFROM memory_snapshots ms\nJOIN memory_regions mr ON ms.snapshot_id = mr.snapshot_id\nWHERE ms.session_id = ${node.sessionId} AND mr.region_name = ${sqlString(node.region.regionName)}\nORDER BY ms.timestamp;`;
  }
}

/** The sequence number a node points at: a stage's first instruction, a snapshot's (or its region's) step. */
export function instructionOf(node: SessionTreeNode): { sessionId: number; sequenceNumber: number } | undefined {
  switch (node.kind) {
    case 'stage': return { sessionId: node.sessionId, sequenceNumber: node.stage.firstSequenceNumber };
    case 'snapshot':
    case 'region':
      return node.snapshot.sequenceNumber === null ? undefined : { sessionId: node.sessionId, sequenceNumber: node.snapshot.sequenceNumber };
    default: return undefined;
  }
}

export interface InstructionListing {
  step: StepRecord;
  /** The trace around the instruction, one line per step; `focusLine` is the step itself (0-based). */
  text: string;
  focusLine: number;
}

/** The recorded instruction with `context` steps before and after it, as text for a read-only editor. */
export function instructionListing(store: RecordingStore, sessionId: number, sequenceNumber: number, context = 20): InstructionListing | undefined {
  const from = Math.max(1, sequenceNumber - context);
  const steps = store.steps(sessionId, from, sequenceNumber - from + context + 1);
  const focus = steps.findIndex((s) => s.sequenceNumber === sequenceNumber);
  if (focus < 0) return undefined;
  const header = `# session ${sessionId}, instruction ${sequenceNumber} (${path.basename(store.file)})`;
  const lines = steps.map((s) => {
    const mark = s.sequenceNumber === sequenceNumber ? '=>' : '  ';
    const where = s.sourceFile ? `  ${path.basename(s.sourceFile)}:${s.sourceLine ?? '?'}` : '';
    return `${mark} ${String(s.sequenceNumber).padStart(8)}  ${hex(s.pc).padEnd(12)} ${(s.disassembly ?? '').padEnd(32)} ${s.functionName ?? 'unknown'} [${s.bootStage ?? ''}]${where}`;
  });
  return { step: steps[focus], text: [header, ...lines].join('\n') + '\n', focusLine: focus + 1 };
}
