// When to capture the configured memory regions (seed 2.3.3): at the start, at every boot-stage
// transition, every N instructions, on demand, and at the end. Pure: the recorder asks `due(...)` with the
// sequence number and whether the stage just changed, once per instruction.
import type { SnapshotPolicy as PolicyConfig } from '../common/config';

export type SnapshotTrigger = 'start' | 'stage' | 'interval' | 'manual' | 'end';

export class SnapshotPolicy {
  private lastIntervalSeq = 0;

  constructor(private readonly cfg: PolicyConfig, private readonly regionCount: number) {}

  /** The trigger for a snapshot at this instruction, or undefined when none is due. */
  due(sequenceNumber: number, stageChanged: boolean): SnapshotTrigger | undefined {
    if (this.regionCount === 0) return undefined;
    if (stageChanged && this.cfg.onStageChange) {
      this.lastIntervalSeq = sequenceNumber;
      return 'stage';
    }
    const every = this.cfg.everyInstructions;
    if (every > 0 && sequenceNumber - this.lastIntervalSeq >= every) {
      this.lastIntervalSeq = sequenceNumber;
      return 'interval';
    }
    return undefined;
  }
}
