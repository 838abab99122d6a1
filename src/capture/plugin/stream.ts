// Reads a capture stream from any async byte source (the pipe QEMU writes, a socket, a file) as batches of
// events. Back-pressure is the point: the next chunk is read only when the consumer asks for the next
// batch, so a slow consumer fills the pipe, the plugin's write blocks and the guest pauses - nothing lost.
import { CaptureDecoder } from './decoder';
import type { CaptureEvent, RegisterDefinition, StreamHeader, StreamTermination } from './format';

export interface CaptureBatch {
  header: StreamHeader;
  events: CaptureEvent[];
}

/**
 * Yields the events of each chunk (batches, not single events: a generator step per event would cost more
 * than decoding it) and returns how the stream ended. Throws CaptureStreamError on a malformed stream.
 */
export async function* readCaptureStream(source: AsyncIterable<Uint8Array>, decoder = new CaptureDecoder()): AsyncGenerator<CaptureBatch, StreamTermination, undefined> {
  for await (const chunk of source) {
    const events = decoder.push(chunk);
    const header = decoder.header;
    if (header && events.length > 0) yield { header, events };
  }
  return decoder.finish();
}

/**
 * Every vCPU's current register values, kept up to date from `registers` and `executed` events: what a
 * gdbstub `g` would have returned before each instruction (the core set, plus the pc from the instruction).
 */
export class RegisterFile {
  private readonly layouts: Array<readonly RegisterDefinition[]> = [];
  private readonly values: Array<Array<bigint | undefined>> = [];

  /** Feeds one event; returns true when it changed the vCPU's registers (a layout or an executed instruction). */
  apply(event: CaptureEvent): boolean {
    if (event.kind === 'registers') {
      this.layouts[event.vcpu] = event.registers;
      this.values[event.vcpu] = new Array(event.registers.length).fill(undefined);
      return true;
    }
    if (event.kind !== 'executed') return false;
    const values = this.values[event.vcpu];
    for (const c of event.changed) values[c.index] = c.value;
    return true;
  }

  /** Register name -> value for `vcpu` (registers not yet seen are left out), with `pc` set to `pc`. */
  snapshot(vcpu: number, pc?: bigint): Map<string, bigint> {
    const out = new Map<string, bigint>();
    const layout = this.layouts[vcpu] ?? [];
    const values = this.values[vcpu] ?? [];
    layout.forEach((r, i) => {
      const v = values[i];
      if (v !== undefined) out.set(r.name, v);
    });
    if (pc !== undefined) out.set('pc', pc);
    return out;
  }

  layout(vcpu: number): readonly RegisterDefinition[] {
    return this.layouts[vcpu] ?? [];
  }
}
