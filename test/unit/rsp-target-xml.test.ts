// target.xml -> RegisterLayout on the real target descriptions QEMU 7.2 sends for cortex-a15 (arm)
// and cortex-a53 (aarch64), saved under fixtures/qemu-7.2/ (captured with qXfer:features:read).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RegisterLayout, RspDecodeError, buildRegisterLayout, decodeRegisterValues, withGPacketSize } from '../../src/rsp';

function fixture(arch: 'arm' | 'aarch64'): Map<string, string> {
  const dir = join(__dirname, 'fixtures', 'qemu-7.2', arch);
  return new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'latin1')]));
}

function layoutOf(docs: Map<string, string>, g?: number): RegisterLayout {
  const l = buildRegisterLayout(docs, g);
  if (l instanceof RspDecodeError) assert.fail(l.message);
  return l;
}

describe('target.xml -> layout: arm (cortex-a15)', () => {
  // QEMU 7.2 `g` for arm after target.xml: r0-r15 + cpsr = 68 bytes (FPA slots 16-24 are gone with XML).
  const layout = layoutOf(fixture('arm'), 68);

  test('architecture is arm', () => assert.equal(layout.architecture, 'arm'));
  test('r0..pc are regnums 0..15 at 4-byte offsets', () => {
    assert.deepEqual(['r0', 'sp', 'lr', 'pc'].map((n) => [layout.byName.get(n)?.regnum, layout.byName.get(n)?.gOffset]), [[0, 0], [13, 52], [14, 56], [15, 60]]);
  });
  test('cpsr is regnum 25 and directly follows pc in g', () => {
    const cpsr = layout.byName.get('cpsr');
    assert.deepEqual([cpsr?.regnum, cpsr?.gOffset, cpsr?.bitsize], [25, 64, 32]);
  });
  test('neon d0 continues numbering after cpsr and is not in g', () => {
    const d0 = layout.byName.get('d0');
    assert.deepEqual([d0?.regnum, d0?.bitsize, d0?.gOffset, d0?.feature], [26, 64, undefined, 'org.gnu.gdb.arm.vfp']);
    assert.equal(layout.byName.get('fpexc')?.group, 'float');
  });
  test('system registers keep their explicit regnums; duplicate names resolve to the lowest', () => {
    assert.equal(layout.byName.get('MAIR0')?.regnum, 77);
    assert.equal(layout.byName.get('DUMMY')?.regnum, 82);
    assert.equal(layout.byName.get('SCTLR')?.group, 'cp_regs');
  });
  test('gPacketSize is what the g reply carried', () => assert.equal(layout.gPacketSize, 68));
  test('decodes a real g reply (pc 0x40000000, cpsr 0x400001d3)', () => {
    const raw = new Uint8Array(68);
    raw.set([0, 0, 0, 0x40], 60);
    raw.set([0xd3, 0x01, 0x00, 0x40], 64);
    const v = decodeRegisterValues(layout, raw);
    assert.equal(v.get('pc'), 0x40000000n);
    assert.equal(v.get('cpsr'), 0x400001d3n);
    assert.equal(v.size, 17);
  });
});

describe('target.xml -> layout: aarch64 (cortex-a53)', () => {
  // x0-x30, sp, pc (8 bytes each) + cpsr (4) = 268 bytes in `g`.
  const layout = layoutOf(fixture('aarch64'), 268);

  test('architecture is aarch64', () => assert.equal(layout.architecture, 'aarch64'));
  test('sp, pc, cpsr offsets and sizes', () => {
    assert.deepEqual(['x30', 'sp', 'pc', 'cpsr'].map((n) => [layout.byName.get(n)?.regnum, layout.byName.get(n)?.gOffset, layout.byName.get(n)?.bitsize]), [
      [30, 240, 64],
      [31, 248, 64],
      [32, 256, 64],
      [33, 264, 32],
    ]);
  });
  test('v0 is 128-bit regnum 34, fpsr/fpcr follow v31, none in g', () => {
    assert.deepEqual([layout.byName.get('v0')?.regnum, layout.byName.get('v0')?.bitsize, layout.byName.get('v0')?.gOffset], [34, 128, undefined]);
    assert.equal(layout.byName.get('fpsr')?.regnum, 66);
    assert.equal(layout.byName.get('fpcr')?.regnum, 67);
  });
  test('64-bit values decode little-endian', () => {
    const raw = new Uint8Array(268);
    raw.set([0x18, 0, 0, 0x40, 0, 0, 0, 0], 256);
    raw.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 8);
    const v = decodeRegisterValues(layout, raw);
    assert.equal(v.get('pc'), 0x40000018n);
    assert.equal(v.get('x1'), 0xffffffffffffffffn);
  });
  test('without a g size every register gets an offset; withGPacketSize trims', () => {
    const full = layoutOf(fixture('aarch64'));
    assert.ok(full.gPacketSize > 268);
    assert.equal(withGPacketSize(full, 268).byName.get('v0')?.gOffset, undefined);
  });
});

describe('target.xml -> layout: errors', () => {
  test('a missing include is an error naming it', () => {
    const r = buildRegisterLayout(new Map([['target.xml', '<target><xi:include href="nope.xml"/></target>']]));
    assert.ok(r instanceof RspDecodeError && r.message.includes('nope.xml'));
  });
  test('unclosed element is malformed', () => {
    assert.ok(buildRegisterLayout(new Map([['target.xml', '<target><feature name="x">']])) instanceof RspDecodeError);
  });
  test('reg without bitsize is malformed', () => {
    assert.ok(buildRegisterLayout(new Map([['target.xml', '<target><reg name="r0"/></target>']])) instanceof RspDecodeError);
  });
  test('entities in attributes are unescaped', () => {
    const l = buildRegisterLayout(new Map([['target.xml', '<target><reg name="a&amp;b" bitsize="8"/></target>']]));
    assert.ok(!(l instanceof RspDecodeError) && l.byName.has('a&b'));
  });
});
