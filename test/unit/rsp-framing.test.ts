// Framing unit tests: the receive state machine and the encoder on byte arrays (no sockets).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameEvent, PacketDecoder, checksum, decodeFrames, encodePacket, latin1Bytes, latin1Text } from '../../src/rsp';

const bytes = (s: string): Uint8Array => latin1Bytes(s);
const frame = (body: string): string => {
  const cs = checksum(bytes(body));
  return `$${body}#${cs.toString(16).padStart(2, '0')}`;
};
const packets = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.kind === 'packet' ? [latin1Text(e.payload)] : []));

describe('framing: decoder', () => {
  test('decodes a QEMU stop reply with its checksum', () => {
    const ev = decodeFrames(bytes('$T05thread:p01.01;#06'));
    assert.deepEqual(ev.map((e) => e.kind), ['packet']);
    assert.deepEqual(packets(ev), ['T05thread:p01.01;']);
  });

  test('acks, naks and the interrupt byte outside packets are events', () => {
    const ev = decodeFrames(bytes('+-\x03+'));
    assert.deepEqual(ev.map((e) => e.kind), ['ack', 'nak', 'interrupt', 'ack']);
  });

  test('any chunking of the stream gives the same packets', () => {
    const stream = bytes(`+${frame('OK')}${frame('m0,4')}+${frame('l<target/>')}`);
    const whole = packets(decodeFrames(stream));
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new PacketDecoder();
      const ev: FrameEvent[] = [];
      d.push(stream.subarray(0, cut), (e) => ev.push(e));
      d.push(stream.subarray(cut), (e) => ev.push(e));
      assert.deepEqual(packets(ev), whole, `cut at ${cut}`);
    }
    assert.deepEqual(whole, ['OK', 'm0,4', 'l<target/>']);
  });

  test('plain body runs (decoded in bulk) give the same events in one chunk as byte by byte', () => {
    // Deterministic xorshift so a failure is reproducible; small limit so runs also hit `oversized`.
    let seed = 0x9e3779b9;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pieces = ['0123456789abcdef', 'T05thread:p01.01;', '}\x03', 'a*"', '#', '$', '+', '-', 'zz', '\xff\x00'];
    for (let round = 0; round < 2000; round++) {
      let text = '';
      for (let k = rand(6); k >= 0; k--) {
        const body = Array.from({ length: rand(8) }, () => pieces[rand(pieces.length)]).join('').repeat(1 + rand(6));
        text += rand(4) === 0 ? body : frame(body);
      }
      const stream = bytes(text);
      const whole: FrameEvent[] = [];
      new PacketDecoder(64).push(stream, (e) => whole.push(e));
      const single: FrameEvent[] = [];
      const d = new PacketDecoder(64);
      for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1), (e) => single.push(e));
      assert.deepEqual(single, whole, `round ${round}: ${JSON.stringify(text.slice(0, 80))}`);
    }
  });

  test('a body of exactly the size limit decodes; one byte more is oversized', () => {
    assert.deepEqual(packets(decodeFrames(bytes(frame('a'.repeat(64))), 64)), ['a'.repeat(64)]);
    const ev = decodeFrames(bytes(frame('a'.repeat(65)) + frame('OK')), 64);
    assert.deepEqual(ev.map((e) => (e.kind === 'error' ? e.error.kind : e.kind)), ['oversized', 'packet']);
  });

  test('checksum mismatch reports both sums and no packet', () => {
    const ev = decodeFrames(bytes('$OK#00'));
    assert.deepEqual(ev, [{ kind: 'error', error: { kind: 'checksum-mismatch', received: 0, calculated: 0x9a, notification: false } }]);
  });

  test('uppercase checksum digits are accepted', () => {
    assert.deepEqual(packets(decodeFrames(bytes('$OK#9A'))), ['OK']);
  });

  test('non-hex checksum character is a bad-checksum-hex error', () => {
    const ev = decodeFrames(bytes('$OK#zz'));
    assert.equal(ev[0].kind, 'error');
    assert.deepEqual(ev[0].kind === 'error' && ev[0].error, { kind: 'bad-checksum-hex', byte: 0x7a });
  });

  test('a new $ before # is missing-checksum, and the new packet still decodes', () => {
    const ev = decodeFrames(bytes(`$OK${frame('S05')}`));
    assert.deepEqual(ev[0], { kind: 'error', error: { kind: 'missing-checksum', bodyLength: 2 } });
    assert.deepEqual(packets(ev), ['S05']);
  });

  test('} escapes unescape to byte ^ 0x20', () => {
    // `}]` -> `}` (0x7d), `}\x03` -> `#`, `}\x04` -> `$`, `}\x0a` -> `*`
    const ev = decodeFrames(bytes(frame('a}]b}\x03c}\x04d}\x0a')));
    assert.deepEqual(packets(ev), ['a}b#c$d*']);
  });

  test('* run-length repeats the previous byte (count char - 29) times', () => {
    // "0* " = '0' + 3 more; GDB manual example: "0* " means "0000".
    assert.deepEqual(packets(decodeFrames(bytes(frame('0* ')))), ['0000']);
    assert.deepEqual(packets(decodeFrames(bytes(frame('x*!y')))), ['xxxxxy']);
  });

  test('* with nothing before it is a bad-run-length error', () => {
    const ev = decodeFrames(bytes(frame('*!abc')));
    assert.deepEqual(ev, [{ kind: 'error', error: { kind: 'bad-run-length', offset: 0 } }]);
  });

  test('dangling } before # is a bad-escape error', () => {
    const ev = decodeFrames(bytes(frame('ab}')));
    assert.deepEqual(ev, [{ kind: 'error', error: { kind: 'bad-escape', offset: 2 } }]);
  });

  test('% starts a notification, not a packet', () => {
    const ev = decodeFrames(bytes(`%${frame('Stop:T05').slice(1)}`));
    assert.equal(ev[0].kind, 'notification');
    assert.equal(ev[0].kind === 'notification' && latin1Text(ev[0].payload), 'Stop:T05');
  });

  test('garbage between packets is one coalesced error per run', () => {
    const ev = decodeFrames(bytes(`junk\r\n${frame('OK')}zz`));
    assert.deepEqual(ev.map((e) => (e.kind === 'error' ? e.error : e.kind)), [{ kind: 'garbage', length: 6 }, 'packet', { kind: 'garbage', length: 2 }]);
  });

  test('an oversized packet is reported once and skipped; the next packet decodes', () => {
    const big = 'a'.repeat(300);
    const ev = decodeFrames(bytes(frame(big) + frame('OK')), 256);
    assert.deepEqual(ev.map((e) => (e.kind === 'error' ? e.error.kind : e.kind)), ['oversized', 'packet']);
    assert.deepEqual(packets(ev), ['OK']);
  });

  test('run-length expansion past the limit is oversized too', () => {
    const body = 'a' + '*~'.repeat(10); // 1 + 10*97 decoded bytes
    const ev = decodeFrames(bytes(frame(body)), 256);
    assert.deepEqual(ev.map((e) => (e.kind === 'error' ? e.error.kind : e.kind)), ['oversized']);
  });

  test('input ending inside a packet is truncated', () => {
    assert.deepEqual(decodeFrames(bytes('$T05')), [{ kind: 'error', error: { kind: 'truncated', state: 'body' } }]);
    assert.deepEqual(decodeFrames(bytes('$T05#1')), [{ kind: 'error', error: { kind: 'truncated', state: 'checksum' } }]);
  });

  test('binary bytes (0x00-0xff) pass through escaped frames', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const ev = decodeFrames(encodePacket(all));
    assert.equal(ev.length, 1);
    assert.deepEqual(ev[0].kind === 'packet' && [...ev[0].payload], [...all]);
  });
});

describe('framing: encoder', () => {
  test('frames a payload with its two-digit lowercase checksum', () => {
    assert.equal(latin1Text(encodePacket('g')), '$g#67');
    assert.equal(latin1Text(encodePacket('s')), '$s#73');
    assert.equal(latin1Text(encodePacket('')), '$#00');
  });

  test('escapes $ # } * and the checksum covers the escaped bytes', () => {
    const out = latin1Text(encodePacket('a$b#c}d*'));
    assert.equal(out.slice(0, -3), '$a}\x04b}\x03c}]d}\x0a');
    const body = bytes(out.slice(1, -3));
    assert.equal(out.slice(-2), checksum(body).toString(16).padStart(2, '0'));
  });

  test('encode then decode is the identity', () => {
    for (const p of ['qSupported:multiprocess+;swbreak+', 'X1000,4:}$#*', 'M40000000,4:deadbeef', '']) {
      assert.deepEqual(packets(decodeFrames(encodePacket(p))), [p]);
    }
  });
});
