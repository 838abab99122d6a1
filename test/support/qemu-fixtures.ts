// Shared helpers for the QEMU-backed tests: the two target configurations, a tiny guest assembled on the
// spot (writes a known line to the virt board's PL011 at 0x09000000, then spins), and process probes.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Arch, QemuConfig } from '../../src/common/config';

export interface QemuTarget {
  arch: Arch;
  binary: string;
  machine: string;
  cpu: string;
}

export const QEMU_TARGETS: readonly QemuTarget[] = [
  { arch: 'arm', binary: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a15' },
  { arch: 'aarch64', binary: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a53' },
];

/** RAM base of QEMU's `virt` board for both architectures; the tiny guest is linked there. */
export const VIRT_RAM_BASE = 0x40000000;
/** The line the tiny guest prints on the UART. */
export const TINY_GUEST_MESSAGE = 'bootscope tiny guest says hello\n';

export interface TinyGuest {
  /** The ELF passed to -kernel. */
  elf: string;
  /** The same image as raw bytes (objcopy -O binary), loaded at VIRT_RAM_BASE. */
  image: Buffer;
  dir: string;
}

const ARM_SOURCE = `
  .text
  .global _start
_start:
  ldr r1, =0x09000000      @ PL011 UARTDR on -M virt
  adr r2, message
next:
  ldrb r0, [r2], #1
  cmp r0, #0
  beq spin
  str r0, [r1]
  b next
spin:
  b spin
message:
  .asciz ${JSON.stringify(TINY_GUEST_MESSAGE)}
  .align 2
  .ltorg
`;

const AARCH64_SOURCE = `
  .text
  .global _start
_start:
  ldr x1, =0x09000000      // PL011 UARTDR on -M virt
  adr x2, message
next:
  ldrb w0, [x2], #1
  cbz w0, spin
  str w0, [x1]
  b next
spin:
  b spin
message:
  .asciz ${JSON.stringify(TINY_GUEST_MESSAGE)}
  .align 3
  .ltorg
`;

/** Assembles and links the tiny guest for `arch` into a fresh temp dir (removed by removeTinyGuest). */
export function buildTinyGuest(arch: Arch): TinyGuest {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bootscope-tiny-${arch}-`));
  const prefix = arch === 'arm' ? 'arm-none-eabi-' : 'aarch64-linux-gnu-';
  const src = path.join(dir, 'tiny.s');
  const obj = path.join(dir, 'tiny.o');
  const elf = path.join(dir, 'tiny.elf');
  const bin = path.join(dir, 'tiny.bin');
  fs.writeFileSync(src, arch === 'arm' ? ARM_SOURCE : AARCH64_SOURCE);
  execFileSync(`${prefix}as`, ['-o', obj, src]);
  execFileSync(`${prefix}ld`, ['-Ttext', `0x${VIRT_RAM_BASE.toString(16)}`, '-e', '_start', '-o', elf, obj]);
  execFileSync(`${prefix}objcopy`, ['-O', 'binary', elf, bin]);
  return { elf, image: fs.readFileSync(bin), dir };
}

export function removeTinyGuest(guest: TinyGuest | undefined): void {
  if (guest) fs.rmSync(guest.dir, { recursive: true, force: true });
}

export function qemuConfigFor(target: QemuTarget, kernel?: string, extraArgs: string[] = []): QemuConfig {
  return { binary: target.binary, machine: target.machine, cpu: target.cpu, memory: '128M', kernel, extraArgs };
}

/**
 * True while `pid` is a live process. A zombie (exited, not yet reaped by its new parent, e.g. when PID 1
 * in a container does not reap) counts as gone: it runs nothing and holds no ports.
 */
export function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Field 3 (state) follows the parenthesised command name, which may itself contain spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Polls `condition` every 25 ms; resolves true as soon as it holds, false after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGKILLs `pid` if it is still alive: a last-resort cleanup for `after` hooks (only for pids a test started). */
export function killIfAlive(pid: number | undefined): void {
  if (pid === undefined || pid <= 0 || !pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone in between
  }
}

/**
 * A bare RSP connection for checking what QEMU's gdbstub does on the wire (quirks, readiness), kept
 * independent of src/rsp and src/target on purpose: these tests pin QEMU's behaviour, not our client's.
 */
export class RawRspConnection {
  private received = '';
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: import('node:net').Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.received += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawRspConnection> {
    const net = await import('node:net');
    const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    return new RawRspConnection(socket);
  }

  /** Sends `$payload#cs` (QEMU acks with `+`). */
  send(payload: string): void {
    const sum = [...payload].reduce((s, c) => (s + c.charCodeAt(0)) & 0xff, 0);
    this.socket.write(`$${payload}#${sum.toString(16).padStart(2, '0')}`);
  }

  /** The next packet's payload (acking it), or undefined when none arrives within `timeoutMs`. */
  async nextPacket(timeoutMs = 2000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /\$([^#]*)#[0-9a-fA-F]{2}/.exec(this.received);
      if (m) {
        this.received = this.received.slice(m.index + m[0].length);
        this.socket.write('+');
        return m[1];
      }
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** send + nextPacket. */
  async request(payload: string, timeoutMs = 2000): Promise<string | undefined> {
    this.send(payload);
    return this.nextPacket(timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}
