// GdbTarget against real QEMU 7.2 and the demo guest, on AArch32 and AArch64: every packet family of
// issue 3 (qSupported, target.xml, g/G, p/P, m/M, Z/z, s, vCont, c, 0x03, threads, qRcmd, qqemu.*,
// PhyMemMode, the unsolicited T02, `E NN`). One QEMU per architecture, driven through the boot in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { ElfFile, PT_LOAD, SHF_ALLOC, SHT_PROGBITS, type ElfSection } from '../../src/symbols/elf';
import { GdbReplyError, GdbTarget, type StopReply } from '../../src/target';
import { killIfAlive } from '../support/qemu-fixtures';
import { GUEST_DIR, demoQemuConfig, elfSymbol } from '../support/demo-recording';


interface DemoArch {
  name: 'arm32' | 'aarch64';
  arch: 'arm' | 'aarch64';
  /** General registers that must be in the `g` packet, in `g` order. */
  gRegisters: string[];
  /** Bytes per general register. */
  wordBytes: number;
  /** pc after two single steps from the entry (arm32: the second instruction is `bl elfloader_main`). */
  afterTwoSteps: string | number;
  /** The system control register of the regime sel4_boot runs in (AArch64: EL2), read with `p` only. */
  controlRegister: string;
  /** How `info registers` through qRcmd prints the pc. */
  monitorPc: (pc: bigint) => string;
}

const ARCHES: readonly DemoArch[] = [
  {
    name: 'arm32',
    arch: 'arm',
    gRegisters: [...Array.from({ length: 13 }, (_, i) => `r${i}`), 'sp', 'lr', 'pc', 'cpsr'],
    wordBytes: 4,
    afterTwoSteps: 'elfloader_main',
    controlRegister: 'SCTLR',
    monitorPc: (pc) => `R15=${pc.toString(16).padStart(8, '0')}`,
  },
  {
    name: 'aarch64',
    arch: 'aarch64',
    gRegisters: [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'cpsr'],
    wordBytes: 8,
    afterTwoSteps: 0x60000008,
    controlRegister: 'SCTLR_EL2',
    monitorPc: (pc) => `PC=${pc.toString(16).padStart(16, '0')}`,
  },
];


/** [start, end) of a function symbol. */
function symbolRange(elf: ElfFile, name: string): [bigint, bigint] {
  const s = elf.symbols.find((x) => x.name === name);
  if (!s || s.size === 0) throw new Error(`${elf.path} has no sized symbol ${name}`);
  const start = s.value & ~1n;
  return [start, start + BigInt(s.size)];
}

function section(elf: ElfFile, name: string): ElfSection {
  const s = elf.sections.find((x) => x.name === name);
  if (!s) throw new Error(`${elf.path} has no section ${name}`);
  return s;
}

function sectionBytes(elf: ElfFile, s: ElfSection): Uint8Array {
  return elf.bytes.subarray(s.offset, s.offset + s.size);
}

/** Where QEMU's ELF loader put a section: the PT_LOAD segment's physical address (LMA), not its VMA. */
function loadAddress(elf: ElfFile, s: ElfSection): bigint {
  const seg = elf.segments.find((p) => p.type === PT_LOAD && s.offset >= p.offset && s.offset + s.size <= p.offset + p.filesz);
  if (!seg) throw new Error(`section ${s.name} is in no PT_LOAD segment`);
  return seg.paddr + BigInt(s.offset - seg.offset);
}

/** The bytes QEMU's loader leaves in [base, base+length) at reset: every loaded section at its LMA, zeros elsewhere. */
function imageAtReset(elf: ElfFile, base: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const s of elf.sections) {
    if (s.type !== SHT_PROGBITS || (s.flags & SHF_ALLOC) === 0) continue;
    const lma = loadAddress(elf, s);
    const from = lma > base ? lma : base;
    const to = lma + BigInt(s.size) < base + BigInt(length) ? lma + BigInt(s.size) : base + BigInt(length);
    if (from >= to) continue;
    out.set(elf.bytes.subarray(s.offset + Number(from - lma), s.offset + Number(to - lma)), Number(from - base));
  }
  return out;
}

function signalOf(stop: StopReply): number {
  assert.equal(stop.kind, 'signal', `expected a signal stop, got ${GdbTarget.describe(stop)}`);
  return stop.kind === 'signal' ? stop.signal : -1;
}

function u32(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

for (const demo of ARCHES) {
  describe(`GdbTarget on QEMU 7.2: ${demo.name} demo guest`, () => {
    const elf = ElfFile.read(path.join(GUEST_DIR, 'build', `demo-${demo.name}.elf`));
    let qemu: QemuProcess | undefined;
    let target: GdbTarget | undefined;
    const t = (): GdbTarget => {
      assert.ok(target, 'not connected');
      return target;
    };

    before(async () => {
      qemu = await launchQemu({ qemu: demoQemuConfig(demo.name) });
      target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort, timeoutMs: 15_000 });
    });

    after(async () => {
      const pid = qemu?.pid;
      await target?.close().catch(() => undefined);
      await qemu?.shutdown();
      killIfAlive(pid);
    });

    // ---- connect: qSupported, `?`, target.xml ----------------------------------------------------------

    test('qSupported: PacketSize=0x1000 and qXfer:features:read+ are advertised', () => {
      assert.equal(t().features.get('PacketSize'), '1000');
      assert.equal(t().features.get('qXfer:features:read'), true);
      assert.equal(t().features.get('multiprocess'), true);
    });

    test('target.xml -> layout: architecture, general registers in g order, sizes', () => {
      const layout = t().layout;
      assert.equal(t().arch, demo.arch);
      assert.equal(layout.architecture, demo.arch);
      const inG = layout.registers.filter((r) => r.gOffset !== undefined).map((r) => r.name);
      assert.deepEqual(inG, demo.gRegisters);
      let offset = 0;
      for (const name of demo.gRegisters) {
        const reg = layout.byName.get(name)!;
        assert.equal(reg.gOffset, offset, `${name} offset`);
        offset += reg.byteSize;
      }
      assert.equal(layout.gPacketSize, offset);
      assert.equal(layout.byName.get('r0')?.byteSize ?? layout.byName.get('x0')?.byteSize, demo.wordBytes);
    });

    test('target.xml -> layout: QEMU system registers (cp_regs) are described but only reachable with p', () => {
      const reg = t().layout.byName.get(demo.controlRegister);
      assert.ok(reg, `${demo.controlRegister} in the layout`);
      assert.equal(reg.group, 'cp_regs');
      assert.equal(reg.gOffset, undefined);
    });

    test('`?` at connect: halted by -S, T05 with thread p01.01, no unsolicited stop', () => {
      const stop = t().initialStop;
      assert.equal(signalOf(stop), 5);
      assert.equal(stop.kind === 'signal' && stop.thread, 'p01.01');
      assert.equal(t().stopAtConnect, undefined);
    });

    test('qfThreadInfo/qsThreadInfo list one vCPU thread and qC names it', async () => {
      assert.deepEqual(await t().threads(), ['p01.01']);
      assert.equal(await t().currentThread(), 'p01.01');
    });

    // ---- registers: g/G, p/P -----------------------------------------------------------------------------

    test('g: the pc in the g packet is the ELF entry point', async () => {
      const raw = await t().readRegisters();
      assert.equal(raw.length, t().layout.gPacketSize);
      assert.equal(t().decodeRegisters(raw).get('pc'), elf.entry);
    });

    test('G: a register changed in the g block reads back, and the old block restores it', async () => {
      const before = await t().readRegisters();
      const changed = before.slice();
      const r1 = t().layout.byName.get(demo.arch === 'arm' ? 'r1' : 'x1')!;
      const value = demo.wordBytes === 4 ? 0x5eed1234n : 0x5eed1234_89abcdefn;
      for (let i = 0; i < r1.byteSize; i++) changed[r1.gOffset! + i] = Number((value >> BigInt(8 * i)) & 0xffn);
      await t().writeRegisters(changed);
      assert.deepEqual(await t().readRegisters(), changed);
      await t().writeRegisters(before);
      assert.deepEqual(await t().readRegisters(), before);
    });

    test('p: pc equals the entry point and agrees with g', async () => {
      assert.equal(await t().readRegister('pc'), elf.entry);
    });

    test('P: a register written with P reads back through p and through g', async () => {
      const name = demo.arch === 'arm' ? 'r3' : 'x3';
      const old = await t().readRegister(name);
      const value = demo.wordBytes === 4 ? 0xa5a5f00dn : 0xa5a5f00d_0badc0den;
      await t().writeRegister(name, value);
      assert.equal(await t().readRegister(name), value);
      assert.equal(t().decodeRegisters(await t().readRegisters()).get(name), value);
      await t().writeRegister(name, old);
    });

    test('p: the MMU is off at reset (system control register bit 0 clear)', async () => {
      assert.equal((await t().readRegister(demo.controlRegister)) & 1n, 0n);
    });

    // ---- memory: m/M --------------------------------------------------------------------------------------

    test('m: every loaded section read at its load address equals the ELF bytes (MMU off at reset)', async () => {
      const loaded = elf.sections.filter((s) => s.type === SHT_PROGBITS && (s.flags & SHF_ALLOC) !== 0);
      assert.ok(loaded.some((s) => s.size > 0x800), 'at least one section needs several m packets');
      for (const s of loaded) {
        const got = await t().readMemory(loadAddress(elf, s), s.size);
        assert.deepEqual(Buffer.from(got), Buffer.from(sectionBytes(elf, s)), `section ${s.name}`);
      }
    });

    test('m pipelined: 64 KiB at 0x40000000 (32 m packets, window 8) equals the ELF image at reset', async () => {
      const base = 0x40000000n;
      const got = await t().readMemory(base, 0x10000);
      assert.deepEqual(Buffer.from(got), Buffer.from(imageAtReset(elf, base, 0x10000)));
    });

    test('m unaligned: a read starting mid-word and spanning a chunk boundary equals the ELF bytes', async () => {
      const base = 0x40000000n + 0x7fdn;
      const got = await t().readMemory(base, 0x1003);
      assert.deepEqual(Buffer.from(got), Buffer.from(imageAtReset(elf, base, 0x1003)));
    });

    test('E NN: reading past the end of RAM (0x80000000, nothing mapped) rejects with the stub error', async () => {
      await assert.rejects(t().readMemory(0x80000000, 16), (e: unknown) => e instanceof GdbReplyError && /^E[0-9a-fA-F]{2}$/.test(e.reply) && e.packet === 'm80000000,10');
    });

    test('E NN in a pipelined read: the failing chunk rejects the read, and the connection stays in step', async () => {
      await assert.rejects(t().readMemory(0x7ffff000, 0x2000), (e: unknown) => e instanceof GdbReplyError && /^E/.test(e.reply));
      const s = section(elf, '.camkes');
      assert.deepEqual(Buffer.from(await t().readMemory(s.addr, s.size)), Buffer.from(sectionBytes(elf, s)));
      assert.equal(await t().readRegister('pc'), elf.entry);
    });

    test('M: 6 KiB written to unused RAM (several M packets) reads back, then zeros restore it', async () => {
      const at = 0x50000000;
      const data = Uint8Array.from({ length: 0x1800 }, (_, i) => (i * 7 + 3) & 0xff);
      await t().writeMemory(at, data);
      assert.deepEqual(Buffer.from(await t().readMemory(at, data.length)), Buffer.from(data));
      await t().writeMemory(at, new Uint8Array(data.length));
      assert.deepEqual(Buffer.from(await t().readMemory(at, data.length)), Buffer.alloc(data.length));
    });

    // ---- QEMU single-step flags ---------------------------------------------------------------------------

    test('qqemu.sstepbits names ENABLE=1, NOIRQ=2, NOTIMER=4', async () => {
      assert.deepEqual(Object.fromEntries(await t().stepFlagBits()), { ENABLE: 1, NOIRQ: 2, NOTIMER: 4 });
    });

    test('qqemu.sstep is 7 by default; Qqemu.sstep=1 sets it, =7 restores it', async () => {
      assert.equal(await t().getStepFlags(), 7);
      await t().setStepFlags(1);
      assert.equal(await t().getStepFlags(), 1);
      await t().setStepFlags(7);
      assert.equal(await t().getStepFlags(), 7);
    });

    // ---- execution: s, vCont ------------------------------------------------------------------------------

    test('s: one step from the entry answers T05 thread p01.01 and moves pc by one instruction', async () => {
      const stop = await t().step();
      assert.equal(signalOf(stop), 5);
      assert.equal(stop.kind === 'signal' && stop.thread, 'p01.01');
      assert.equal(await t().readRegister('pc'), elf.entry + 4n);
    });

    test('vCont?: QEMU supports c, C, s, S', async () => {
      const actions = await t().vContActions();
      for (const a of ['c', 'C', 's', 'S']) assert.ok(actions.has(a), `vCont ${a}`);
    });

    test('vCont;s:p1.1 steps exactly one instruction of that thread', async () => {
      const stop = await t().vCont([{ action: 's', thread: 'p1.1' }]);
      assert.equal(signalOf(stop), 5);
      const expected = typeof demo.afterTwoSteps === 'string' ? elfSymbol(elf, demo.afterTwoSteps) : BigInt(demo.afterTwoSteps);
      assert.equal(await t().readRegister('pc'), expected);
    });

    // ---- breakpoints and continue; the MMU-on stage ------------------------------------------------------

    test('Z0 on sel4_boot, c: stops there with T05 (VA 0xe0000000, MMU on)', async () => {
      const at = elfSymbol(elf, 'sel4_boot');
      assert.equal(await t().insertBreakpoint(0, at, 4), true);
      const stop = await t().cont();
      assert.equal(signalOf(stop), 5);
      assert.equal(await t().readRegister('pc'), at);
      assert.equal(await t().removeBreakpoint(0, at, 4), true);
    });

    test('p: the MMU is on at sel4_boot (system control register bit 0 set)', async () => {
      assert.equal((await t().readRegister(demo.controlRegister)) & 1n, 1n);
    });

    test('PhyMemMode off (default): VA 0xe0000000 and VA 0x10000 read the seL4 and rootserver stages through the MMU', async () => {
      assert.equal(await t().getPhysicalMemoryMode(), false);
      for (const name of ['.sel4', '.rootserver']) {
        const s = section(elf, name);
        assert.deepEqual(Buffer.from(await t().readMemory(s.addr, s.size)), Buffer.from(sectionBytes(elf, s)), `${name} at VA 0x${s.addr.toString(16)}`);
      }
    });

    test('PhyMemMode on: the copies sit at PA 0x60200000 / 0x60410000, and PA 0xe0000000 / 0x10000 hold other bytes', async () => {
      await t().setPhysicalMemoryMode(true);
      try {
        assert.equal(await t().getPhysicalMemoryMode(), true);
        for (const [name, pa] of [['.sel4', 0x60200000n], ['.rootserver', 0x60410000n]] as const) {
          const s = section(elf, name);
          const expected = Buffer.from(sectionBytes(elf, s));
          assert.deepEqual(Buffer.from(await t().readMemory(pa, s.size)), expected, `${name} at PA 0x${pa.toString(16)}`);
          const atVa = await t().readMemory(s.addr, s.size).then((b) => Buffer.from(b), () => undefined);
          assert.notDeepEqual(atVa, expected, `${name}'s VA read as a physical address`);
        }
      } finally {
        await t().setPhysicalMemoryMode(false);
      }
      assert.equal(await t().getPhysicalMemoryMode(), false);
    });

    test('Z0 on vPaintMemoryPattern, c: stops at its first call with (stack_region, 0x1000, 0xDEADBEEF) in the argument registers', async () => {
      const at = elfSymbol(elf, 'vPaintMemoryPattern');
      assert.equal(await t().insertBreakpoint(0, at, 4), true);
      assert.equal(signalOf(await t().cont()), 5);
      const regs = t().decodeRegisters(await t().readRegisters());
      assert.equal(regs.get('pc'), at);
      const arg = (i: number): bigint | undefined => regs.get(demo.arch === 'arm' ? `r${i}` : `x${i}`);
      assert.deepEqual([arg(0), arg(1), arg(2)! & 0xffffffffn], [0x41000000n, 0x1000n, 0xdeadbeefn]);
      assert.equal(await t().removeBreakpoint(0, at, 4), true);
    });

    test('Z2 write watchpoint on a painted word: c stops with watch:41000100 at the store, before it lands', async () => {
      const word = 0x41000100n;
      assert.equal(await t().insertBreakpoint(2, word, 4), true);
      const stop = await t().cont();
      assert.equal(signalOf(stop), 5);
      assert.deepEqual(stop.kind === 'signal' && stop.reason, { kind: 'watch', address: word });
      const regs = t().decodeRegisters(await t().readRegisters());
      const [paint, paintEnd] = symbolRange(elf, 'vPaintMemoryPattern');
      const pc = regs.get('pc')!;
      assert.ok(pc >= paint && pc < paintEnd, `pc 0x${pc.toString(16)} inside vPaintMemoryPattern`);
      assert.equal(regs.get(demo.arch === 'arm' ? 'r0' : 'x0'), word, 'the store address register');
      assert.equal(u32(await t().readMemory(word, 4)), 0);
      assert.equal(await t().removeBreakpoint(2, word, 4), true);
    });

    test('s after the watch stop: the store lands (0xDEADBEEF at the watched word)', async () => {
      await t().step();
      assert.equal(u32(await t().readMemory(0x41000100, 4)), 0xdeadbeef);
    });

    test('z0 removed the breakpoint: c runs past three more vPaintMemoryPattern calls to Z0 on boot_done', async () => {
      const at = elfSymbol(elf, 'boot_done');
      assert.equal(await t().insertBreakpoint(0, at, 4), true);
      assert.equal(signalOf(await t().cont()), 5);
      assert.equal(await t().readRegister('pc'), at);
      assert.equal(await t().removeBreakpoint(0, at, 4), true);
    });

    test('m at boot_done: all 1024 words of stack_region (4 KiB, 2 pipelined m) are 0xDEADBEEF', async () => {
      const bytes = await t().readMemory(0x41000000, 0x1000);
      for (let i = 0; i < 0x1000; i += 4) assert.equal(u32(bytes, i), 0xdeadbeef, `word at +0x${i.toString(16)}`);
    });

    // ---- 0x03, qRcmd, T02 on connect ----------------------------------------------------------------------

    test('0x03 while running: c is outstanding until the interrupt, which answers T02', async () => {
      const stopped = t().cont();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(t().running, true);
      assert.equal((await qemu!.qmp.queryStatus()).status, 'running');
      const stop = await t().interrupt();
      assert.equal(signalOf(stop), 2);
      assert.equal(await stopped, stop);
      assert.equal(t().running, false);
      const [done, end] = symbolRange(elf, 'boot_done');
      const pc = await t().readRegister('pc');
      assert.ok(pc >= done && pc < end, `idling in boot_done (pc 0x${pc.toString(16)})`);
    });

    test('qRcmd "info registers": the O output packets carry the monitor text, with our pc', async () => {
      const pc = await t().readRegister('pc');
      const text = await t().monitor('info registers');
      assert.ok(text.includes(demo.monitorPc(pc)), `monitor output mentions ${demo.monitorPc(pc)}: ${text.slice(0, 200)}`);
    });

    test('unsolicited T02: connecting to a running VM (cont via QMP) stops it, seen as stopAtConnect', async () => {
      await t().close();
      target = undefined;
      await qemu!.qmp.cont();
      assert.equal((await qemu!.qmp.queryStatus()).status, 'running');
      target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu!.gdbPort, timeoutMs: 15_000 });
      const stop = target.stopAtConnect;
      assert.ok(stop, 'a stop arrived during connect');
      assert.equal(signalOf(stop), 2);
      assert.equal(stop.kind === 'signal' && stop.thread, 'p01.01');
      assert.equal((await qemu!.qmp.queryStatus()).status, 'paused');
    });

    test('after the T02 handshake the connection answers in step (`?`, g, m)', async () => {
      assert.equal(signalOf(t().initialStop), 5);
      const [done, end] = symbolRange(elf, 'boot_done');
      const pc = t().decodeRegisters(await t().readRegisters()).get('pc')!;
      assert.ok(pc >= done && pc < end, `still in boot_done (pc 0x${pc.toString(16)})`);
      assert.equal(u32(await t().readMemory(0x42000000, 4)), 0x55aa55aa);
    });
  });
}
