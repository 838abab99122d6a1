// The recorder's acceptance suite for one demo build (issue 4): a real boot recorded under real QEMU into a
// real SQLite file, then checked against what the guest is known to do (guest/README.md) and against
// independent readers (the ELF's bytes, binutils objdump).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Disassembler, type Arch } from '../../src/arch';
import { RecordingStore } from '../../src/store/recording-store';
import { ElfFile } from '../../src/symbols';
import type { RecordingConfig } from '../../src/common/config';
import { recordDemo, GUEST_DIR, type DemoRecording, type RecordDemoOptions } from './demo-recording';
import { normalise, objdump } from './objdump';

/** The configured stages (guest/demo-*.json) in boot order: each must be entered, first entries in this order. */
const STAGE_ORDER = ['elfloader', 'seL4_boot', 'rootserver_start', 'camkes_init', 'freertos_main', 'pattern_painting', 'scheduler_start'];
const PAINTED = ['stack_region', 'data_region', 'heap_region', 'pattern_region'];

/** `overrides`/`options` choose another capture (e.g. { capture: 'plugin' } on QEMU 10); `skip` skips it all. */
export function recorderSuite(arch: Arch, overrides: Partial<RecordingConfig> = {}, options: RecordDemoOptions & { skip?: string | false } = {}): void {
  const base = arch === 'arm' ? 'demo-arm32' : 'demo-aarch64';
  let dir: string;
  let normal: DemoRecording;
  let corrupted: DemoRecording;
  let store: RecordingStore;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `bootscope-rec-${arch}-`));
    const database = path.join(dir, 'rec.db');
    if (options.skip) return;
    normal = await recordDemo(base, database, overrides, options);
    corrupted = await recordDemo(`${base}-corrupted`, database, overrides, options);
    store = RecordingStore.open(database, { readOnly: true });
  });
  after(() => {
    store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const label = overrides.capture === 'plugin' ? ' (plugin capture)' : '';
  describe(`${base}: a real boot recorded to boot_done${label}`, { skip: options.skip }, () => {
    test('the session ends completed at stopAt with every step in the file', () => {
      const s = store.getSession(normal.sessionId);
      assert.ok(s);
      assert.equal(s.status, 'completed');
      assert.equal(s.endReason, 'reached stopAt');
      assert.equal(normal.result.reason, 'stop-at');
      const count = store.query('SELECT COUNT(*), MIN(sequence_number), MAX(sequence_number) FROM instruction_traces WHERE session_id = ?', [normal.sessionId]).rows[0];
      assert.equal(Number(count[0]), s.instructionCount);
      assert.equal(Number(count[2]) - Number(count[1]) + 1, Number(count[0]), 'sequence numbers have no gaps');
      assert.ok(s.instructionCount > 20000, `${s.instructionCount} instructions`);
      assert.match(s.uartLog ?? '', /\[sched\] switch B->A/);
    });

    test('every configured stage is entered, in boot order', () => {
      const firsts: string[] = [];
      for (const v of store.stages(normal.sessionId)) if (!firsts.includes(v.stageName)) firsts.push(v.stageName);
      assert.deepEqual(firsts, STAGE_ORDER);
      const last = store.query('SELECT boot_stage, function_name FROM instruction_traces WHERE session_id = ? ORDER BY sequence_number DESC LIMIT 1', [normal.sessionId]).rows[0];
      assert.deepEqual(last, ['scheduler_start', 'boot_done']);
    });

    test('every painted region holds its pattern at >= 99% at the end, and was not painted at the start', () => {
      const snaps = store.snapshots(normal.sessionId);
      const first = store.regions(snaps[0].snapshotId);
      const last = store.regions(snaps[snaps.length - 1].snapshotId);
      for (const name of PAINTED) {
        const end = last.find((r) => r.regionName === name);
        assert.ok(end && (end.matchPercentage ?? 0) >= 99, `${name} at the end: ${end?.matchPercentage}%`);
        assert.equal(end.success, true);
        const start = first.find((r) => r.regionName === name);
        assert.ok(start && (start.matchPercentage ?? 100) < 1, `${name} at the start: ${start?.matchPercentage}%`);
      }
    });

    test('the scheduler stage shows task switches: A and B alternate through vTaskSwitchContext', () => {
      const rows = store.query(`SELECT function_name FROM instruction_traces WHERE session_id = ? AND boot_stage = 'scheduler_start'
        AND function_name IN ('vTaskA', 'vTaskB', 'vTaskSwitchContext') ORDER BY sequence_number`, [normal.sessionId]).rows.map((r) => String(r[0]));
      const runs = rows.filter((f, i) => f !== rows[i - 1]);
      const tasks = runs.filter((f) => f !== 'vTaskSwitchContext');
      const alternations = tasks.filter((t, i) => i > 0 && t !== tasks[i - 1]).length;
      assert.ok(alternations >= 6, `task runs: ${tasks.join(' ')}`);
      assert.ok(runs.filter((f) => f === 'vTaskSwitchContext').length >= 6);
    });

    test('recorded bytes equal the ELF and disassembly equals objdump at sampled addresses', async () => {
      const elfPath = path.join(GUEST_DIR, 'build', `${base}.elf`);
      const elf = ElfFile.read(elfPath);
      const reference = new Map(objdump(elf).map((l) => [l.address, l]));
      const rows = store.query(`SELECT pc_address, instruction_bytes, disassembly FROM instruction_traces WHERE session_id = ?
        GROUP BY pc_address ORDER BY pc_address`, [normal.sessionId]).rows;
      let compared = 0;
      const mismatches: string[] = [];
      const stride = Math.max(1, Math.floor(rows.length / 400));
      for (let i = 0; i < rows.length; i += stride) {
        const pc = BigInt(rows[i][0] as number);
        const bytes = rows[i][1] as Uint8Array;
        const line = reference.get(pc);
        const fromElf = elf.readAt(pc, bytes.length);
        if (!line || !fromElf) continue; // code copied at run time to an address the ELF does not describe
        assert.deepEqual([...bytes], [...fromElf], `bytes at 0x${pc.toString(16)}`);
        const kinds = new Set<string>();
        const ours = normalise(String(rows[i][2]), arch, kinds);
        const theirs = normalise(line.text, arch, kinds);
        compared++;
        if (ours !== theirs) mismatches.push(`0x${pc.toString(16)}: "${rows[i][2]}" vs objdump "${line.text}"`);
      }
      assert.ok(compared >= Math.min(150, rows.length / stride / 2), `only ${compared} addresses compared`);
      assert.deepEqual(mismatches, []);
      // and the column is what the disassembler says for those bytes (not a cached or shifted row)
      const d = await Disassembler.create();
      const sample = store.steps(normal.sessionId, 100, 1)[0];
      assert.ok(sample.bytes);
      assert.equal(d.disassemble(arch, sample.thumb ?? false, sample.bytes, sample.pc)?.text, sample.disassembly);
    });

    test('registers at any step are the full state: pc and sp agree with the row', () => {
      for (const seq of [1, 257, 5000, 12345]) {
        const step = store.step(normal.sessionId, seq);
        assert.ok(step, `step ${seq}`);
        assert.equal(step.registers.get('pc'), step.pc, `pc at ${seq}`);
        assert.equal(step.registers.get('sp'), step.sp, `sp at ${seq}`);
        assert.ok(step.registers.size >= (arch === 'arm' ? 17 : 34), `${step.registers.size} registers`);
      }
    });

    test('function names come from the symbol table, "unknown" only where no symbol covers the pc', () => {
      const names = store.query(`SELECT DISTINCT function_name FROM instruction_traces WHERE session_id = ?`, [normal.sessionId]).rows.map((r) => String(r[0]));
      for (const fn of ['elfloader_main', 'sel4_boot', 'rootserver_main', 'camkes_init', 'freertos_main', 'vPaintMemoryPattern', 'scheduler_start', 'vTaskSwitchContext', 'boot_done']) {
        assert.ok(names.includes(fn), `${fn} missing from ${names.join(', ')}`);
      }
    });

    if (arch === 'aarch64') {
      test('exception levels: EL2 for elfloader/seL4, EL1 for the rootserver, EL2 again for the hvc', () => {
        const levels = store.query(`SELECT function_name, GROUP_CONCAT(DISTINCT exception_level) FROM instruction_traces WHERE session_id = ?
          AND function_name IN ('elfloader_main', 'sel4_boot', 'rootserver_main', 'sel4_handle_syscall', 'vTaskA') GROUP BY function_name`, [normal.sessionId]).rows;
        const by = Object.fromEntries(levels.map((r) => [String(r[0]), String(r[1])]));
        assert.deepEqual(by, { elfloader_main: '2', sel4_boot: '2', rootserver_main: '1', sel4_handle_syscall: '2', vTaskA: '1' });
      });
    } else {
      test('Thumb state is recorded per instruction (the demo is all ARM state)', () => {
        const thumb = store.query('SELECT DISTINCT thumb FROM instruction_traces WHERE session_id = ?', [normal.sessionId]).rows.map((r) => Number(r[0]));
        assert.deepEqual(thumb, [0]);
      });
    }
  });

  describe(`${base}-corrupted: the stack overflow into the painted stack region${label}`, { skip: options.skip }, () => {
    test('stack_region drops to 976/1024 words with the first mismatch at +0xf40; the other regions stay whole', () => {
      const snaps = store.snapshots(corrupted.sessionId);
      const last = store.regions(snaps[snaps.length - 1].snapshotId);
      const stack = last.find((r) => r.regionName === 'stack_region');
      assert.ok(stack);
      assert.equal(stack.patternMatches, 976);
      assert.equal(stack.totalWords, 1024);
      assert.equal(stack.firstMismatchOffset, 0xf40);
      for (const name of PAINTED.filter((n) => n !== 'stack_region')) {
        assert.equal(last.find((r) => r.regionName === name)?.matchPercentage, 100, name);
      }
      const data = store.regions(snaps[snaps.length - 1].snapshotId, { withData: true }).find((r) => r.regionName === 'stack_region')?.data;
      assert.ok(data);
      assert.equal(Buffer.from(data).readUInt32LE(0xf40), 0x0b0b0000, 'the overflowing buffer starts at +0xf40 with index 0');
    });

    test('the drop is first seen in the scheduler stage, after the painting completed', () => {
      const rows = store.query(`SELECT ms.sequence_number, ms.boot_stage, mr.pattern_matches FROM memory_snapshots ms
        JOIN memory_regions mr ON mr.snapshot_id = ms.snapshot_id WHERE ms.session_id = ? AND mr.region_name = 'stack_region'
        ORDER BY ms.sequence_number`, [corrupted.sessionId]).rows.map((r) => ({ seq: Number(r[0]), stage: String(r[1]), matches: Number(r[2]) }));
      const full = rows.findIndex((r) => r.matches === 1024);
      assert.ok(full >= 0, 'the region was fully painted at some snapshot');
      const drop = rows.findIndex((r, i) => i > full && r.matches < 1024);
      assert.ok(drop > full, 'the region lost words after being painted');
      assert.equal(rows[drop].stage, 'scheduler_start');
    });
  });
}
