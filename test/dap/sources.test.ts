// Where a stack frame's source comes from. The demo guest's DWARF names its files relative to the build
// ("guest/src/painting.c", -ffile-prefix-map): the adapter finds them under the ELF's folder and its
// parents, as in a checkout (guest/build/*.elf next to guest/src). When a file is nowhere on disk, the
// frame carries no source at all, only its instruction pointer, so VS Code opens the Disassembly view
// instead of an editor tab saying "Could not load source"; the stop is reported as an instruction breakpoint,
// the one reason for which VS Code shows a stop there (the real reason stays in its description).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

const ROOT = path.resolve(__dirname, '../..');
const ADAPTER = path.join(ROOT, 'dist/adapter.js');
const GUEST = path.join(ROOT, 'guest');
const ELF = path.join(GUEST, 'build', 'demo-arm32.elf');
const BREAK_SYMBOL = 'vPaintMemoryPattern';
/** The file DWARF names for BREAK_SYMBOL, as the guest's Makefile builds it. */
const DWARF_FILE = 'guest/src/painting.c';

/** `file:line` of an address by binutils' addr2line (independent of the adapter's DWARF reader). */
function addr2line(elf: string, address: bigint): { file: string; line: number } {
  const out = execFileSync('addr2line', ['-e', elf, `0x${address.toString(16)}`], { encoding: 'utf8' }).trim();
  const m = /^(.*):(\d+)/.exec(out);
  if (!m) throw new Error(`addr2line said "${out}"`);
  return { file: m[1], line: Number(m[2]) };
}

function symbolAddress(elf: string, name: string): bigint {
  for (const line of execFileSync('readelf', ['-sW', elf], { encoding: 'utf8' }).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[7] === name && f[3] === 'FUNC') return BigInt('0x' + f[1]);
  }
  throw new Error(`${name} not found in ${elf}`);
}

/**
 * Launches the AArch32 demo from `elf` (recording off), runs to BREAK_SYMBOL and returns the top frame,
 * the disassembly around it and what the adapter said in the Debug Console.
 */
async function stopAtBreakSymbol(elf: string, dir: string): Promise<{
  entry: DebugProtocol.StoppedEvent; stopped: DebugProtocol.StoppedEvent; breakpointId: number | undefined;
  frame: DebugProtocol.StackFrame; instructions: DebugProtocol.DisassembledInstruction[]; console: string;
}> {
  const config = JSON.parse(readFileSync(path.join(GUEST, 'demo-arm32.json'), 'utf8')) as { qemu: Record<string, unknown> };
  const dc = new DebugClient('node', ADAPTER, 'bootscope');
  dc.defaultTimeout = 30_000;
  const output: string[] = [];
  dc.on('output', (e: DebugProtocol.OutputEvent) => output.push(e.body.output));
  await dc.start();
  try {
    const args = {
      ...config, type: 'bootscope', request: 'launch', cwd: dir, qemu: { ...config.qemu, kernel: elf }, elf,
      database: path.join(dir, 'rec.db'), record: false, stopOnEntry: true, stopAt: undefined,
    };
    const [, , entry] = await Promise.all([dc.configurationSequence(), dc.launch(args as DebugProtocol.LaunchRequestArguments), dc.waitForEvent('stopped')]);
    const set = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: BREAK_SYMBOL }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    const [, stopped] = await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const frame = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    const dis = await dc.disassembleRequest({ memoryReference: frame.instructionPointerReference ?? '0', instructionOffset: 0, instructionCount: 4 });
    return {
      entry: entry as DebugProtocol.StoppedEvent, stopped: stopped as DebugProtocol.StoppedEvent, breakpointId: set.body.breakpoints[0].id,
      frame, instructions: dis.body?.instructions ?? [], console: output.join(''),
    };
  } finally {
    await dc.terminateRequest().catch(() => undefined);
    await dc.stop().catch(() => undefined);
  }
}

describe('stackTrace: the source of a frame', { skip: existsSync(ADAPTER) ? false : 'needs dist/adapter.js (node esbuild.mjs)' }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootscope-dap-sources-'));
  const address = symbolAddress(ELF, BREAK_SYMBOL);
  const expected = addr2line(ELF, address);
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('DWARF names the break symbol\'s file relative to the build', () => {
    assert.equal(expected.file, DWARF_FILE);
  });

  test('a build-relative DWARF file is found next to the ELF, as in a checkout (guest/build + guest/src)', async () => {
    const checkout = path.join(dir, 'checkout');
    mkdirSync(path.join(checkout, 'guest', 'build'), { recursive: true });
    cpSync(ELF, path.join(checkout, 'guest', 'build', 'demo-arm32.elf'));
    cpSync(path.join(GUEST, 'src'), path.join(checkout, 'guest', 'src'), { recursive: true });
    const { entry, stopped, frame, instructions } = await stopAtBreakSymbol(path.join(checkout, 'guest', 'build', 'demo-arm32.elf'), checkout);
    assert.equal(entry.body.reason, 'entry');
    assert.equal(stopped.body.reason, 'breakpoint');
    assert.equal(frame.name, BREAK_SYMBOL);
    assert.equal(frame.source?.path, path.join(checkout, DWARF_FILE));
    assert.equal(frame.line, expected.line);
    assert.equal(BigInt(frame.instructionPointerReference ?? '-1'), address);
    assert.equal(instructions[0].location?.path, path.join(checkout, DWARF_FILE));
  });

  test('a DWARF file missing on disk gives a frame with no source, only its instruction pointer', async () => {
    // The ELF alone, as a firmware handed over without its sources: nothing named guest/src above it.
    const alone = path.join(dir, 'firmware-only');
    mkdirSync(alone);
    const elf = path.join(alone, 'demo-arm32.elf');
    cpSync(ELF, elf);
    const { entry, stopped, breakpointId, frame, instructions, console } = await stopAtBreakSymbol(elf, alone);
    // Reported so that VS Code shows these stops in the Disassembly view; the header still says why.
    assert.deepEqual([entry.body.reason, entry.body.description], ['instruction breakpoint', 'Paused on entry']);
    assert.deepEqual([stopped.body.reason, stopped.body.description], ['instruction breakpoint', 'Paused on breakpoint']);
    assert.deepEqual(stopped.body.hitBreakpointIds, [breakpointId]);
    assert.equal(frame.name, BREAK_SYMBOL);
    assert.equal(frame.source, undefined, `a source VS Code cannot load: ${JSON.stringify(frame.source)}`);
    assert.equal(frame.line, 0);
    assert.equal(BigInt(frame.instructionPointerReference ?? '-1'), address);
    // The Disassembly view then shows the instructions at the pc, with no source lines to load either.
    assert.equal(BigInt(instructions[0].address), address);
    assert.deepEqual(instructions.map((i) => i.location), instructions.map(() => undefined));
    // The Debug Console says why once, naming the file and where it was looked for.
    const said = console.split('\n').filter((l) => l.includes(DWARF_FILE));
    assert.equal(said.length, 1, console);
    assert.match(said[0], new RegExp(`${DWARF_FILE.replace(/\./g, '\\.')} .*not found .*${alone.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});
