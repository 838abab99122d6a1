// Plugin capture when things go wrong (issue 13, tests 4): a reader that falls behind loses nothing (the
// guest waits); QEMU killed mid-capture ends the stream cleanly with the cut-off record detected; a plugin
// of the wrong API version, or a QEMU older than 9.2, is refused with a message saying what to do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePlugin, PluginCapture, RecordType } from '../../src/capture/plugin';
import { BootscopeError } from '../../src/common/errors';
import { loadSymbols } from '../../src/symbols';
import { collectCapture, type CollectedCapture, demoArgs, demoElf, qemu10, qemu10Binary } from '../support/plugin-fixtures';

const q = qemu10();
const skip = 'skip' in q ? q.skip : false;
const build = 'demo-aarch64';

describe('plugin capture under a slow reader, a killed QEMU and wrong versions', { skip }, () => {
  let dir: string;
  let reference: CollectedCapture;
  let stopAtBootDone: { stopPc: { start: bigint; end: bigint }; exitOnStop: true };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-robust-'));
    const done = loadSymbols([demoElf(build)]).lookup('boot_done');
    assert.ok(done !== undefined);
    stopAtBootDone = { stopPc: { start: done, end: done + 1n }, exitOnStop: true };
    reference = await collectCapture(build, stopAtBootDone);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const pcs = (c: CollectedCapture): string => c.executed.map((e) => e.instruction.pc.toString(16)).join(',');

  test('a reader pausing 3 s after the first batch loses nothing: QEMU waits for it, then the stream is whole', async () => {
    let waitedWhileAlive: boolean | undefined;
    const slow = await collectCapture(build, stopAtBootDone, {
      // 4 KiB buffer and pipe: the plugin must block many times during the pause
      bufferBytes: 4096,
      pipeBytes: 4096,
      onBatch: async (_events, capture) => {
        if (waitedWhileAlive !== undefined) return;
        await new Promise((r) => setTimeout(r, 3000));
        // Unthrottled, this boot takes ~0.1 s and QEMU exits at boot_done; still running means it waited.
        waitedWhileAlive = capture.process.exitCode === null && capture.process.signalCode === null;
      },
    });
    assert.equal(waitedWhileAlive, true, 'QEMU kept running (blocked on the full pipe) while the reader paused');
    assert.equal(slow.termination.complete, true);
    assert.equal(slow.executed.length, reference.executed.length);
    assert.equal(slow.writes.length, reference.writes.length);
    assert.equal(pcs(slow), pcs(reference));
    assert.deepEqual(slow.end, reference.end);
  });

  test('QEMU killed mid-capture: the stream ends without END, every decoded step is the reference\'s, the cut record is reported', async () => {
    let killed = false;
    const cut = await collectCapture(build, stopAtBootDone, {
      // default 1 MiB buffer: the flush at boot_done is one large write that a 4 KiB pipe takes in pieces,
      // so SIGKILL lands in the middle of it
      pipeBytes: 4096,
      onBatch: async (_events, capture) => {
        if (killed) return;
        killed = true;
        await new Promise((r) => setTimeout(r, 200));
        capture.kill('SIGKILL');
      },
    });
    assert.equal(killed, true);
    assert.equal(cut.end, undefined);
    assert.equal(cut.termination.complete, false);
    assert.ok(cut.executed.length > 0 && cut.executed.length < reference.executed.length, `${cut.executed.length} steps before the kill`);
    assert.ok(pcs(reference).startsWith(pcs(cut)), 'the decoded steps are a prefix of the full capture');
    cut.executed.forEach((e, i) => assert.equal(e.sequence, i + 1));
    // The pipe takes the big write a page at a time, which cuts records anywhere: the decoder holds the
    // partial last record back and names it instead of decoding garbage.
    assert.ok(cut.termination.truncatedBytes > 0, JSON.stringify(cut.termination));
    assert.ok(Object.values(RecordType).includes(cut.termination.truncatedRecordType as RecordType), `cut record type ${cut.termination.truncatedRecordType}`);
  });

  test('a plugin declaring API 99 is refused by QEMU 10, and the error says to rebuild for API 4', async () => {
    const wrong = ensurePlugin({ apiVersion: 99, output: path.join(dir, 'libbootscope-api99.so') });
    const capture = new PluginCapture({ qemuBinary: qemu10Binary('aarch64'), qemuArgs: demoArgs(build), pluginPath: wrong });
    await assert.rejects(async () => {
      for await (const _ of capture.batches()) { /* nothing arrives */ }
    }, (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.equal(e.code, 'qemu');
      assert.match(e.message, /requires API version 99, but this QEMU supports only up to version 4/);
      assert.match(e.message, /declares QEMU plugin API 99, this QEMU supports up to 4: rebuild it for API 4 \(make -C plugin\)/);
      return true;
    });
    assert.notEqual((await capture.exited).code, 0);
  });

  test('QEMU 7.2 (the system\'s, plugin API 1) cannot load the plugin, and the error names the way out', async () => {
    const capture = new PluginCapture({ qemuBinary: 'qemu-system-aarch64', qemuArgs: demoArgs(build, []), pluginPath: ensurePlugin() });
    await assert.rejects(async () => {
      for await (const _ of capture.batches()) { /* nothing arrives */ }
    }, (e: unknown) => {
      assert.ok(e instanceof BootscopeError);
      assert.match(e.message, /predates plugin API 4 \(QEMU 9\.2\).*scripts\/qemu10\.sh/);
      return true;
    });
  });
});
