// The demo guest (guest/) against real QEMU 7.2: boots each of the four committed ELFs, checks the UART
// transcript stage by stage, reads the seed's painted regions (seed 2.3.3) through the HMP monitor, checks
// the pinned symbols with nm and the LMA/VMA split with readelf, traces the PC stage by stage with
// QEMU's one-instruction-per-block exec log, and validates the shipped recording configs.
// QEMU is spawned directly (no src/qemu, no gdbstub) so this suite only depends on the guest itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseRecordingConfig } from '../../src/common/config';

const GUEST_DIR = path.join(__dirname, '..', '..', 'guest');
/** Longest a boot to "[done]" may take at full speed (it takes well under a second). */
const BOOT_TIMEOUT_MS = 30_000;

interface GuestBuild {
  name: string;
  arch: 'arm' | 'aarch64';
  corrupted: boolean;
  qemuArgs: string[];
}

const BUILDS: GuestBuild[] = (['arm', 'aarch64'] as const).flatMap((arch) => [false, true].map((corrupted) => ({
  name: `demo-${arch === 'arm' ? 'arm32' : 'aarch64'}${corrupted ? '-corrupted' : ''}`,
  arch,
  corrupted,
  qemuArgs: arch === 'arm'
    ? ['qemu-system-arm', '-M', 'virt', '-cpu', 'cortex-a15']
    : ['qemu-system-aarch64', '-M', 'virt,virtualization=on', '-cpu', 'cortex-a53'],
})));

const elfPath = (b: GuestBuild): string => path.join(GUEST_DIR, 'build', `${b.name}.elf`);

/** The UART transcript, line for line (guest/README.md "UART lines"). */
function expectedUart(arch: 'arm' | 'aarch64'): string[] {
  const a64 = arch === 'aarch64';
  return [
    a64 ? '[elfloader] start (EL2)' : '[elfloader] start',
    '[elfloader] copied kernel to 0x60200000, rootserver to 0x60410000',
    '[elfloader] mmu on, jumping to 0xe0000000',
    a64 ? '[sel4] mmu on, kernel at 0xe0000000 (EL2)' : '[sel4] mmu on, kernel at 0xe0000000 (SVC)',
    a64 ? '[sel4] eret to rootserver at 0x10000 (EL1)' : '[sel4] entering rootserver at 0x10000 (SYS)',
    a64 ? '[rootserver] start at 0x10000 (EL1)' : '[rootserver] start at 0x10000 (SYS)',
    a64 ? '[sel4] hvc from EL1 handled at EL2' : '[sel4] svc from rootserver handled in SVC',
    a64 ? '[rootserver] hvc returned to EL1' : '[rootserver] svc returned',
    '[rootserver] starting camkes at 0x40000000',
    '[camkes] init: component vm0 at 0x40000000',
    '[freertos] main',
    '[freertos] painting',
    '[freertos] painted',
    '[sched] start: tasks A and B, tick 2 ms',
    '[sched] start task A',
    '[sched] switch A->B', '[sched] switch B->A',
    '[sched] switch A->B', '[sched] switch B->A',
    '[sched] switch A->B', '[sched] switch B->A',
    '[done]',
  ];
}

/** Seed 2.3.3's painted regions. */
const PAINTED = [
  { name: 'stack_region', start: 0x41000000, size: 0x1000, pattern: 0xdeadbeef },
  { name: 'data_region', start: 0x41200000, size: 0x1000, pattern: 0x12345678 },
  { name: 'heap_region', start: 0x41400000, size: 0x1000, pattern: 0xcafebabe },
  { name: 'pattern_region', start: 0x42000000, size: 0x4000, pattern: 0x55aa55aa },
] as const;

/** Symbols the linker script pins (guest/README.md "Symbols"), matching seed 2.3.2's stage table. */
const PINNED: Record<string, number> = {
  elfloader_start: 0x60000000,
  sel4_boot: 0xe0000000,
  rootserver_main: 0x10000,
  camkes_init: 0x40000000,
  vPaintMemoryPattern: 0x400008e8,
  freertos_main: 0x40000e70,
  scheduler_start: 0x40003000,
};

/** Seed 2.3.2's stage table, verbatim. */
const SEED_STAGES: [string, number, number][] = [
  ['elfloader', 0x60000000, 0x61000000],
  ['seL4_boot', 0xe0000000, 0xe1000000],
  ['rootserver_start', 0x10000, 0x20000],
  ['camkes_init', 0x40000000, 0x40001000],
  ['freertos_main', 0x40000e70, 0x40001000],
  ['pattern_painting', 0x400008e8, 0x40001000],
  ['scheduler_start', 0x40003000, 0x40004000],
];

/** The most specific (smallest) seed range holding `pc`, as the recorder resolves nested ranges. */
function seedStageAt(pc: number): string | undefined {
  let best: [string, number] | undefined;
  for (const [name, start, end] of SEED_STAGES) {
    if (pc >= start && pc < end && (best === undefined || end - start <= best[1])) best = [name, end - start];
  }
  return best?.[0];
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Function symbols and their addresses, from `nm` (binutils-multiarch reads both ELF classes). */
function nmSymbols(elf: string): Map<string, number> {
  const out = execFileSync('nm', [elf], { encoding: 'utf8' });
  const symbols = new Map<string, number>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) [A-Za-z] (\S+)$/.exec(line);
    if (m) symbols.set(m[2], parseInt(m[1], 16));
  }
  return symbols;
}

/** A minimal HMP client: one command at a time, the reply is everything up to the next "(qemu) " prompt. */
class HmpMonitor {
  private buffer = '';
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
  }

  static async connect(port: number): Promise<HmpMonitor> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const monitor = new HmpMonitor(socket);
    await monitor.untilPrompt(); // banner
    return monitor;
  }

  private untilPrompt(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "(qemu) " prompt within ${timeoutMs} ms; got ${JSON.stringify(this.buffer.slice(-200))}`)), timeoutMs);
      const check = (): void => {
        const at = this.buffer.indexOf('(qemu) ');
        if (at < 0) return;
        const reply = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + '(qemu) '.length);
        this.waiter = undefined;
        clearTimeout(timer);
        resolve(reply);
      };
      this.waiter = check;
      check();
    });
  }

  command(line: string): Promise<string> {
    this.socket.write(`${line}\n`);
    return this.untilPrompt();
  }

  /** Physical memory as 32-bit words through `xp /Nwx` (the reply's lines are "ADDR: 0xW 0xW ..."). */
  async readWords(start: number, count: number): Promise<number[]> {
    const reply = await this.command(`xp /${count}wx 0x${start.toString(16)}`);
    const words: number[] = [];
    for (const line of reply.split(/\r?\n/)) {
      const m = /^([0-9a-f]+):((?:\s+0x[0-9a-f]{8})+)\s*$/i.exec(line);
      if (!m) continue;
      assert.equal(parseInt(m[1], 16), start + words.length * 4, `xp line address out of sequence: ${line}`);
      for (const w of m[2].trim().split(/\s+/)) words.push(parseInt(w, 16));
    }
    assert.equal(words.length, count, `xp /${count}wx 0x${start.toString(16)} returned ${words.length} words`);
    return words;
  }

  close(): void {
    this.socket.destroy();
  }
}

interface RegionResult {
  name: string;
  words: number;
  matches: number;
  /** Byte offset of the first word that is not the pattern, or -1. */
  firstMismatch: number;
  lastMismatch: number;
}

interface BootResult {
  uartLines: string[];
  regions: Map<string, RegionResult>;
}

/** Spawns QEMU on `elf`, waits for "[done]" on the UART, reads the painted regions over HMP. */
async function bootAndInspect(build: GuestBuild, started: (child: ChildProcess) => void): Promise<BootResult> {
  const monitorPort = await freePort();
  const [binary, ...machineArgs] = build.qemuArgs;
  const child = spawn(binary, [
    ...machineArgs, '-m', '1024M', '-kernel', elfPath(build),
    '-display', 'none', '-serial', 'stdio',
    '-monitor', `tcp:127.0.0.1:${monitorPort},server=on,wait=off,nodelay=on`,
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  started(child);
  let uart = '';
  let stderr = '';
  child.stdout?.setEncoding('latin1');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => { stderr += d; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${build.name}: no "[done]" on the UART within ${BOOT_TIMEOUT_MS} ms; UART so far:\n${uart}\nstderr: ${stderr}`)), BOOT_TIMEOUT_MS);
    child.stdout?.on('data', (d: string) => {
      uart += d;
      if (uart.includes('[done]\r\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${build.name}: QEMU exited (code ${code}, signal ${signal}) before "[done]"; stderr: ${stderr}`));
    });
  });

  const monitor = await HmpMonitor.connect(monitorPort);
  try {
    const regions = new Map<string, RegionResult>();
    for (const r of PAINTED) {
      const words = await monitor.readWords(r.start, r.size / 4);
      const mismatches = words.flatMap((w, i) => (w === r.pattern ? [] : [i * 4]));
      regions.set(r.name, {
        name: r.name,
        words: words.length,
        matches: words.length - mismatches.length,
        firstMismatch: mismatches.length ? mismatches[0] : -1,
        lastMismatch: mismatches.length ? mismatches[mismatches.length - 1] : -1,
      });
    }
    return { uartLines: uart.split('\r\n').filter((l) => l !== ''), regions };
  } finally {
    monitor.close();
  }
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGKILL');
  await exited;
}

for (const build of BUILDS) {
  describe(`guest ${build.name} under ${build.qemuArgs.join(' ')}`, () => {
    let child: ChildProcess | undefined;
    let result: BootResult | undefined;
    let bootError: unknown;

    before(async () => {
      try {
        result = await bootAndInspect(build, (c) => { child = c; });
      } catch (e) {
        bootError = e;
      }
    });

    after(async () => {
      await killChild(child);
    });

    const booted = (): BootResult => {
      if (!result) throw bootError instanceof Error ? bootError : new Error(String(bootError));
      return result;
    };

    test('UART shows every stage line in order, ending with [done]', () => {
      assert.deepEqual(booted().uartLines, expectedUart(build.arch));
    });

    if (!build.corrupted) {
      test('all four painted regions hold their pattern in 100% of their words', () => {
        for (const r of booted().regions.values()) {
          assert.equal(r.matches, r.words, `${r.name}: ${r.matches}/${r.words} words match, first mismatch at +0x${r.firstMismatch.toString(16)}`);
        }
      });
    } else {
      test('stack_region is overwritten from +0xf40 to its end (48 words) by task B', () => {
        const stack = booted().regions.get('stack_region');
        assert.ok(stack);
        assert.ok(stack.matches < stack.words, 'stack_region is still 100% 0xDEADBEEF');
        assert.deepEqual(
          { firstMismatch: `0x${stack.firstMismatch.toString(16)}`, lastMismatch: `0x${stack.lastMismatch.toString(16)}`, mismatched: stack.words - stack.matches },
          { firstMismatch: '0xf40', lastMismatch: '0xffc', mismatched: 48 },
        );
      });

      test('data, heap and pattern regions stay 100% in the corrupted build', () => {
        for (const r of booted().regions.values()) {
          if (r.name === 'stack_region') continue;
          assert.equal(r.matches, r.words, `${r.name}: ${r.matches}/${r.words} words match`);
        }
      });
    }

    test('nm: pinned stage symbols sit at the seed 2.3.2 addresses', () => {
      const symbols = nmSymbols(elfPath(build));
      const actual = Object.fromEntries(Object.keys(PINNED).map((s) => [s, symbols.get(s)]));
      assert.deepEqual(actual, PINNED);
      assert.ok(symbols.has('boot_done'), 'boot_done (the configs\' stopAt) is missing');
    });

    test('readelf: entry 0x60000000, kernel and rootserver load (LMA) apart from where they run (VMA)', () => {
      const out = execFileSync('readelf', ['-hlW', elfPath(build)], { encoding: 'utf8' });
      assert.match(out, /Entry point address:\s+0x60000000\b/);
      const loads = [...out.matchAll(/^\s*LOAD\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/gm)]
        .map((m) => ({ vma: parseInt(m[1], 16), lma: parseInt(m[2], 16) }));
      assert.deepEqual(loads.find((l) => l.vma === 0xe0000000), { vma: 0xe0000000, lma: 0x60010000 });
      assert.deepEqual(loads.find((l) => l.vma === 0x10000), { vma: 0x10000, lma: 0x60018000 });
    });
  });
}

for (const build of BUILDS.filter((b) => !b.corrupted)) {
  describe(`guest ${build.name} instruction trace (QEMU -singlestep -d exec,nochain)`, () => {
    let tmp = '';
    let child: ChildProcess | undefined;
    before(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-guest-trace-'));
    });
    after(async () => {
      await killChild(child);
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    test('boot_done is reached in under 40k instructions, through the seed stages in order', async () => {
      const log = path.join(tmp, 'exec.log');
      const [binary, ...machineArgs] = build.qemuArgs;
      child = spawn(binary, [
        ...machineArgs, '-m', '1024M', '-kernel', elfPath(build), '-display', 'none', '-serial', 'stdio',
        '-monitor', 'none', '-singlestep', '-d', 'exec,nochain', '-D', log,
      ], { stdio: ['pipe', 'pipe', 'ignore'] });
      let uart = '';
      child.stdout?.setEncoding('latin1');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "[done]" within ${BOOT_TIMEOUT_MS} ms: ${uart}`)), BOOT_TIMEOUT_MS);
        child?.stdout?.on('data', (d: string) => {
          uart += d;
          if (uart.includes('[done]')) { clearTimeout(timer); resolve(); }
        });
      });
      await killChild(child);

      const doneAt = nmSymbols(elfPath(build)).get('boot_done');
      // One translation block per instruction (-singlestep), logged each time it runs (nochain):
      // "Trace 0: 0x... [cs_base/pc/flags/cflags] symbol".
      const stagesSeen: string[] = [];
      let stage = 'unknown';
      let count = 0;
      let reached = false;
      for (const line of fs.readFileSync(log, 'latin1').split('\n')) {
        const m = /^Trace \d+: \S+ \[[0-9a-f]+\/([0-9a-f]+)\//.exec(line);
        if (!m) continue;
        const pc = parseInt(m[1], 16);
        if (pc === doneAt) { reached = true; break; }
        count++;
        stage = seedStageAt(pc) ?? stage;
        if (stagesSeen[stagesSeen.length - 1] !== stage) stagesSeen.push(stage);
      }
      assert.ok(reached, 'boot_done never executed');
      assert.ok(count < 40_000, `${count} instructions before boot_done`);
      // rootserver -> seL4 -> rootserver is the hvc/svc round trip; freertos_main calls the painter 4 times.
      assert.deepEqual(stagesSeen, [
        'elfloader', 'seL4_boot', 'rootserver_start', 'seL4_boot', 'rootserver_start', 'camkes_init',
        'freertos_main', 'pattern_painting', 'freertos_main', 'pattern_painting', 'freertos_main',
        'pattern_painting', 'freertos_main', 'pattern_painting', 'freertos_main', 'scheduler_start',
      ]);
    });
  });
}

describe('guest recording configs (guest/demo-*.json)', () => {
  for (const build of BUILDS) {
    test(`${build.name}.json parses with parseRecordingConfig and matches the build`, () => {
      const file = path.join(GUEST_DIR, `${build.name}.json`);
      const cfg = parseRecordingConfig(JSON.parse(fs.readFileSync(file, 'utf8')), GUEST_DIR);
      assert.equal(cfg.arch, build.arch);
      assert.deepEqual(
        [cfg.qemu?.binary, '-M', cfg.qemu?.machine, '-cpu', cfg.qemu?.cpu, cfg.qemu?.memory],
        [...build.qemuArgs, '1024M'],
      );
      assert.equal(cfg.qemu?.kernel, elfPath(build));
      assert.equal(cfg.elf, elfPath(build));
      assert.ok(fs.existsSync(elfPath(build)), `${elfPath(build)} is not built`);
      assert.equal(cfg.database, path.resolve(GUEST_DIR, '..', 'recordings', `${build.name}.db`));
      assert.equal(cfg.stopAt, 'boot_done');
      assert.ok(nmSymbols(elfPath(build)).has(cfg.stopAt), 'stopAt is not a symbol of the ELF');
      assert.deepEqual(cfg.stages.map((s) => [s.name, s.start, s.end]), SEED_STAGES);
      assert.deepEqual(cfg.regions.map((r) => [r.name, r.start, r.size, r.pattern]), [
        ['guest_base', 0x40000000, 0x1000, undefined],
        ...PAINTED.map((r) => [r.name, r.start, r.size, r.pattern]),
        ['uart_region', 0x9000000, 0x100, undefined],
      ]);
      assert.deepEqual(cfg.snapshots, { onStageChange: true, everyInstructions: 2000, threshold: 90 });
    });
  }

  test('each pinned function resolves to the stage named after it (most specific range wins)', () => {
    const symbols = nmSymbols(elfPath(BUILDS[0]));
    const stageOf = (sym: string): string | undefined => seedStageAt(symbols.get(sym) ?? -1);
    assert.deepEqual(
      ['elfloader_start', 'sel4_boot', 'rootserver_main', 'camkes_init', 'freertos_main', 'vPaintMemoryPattern', 'scheduler_start', 'vTaskA', 'vTaskB', 'vTaskSwitchContext', 'boot_done'].map(stageOf),
      ['elfloader', 'seL4_boot', 'rootserver_start', 'camkes_init', 'freertos_main', 'pattern_painting', 'scheduler_start', 'scheduler_start', 'scheduler_start', 'scheduler_start', 'scheduler_start'],
    );
  });
});
