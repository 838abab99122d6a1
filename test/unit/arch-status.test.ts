// Status-register decoding (CPSR / PSTATE-as-cpsr), register roles and instruction lengths: pure
// functions of src/arch checked against values worked out by hand from the ARM ARM bit layouts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStatus, instructionLength, instructionSetOf, isThumb, registerForRole, thumbInstructionLength } from '../../src/arch';

describe('decodeStatus: AArch32 CPSR', () => {
  test('0x600001d3 is svc at EL1 with Z and C set and A, I, F masked', () => {
    const s = decodeStatus('arm', 0x600001d3);
    assert.equal(s.mode, 'svc');
    assert.equal(s.exceptionLevel, 1);
    assert.equal(s.executionState, 'aarch32');
    assert.deepEqual(s.flags, { n: false, z: true, c: true, v: false });
    assert.deepEqual(s.masks, { d: false, a: true, i: true, f: true });
    assert.equal(s.thumb, false);
  });

  test('every AArch32 mode maps to its name and exception level', () => {
    const expected: [number, string, number][] = [
      [0x10, 'usr', 0], [0x11, 'fiq', 1], [0x12, 'irq', 1], [0x13, 'svc', 1], [0x16, 'mon', 3],
      [0x17, 'abt', 1], [0x1a, 'hyp', 2], [0x1b, 'und', 1], [0x1f, 'sys', 1],
    ];
    for (const [m, mode, el] of expected) {
      const s = decodeStatus('arm', m);
      assert.equal(s.mode, mode, `M=0x${m.toString(16)}`);
      assert.equal(s.exceptionLevel, el, `M=0x${m.toString(16)}`);
    }
  });

  test('a reserved mode encoding is reported raw with no exception level', () => {
    const s = decodeStatus('arm', 0x15);
    assert.equal(s.mode, 'M=0x15');
    assert.equal(s.exceptionLevel, undefined);
  });

  test('the T bit (bit 5) means Thumb and N, V are bits 31 and 28', () => {
    const s = decodeStatus('arm', 0x90000030);
    assert.equal(s.thumb, true);
    assert.equal(s.mode, 'usr');
    assert.deepEqual(s.flags, { n: true, z: false, c: false, v: true });
    assert.equal(isThumb('arm', 0x90000030), true);
    assert.equal(isThumb('arm', 0x90000010), false);
  });

  test('ITSTATE is gathered from CPSR bits 15:10 and 26:25', () => {
    // IT[7:0] = 0b0000_1000 (`it eq`, one instruction): IT[7:2]=0b000010 -> CPSR[15:10], IT[1:0]=0.
    assert.equal(decodeStatus('arm', (0b000010 << 10) | 0x30).itState, 0x08);
    // IT[7:0] = 0b1010_0111: IT[7:2]=0b101001, IT[1:0]=0b11.
    assert.equal(decodeStatus('arm', (0b101001 << 10) | (0b11 << 25) | 0x30).itState, 0xa7);
    assert.equal(decodeStatus('arm', 0x600001d3).itState, 0);
  });

  test('a bigint status value decodes like the number', () => {
    assert.deepEqual(decodeStatus('arm', 0x600001d3n), decodeStatus('arm', 0x600001d3));
  });
});

describe('decodeStatus: AArch64 PSTATE as QEMU reports it in cpsr', () => {
  test('0x3c5 is EL1h with D, A, I, F masked', () => {
    const s = decodeStatus('aarch64', 0x3c5);
    assert.equal(s.mode, 'EL1h');
    assert.equal(s.exceptionLevel, 1);
    assert.equal(s.executionState, 'aarch64');
    assert.deepEqual(s.masks, { d: true, a: true, i: true, f: true });
    assert.equal(s.thumb, false);
  });

  test('every AArch64 mode maps to its name and EL = M[3:2]', () => {
    const expected: [number, string, number][] = [
      [0b0000, 'EL0t', 0], [0b0100, 'EL1t', 1], [0b0101, 'EL1h', 1], [0b1000, 'EL2t', 2],
      [0b1001, 'EL2h', 2], [0b1100, 'EL3t', 3], [0b1101, 'EL3h', 3],
    ];
    for (const [m, mode, el] of expected) {
      const s = decodeStatus('aarch64', 0x60000000 | m);
      assert.equal(s.mode, mode, `M=${m.toString(2)}`);
      assert.equal(s.exceptionLevel, el, `M=${m.toString(2)}`);
      assert.equal(s.flags.z, true);
    }
  });

  test('nRW (bit 4) set means AArch32 state, decoded with AArch32 modes and the T bit', () => {
    const s = decodeStatus('aarch64', 0x30);
    assert.equal(s.executionState, 'aarch32');
    assert.equal(s.mode, 'usr');
    assert.equal(s.thumb, true);
    assert.equal(isThumb('aarch64', 0x30), true);
    assert.deepEqual(instructionSetOf('aarch64', 0x30), { arch: 'arm', thumb: true });
  });

  test('bit 5 in AArch64 state is not Thumb', () => {
    assert.equal(isThumb('aarch64', 0x3e5), false);
    assert.deepEqual(instructionSetOf('aarch64', 0x3e5), { arch: 'aarch64', thumb: false });
  });
});

describe('register roles', () => {
  test("QEMU's AArch32 names are found for pc, sp, lr and status", () => {
    const names = ['r0', 'r1', 'r12', 'sp', 'lr', 'pc', 'cpsr'];
    assert.equal(registerForRole('arm', 'pc', names), 'pc');
    assert.equal(registerForRole('arm', 'sp', names), 'sp');
    assert.equal(registerForRole('arm', 'lr', names), 'lr');
    assert.equal(registerForRole('arm', 'status', names), 'cpsr');
  });

  test('AArch64 lr is x30 and status is cpsr', () => {
    const names = ['x0', 'x29', 'x30', 'sp', 'pc', 'cpsr', 'fpsr'];
    assert.equal(registerForRole('aarch64', 'lr', names), 'x30');
    assert.equal(registerForRole('aarch64', 'status', names), 'cpsr');
  });

  test('aliases are accepted and the reported spelling is returned', () => {
    assert.equal(registerForRole('arm', 'pc', ['R15', 'CPSR']), 'R15');
    assert.equal(registerForRole('arm', 'lr', ['r0']), undefined);
  });
});

describe('instruction length', () => {
  test('Thumb first halfwords 0b11101/0b11110/0b11111 start 32-bit instructions', () => {
    assert.equal(thumbInstructionLength(0xe92d), 4); // push.w / stmdb
    assert.equal(thumbInstructionLength(0xf000), 4); // bl (first half)
    assert.equal(thumbInstructionLength(0xf8d3), 4); // ldr.w
    assert.equal(thumbInstructionLength(0xe7fe), 2); // b . (0b11100 is 16-bit)
    assert.equal(thumbInstructionLength(0x4770), 2); // bx lr
    assert.equal(thumbInstructionLength(0xbf08), 2); // it eq
  });

  test('A32 and A64 are always 4 bytes, Thumb reads the little-endian first halfword', () => {
    assert.equal(instructionLength('arm', false, Uint8Array.of(0x70, 0x47)), 4);
    assert.equal(instructionLength('aarch64', true, Uint8Array.of(0x70, 0x47)), 4);
    assert.equal(instructionLength('arm', true, Uint8Array.of(0x70, 0x47)), 2);
    assert.equal(instructionLength('arm', true, Uint8Array.of(0x2d, 0xe9, 0xf0, 0x41)), 4);
  });
});
