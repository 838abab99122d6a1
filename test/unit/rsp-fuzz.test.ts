// Fuzz-style test of the framing decoder: over a million random and mutated byte sequences (mutations
// of valid packets: flipped bits, truncations, duplicated `$`, stray `#`, huge runs). No exception may
// escape, memory stays bounded, every non-empty input ends in events (packets or typed errors), and
// unmutated packets always round-trip. Seeded PRNG: set BOOTSCOPE_FUZZ_SEED to replay a failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameEvent, PacketDecoder, encodePacket, latin1Text } from '../../src/rsp';
import { prng } from '../../src/store/synthetic-session';

const INPUTS = 1_000_000;
const MAX_PACKET = 512; // small, so that oversized packets are cheap to produce
const ERROR_KINDS = new Set(['checksum-mismatch', 'bad-checksum-hex', 'missing-checksum', 'oversized', 'bad-run-length', 'bad-escape', 'garbage', 'truncated']);


const SAMPLES = ['T05thread:p01.01;', 'OK', 'E14', 'S05', 'W00', 'qSupported:multiprocess+', 'm40000000,800', 'l<target/>', 'PacketSize=1000', '0*}00', 'a}]b'];

test('decoder survives 1,000,000 random and mutated inputs with bounded memory', () => {
  const seed = Number(process.env.BOOTSCOPE_FUZZ_SEED ?? (Date.now() & 0x7fffffff));
  const rand = prng(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const decoder = new PacketDecoder(MAX_PACKET);
  const scratch = new Uint8Array(3 * MAX_PACKET);
  let events = 0;
  let packets = 0;
  let errors = 0;
  let current = 0;
  const emit = (e: FrameEvent): void => {
    events++;
    if (e.kind === 'error') {
      errors++;
      if (!ERROR_KINDS.has(e.error.kind)) throw new Error(`unknown error kind ${e.error.kind}`);
    } else if (e.kind === 'packet' || e.kind === 'notification') {
      packets++;
      if (e.payload.length > MAX_PACKET) throw new Error(`payload of ${e.payload.length} bytes exceeds ${MAX_PACKET}`);
    }
  };
  const heapBefore = process.memoryUsage().heapUsed;
  try {
    for (current = 0; current < INPUTS; current++) {
      let input: Uint8Array;
      const mode = int(16);
      if (mode < 2) {
        // pure random bytes
        const n = 1 + int(48);
        for (let i = 0; i < n; i++) scratch[i] = int(256);
        input = scratch.subarray(0, n);
      } else if (mode < 4) {
        // round trip: a random payload must decode to exactly itself
        const n = int(64);
        const payload = new Uint8Array(n);
        for (let i = 0; i < n; i++) payload[i] = int(256);
        const framed = encodePacket(payload);
        const got: FrameEvent[] = [];
        decoder.push(framed, (e) => got.push(e));
        decoder.end((e) => got.push(e));
        if (got.length !== 1 || got[0].kind !== 'packet' || got[0].payload.length !== n || got[0].payload.some((b, i) => b !== payload[i])) {
          throw new Error(`round trip failed for ${JSON.stringify(latin1Text(payload))}: ${JSON.stringify(got)}`);
        }
        events++;
        packets++;
        continue;
      } else if (mode === 4) {
        // huge run: a long body or RLE expansion past the limit
        const n = MAX_PACKET + int(2 * MAX_PACKET);
        scratch[0] = 0x24;
        for (let i = 1; i < n; i++) scratch[i] = rand() < 0.5 ? 0x61 : i % 2 ? 0x2a : 0x7e;
        scratch[n] = 0x23;
        scratch[n + 1] = 0x30;
        scratch[n + 2] = 0x30;
        input = scratch.subarray(0, n + 3);
      } else {
        // mutate a valid packet stream
        const base = encodePacket(SAMPLES[int(SAMPLES.length)]);
        let n = base.length;
        scratch.set(base);
        const mutations = 1 + int(3);
        for (let k = 0; k < mutations; k++) {
          const m = int(6);
          if (m === 0) scratch[int(n)] ^= 1 << int(8); // flipped bit
          else if (m === 1) n = int(n) + 1; // truncation
          else if (m === 2 && n < scratch.length - 1) { // duplicated `$`
            const at = int(n);
            scratch.copyWithin(at + 1, at, n);
            scratch[at] = 0x24;
            n++;
          } else if (m === 3) scratch[int(n)] = 0x23; // stray `#`
          else if (m === 4) scratch[int(n)] = [0x7d, 0x2a, 0x25, 0x2b, 0x2d, 0x03][int(6)]; // special bytes
          else if (n + base.length < scratch.length) { // a second packet glued on
            scratch.set(base, n);
            n += base.length;
          }
        }
        input = scratch.subarray(0, n);
      }
      const before = events;
      // Feed in two arbitrary pieces: chunking must not matter for robustness.
      const cut = int(input.length + 1);
      decoder.push(input.subarray(0, cut), emit);
      decoder.push(input.subarray(cut), emit);
      decoder.end(emit);
      if (input.length > 0 && events === before) throw new Error(`input produced no event: ${JSON.stringify(latin1Text(input).slice(0, 80))}`);
    }
  } catch (e) {
    assert.fail(`fuzz failed at input #${current} with BOOTSCOPE_FUZZ_SEED=${seed}: ${(e as Error).message}`);
  }
  const grown = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes (seed ${seed})`);
  assert.ok(packets > 100_000 && errors > 100_000, `too few packets (${packets}) or errors (${errors}): the mutations are not exercising both paths (seed ${seed})`);
});
