// Cross-check of GdbTarget with gdb-multiarch on the same stopped QEMU: at sampled points of the demo
// boot on each architecture, every register `info registers` prints and the words `x/Nwx` prints must
// equal what our client reads. Our connection is closed without `D` (QEMU 7.2 resumes the VM on `D`),
// gdb attaches, reads and `disconnect`s (no detach either), and ours reconnects to carry on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { ElfFile } from '../../src/symbols/elf';
import { GdbTarget } from '../../src/target';
import { killIfAlive } from '../support/qemu-fixtures';
import { GUEST_DIR, demoQemuConfig, elfSymbol } from '../support/demo-recording';



/** What gdb-multiarch printed: registers by name (first occurrence, as in regnum order) and memory words. */
interface GdbView {
  registers: Map<string, bigint>;
  /** Names printed more than once (QEMU's sysregs have several DUMMY, PAR, ...): ambiguous, not compared. */
  duplicates: Set<string>;
  words: number[];
}

function runGdb(port: number, address: bigint, words: number): Promise<GdbView> {
  const args = [
    '-nx', '-batch',
    '-ex', 'set pagination off',
    '-ex', 'set width 0',
    '-ex', `target remote 127.0.0.1:${port}`,
    '-ex', 'info registers',
    '-ex', `x/${words}wx 0x${address.toString(16)}`,
    // disconnect, not detach: gdb's detach sends `D`, which resumes QEMU.
    '-ex', 'disconnect',
  ];
  return new Promise((resolve, reject) => {
    execFile('gdb-multiarch', args, { timeout: 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`gdb-multiarch failed: ${err.message}\n${stderr}`));
        return;
      }
      const view: GdbView = { registers: new Map(), duplicates: new Set(), words: [] };
      for (const line of stdout.split('\n')) {
        const mem = /^0x[0-9a-f]+(?: <[^>]*>)?:\s+(.*)$/.exec(line);
        if (mem) {
          for (const w of mem[1].trim().split(/\s+/)) view.words.push(parseInt(w, 16));
          continue;
        }
        const reg = /^([A-Za-z_][A-Za-z0-9_]*)\s+(0x[0-9a-f]+)\s/.exec(line);
        if (!reg) continue;
        if (view.registers.has(reg[1])) view.duplicates.add(reg[1]);
        else view.registers.set(reg[1], BigInt(reg[2]));
      }
      if (view.words.length !== words) {
        reject(new Error(`gdb-multiarch printed ${view.words.length} words, expected ${words}:\n${stdout.slice(-2000)}\n${stderr}`));
        return;
      }
      resolve(view);
    });
  });
}

/** Our view of the same state: `g` for the registers it carries, `p` for the rest gdb printed. */
async function ourRegisters(target: GdbTarget, names: Iterable<string>): Promise<Map<string, bigint>> {
  const fromG = target.decodeRegisters(await target.readRegisters());
  const viaP = [...names].filter((n) => !fromG.has(n) && target.layout.byName.has(n));
  const values = await Promise.all(viaP.map((n) => target.readRegister(n)));
  viaP.forEach((n, i) => fromG.set(n, values[i]));
  return fromG;
}

interface Sample {
  name: string;
  /** Drives the stopped target to the sample point; returns the address of the memory to compare. */
  reach: (t: GdbTarget, elf: ElfFile) => Promise<bigint>;
  words: number;
}

async function runToSymbol(t: GdbTarget, elf: ElfFile, name: string): Promise<bigint> {
  const at = elfSymbol(elf, name);
  assert.equal(await t.insertBreakpoint(0, at, 4), true);
  // A missed breakpoint would let `c` run forever (it has no timeout): interrupt after 10 s and fail.
  const stopped = t.cont();
  const timer = setTimeout(() => void t.interrupt().catch(() => undefined), 10_000);
  await stopped.finally(() => clearTimeout(timer));
  assert.equal(await t.readRegister('pc'), at, `stopped at ${name}`);
  assert.equal(await t.removeBreakpoint(0, at, 4), true);
  return at;
}

const SAMPLES: readonly Sample[] = [
  { name: 'reset (-S, before the first instruction): elfloader code', words: 64, reach: async () => 0x60000000n },
  {
    name: 'after 1000 single steps (elfloader copying the stages, before sel4_boot): the kernel copy at 0x60200000',
    words: 128,
    reach: async (t) => {
      for (let i = 0; i < 1000; i++) await t.step();
      return 0x60200000n;
    },
  },
  { name: 'breakpoint on sel4_boot (MMU on): VA 0xe0000000', words: 64, reach: async (t, elf) => runToSymbol(t, elf, 'sel4_boot') },
  {
    name: '300 steps into the first vPaintMemoryPattern call: stack_region half painted',
    words: 256,
    reach: async (t, elf) => {
      await runToSymbol(t, elf, 'vPaintMemoryPattern');
      for (let i = 0; i < 300; i++) await t.step();
      return 0x41000000n;
    },
  },
  { name: 'breakpoint on boot_done: pattern_region', words: 256, reach: async (t, elf) => (await runToSymbol(t, elf, 'boot_done'), 0x42000000n) },
];

for (const arch of ['arm32', 'aarch64'] as const) {
  describe(`GdbTarget vs gdb-multiarch on QEMU 7.2: ${arch} demo guest`, () => {
    const elf = ElfFile.read(path.join(GUEST_DIR, 'build', `demo-${arch}.elf`));
    let qemu: QemuProcess | undefined;
    let target: GdbTarget | undefined;
    const connect = async (): Promise<GdbTarget> => {
      target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu!.gdbPort, timeoutMs: 15_000 });
      return target;
    };

    before(async () => {
      qemu = await launchQemu({ qemu: demoQemuConfig(arch) });
      await connect();
    });

    after(async () => {
      const pid = qemu?.pid;
      await target?.close().catch(() => undefined);
      await qemu?.shutdown();
      killIfAlive(pid);
    });

    for (const sample of SAMPLES) {
      describe(sample.name, () => {
        let address = 0n;
        let ours: { registers: Map<string, bigint>; memory: Uint8Array } | undefined;
        let gdb: GdbView | undefined;

        before(async () => {
          const t = target!;
          address = await sample.reach(t, elf);
          const memory = await t.readMemory(address, sample.words * 4);
          // Every register of the layout: gdb prints a subset (no vector/float groups), chosen below.
          const registers = await ourRegisters(t, t.layout.registers.map((r) => r.name));
          ours = { registers, memory };
          await t.close(); // no `D`: the VM stays stopped for gdb
          target = undefined;
          gdb = await runGdb(qemu!.gdbPort, address, sample.words);
          await connect();
        });

        test('every register gdb prints has the value our client read (g, or p for the rest)', () => {
          const compared: string[] = [];
          const mismatches: string[] = [];
          for (const [name, value] of gdb!.registers) {
            if (gdb!.duplicates.has(name)) continue;
            const mine = ours!.registers.get(name);
            assert.notEqual(mine, undefined, `gdb printed ${name}, which our layout lacks`);
            compared.push(name);
            if (mine !== value) mismatches.push(`${name}: ours 0x${mine!.toString(16)}, gdb 0x${value.toString(16)}`);
          }
          assert.deepEqual(mismatches, []);
          for (const core of ['pc', 'sp', 'cpsr', arch === 'arm32' ? 'r0' : 'x0']) assert.ok(compared.includes(core), `${core} compared`);
          assert.ok(compared.length > 100, `only ${compared.length} registers compared`);
        });

        test(`the ${sample.words} words gdb's x/wx prints equal our pipelined read`, () => {
          const view = new DataView(ours!.memory.buffer, ours!.memory.byteOffset, ours!.memory.byteLength);
          const mine = Array.from({ length: sample.words }, (_, i) => view.getUint32(i * 4, true));
          assert.deepEqual(mine, gdb!.words);
        });

        test('after gdb disconnected, our reconnected client sees the same pc (gdb did not resume the VM)', async () => {
          assert.equal(await target!.readRegister('pc'), ours!.registers.get('pc'));
          assert.equal((await qemu!.qmp.queryStatus()).running, false);
        });
      });
    }
  });
}
