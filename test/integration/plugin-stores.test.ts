// Store kinds beyond plain STR (issue 13, memory writes): pair stores, 128-bit SIMD pairs and DC ZVA (which
// QEMU reports to no memory callback: the plugin writes its zeroed block itself) - replayed onto memory read
// over the gdbstub before the guest runs, they give the memory read after it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePlugin, pluginArgument } from '../../src/capture/plugin';
import { launchQemu, type QemuProcess } from '../../src/qemu/launcher';
import { GdbTarget } from '../../src/target';
import { type CollectedCapture, decodeCaptureFile, qemu10, qemu10Binary } from '../support/plugin-fixtures';
import { killIfAlive } from '../support/qemu-fixtures';

const q = qemu10();
const skip = 'skip' in q ? q.skip : false;
const BUFFER = 0x41000000n;
const SIZE = 0x200;

// Fills the buffer with 0x11.., then: DC ZVA over its first 64 bytes, STP of two X registers, STP of two Q
// registers (FP enabled first), a byte store in the middle of the zeroed block; then spins at `done`.
const SOURCE = `
  .text
  .global _start
_start:
  ldr x1, =${BUFFER}
  ldr x2, =0x1111111111111111
  mov x4, #0
fill:
  str x2, [x1, x4]
  add x4, x4, #8
  cmp x4, #${SIZE}
  b.ne fill
  add x5, x1, #0x28
  dc zva, x5
  ldr x3, =0x2222222233333333
  stp x2, x3, [x1, #0x80]
  mov x6, #(3 << 20)
  msr cpacr_el1, x6
  isb
  fmov d0, x3
  fmov d1, x2
  stp q0, q1, [x1, #0xc0]
  mov w7, #0xab
  strb w7, [x1, #0x13]
  .global done
done:
  b done
  .ltorg
`;

describe('aarch64 stores: STP, 128-bit STP, DC ZVA', { skip }, () => {
  let dir: string;
  let start: Uint8Array;
  let end: Uint8Array;
  let capture: CollectedCapture;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-stores-'));
    const src = path.join(dir, 'stores.s');
    const elf = path.join(dir, 'stores.elf');
    fs.writeFileSync(src, SOURCE);
    execFileSync('aarch64-linux-gnu-as', ['-o', `${elf}.o`, src]);
    execFileSync('aarch64-linux-gnu-ld', ['-Ttext', '0x40000000', '-e', '_start', '-o', elf, `${elf}.o`]);
    const done = BigInt(`0x${execFileSync('aarch64-linux-gnu-nm', [elf]).toString().split('\n').find((l) => l.endsWith(' done'))?.split(' ')[0]}`);
    const file = path.join(dir, 'stores.bin');
    let qemu: QemuProcess | undefined;
    let target: GdbTarget | undefined;
    try {
      qemu = await launchQemu({ qemu: { binary: qemu10Binary('aarch64'), machine: 'virt', cpu: 'cortex-a53', memory: '1024M', kernel: elf, extraArgs: ['-plugin', pluginArgument({ pluginPath: ensurePlugin(), out: file })] } });
      target = await GdbTarget.connect({ host: '127.0.0.1', port: qemu.gdbPort, timeoutMs: 15_000 });
      start = await target.readMemory(BUFFER, SIZE);
      assert.equal(await target.insertBreakpoint(0, done, 4), true);
      await target.cont();
      end = await target.readMemory(BUFFER, SIZE);
      await target.close();
      target = undefined;
      await qemu.shutdown();
    } finally {
      await target?.close().catch(() => undefined);
      killIfAlive(qemu?.pid);
    }
    capture = decodeCaptureFile(file);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the guest did what it says (the check has teeth)', () => {
    const b = Buffer.from(end);
    assert.equal(b.readBigUInt64LE(0x00), 0n, 'DC ZVA zeroed the 64-byte block holding 0x28');
    assert.equal(b[0x13], 0xab);
    assert.equal(b.readBigUInt64LE(0x40), 0x1111111111111111n, 'the block ends at 0x40');
    assert.equal(b.readBigUInt64LE(0x88), 0x2222222233333333n);
    assert.equal(b.readBigUInt64LE(0xc0), 0x2222222233333333n);
    assert.equal(b.readBigUInt64LE(0xc8), 0n, 'upper half of q0');
  });

  test('replaying the captured writes onto the start bytes gives the end bytes', () => {
    assert.equal(capture.termination.complete, true);
    const replayed = Uint8Array.from(start);
    for (const w of capture.writes) {
      for (let i = 0; i < w.value.length; i++) {
        const a = w.address + BigInt(i);
        if (a >= BUFFER && a < BUFFER + BigInt(SIZE)) replayed[Number(a - BUFFER)] = w.value[i];
      }
    }
    assert.equal(Buffer.from(replayed).toString('hex'), Buffer.from(end).toString('hex'));
  });

  test('DC ZVA appears as the zeroed block, attributed to the DC ZVA instruction', () => {
    const zva = capture.executed.find((e) => Buffer.from(e.instruction.bytes).readUInt32LE(0) === 0xd50b7425);
    assert.ok(zva, 'dc zva, x5 executed');
    const writes = capture.writes.filter((w) => w.sequence === zva.sequence);
    assert.deepEqual(writes.map((w) => [Number(w.address - BUFFER), w.value.length, w.value.every((b) => b === 0)]), [[0, 16, true], [16, 16, true], [32, 16, true], [48, 16, true]]);
  });
});
