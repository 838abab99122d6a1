// Packet-family decoders and encoders, one describe per wire name, on the payloads QEMU 7.2 really sends.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RspDecodeError,
  bigintToLittleEndian,
  decodeG,
  decodeMInto,
  decodePhyMemMode,
  decodePReply,
  decodeQC,
  decodeQRcmdReply,
  decodeQSupported,
  decodeQXferChunk,
  decodeSstep,
  decodeSstepBits,
  decodeStopReply,
  decodeThreadId,
  decodeThreadInfo,
  decodeVContQuery,
  decodeZReply,
  encodeBigP,
  encodeG,
  encodeM,
  encodeP,
  encodeQRcmd,
  encodeQSupported,
  encodeQXferFeaturesRead,
  encodeSetPhyMemMode,
  encodeSetSstep,
  encodeVCont,
  encodeWriteM,
  encodeZ,
  latin1Bytes,
  looksLikeStopReply,
  packetSizeOf,
  parseErrorReply,
  readTargetDescription,
  textToHex,
} from '../../src/rsp';

const ok = <T>(v: T | RspDecodeError): T => {
  if (v instanceof RspDecodeError) assert.fail(`unexpected decode error: ${v.message}`);
  return v;
};

describe('qSupported', () => {
  test('decodes QEMU 7.2 reply into a feature map with PacketSize', () => {
    const f = ok(decodeQSupported('PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+'));
    assert.equal(f.get('PacketSize'), '1000');
    assert.equal(f.get('qXfer:features:read'), true);
    assert.equal(f.get('multiprocess'), true);
    assert.equal(packetSizeOf(f), 0x1000);
  });
  test('minus features are false, unknown shapes are errors', () => {
    assert.equal(ok(decodeQSupported('ReverseStep-')).get('ReverseStep'), false);
    assert.ok(decodeQSupported('bogus') instanceof RspDecodeError);
  });
  test('encodes the client features without QStartNoAckMode', () => {
    assert.equal(encodeQSupported(), 'qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+');
  });
});

describe('qXfer:features:read', () => {
  test('encodes annex, offset and length in hex', () => {
    assert.equal(encodeQXferFeaturesRead('target.xml', 0x3fb, 0x3fb), 'qXfer:features:read:target.xml:3fb,3fb');
  });
  test('m is a middle chunk, l the last', () => {
    assert.deepEqual(ok(decodeQXferChunk('m<feat')), { last: false, data: '<feat' });
    assert.deepEqual(ok(decodeQXferChunk('l')), { last: true, data: '' });
    assert.ok(decodeQXferChunk('E00') instanceof RspDecodeError);
    assert.ok(decodeQXferChunk('') instanceof RspDecodeError);
  });
  test('readTargetDescription assembles multi-chunk replies and follows xi:include', async () => {
    const files: Record<string, string> = {
      'target.xml': '<target><architecture>arm</architecture><xi:include href="core.xml"/></target>',
      'core.xml': '<feature name="c"><reg name="r0" bitsize="32"/></feature>'.repeat(3),
    };
    const asked: string[] = [];
    const docs = await readTargetDescription(async (p) => {
      asked.push(p);
      const m = /^qXfer:features:read:([^:]+):([0-9a-f]+),([0-9a-f]+)$/.exec(p);
      assert.ok(m, p);
      const text = files[m[1]];
      const off = parseInt(m[2], 16);
      const chunk = text.slice(off, off + 16); // small chunks force several round trips
      return (off + 16 >= text.length ? 'l' : 'm') + chunk;
    });
    assert.equal(docs.get('target.xml'), files['target.xml']);
    assert.equal(docs.get('core.xml'), files['core.xml']);
    assert.ok(asked.length > 5);
  });
});

describe('g / G', () => {
  test('decodes hex into little-endian raw bytes', () => {
    assert.deepEqual([...ok(decodeG(latin1Bytes('0000004001020304')))], [0, 0, 0, 0x40, 1, 2, 3, 4]);
  });
  test('xx marks unavailable bytes (decoded as 0)', () => {
    const unavailable = new Uint8Array(4);
    assert.deepEqual([...ok(decodeG(latin1Bytes('11xx33xx'), undefined, unavailable))], [0x11, 0, 0x33, 0]);
    assert.deepEqual([...unavailable], [0, 1, 0, 1]);
  });
  test('non-hex and odd length are bad-hex errors', () => {
    assert.equal((decodeG(latin1Bytes('0g')) as RspDecodeError).reason, 'bad-hex');
    assert.equal((decodeG(latin1Bytes('123')) as RspDecodeError).reason, 'bad-hex');
  });
  test('encodes G from raw bytes', () => {
    assert.equal(encodeG(new Uint8Array([0xde, 0xad, 0, 1])), 'Gdead0001');
  });
});

describe('p / P', () => {
  test('p takes the regnum in hex, the reply is little-endian', () => {
    assert.equal(encodeP(25), 'p19');
    assert.equal(ok(decodePReply('d3010040', 4)), 0x400001d3n);
    assert.equal(ok(decodePReply('0000000040000000', 8)), 0x40n << 32n);
  });
  test('empty p reply (QEMU before target.xml) is an error', () => {
    assert.ok(decodePReply('') instanceof RspDecodeError);
  });
  test('wrong width is too-short / too-long', () => {
    assert.equal((decodePReply('0011', 4) as RspDecodeError).reason, 'too-short');
  });
  test('P writes the value little-endian at the register width', () => {
    assert.equal(encodeBigP(15, 0x40000008n, 4), 'Pf=08000040');
    assert.deepEqual([...bigintToLittleEndian(-1n, 2)], [0xff, 0xff]);
  });
});

describe('m / M', () => {
  test('encodes address and length in hex', () => {
    assert.equal(encodeM(0x40000000n, 0x800), 'm40000000,800');
    assert.equal(encodeWriteM(0x40100000n, new Uint8Array([0xef, 0xbe, 0xad, 0xde])), 'M40100000,4:efbeadde');
  });
  test('decodes into the right place of a larger buffer', () => {
    const out = new Uint8Array(6);
    assert.equal(ok(decodeMInto(latin1Bytes('aabb'), out, 2, 2)), 2);
    assert.deepEqual([...out], [0, 0, 0xaa, 0xbb, 0, 0]);
  });
  test('a short reply is too-short', () => {
    assert.equal((decodeMInto(latin1Bytes('aa'), new Uint8Array(4), 0, 4) as RspDecodeError).reason, 'too-short');
  });
});

describe('Z / z', () => {
  test('encodes type, address and kind', () => {
    assert.equal(encodeZ(true, 0, 0x40000010n, 4), 'Z0,40000010,4');
    assert.equal(encodeZ(false, 2, 0x40100000n, 4), 'z2,40100000,4');
  });
  test('OK is supported, empty is unsupported, E NN an error', () => {
    assert.equal(decodeZReply('OK'), true);
    assert.equal(decodeZReply(''), false);
    assert.ok(decodeZReply('E22') instanceof RspDecodeError);
  });
});

describe('s / c / vCont', () => {
  test('vCont? lists QEMU actions', () => {
    assert.deepEqual([...ok(decodeVContQuery('vCont;c;C;s;S'))], ['c', 'C', 's', 'S']);
    assert.equal(ok(decodeVContQuery('')).size, 0);
  });
  test('vCont encodes actions with optional thread', () => {
    assert.equal(encodeVCont([{ action: 's', thread: 'p1.1' }, { action: 'c' }]), 'vCont;s:p1.1;c');
  });

  test('vCont r carries its range before the thread (vCont;rSTART,END:thread)', () => {
    assert.equal(encodeVCont([{ action: 'r', range: [0x40000000n, 0x40000010n], thread: 'p1.1' }]), 'vCont;r40000000,40000010:p1.1');
  });
});

describe('stop replies', () => {
  test('QEMU 7.2 step reply T05thread:p01.01; is SIGTRAP with a thread', () => {
    const s = ok(decodeStopReply('T05thread:p01.01;'));
    assert.equal(s.kind, 'signal');
    assert.equal(s.kind === 'signal' && s.signal, 5);
    assert.equal(s.kind === 'signal' && s.thread, 'p01.01');
  });
  test('T02 (interrupt / connect to running VM) is SIGINT', () => {
    const s = ok(decodeStopReply('T02thread:01;'));
    assert.deepEqual(s.kind === 'signal' && [s.signal, s.thread], [2, '01']);
  });
  test('bare S05', () => {
    assert.deepEqual(ok(decodeStopReply('S05')), { kind: 'signal', signal: 5, registers: new Map(), extra: new Map() });
  });
  test('W00 exit and X09 termination', () => {
    assert.deepEqual(ok(decodeStopReply('W00')), { kind: 'exited', status: 0 });
    assert.deepEqual(ok(decodeStopReply('X09')), { kind: 'terminated', signal: 9 });
    assert.deepEqual(ok(decodeStopReply('W01;process:1a')), { kind: 'exited', status: 1, process: '1a' });
  });
  test('watch, rwatch, awatch carry the data address', () => {
    for (const kind of ['watch', 'rwatch', 'awatch'] as const) {
      const s = ok(decodeStopReply(`T05thread:p01.01;${kind}:0000000040100000;`));
      assert.deepEqual(s.kind === 'signal' && s.reason, { kind, address: 0x40100000n });
    }
  });
  test('swbreak / hwbreak reasons, core and register pairs', () => {
    const s = ok(decodeStopReply('T05swbreak:;core:1;0f:08000040;thread:p1.2;'));
    assert.ok(s.kind === 'signal');
    assert.deepEqual(s.reason, { kind: 'swbreak' });
    assert.equal(s.core, 1);
    assert.equal(s.registers.get(15), '08000040');
    assert.equal(s.thread, 'p1.2');
    const h = ok(decodeStopReply('T05hwbreak:;'));
    assert.deepEqual(h.kind === 'signal' && h.reason, { kind: 'hwbreak' });
  });
  test('unknown keys are kept in extra', () => {
    const s = ok(decodeStopReply('T05library:;'));
    assert.deepEqual(s.kind === 'signal' && [...s.extra], [['library', '']]);
  });
  test('O packet is console output', () => {
    assert.deepEqual(ok(decodeStopReply('O' + textToHex('hi\n'))), { kind: 'output', text: 'hi\n' });
  });
  test('malformed replies are errors, not exceptions', () => {
    for (const p of ['', 'T', 'Tzz', 'S05x', 'T05watch:zz;', 'W00;bogus', 'OK']) assert.ok(decodeStopReply(p) instanceof RspDecodeError, p);
  });
  test('looksLikeStopReply tells stops from ordinary replies', () => {
    assert.equal(looksLikeStopReply('T02thread:01;'), true);
    assert.equal(looksLikeStopReply('S05'), true);
    assert.equal(looksLikeStopReply('W00'), true);
    for (const p of ['OK', 'e1000000', 'PacketSize=1000', 'l', 'QCp01.01', 'Stop', 'X']) assert.equal(looksLikeStopReply(p), false, p);
  });
});

describe('E NN error replies', () => {
  test('E NN and E.message', () => {
    assert.deepEqual(parseErrorReply('E14'), { errno: 0x14 });
    assert.deepEqual(parseErrorReply('E.no such memory'), { errno: -1, message: 'no such memory' });
  });
  test('data that starts with E is not an error', () => {
    assert.equal(parseErrorReply('ENABLE=1,NOIRQ=2,NOTIMER=4'), null);
    assert.equal(parseErrorReply('E1'), null);
    assert.equal(parseErrorReply('OK'), null);
  });
});

describe('qfThreadInfo / qsThreadInfo / qC', () => {
  test('thread list chunks and the end marker', () => {
    assert.deepEqual(decodeThreadInfo('mp01.01'), ['p01.01']);
    assert.deepEqual(decodeThreadInfo('mp01.01,p01.02'), ['p01.01', 'p01.02']);
    assert.equal(decodeThreadInfo('l'), null);
    assert.ok(decodeThreadInfo('x') instanceof RspDecodeError);
  });
  test('qC and thread id forms', () => {
    assert.equal(decodeQC('QCp01.01'), 'p01.01');
    assert.equal(decodeQC(''), null);
    assert.deepEqual(decodeThreadId('p01.02'), { pid: 1, tid: 2 });
    assert.deepEqual(decodeThreadId('-1'), { tid: -1 });
    assert.deepEqual(decodeThreadId('p1.-1'), { pid: 1, tid: -1 });
  });
});

describe('qRcmd', () => {
  test('hex-encodes the command', () => {
    assert.equal(encodeQRcmd('info registers'), 'qRcmd,696e666f20726567697374657273');
  });
  test('O output, OK done, empty unsupported', () => {
    assert.deepEqual(decodeQRcmdReply('O' + textToHex('R00=1\n')), { kind: 'output', text: 'R00=1\n' });
    assert.deepEqual(decodeQRcmdReply('OK'), { kind: 'done' });
    assert.deepEqual(decodeQRcmdReply(''), { kind: 'unsupported' });
    assert.ok(decodeQRcmdReply('E01') instanceof RspDecodeError);
  });
});

describe('qqemu.sstepbits / Qqemu.sstep / PhyMemMode', () => {
  test('decodes the flag bits QEMU 7.2 reports', () => {
    assert.deepEqual([...ok(decodeSstepBits('ENABLE=1,NOIRQ=2,NOTIMER=4'))], [['ENABLE', 1], ['NOIRQ', 2], ['NOTIMER', 4]]);
  });
  test('decodes 0x7 and encodes Qqemu.sstep=', () => {
    assert.equal(decodeSstep('0x7'), 7);
    assert.equal(decodeSstep('5'), 5);
    assert.equal(encodeSetSstep(1), 'Qqemu.sstep=1');
  });
  test('PhyMemMode set and query', () => {
    assert.equal(encodeSetPhyMemMode(true), 'Qqemu.PhyMemMode:1');
    assert.equal(encodeSetPhyMemMode(false), 'Qqemu.PhyMemMode:0');
    assert.equal(decodePhyMemMode('1'), true);
    assert.equal(decodePhyMemMode('0'), false);
    assert.ok(decodePhyMemMode('') instanceof RspDecodeError);
  });
});
