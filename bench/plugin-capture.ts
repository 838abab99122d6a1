// Plugin capture figures for `npm run bench` (issue 13): the plugin's raw recording rate (writing to
// /dev/null), the TypeScript decoder's throughput, bytes per instruction in the stream, and a record
// window's fast-forward rate against plain QEMU without a plugin - all on QEMU 10 (.cache/qemu10).
//
// Workloads: a loop guest assembled here (a fixed, known amount of work that ends with PSCI SYSTEM_OFF, so
// plain QEMU can be timed to the same point: the worst case for counting, a 6-instruction store loop that
// plain QEMU runs at billions of instructions/s), and, when Debian's u-boot-qemu is installed, U-Boot for
// qemu_arm64 (real firmware code): recorded to a fixed instruction count, and timed to its prompt with and
// without a never-opening window.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaptureDecoder, ensurePlugin, pluginArgument, type RecordWindow } from '../src/capture/plugin';

const REPO = path.resolve(__dirname, '..');
const UBOOT = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
const LOOP_ITERATIONS = Number(process.env.BENCH_PLUGIN_LOOP ?? 50_000_000);
/** Instructions recorded in full on the loop guest (recording runs ~1 M instructions/s). */
const LOOP_RECORDED = Number(process.env.BENCH_PLUGIN_RECORDED ?? 5_000_000);
const UBOOT_INSTRUCTIONS = Number(process.env.BENCH_PLUGIN_UBOOT ?? 12_000_000);
/** Counted (window never opens) on U-Boot: boot, failed autoboot, then its prompt's polling loop. */
const UBOOT_COUNTED = Number(process.env.BENCH_PLUGIN_UBOOT_COUNTED ?? 300_000_000);
const DECODE_INSTRUCTIONS = 2_000_000;
/** A window that never opens: the plugin only counts. */
const NEVER = 2 ** 52;

/** Six instructions per iteration: a store, arithmetic, a compare-and-branch; then PSCI SYSTEM_OFF. */
const LOOP_SOURCE = (iterations: number): string => `
  .text
  .global _start
_start:
  ldr x1, =0x41000000
  ldr x2, =${iterations}
  mov x3, #0
loop:
  str x2, [x1, x3]
  add x3, x3, #8
  and x3, x3, #0xff8
  eor x4, x4, x2
  subs x2, x2, #1
  b.ne loop
  ldr x0, =0x84000008      // PSCI SYSTEM_OFF; -M virt without EL2/EL3 takes PSCI calls over hvc
  hvc #0
  b .
  .ltorg
`;

function buildLoopGuest(dir: string, iterations: number): string {
  const src = path.join(dir, `loop-${iterations}.s`);
  const obj = path.join(dir, `loop-${iterations}.o`);
  const elf = path.join(dir, `loop-${iterations}.elf`);
  fs.writeFileSync(src, LOOP_SOURCE(iterations));
  execFileSync('aarch64-linux-gnu-as', ['-o', obj, src]);
  execFileSync('aarch64-linux-gnu-ld', ['-Ttext', '0x40000000', '-e', '_start', '-o', elf, obj]);
  return elf;
}

/** Runs QEMU to its exit (guest power-off or the plugin's exit_on_stop); wall seconds. */
function runQemu(binary: string, args: string[], timeoutMs = 300_000): Promise<number> {
  process.stderr.write(`bench: plugin: ${args.filter((a) => a.includes('.elf') || a.includes('.bin') || a.includes('out=')).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code === 0) resolve(s);
      else reject(new Error(`${binary} exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/**
 * Seconds from start until U-Boot's `=> ` prompt appears on the UART (QEMU then gets SIGTERM, so a
 * plugin's END record is written). Under -icount the autoboot countdown is a fixed number of instructions,
 * so the prompt is a fixed point in the boot that plain QEMU can be timed to as well.
 */
function timeToPrompt(binary: string, args: string[], timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(binary, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let uart = '';
    let seconds: number | undefined;
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => {
      uart = (uart + d.toString('latin1')).slice(-4096);
      if (seconds === undefined && uart.includes('=> ')) {
        seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        p.kill('SIGTERM');
      }
    });
    p.on('exit', () => {
      clearTimeout(timer);
      if (seconds !== undefined) resolve(seconds);
      else reject(new Error(`U-Boot printed no prompt; UART: ${uart.slice(-300)}`));
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Instructions the plugin counted in a run (its END record). */
function executedIn(file: string): number {
  const d = new CaptureDecoder();
  const end = d.push(fs.readFileSync(file)).find((e) => e.kind === 'end');
  if (!end || end.kind !== 'end') throw new Error(`${file}: no END record`);
  return end.executed.reduce((a, b) => a + b, 0);
}

function decodeRate(file: string): { events_per_s: number; instructions_per_s: number; bytes_per_instruction: number; bytes: number } {
  const bytes = fs.readFileSync(file);
  const t0 = process.hrtime.bigint();
  const d = new CaptureDecoder();
  let events = 0;
  let executed = 0;
  // 64 KiB chunks, as a pipe delivers them
  for (let at = 0; at < bytes.length; at += 65536) {
    for (const e of d.push(bytes.subarray(at, Math.min(bytes.length, at + 65536)))) {
      events++;
      if (e.kind === 'executed') executed++;
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { events_per_s: Math.round(events / s), instructions_per_s: Math.round(executed / s), bytes_per_instruction: +(bytes.length / executed).toFixed(1), bytes: bytes.length };
}

export async function pluginCaptureBench(tmp: string): Promise<Record<string, unknown>> {
  const qemu = path.join(REPO, '.cache', 'qemu10', 'bin', 'qemu-system-aarch64');
  if (!fs.existsSync(qemu)) return { skipped: 'QEMU 10 missing: run bash scripts/qemu10.sh' };
  const plugin = ensurePlugin();
  const dir = fs.mkdtempSync(path.join(tmp, 'plugin-'));
  const machine = (kernel: string[]): string[] => ['-M', 'virt', '-cpu', 'cortex-a53', '-m', '1024M', ...kernel, '-display', 'none', '-monitor', 'none', '-serial', 'null', '-nic', 'none'];
  const withPlugin = (out: string, window: RecordWindow = {}): string[] => ['-plugin', pluginArgument({ pluginPath: plugin, out, window })];

  // Loop guest: the same work three ways; a 1-iteration build measures QEMU's start and exit alone.
  const loop = machine(['-kernel', buildLoopGuest(dir, LOOP_ITERATIONS)]);
  const startup = await runQemu(qemu, machine(['-kernel', buildLoopGuest(dir, 1)]));
  const plain = await runQemu(qemu, loop);
  const countFile = path.join(dir, 'count.bin');
  const fastForward = await runQemu(qemu, [...loop, ...withPlugin(countFile, { startCount: NEVER })]);
  const instructions = executedIn(countFile);
  const recordAll = await runQemu(qemu, [...loop, ...withPlugin('/dev/null', { stopCount: LOOP_RECORDED, exitOnStop: true })]);
  const rate = (seconds: number, n = instructions): number => Math.round(n / Math.max(1e-6, seconds - startup));
  const result: Record<string, unknown> = {
    loop_guest: {
      instructions,
      qemu_start_exit_s: +startup.toFixed(3),
      plain_qemu_s: +plain.toFixed(3),
      plain_qemu_instr_per_s: rate(plain),
      window_fast_forward_s: +fastForward.toFixed(3),
      window_fast_forward_instr_per_s: rate(fastForward),
      fast_forward_vs_plain: +((plain - startup) / Math.max(1e-6, fastForward - startup)).toFixed(3),
      plugin_raw_instructions: LOOP_RECORDED,
      plugin_raw_s: +recordAll.toFixed(3),
      plugin_raw_instr_per_s: rate(recordAll, LOOP_RECORDED),
    },
  };

  // U-Boot: real firmware, run to a fixed instruction count; recorded to /dev/null and only counted.
  if (fs.existsSync(UBOOT)) {
    const uboot = machine(['-bios', UBOOT]);
    const rawSeconds = await runQemu(qemu, [...uboot, ...withPlugin('/dev/null', { stopCount: UBOOT_INSTRUCTIONS, exitOnStop: true })]);
    const ffSeconds = await runQemu(qemu, [...uboot, ...withPlugin('/dev/null', { startCount: NEVER, stopCount: UBOOT_COUNTED, exitOnStop: true })]);
    const decodeFile = path.join(dir, 'uboot.bin');
    await runQemu(qemu, [...uboot, ...withPlugin(decodeFile, { stopCount: DECODE_INSTRUCTIONS, exitOnStop: true })]);
    // Plain QEMU vs a window that never opens, to the same point (the prompt), 3 runs each, medians.
    const promptArgs = [...uboot.map((a) => (a === 'null' ? 'stdio' : a)), '-icount', 'shift=7'];
    const promptCount = path.join(dir, 'prompt.bin');
    const plainPrompt: number[] = [];
    const ffPrompt: number[] = [];
    for (let i = 0; i < 3; i++) {
      plainPrompt.push(await timeToPrompt(qemu, promptArgs));
      ffPrompt.push(await timeToPrompt(qemu, [...promptArgs, ...withPlugin(promptCount, { startCount: NEVER })]));
    }
    const promptInstructions = executedIn(promptCount);
    const plainS = median(plainPrompt);
    const ffS = median(ffPrompt);
    result.uboot_qemu_arm64 = {
      to_prompt_icount_shift7: {
        instructions: promptInstructions,
        plain_qemu_s_median: +plainS.toFixed(3),
        window_fast_forward_s_median: +ffS.toFixed(3),
        plain_qemu_instr_per_s: Math.round(promptInstructions / Math.max(1e-6, plainS - startup)),
        window_fast_forward_instr_per_s: Math.round(promptInstructions / Math.max(1e-6, ffS - startup)),
        fast_forward_vs_plain: +((plainS - startup) / Math.max(1e-6, ffS - startup)).toFixed(3),
      },
      instructions: UBOOT_INSTRUCTIONS,
      plugin_raw_s: +rawSeconds.toFixed(3),
      plugin_raw_instr_per_s: Math.round(UBOOT_INSTRUCTIONS / Math.max(1e-6, rawSeconds - startup)),
      window_fast_forward_instructions: UBOOT_COUNTED,
      window_fast_forward_s: +ffSeconds.toFixed(3),
      window_fast_forward_instr_per_s: Math.round(UBOOT_COUNTED / Math.max(1e-6, ffSeconds - startup)),
      decoder: decodeRate(decodeFile),
    };
  } else {
    result.uboot_qemu_arm64 = { skipped: `${UBOOT} missing: apt-get install u-boot-qemu` };
    const decodeFile = path.join(dir, 'loop.bin');
    await runQemu(qemu, [...loop, ...withPlugin(decodeFile, { stopCount: DECODE_INSTRUCTIONS, exitOnStop: true })]);
    result.loop_guest_decoder = decodeRate(decodeFile);
  }
  // The headline figures, flat (as the issue names them).
  const loopFigures = result.loop_guest as Record<string, number>;
  const ubootFigures = result.uboot_qemu_arm64 as Record<string, unknown>;
  result.plugin_raw_instr_per_s = ubootFigures.plugin_raw_instr_per_s ?? loopFigures.plugin_raw_instr_per_s;
  result.window_fast_forward_vs_plain = {
    tight_store_loop: loopFigures.fast_forward_vs_plain,
    uboot_to_prompt: (ubootFigures.to_prompt_icount_shift7 as Record<string, number> | undefined)?.fast_forward_vs_plain,
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}
