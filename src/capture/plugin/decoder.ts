// Decodes the plugin's byte stream (plugin/FORMAT.md) into typed events, chunk by chunk: a record split
// across chunks waits for the rest; at the end, a partial last record is reported, never misparsed.
// Pure: no I/O, so it is tested on byte arrays and fed by any source (pipe, socket, file).
import { isArch } from '../../arch';
import { BootscopeError, ErrorCode } from '../../common/errors';
import {
  type CaptureEvent, type InstructionDefinition, PLUGIN_API_VERSION, RecordType, type RegisterChange,
  type RegisterDefinition, STREAM_FORMAT_VERSION, STREAM_MAGIC, type StreamHeader, type StreamTermination,
  type WindowReason,
} from './format';

/** The stream is not what the plugin writes: wrong magic or version, an unknown record, a bad reference. */
export class CaptureStreamError extends BootscopeError {
  constructor(readonly offset: number, message: string) {
    super(ErrorCode.Target, `capture stream, byte ${offset}: ${message}`);
    this.name = 'CaptureStreamError';
  }
}

const HEADER_FIXED_BYTES = 18;
const NEED_MORE = -1;

interface VcpuState {
  sizes: number[];
  /** Sequence number of the latest EXEC (0 before the first). */
  sequence: number;
}

export class CaptureDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  private consumed = 0;
  private headerValue: StreamHeader | undefined;
  private ended = false;
  private readonly instructions: InstructionDefinition[] = [];
  private readonly vcpus: VcpuState[] = [];

  /** The stream header, once its bytes arrived. */
  get header(): StreamHeader | undefined {
    return this.headerValue;
  }

  /** The instruction with `id`, as defined by an earlier INSN record. */
  instruction(id: number): InstructionDefinition | undefined {
    return this.instructions[id];
  }

  /** Decodes every complete record now available; a record cut off at the chunk's end waits for the next. */
  push(chunk: Uint8Array, out: CaptureEvent[] = []): CaptureEvent[] {
    let buf: Uint8Array;
    if (this.pending.length === 0) {
      buf = chunk;
    } else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    if (!this.headerValue) {
      const next = this.readHeader(buf, view);
      if (next === NEED_MORE) {
        this.pending = buf.slice();
        return out;
      }
      at = next;
    }
    for (;;) {
      if (at >= buf.length) break;
      if (this.ended) {
        throw new CaptureStreamError(this.consumed + at, 'bytes after the END record');
      }
      const next = this.readRecord(buf, view, at, out);
      if (next === NEED_MORE) break;
      at = next;
    }
    this.consumed += at;
    this.pending = at < buf.length ? buf.slice(at) : new Uint8Array(0);
    return out;
  }

  /** Call when the source has ended: how the stream ended (complete, or cut off and where). */
  finish(): StreamTermination {
    return {
      complete: this.ended && this.pending.length === 0,
      truncatedBytes: this.pending.length,
      truncatedRecordType: this.pending.length > 0 && this.headerValue ? this.pending[0] : undefined,
      bytes: this.consumed + this.pending.length,
    };
  }

  private readHeader(buf: Uint8Array, view: DataView): number {
    if (buf.length < HEADER_FIXED_BYTES) return NEED_MORE;
    const magic = String.fromCharCode(...buf.subarray(0, 8));
    if (magic !== STREAM_MAGIC) {
      throw new CaptureStreamError(0, `starts with ${JSON.stringify(magic)}, not ${STREAM_MAGIC}: not a Bootscope plugin stream`);
    }
    const format = view.getUint16(8, true);
    const headerBytes = view.getUint16(10, true);
    if (format !== STREAM_FORMAT_VERSION) {
      throw new CaptureStreamError(8, `format version ${format}; this Bootscope reads version ${STREAM_FORMAT_VERSION}: rebuild the plugin (make -C plugin) from this checkout`);
    }
    if (buf.length < headerBytes) return NEED_MORE;
    const pluginApi = view.getUint16(12, true);
    if (pluginApi !== PLUGIN_API_VERSION) {
      throw new CaptureStreamError(12, `plugin built for QEMU plugin API ${pluginApi}, expected ${PLUGIN_API_VERSION}: rebuild it (make -C plugin)`);
    }
    const nameLength = buf[17];
    const target = String.fromCharCode(...buf.subarray(18, 18 + nameLength));
    this.headerValue = {
      format,
      pluginApi,
      qemuApi: view.getUint16(14, true),
      qemuMinApi: buf[16],
      target,
      arch: isArch(target) ? target : undefined,
    };
    return headerBytes;
  }

  /** Decodes the record at `at`, returning the offset after it, or NEED_MORE when it is incomplete. */
  private readRecord(buf: Uint8Array, view: DataView, at: number, out: CaptureEvent[]): number {
    const left = buf.length - at;
    switch (buf[at]) {
      case RecordType.Executed: {
        if (left < 7) return NEED_MORE;
        const vcpu = buf[at + 1];
        const count = buf[at + 2];
        const id = view.getUint32(at + 3, true);
        const state = this.vcpus[vcpu];
        if (!state) throw new CaptureStreamError(this.consumed + at, `EXEC for vCPU ${vcpu} before its REGS record`);
        const sizes = state.sizes;
        let p = at + 7;
        const changed: RegisterChange[] = new Array(count);
        for (let i = 0; i < count; i++) {
          if (p >= buf.length) return NEED_MORE;
          const index = buf[p];
          const size = sizes[index];
          if (size === undefined) throw new CaptureStreamError(this.consumed + p, `register index ${index} beyond vCPU ${vcpu}'s ${sizes.length} registers`);
          if (p + 1 + size > buf.length) return NEED_MORE;
          changed[i] = { index, value: readUnsigned(view, p + 1, size) };
          p += 1 + size;
        }
        const instruction = this.instructions[id];
        if (!instruction) throw new CaptureStreamError(this.consumed + at, `EXEC of instruction id ${id}, which no INSN record defined`);
        state.sequence++;
        out.push({ kind: 'executed', vcpu, sequence: state.sequence, instruction, changed });
        return p;
      }
      case RecordType.MemoryWrite: {
        if (left < 11) return NEED_MORE;
        const vcpu = buf[at + 1];
        const size = buf[at + 2];
        if (left < 11 + size) return NEED_MORE;
        const state = this.vcpus[vcpu];
        out.push({
          kind: 'memoryWrite', vcpu, sequence: state ? state.sequence : 0,
          address: view.getBigUint64(at + 3, true), value: buf.slice(at + 11, at + 11 + size),
        });
        return at + 11 + size;
      }
      case RecordType.Instruction: {
        if (left < 14) return NEED_MORE;
        const size = buf[at + 1];
        if (left < 14 + size) return NEED_MORE;
        const id = view.getUint32(at + 2, true);
        const def: InstructionDefinition = { kind: 'instruction', id, pc: view.getBigUint64(at + 6, true), bytes: buf.slice(at + 14, at + 14 + size) };
        this.instructions[id] = def;
        out.push(def);
        return at + 14 + size;
      }
      case RecordType.Registers: {
        if (left < 3) return NEED_MORE;
        const vcpu = buf[at + 1];
        const count = buf[at + 2];
        let p = at + 3;
        const registers: RegisterDefinition[] = [];
        for (let i = 0; i < count; i++) {
          if (p + 2 > buf.length) return NEED_MORE;
          const size = buf[p];
          const nameLength = buf[p + 1];
          if (p + 2 + nameLength > buf.length) return NEED_MORE;
          registers.push({ name: String.fromCharCode(...buf.subarray(p + 2, p + 2 + nameLength)), size });
          p += 2 + nameLength;
        }
        const previous = this.vcpus[vcpu];
        this.vcpus[vcpu] = { sizes: registers.map((r) => r.size), sequence: previous ? previous.sequence : 0 };
        out.push({ kind: 'registers', vcpu, registers });
        return p;
      }
      case RecordType.WindowStart:
      case RecordType.WindowStop: {
        if (left < 11) return NEED_MORE;
        const vcpu = buf[at + 1];
        const executedBefore = Number(view.getBigUint64(at + 3, true));
        const state = this.vcpus[vcpu];
        if (buf[at] === RecordType.WindowStart && state) state.sequence = executedBefore;
        out.push({ kind: buf[at] === RecordType.WindowStart ? 'windowStart' : 'windowStop', vcpu, reason: buf[at + 2] as WindowReason, executedBefore });
        return at + 11;
      }
      case RecordType.End: {
        if (left < 2) return NEED_MORE;
        const count = buf[at + 1];
        if (left < 2 + 8 * count) return NEED_MORE;
        const executed: number[] = [];
        for (let i = 0; i < count; i++) executed.push(Number(view.getBigUint64(at + 2 + 8 * i, true)));
        this.ended = true;
        out.push({ kind: 'end', executed });
        return at + 2 + 8 * count;
      }
      default:
        throw new CaptureStreamError(this.consumed + at, `unknown record type 0x${buf[at].toString(16)}`);
    }
  }
}

function readUnsigned(view: DataView, at: number, size: number): bigint {
  if (size === 8) return view.getBigUint64(at, true);
  if (size === 4) return BigInt(view.getUint32(at, true));
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(view.getUint8(at + i));
  return v;
}
