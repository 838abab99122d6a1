// The adapter's custom DAP requests and events (beyond the Debug Adapter Protocol), typed once and used
// by both sides: the adapter answers them, the extension sends them with `DebugSession.customRequest`
// and listens for the events with `onDidReceiveDebugSessionCustomEvent`. No vscode import here.

/** Request command names. The `bootscope/` prefix keeps them apart from standard DAP commands. */
export const CustomRequest = {
  captureSnapshot: 'bootscope/captureSnapshot',
  startRecording: 'bootscope/startRecording',
  stopRecording: 'bootscope/stopRecording',
  recordingStatus: 'bootscope/recordingStatus',
  /** Replay: move to an instruction (`{ sequenceNumber }`), a stage entry (`{ stage, visit? }`) or a snapshot (`{ snapshotId }`). */
  goto: 'bootscope/goto',
  /** Replay: every recorded write to `[address, address + size)` (plugin capture), newest first. */
  whoWrote: 'bootscope/whoWrote',
} as const;

/** Arguments of `bootscope/whoWrote`: `address` a memory reference ("0x41000f40") or a number. */
export interface WhoWroteArguments {
  address: string | number;
  /** Bytes from `address` (default 4). */
  size?: number;
  /** Only writes by instructions before this sequence number (default: the whole session). */
  before?: number;
  /** At most this many rows, newest first (default 100). */
  limit?: number;
}

/** One recorded store in a `bootscope/whoWrote` response; values are hex bytes in memory order. */
export interface WhoWroteRow {
  sequenceNumber: number;
  pc: string;
  functionName: string | null;
  bootStage: string | null;
  address: string;
  size: number;
  value: string;
  /** What the stored bytes held before it, when known. */
  oldValue: string | null;
}

/** Body of the `bootscope/whoWrote` response. */
export interface WhoWroteResult {
  address: string;
  size: number;
  /** The instruction the replay stands at. */
  position: number;
  /** False for a gdbstub-capture recording: it has no memory_writes, so the list is always empty. */
  writesRecorded: boolean;
  writes: WhoWroteRow[];
}

/** Arguments of `bootscope/goto`. */
export type GotoArguments = { sequenceNumber: number } | { stage: string; visit?: number } | { snapshotId: number };

/** Body of the `bootscope/goto` response: where the replay now stands. */
export interface GotoResult {
  sequenceNumber: number;
}

/** Event names the adapter sends. */
export const CustomEvent = {
  /** Sent on every state change and, while running, at most every 250 ms with fresh counters. */
  status: 'bootscope/status',
  /** Sent after a snapshot row was written, so the session tree refreshes at once. */
  snapshotCaptured: 'bootscope/snapshotCaptured',
} as const;

export type ExecutionState = 'starting' | 'stopped' | 'running' | 'recording' | 'terminated';

/** Body of `bootscope/recordingStatus` responses and `bootscope/status` events. */
export interface RecordingStatus {
  state: ExecutionState;
  /** Whether continue/step write instruction rows (launch.json `record`, toggled live). */
  recording: boolean;
  /** The boot_sessions row this debug session writes. */
  sessionId: number | undefined;
  /** Absolute path of the recording file. */
  database: string;
  instructions: number;
  /** Instructions per second over the last progress interval; 0 when stopped. */
  rate: number;
  stage: string;
  snapshots: number;
  lastSnapshotId: number | undefined;
  /** Current program counter as `0x...`, when known. */
  pc: string | undefined;
  /** Replay: the sequence number of the instruction the debugger stands at. */
  position?: number;
}

/** Body of the `bootscope/captureSnapshot` response and the `bootscope/snapshotCaptured` event. */
export interface SnapshotCaptured {
  /** undefined when the configuration has no regions (nothing to capture). */
  snapshotId: number | undefined;
  sessionId: number | undefined;
  database: string;
  sequenceNumber: number;
}
