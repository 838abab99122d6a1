// Shared helpers for the plugin capture tests: QEMU 10 (provisioned by scripts/qemu10.sh on first use), the
// built plugin, the demo guests' QEMU arguments, a full capture collected into arrays, and a gdbstub
// single-step run of the same guest on the same QEMU to compare against.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaptureDecoder, ensurePlugin, PluginCapture, type CaptureEvent, type InstructionDefinition, type InstructionExecuted, type MemoryWrite, type RecordWindow, RegisterFile, type StreamEnd, type StreamHeader, type StreamTermination, type WindowEvent } from '../../src/capture/plugin';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { GdbTarget } from '../../src/target';
import { demoQemuConfig, GUEST_DIR } from './demo-recording';
import { killIfAlive } from './qemu-fixtures';

export const REPO = path.resolve(__dirname, '..', '..');
const QEMU10_DIR = path.join(REPO, '.cache', 'qemu10');

/** Icount makes a free run a function of the instruction count alone (the timer interrupt lands on the same
 * instruction every run); sleep=off jumps idle time to the next timer deadline instead of following the
 * host clock. */
export const DETERMINISTIC = ['-icount', 'shift=0,sleep=off'];
/** For gdbstub single-stepping: QEMU 10 with icount sleep=off never completes a step once the guest's
 * timer is armed (the step waits for a deadline that only host time would reach), so stepped runs keep
 * sleep=on. Each comparison of a stepped run is therefore made within one QEMU, or before the first
 * interrupt. */
export const STEPPED = ['-icount', 'shift=0,sleep=on'];

let provisioned: { binaries: Record<'arm' | 'aarch64', string> } | { skip: string } | undefined;

/**
 * The QEMU 10 wrappers, provisioning them with scripts/qemu10.sh when missing. Returns a skip reason only
 * outside CI when provisioning is impossible here (not root); in CI a failure fails the tests.
 */
export function qemu10(): { binaries: Record<'arm' | 'aarch64', string> } | { skip: string } {
  if (provisioned) return provisioned;
  const binaries = { arm: path.join(QEMU10_DIR, 'bin', 'qemu-system-arm'), aarch64: path.join(QEMU10_DIR, 'bin', 'qemu-system-aarch64') };
  if (!fs.existsSync(path.join(QEMU10_DIR, '.complete'))) {
    try {
      execFileSync('bash', [path.join(REPO, 'scripts', 'qemu10.sh')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 900_000 });
    } catch (e) {
      const why = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e);
      if (process.env.CI) throw new Error(`scripts/qemu10.sh failed: ${why}`);
      provisioned = { skip: `QEMU 10 is not provisioned and scripts/qemu10.sh could not do it here (${why.split('\n').pop()}); run: sudo bash scripts/qemu10.sh` };
      return provisioned;
    }
  }
  provisioned = { binaries };
  return provisioned;
}

export function qemu10Binary(arch: 'arm' | 'aarch64'): string {
  const q = qemu10();
  if ('skip' in q) throw new Error(q.skip);
  return q.binaries[arch];
}

export type DemoBuild = 'demo-arm32' | 'demo-aarch64' | 'demo-arm32-corrupted' | 'demo-aarch64-corrupted';

export function archOf(build: DemoBuild): 'arm' | 'aarch64' {
  return build.startsWith('demo-arm32') ? 'arm' : 'aarch64';
}

export function demoElf(build: DemoBuild): string {
  return path.join(GUEST_DIR, 'build', `${build}.elf`);
}

/** QEMU arguments (no binary, no -plugin) for a demo build: the guest/demo-*.json machine, no UART, no NIC. */
export function demoArgs(build: DemoBuild, extra: readonly string[] = DETERMINISTIC): string[] {
  const cfg = demoQemuConfig(build.startsWith('demo-arm32') ? 'arm32' : 'aarch64');
  return ['-M', cfg.machine, '-cpu', cfg.cpu ?? '', '-m', cfg.memory ?? '1024M', '-kernel', demoElf(build),
    '-display', 'none', '-monitor', 'none', '-serial', 'null', '-nic', 'none', ...extra];
}

export interface CollectedCapture {
  header: StreamHeader;
  events: CaptureEvent[];
  instructions: InstructionDefinition[];
  executed: InstructionExecuted[];
  writes: MemoryWrite[];
  windows: WindowEvent[];
  end: StreamEnd | undefined;
  termination: StreamTermination;
  stderr: string;
}

/** Runs one capture to the end of its stream (QEMU exits or is killed) and collects every event. */
export async function collectCapture(build: DemoBuild, window: RecordWindow, options: { extraArgs?: string[]; pluginPath?: string; bufferBytes?: number; pipeBytes?: number; onBatch?: (events: CaptureEvent[], capture: PluginCapture) => Promise<void> | void; timeoutMs?: number } = {}): Promise<CollectedCapture> {
  const capture = new PluginCapture({
    qemuBinary: qemu10Binary(archOf(build)),
    qemuArgs: demoArgs(build, options.extraArgs ?? DETERMINISTIC),
    pluginPath: options.pluginPath ?? ensurePlugin(),
    window,
    bufferBytes: options.bufferBytes,
    pipeBytes: options.pipeBytes,
  });
  const timer = setTimeout(() => capture.kill(), options.timeoutMs ?? 60_000);
  const out: CollectedCapture = { header: undefined as unknown as StreamHeader, events: [], instructions: [], executed: [], writes: [], windows: [], end: undefined, termination: undefined as unknown as StreamTermination, stderr: '' };
  try {
    const it = capture.batches();
    for (;;) {
      const r = await it.next();
      if (r.done) {
        out.termination = r.value;
        break;
      }
      out.header = r.value.header;
      for (const e of r.value.events) {
        out.events.push(e);
        if (e.kind === 'instruction') out.instructions.push(e);
        else if (e.kind === 'executed') out.executed.push(e);
        else if (e.kind === 'memoryWrite') out.writes.push(e);
        else if (e.kind === 'windowStart' || e.kind === 'windowStop') out.windows.push(e);
        else if (e.kind === 'end') out.end = e;
      }
      if (options.onBatch) await options.onBatch(r.value.events, capture);
    }
    await capture.exited;
  } finally {
    clearTimeout(timer);
    capture.kill();
  }
  out.stderr = capture.stderr;
  return out;
}

/** Full register state (core set + pc) before every executed instruction of a capture. */
export function registerStates(c: CollectedCapture): Array<Map<string, bigint>> {
  const file = new RegisterFile();
  const states: Array<Map<string, bigint>> = [];
  for (const e of c.events) {
    file.apply(e);
    if (e.kind === 'executed') states.push(file.snapshot(e.vcpu, e.instruction.pc));
  }
  return states;
}

export interface GdbStep {
  pc: bigint;
  registers: Map<string, bigint>;
}

/**
 * Single-steps `build` on QEMU 10 over the gdbstub (interrupts allowed while stepping, like the recorder's
 * stepMode "interrupts") and returns the registers before each instruction, up to and including the first
 * instruction at `stopPc` or `maxSteps` instructions. `extraArgs` go to QEMU (e.g. a -plugin recording the
 * same run); `extraRegisters` are read beside `g`; `stepsAfterStop` more steps run after `stopPc` (not
 * returned); QEMU then quits gracefully, so its exit handlers run.
 */
export async function gdbStepTrace(build: DemoBuild, stopPc: bigint, maxSteps: number, options: { extraArgs?: string[]; stepsAfterStop?: number; extraRegisters?: readonly string[] } = {}): Promise<GdbStep[]> {
  const cfg = demoQemuConfig(build.startsWith('demo-arm32') ? 'arm32' : 'aarch64');
  let qemu: QemuProcess | undefined;
  let target: GdbTarget | undefined;
  try {
    qemu = await launchQemu({ qemu: { ...cfg, binary: qemu10Binary(archOf(build)), kernel: demoElf(build), extraArgs: options.extraArgs ?? [...STEPPED] } });
    target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort, timeoutMs: 15_000 });
    const bits = await target.stepFlagBits();
    await target.setStepFlags(bits.get('ENABLE') ?? 1);
    const steps: GdbStep[] = [];
    for (let i = 0; i < maxSteps; i++) {
      // Registers outside `g` (e.g. fpsr) are read with `p`, pipelined with the `g`.
      const t = target;
      const [raw, ...extra] = await Promise.all([t.readRegisters(), ...(options.extraRegisters ?? []).map((r) => t.readRegister(r))]);
      const registers = t.decodeRegisters(raw);
      (options.extraRegisters ?? []).forEach((r, i) => registers.set(r, extra[i]));
      const pc = registers.get('pc');
      if (pc === undefined) throw new Error('gdbstub g packet has no pc');
      steps.push({ pc, registers });
      if (pc === stopPc) break;
      try {
        await target.step();
      } catch (e) {
        throw new Error(`gdbstub step ${i + 1} at pc 0x${pc.toString(16)} failed: ${String(e)}`);
      }
    }
    for (let i = 0; i < (options.stepsAfterStop ?? 0); i++) await target.step();
    await target.close();
    target = undefined;
    await qemu.shutdown();
    return steps;
  } finally {
    await target?.close().catch(() => undefined);
    if (qemu) {
      killIfAlive(qemu.pid);
    }
  }
}

/** Decodes a capture file written by the plugin (out=PATH) completely. */
export function decodeCaptureFile(file: string): CollectedCapture {
  const decoder = new CaptureDecoder();
  const events = decoder.push(fs.readFileSync(file));
  const out: CollectedCapture = { header: decoder.header as StreamHeader, events, instructions: [], executed: [], writes: [], windows: [], end: undefined, termination: decoder.finish(), stderr: '' };
  for (const e of events) {
    if (e.kind === 'instruction') out.instructions.push(e);
    else if (e.kind === 'executed') out.executed.push(e);
    else if (e.kind === 'memoryWrite') out.writes.push(e);
    else if (e.kind === 'windowStart' || e.kind === 'windowStop') out.windows.push(e);
    else if (e.kind === 'end') out.end = e;
  }
  return out;
}
