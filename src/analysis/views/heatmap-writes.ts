// "Who wrote this word" for the pattern heatmap (issue 14): a click on a word of a snapshot asks for the
// recorded stores to it (memory_writes, plugin capture) — the last one before the snapshot, whose value the
// snapshot shows, and the list of all of them — through src/store/history.ts on a read-only connection.
// One indexed read per click (a few ms), so it runs in the caller's process.
import type { HeatmapWrite, HeatmapWrites } from '../../protocol/messages';
import { RecordingStore } from '../../store/recording-store';
import { RecordingHistory, type WriteRow } from '../../store/history';

/** What the heatmap host asks when a word is clicked. */
export interface WordHistorySource {
  heatmapWrites(q: { sessionId: number; regionName: string; address: bigint; snapshotId: number; sequenceNumber: number | null; limit?: number }): Promise<HeatmapWrites>;
}

/** How many stores to one word the panel lists at most (newest first). */
export const HEATMAP_WRITES_LIMIT = 50;

function toWrite(r: WriteRow): HeatmapWrite {
  return {
    sequenceNumber: r.sequence_number, pc: r.pc, functionName: r.function_name, bootStage: r.boot_stage,
    address: r.address, size: r.size, value: r.value, oldValue: r.old_value,
  };
}

/** A WordHistorySource on a recording file, opened read-only on first use. */
export class StoreWordHistory implements WordHistorySource {
  private store: RecordingStore | undefined;
  private history: RecordingHistory | undefined;

  constructor(private readonly file: string) {}

  heatmapWrites(q: { sessionId: number; regionName: string; address: bigint; snapshotId: number; sequenceNumber: number | null; limit?: number }): Promise<HeatmapWrites> {
    this.store ??= RecordingStore.open(this.file, { readOnly: true, log: () => undefined });
    const history = (this.history ??= new RecordingHistory(this.store));
    const limit = q.limit ?? HEATMAP_WRITES_LIMIT;
    const writesRecorded = history.writesRecorded(q.sessionId);
    const last = q.sequenceNumber === null ? null : history.lastWriteBefore(q.sessionId, q.address, 4, q.sequenceNumber);
    return Promise.resolve({
      sessionId: q.sessionId, regionName: q.regionName, address: `0x${q.address.toString(16)}`, snapshotId: q.snapshotId,
      sequenceNumber: q.sequenceNumber, writesRecorded, lastBefore: last ? toWrite(last) : null,
      writes: history.whoWrote(q.sessionId, q.address, 4, { limit }).map(toWrite), limit,
    });
  }

  dispose(): void {
    this.store?.close(null);
    this.store = undefined;
    this.history = undefined;
  }
}
