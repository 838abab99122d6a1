// What the Bootscope status bar item says for a recording status (vscode-free, so it is unit-tested):
// state, instructions recorded, and the rate while recording.
import type { RecordingStatus } from '../adapter/custom-requests';

export interface StatusBarContent {
  text: string;
  tooltip: string;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Compact counts for the status bar: 950, 12.3k, 4.56M. */
export function compactCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

export function statusBarContent(s: RecordingStatus): StatusBarContent {
  if (s.position !== undefined) return replayContent(s, s.position);
  const icon = s.state === 'recording' ? '$(record)' : s.state === 'running' ? '$(play)' : s.state === 'terminated' ? '$(debug-stop)' : '$(debug-pause)';
  const parts = [`${icon} Bootscope`];
  if (s.state === 'recording') parts.push(`recording · ${compactCount(s.instructions)} instr · ${compactCount(Math.round(s.rate))}/s`);
  else if (s.state === 'running') parts.push(`running (not recording) · ${compactCount(s.instructions)} instr`);
  else if (s.state === 'starting') parts.push('starting…');
  else parts.push(`${s.state} · ${compactCount(s.instructions)} instr${s.recording ? '' : ' · recording off'}`);
  const tooltip = [
    `Bootscope session ${s.sessionId ?? '?'} — ${s.state}`,
    `recording: ${s.recording ? 'on' : 'off'}`,
    `instructions recorded: ${fmt(s.instructions)}`,
    s.state === 'recording' ? `rate: ${fmt(Math.round(s.rate))} instructions/s` : undefined,
    s.stage ? `stage: ${s.stage}` : undefined,
    s.pc ? `pc: ${s.pc}` : undefined,
    `snapshots: ${s.snapshots}${s.lastSnapshotId !== undefined ? ` (last #${s.lastSnapshotId})` : ''}`,
    `file: ${s.database}`,
    '',
    s.recording ? 'Click to stop recording' : 'Click to start recording',
  ].filter((l): l is string => l !== undefined);
  return { text: parts.join(' '), tooltip: tooltip.join('\n') };
}

/** A replay: where it stands in the recording; clicking opens Go to Instruction…. */
function replayContent(s: RecordingStatus, position: number): StatusBarContent {
  const text = `$(history) Bootscope replay · instruction ${fmt(position)} of ${compactCount(s.instructions)}${s.stage ? ` · ${s.stage}` : ''}`;
  const tooltip = [
    `Bootscope replay of session ${s.sessionId ?? '?'} — ${s.state}`,
    `instruction: ${fmt(position)} (${fmt(s.instructions)} recorded)`,
    s.stage ? `stage: ${s.stage}` : undefined,
    s.pc ? `pc: ${s.pc}` : undefined,
    `snapshots up to here: ${s.snapshots}${s.lastSnapshotId !== undefined ? ` (last #${s.lastSnapshotId})` : ''}`,
    `file: ${s.database}`,
    '',
    'Click to go to an instruction, a stage entry or a snapshot',
  ].filter((l): l is string => l !== undefined);
  return { text, tooltip: tooltip.join('\n') };
}
