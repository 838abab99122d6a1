// The capture stream of plugin/libbootscope.so as TypeScript types: the header, the record type codes and
// the typed events the decoder produces. plugin/FORMAT.md is the normative description of the bytes.
import type { Arch } from '../../arch';

export const STREAM_MAGIC = 'BOOTSCOP';
/** The stream format this decoder reads (header field `format`). */
export const STREAM_FORMAT_VERSION = 1;
/** QEMU's plugin API version the plugin is built for: API 4 is QEMU 9.2 - 10.x. */
export const PLUGIN_API_VERSION = 4;

export enum RecordType {
  Registers = 0x01,
  Instruction = 0x02,
  Executed = 0x03,
  MemoryWrite = 0x04,
  WindowStart = 0x05,
  WindowStop = 0x06,
  End = 0x07,
}

export interface StreamHeader {
  format: number;
  /** Plugin API version the plugin declared (qemu_plugin_version). */
  pluginApi: number;
  /** The highest and lowest plugin API versions the running QEMU accepts. */
  qemuApi: number;
  qemuMinApi: number;
  /** QEMU's target name: `arm` or `aarch64`. */
  target: string;
  arch: Arch | undefined;
}

export interface RegisterDefinition {
  name: string;
  /** Bytes of the value in EXEC records (4 or 8 for the core set). */
  size: number;
}

/** Which registers a vCPU's EXEC records index into (sent once per vCPU, before its first EXEC). */
export interface RegisterLayoutEvent {
  kind: 'registers';
  vcpu: number;
  registers: readonly RegisterDefinition[];
}

/** A translated instruction, sent once per distinct (pc, bytes). */
export interface InstructionDefinition {
  kind: 'instruction';
  id: number;
  pc: bigint;
  bytes: Uint8Array;
}

export interface RegisterChange {
  /** Index into the vCPU's register layout. */
  index: number;
  /** Unsigned value, from the little-endian bytes QEMU reported. */
  value: bigint;
}

/** One executed instruction, with the registers that differ from the vCPU's previous EXEC (all of them for
 * the vCPU's first EXEC of the stream). Registers are the state before the instruction executes. */
export interface InstructionExecuted {
  kind: 'executed';
  vcpu: number;
  /** 1-based count of instructions this vCPU executed, including this one (the recorder's sequence number). */
  sequence: number;
  instruction: InstructionDefinition;
  changed: readonly RegisterChange[];
}

/** One store, after it happened: `value` holds the bytes now in memory at `address`, in memory order. */
export interface MemoryWrite {
  kind: 'memoryWrite';
  vcpu: number;
  /** The sequence number of the instruction that stored (the vCPU's latest `executed`). */
  sequence: number;
  address: bigint;
  value: Uint8Array;
}

export enum WindowReason {
  /** The window was open from the first instruction (no start trigger), or another vCPU's trigger. */
  RunStart = 0,
  Pc = 1,
  Count = 2,
}

/** The record window opened or closed; `executedBefore` instructions ran on the vCPU before it. */
export interface WindowEvent {
  kind: 'windowStart' | 'windowStop';
  vcpu: number;
  reason: WindowReason;
  executedBefore: number;
}

/** QEMU exited normally: the plugin's last record, with every vCPU's instruction count. */
export interface StreamEnd {
  kind: 'end';
  executed: readonly number[];
}

export type CaptureEvent = RegisterLayoutEvent | InstructionDefinition | InstructionExecuted | MemoryWrite | WindowEvent | StreamEnd;

/** How a stream ended, from the decoder's point of view. */
export interface StreamTermination {
  /** True when an END record arrived and nothing followed it. */
  complete: boolean;
  /** Bytes of an incomplete last record (QEMU killed mid-write), 0 when the stream ended on a boundary. */
  truncatedBytes: number;
  /** Type code of that incomplete record, when at least its first byte arrived. */
  truncatedRecordType: number | undefined;
  /** Total bytes decoded, header included. */
  bytes: number;
}
