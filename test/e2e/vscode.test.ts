// The packaged extension (bootscope.vsix) in a real VS Code (code-server 4.139 / VS Code 1.139) driven
// like a user would through headless Chromium: install, activate, record the AArch32 demo boot, break on a
// symbol (the editor shows its C line), read registers, snapshot, the panels and a notebook, stop; then the
// same stop with the guest sources gone, shown in the Disassembly view. Run with `npm run test:e2e`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BrowserContext, Frame } from 'playwright-core';
import {
  ARTIFACT_DIR, CodeServer, REPO_ROOT, Workbench, installVsix, launchBrowser, listInstalledExtensions, loadE2eEnvironment,
  makeE2eDirs, prepareWorkspace, processesMatching, removeE2eDirs, waitFor, writeUserSettings, type E2eDirs, type E2eEnvironment,
} from './harness';
import { recordPluginDemo } from '../support/plugin-recording';

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
const EXTENSION_ID = `${manifest.publisher}.${manifest.name}`;
/** The artefact users get (`npm run package`); BOOTSCOPE_E2E_VSIX points at another build of it. */
const VSIX = process.env.BOOTSCOPE_E2E_VSIX ?? join(REPO_ROOT, 'bootscope.vsix');
const GUEST_ELF = join(REPO_ROOT, 'guest', 'build', 'demo-arm32.elf');
/** The guest's sources, which the workspace holds next to the ELF as the repository does (guest/build, guest/src). */
const GUEST_SOURCES = join(REPO_ROOT, 'guest', 'src');
const BREAK_SYMBOL = 'vPaintMemoryPattern';
/** The corrupted demo build, whose task B overflows into stack_region from this word up (guest/demo-arm32-corrupted.json). */
const CORRUPTED_ELF = join(REPO_ROOT, 'guest', 'build', 'demo-arm32-corrupted.elf');
const CORRUPTED_WORD = 0x41000f40n;
/** Runs after freertos_main painted all four regions (guest/src/freertos.c). */
const AFTER_PAINTING_SYMBOL = 'scheduler_start';
/** The launch.json configuration of test/e2e/fixtures/workspace and what it names. */
const SESSION_DESCRIPTION = 'e2e: AArch32 demo';
const PATTERN_REGIONS = ['data_region', 'heap_region', 'pattern_region', 'stack_region'];

/** Address of a function symbol in the guest ELF, read with readelf (binutils), for cross-checks. */
function symbolAddress(elf: string, name: string): bigint {
  const out = execFileSync('readelf', ['-sW', elf], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[7] === name && f[3] === 'FUNC') return BigInt('0x' + f[1]) & ~1n; // Thumb bit is not part of the address
  }
  throw new Error(`${name} not found in ${elf}`);
}

/** `file:line` of an address by binutils' addr2line (the DWARF file as the build named it, e.g. guest/src/painting.c). */
function addr2line(elf: string, address: bigint): { file: string; line: number } {
  const out = execFileSync('addr2line', ['-e', elf, `0x${address.toString(16)}`], { encoding: 'utf8' }).trim();
  const m = /^(.*):(\d+)/.exec(out);
  if (!m) throw new Error(`addr2line -e ${elf} 0x${address.toString(16)} said "${out}"`);
  return { file: m[1], line: Number(m[2]) };
}

/** The mnemonic of the instruction at `address`, as arm-none-eabi-objdump reads it. */
function objdumpMnemonic(elf: string, address: bigint): string {
  const out = execFileSync('arm-none-eabi-objdump', ['-d', `--start-address=0x${address.toString(16)}`, `--stop-address=0x${(address + 4n).toString(16)}`, elf], { encoding: 'utf8' });
  const m = new RegExp(`^\\s*${address.toString(16)}:\\s+[0-9a-f ]+\\t(\\S+)`, 'm').exec(out);
  if (!m) throw new Error(`objdump shows no instruction at 0x${address.toString(16)}:\n${out}`);
  return m[1];
}

/** A query on the recording with the sqlite3 CLI (independent of the extension's own SQLite code). */
function sqlite(db: string, sql: string): string[][] {
  const out = execFileSync('sqlite3', ['-readonly', '-separator', '\t', db, sql], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
}

describe('bootscope.vsix in VS Code (code-server)', { timeout: 600_000 }, () => {
  let env: E2eEnvironment;
  let dirs: E2eDirs;
  let server: CodeServer | undefined;
  let browser: BrowserContext | undefined;
  let wb: Workbench;
  const database = (): string => join(dirs.workspace, 'bootscope.db');
  /** Steps that later steps need; a later step fails naming the missing one instead of timing out. */
  const done = new Set<string>();
  const requires = (...steps: string[]): void => {
    const missing = steps.filter((s) => !done.has(s));
    if (missing.length) throw new Error(`not run: needs the earlier step(s) "${missing.join('", "')}", which failed`);
  };

  /** A test step that leaves a screenshot of the screen as it was when it failed. */
  const step = (name: string, body: () => Promise<void> | void): void => {
    test(name, async () => {
      try {
        await body();
      } catch (e) {
        if (wb && !/^not run:/.test(String((e as Error).message))) await wb.screenshot(`FAILED-${name.replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
        throw e;
      }
    });
  };

  before(() => {
    env = loadE2eEnvironment();
    dirs = makeE2eDirs();
    prepareWorkspace(dirs, join(__dirname, 'fixtures', 'workspace'), [
      { from: GUEST_ELF, to: 'guest/build/demo-arm32.elf' },
      { from: GUEST_SOURCES, to: 'guest/src' },
    ]);
    writeUserSettings(dirs);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    // A QEMU of ours has the temp workspace's ELF path on its command line; kill only those, by PID.
    const leftovers = dirs ? processesMatching('qemu-system', dirs.workspace) : [];
    for (const p of leftovers) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    }
    if (server) {
      const logs = server.logsDir();
      if (logs) cpSync(logs, join(ARTIFACT_DIR, 'logs'), { recursive: true });
    }
    if (dirs) removeE2eDirs(dirs);
    assert.deepEqual(leftovers.map((p) => p.cmdline), [], 'QEMU processes left after the test (killed now)');
  });

  step('installs the packaged bootscope.vsix into code-server', () => {
    assert.ok(existsSync(VSIX), `${VSIX} is missing: run "npm run package" first`);
    installVsix(env, dirs, VSIX);
    const installed = listInstalledExtensions(env, dirs);
    assert.ok(installed.includes(`${EXTENSION_ID}@${manifest.version}`), `installed: ${installed.join(', ')}`);
    done.add('install');
  });

  step('opens the workspace and activates the extension with no error in the extension host log', async () => {
    requires('install');
    server = await CodeServer.start(env, dirs);
    const launched = await launchBrowser(dirs);
    browser = launched.context;
    wb = new Workbench(launched.page);
    await wb.open(server.workspaceUrl, 'workspace');
    // Opening the Recordings view activates the extension (onView); its tree provider then renders the
    // welcome content: "There is no data provider registered" would mean activate() did not finish.
    const pane = await wb.openView('Recordings');
    const activation = await server.waitForActivation(EXTENSION_ID);
    assert.match(activation, new RegExp(EXTENSION_ID));
    await pane.locator('.welcome-view-content, .monaco-list').first().waitFor({ state: 'visible', timeout: 30_000 });
    assert.doesNotMatch(await pane.innerText(), /no data provider registered/i);
    await wb.screenshot('activated-recordings-view');
    assert.deepEqual(server.extensionErrors(EXTENSION_ID), []);
    done.add('activate');
  });

  let qemuPid = 0;
  step('starts the AArch32 demo from launch.json with recording on and stops at entry', async () => {
    requires('activate');
    await wb.runCommand('Debug: Start Debugging');
    await wb.waitForDebugPaused(120_000);
    await wb.screenshot('stopped-at-entry');
    assert.equal(await wb.variableValue('recording', 'Boot'), 'on');
    assert.equal(await wb.variableValue('function', 'Boot'), 'elfloader_start');
    const qemu = processesMatching('qemu-system-arm', dirs.workspace);
    assert.equal(qemu.length, 1, 'one QEMU for the session');
    qemuPid = qemu[0].pid;
    done.add('launch');
  });

  step(`stops at a function breakpoint on ${BREAK_SYMBOL} after recording up to it`, async () => {
    requires('launch');
    await wb.addFunctionBreakpoint(BREAK_SYMBOL);
    await wb.continueUntilFrame(BREAK_SYMBOL, 240_000);
    // The Call Stack header says why the session paused ("Paused on breakpoint"), from the stopped event.
    await wb.viewPane('Call Stack').locator('.call-stack-state-message', { hasText: /breakpoint/i }).waitFor({ state: 'visible', timeout: 15_000 });
    // The editor shows the C line the breakpoint stopped at, from the workspace's guest/src: the DWARF names
    // "guest/src/painting.c" relative to the build, found above the ELF's folder (guest/build).
    const where = addr2line(GUEST_ELF, symbolAddress(GUEST_ELF, BREAK_SYMBOL));
    const sourceText = readFileSync(join(REPO_ROOT, where.file), 'utf8').split('\n')[where.line - 1];
    const tab = await waitFor(`${basename(where.file)} to be the active editor tab`, async () => {
      const t = await wb.activeEditorTab();
      return t.label === basename(where.file) ? t : undefined;
    }, 30_000).catch(async (e: unknown) => { throw new Error(`${String(e)}; the active tab is "${(await wb.activeEditorTab(1_000).catch(() => ({ label: '(none)' }))).label}", the editor area shows "${(await wb.editorAreaText()).slice(0, 200)}"`); });
    assert.deepEqual(tab.breadcrumbs, where.file.split('/'), 'the breadcrumbs name the workspace file guest/src/painting.c');
    const line = await wb.topStackFrameLine();
    await wb.screenshot(`breakpoint-${BREAK_SYMBOL}`);
    assert.doesNotMatch(await wb.editorAreaText(), /could not load source/i);
    assert.equal(line.lineNumber, where.line, `the highlighted line number of ${where.file}`);
    assert.equal(line.text, sourceText, 'the text of the highlighted line is the source line');
    assert.ok(line.arrow, 'the stack frame arrow is in the glyph margin of that line');
    // The cursor sits on that line too (status bar "Ln 11, Col 5").
    assert.match(await wb.statusBarText(), new RegExp(`\\bLn ${where.line}, Col \\d+`));
    done.add('breakpoint');
  });

  step(`shows pc = ${BREAK_SYMBOL}'s ELF address in the Variables view`, async () => {
    requires('breakpoint');
    const expected = symbolAddress(GUEST_ELF, BREAK_SYMBOL);
    const pc = await wb.variableValue('pc', 'Registers');
    await wb.screenshot('variables-registers');
    assert.equal(BigInt(pc), expected, `pc ${pc} vs ${BREAK_SYMBOL} at 0x${expected.toString(16)}`);
    // Its first call is vPaintMemoryPattern(STACK_REGION, STACK_SIZE, STACK_PATTERN) (guest/src/freertos.c):
    // AAPCS passes them in r0-r2, the stack_region of launch.json.
    assert.equal(BigInt(await wb.variableValue('r0', 'Registers')), 0x41000000n);
    assert.equal(BigInt(await wb.variableValue('r1', 'Registers')), 0x1000n);
    assert.equal(BigInt(await wb.variableValue('r2', 'Registers')), 0xdeadbeefn);
    assert.equal(await wb.variableValue('function', 'Boot'), BREAK_SYMBOL);
    assert.equal(await wb.variableValue('stage', 'Boot'), 'pattern_painting');
    const [[recorded]] = sqlite(database(), 'SELECT COUNT(*) FROM instruction_traces');
    assert.equal(await wb.variableValue('instructions recorded', 'Boot'), Number(recorded).toLocaleString('en-US'));
    await wb.screenshot('variables-boot');
    done.add('registers');
  });

  /**
   * Captures a snapshot with the command palette, reads its id from the status bar message, and finds it
   * in the Recordings view (file → session → its stage → snapshot), checking each region row's MD5 and
   * pattern verdict against the database. Returns the snapshot id.
   */
  async function captureSnapshotAndFindInTree(screenshotName: string): Promise<number> {
    await wb.runCommand('Bootscope: Capture Memory Snapshot');
    const status = await waitFor('the "snapshot captured" status bar message', async () => /snapshot #(\d+) captured at instruction (\d+)/.exec(await wb.statusBarText()) ?? undefined, 30_000);
    const id = Number(status[1]);
    const [[trigger, stage]] = sqlite(database(), `SELECT trigger, boot_stage FROM memory_snapshots WHERE snapshot_id = ${id}`);
    assert.equal(trigger, 'manual');

    const pane = await wb.openView('Recordings');
    await wb.expandTreeRow(pane, /^bootscope\.db$/);
    await wb.expandTreeRow(pane, new RegExp(`^#\\d+ ${SESSION_DESCRIPTION}$`));
    await wb.expandTreeRow(pane, new RegExp(`^${stage}$`));
    await wb.expandTreeRow(pane, new RegExp(`^#${id} manual$`));
    const regions = sqlite(database(), `SELECT region_name, checksum, pattern_matches * 4 * 100.0 / size FROM memory_regions WHERE snapshot_id = ${id} ORDER BY region_id`);
    assert.deepEqual(regions.map((r) => r[0]).sort(), PATTERN_REGIONS);
    for (const [name, md5, percent] of regions) {
      // A region row's accessible label is its tooltip, which ends with the full MD5 of the region: that
      // tells this snapshot's row from the same region's rows under earlier snapshots.
      const row = pane.locator(`.monaco-list-row[aria-label^="${name}: "][aria-label*="MD5 ${md5}"]`).first();
      await row.waitFor({ state: 'visible', timeout: 15_000 });
      const description = (await row.locator('.label-description').textContent() ?? '').trim();
      const verdict = Number(percent) > 90 ? 'pass' : 'fail';
      assert.equal(description, `${Number(percent).toFixed(1)}% ${verdict} · md5 ${md5.slice(0, 8)}…`, `${name} in snapshot #${id}`);
    }
    await wb.screenshot(screenshotName);
    return id;
  }

  let snapshotBeforePainting = 0;
  step('captures a snapshot from the command palette and shows it in the Recordings view', async () => {
    requires('breakpoint');
    snapshotBeforePainting = await captureSnapshotAndFindInTree('snapshot-in-recordings');
    done.add('snapshot');
  });

  let snapshotAfterPainting = 0;
  step(`stops recording, runs at full speed to ${AFTER_PAINTING_SYMBOL}, and a snapshot there shows the regions painted`, async () => {
    requires('snapshot');
    const recordedBefore = sqlite(database(), 'SELECT COUNT(*) FROM instruction_traces')[0][0];
    await wb.runCommand('Bootscope: Stop Recording');
    // The status bar item follows the adapter's bootscope/status events ("Bootscope stopped · … · recording
    // off"). The Variables view's Boot scope keeps saying "on" until the next stop: the adapter sends no
    // DAP invalidated event after the custom request.
    await waitFor('the status bar to say "recording off"', async () => (/Bootscope stopped · .* · recording off/.test(await wb.statusBarText()) ? true : undefined), 15_000);
    await wb.runCommand('Remove All Breakpoints');
    await wb.addFunctionBreakpoint(AFTER_PAINTING_SYMBOL);
    await wb.continueUntilFrame(AFTER_PAINTING_SYMBOL, 120_000);
    snapshotAfterPainting = await captureSnapshotAndFindInTree('snapshot-after-painting');
    // Not recording: QEMU ran on its own (`c`), so no instruction was added to the trace.
    assert.equal(sqlite(database(), 'SELECT COUNT(*) FROM instruction_traces')[0][0], recordedBefore);
    const painted = sqlite(database(), `SELECT region_name FROM memory_regions WHERE snapshot_id = ${snapshotAfterPainting} AND pattern_matches * 4 = size ORDER BY region_name`);
    assert.deepEqual(painted.map((r) => r[0]), PATTERN_REGIONS, 'every region fully painted');
    done.add('painted');
  });

  /** The webview frame of a panel, waiting for its content element. */
  async function panelFrame(selector: string): Promise<Frame> {
    return wb.webviewFrame(selector, undefined, 60_000);
  }

  step('opens the boot timeline showing the stages recorded so far', async () => {
    requires('snapshot');
    // The bottom panel (Debug Console) is not under test: give the webviews the editor area's full height.
    await wb.runCommand('View: Hide Panel');
    await wb.runCommand('Bootscope: Open Boot Timeline');
    const frame = await panelFrame('#timeline');
    const expected = sqlite(database(), `SELECT DISTINCT boot_stage FROM instruction_traces WHERE session_id = (SELECT MAX(session_id) FROM boot_sessions) AND boot_stage IS NOT NULL`).map((r) => r[0]).sort();
    const shown = await waitFor('stage legend entries', async () => {
      const names = await frame.locator('.tl-stage[data-stage]').evaluateAll((els) => els.map((e) => e.getAttribute('data-stage') ?? ''));
      return names.length >= expected.length ? names.sort() : undefined;
    }, 30_000);
    assert.ok(expected.includes('pattern_painting'), `stages in the recording: ${expected.join(', ')}`);
    assert.deepEqual(shown, expected);
    // The summary line counts what the database holds: "4,225 steps, 8 stage visits, 11 snapshots · …".
    const [[steps, snapshots]] = sqlite(database(), 'SELECT (SELECT COUNT(*) FROM instruction_traces), (SELECT COUNT(*) FROM memory_snapshots)');
    const summary = `${Number(steps).toLocaleString('en-US')} steps, `;
    await frame.locator('#status', { hasText: summary }).filter({ hasText: ` ${snapshots} snapshots` }).waitFor({ state: 'visible', timeout: 15_000 })
      .catch(async (e: unknown) => { throw new Error(`timeline summary "${await frame.locator('#status').innerText()}" lacks "${summary}" / "${snapshots} snapshots": ${String(e)}`); });
    await wb.screenshot('timeline');
  });

  /** Waits until every region card of the heatmap shows the match count of `snapshotId` in the database. */
  async function expectHeatmapCounts(frame: Frame, snapshotId: number): Promise<void> {
    const fmt = (n: string): string => Number(n).toLocaleString('en-US');
    const expected = sqlite(database(), `SELECT region_name, pattern_matches, size / 4, printf('0x%08x', expected_pattern & 0xffffffff), printf('%.1f', pattern_matches * 400.0 / size) FROM memory_regions WHERE snapshot_id = ${snapshotId}`);
    for (const [name, matches, words, pattern, percent] of expected) {
      const info = frame.locator(`.hm-region[data-region="${name}"] .hm-info`);
      const text = `${fmt(matches)} of ${fmt(words)} words match ${pattern} in snapshot ${snapshotId} (${percent} %)`;
      await info.filter({ hasText: text }).waitFor({ state: 'visible', timeout: 30_000 })
        .catch(async (e: unknown) => { throw new Error(`${name}: heatmap shows "${await info.innerText()}", not "${text}": ${String(e)}`); });
    }
  }

  step('opens the pattern heatmap with one card per painted region and the match counts of the database', async () => {
    requires('painted');
    await wb.runCommand('Bootscope: Open Pattern Heatmap');
    const frame = await panelFrame('.hm-regions');
    const regions = await waitFor('region cards', async () => {
      const names = await frame.locator('.hm-region[data-region]').evaluateAll((els) => els.map((e) => e.getAttribute('data-region') ?? ''));
      return names.length >= PATTERN_REGIONS.length ? names.sort() : undefined;
    }, 30_000);
    assert.deepEqual(regions, PATTERN_REGIONS);
    await waitFor('corruption summaries to load', async () => ((await frame.locator('.hm-corruption', { hasText: 'loading' }).count()) === 0 ? true : undefined), 30_000);
    // The slider starts on the latest snapshot (taken after painting: every word matches); then move it
    // with the keyboard, like a user, back to the snapshot taken before painting.
    await expectHeatmapCounts(frame, snapshotAfterPainting);
    await wb.screenshot('heatmap');
    const [[stepsBack]] = sqlite(database(), `SELECT COUNT(*) FROM memory_snapshots WHERE snapshot_id > ${snapshotBeforePainting} AND snapshot_id <= ${snapshotAfterPainting}`);
    await frame.locator('#snapshot-slider').focus();
    for (let i = 0; i < Number(stepsBack); i++) await frame.locator('#snapshot-slider').press('ArrowLeft');
    await expectHeatmapCounts(frame, snapshotBeforePainting);
    await wb.screenshot('heatmap-before-painting');
  });

  step('runs a query in the SQL console and shows the same count as the sqlite3 CLI', async () => {
    requires('snapshot');
    await wb.runCommand('Bootscope: Open SQL Console');
    const frame = await panelFrame('#sql');
    const sql = 'SELECT COUNT(*) AS snapshot_count FROM memory_snapshots';
    // The console fills its editor with the first preset when the host's init message arrives; typing
    // before that lands in the middle of it (under load, the preset + our query ran as two statements).
    await waitFor('the console to be initialised', async () => ((await frame.locator('#preset option').count()) > 1 ? true : undefined), 30_000);
    await frame.locator('#sql').fill(sql);
    assert.equal(await frame.locator('#sql').inputValue(), sql);
    await frame.locator('#sql').press('Control+Enter');
    await frame.locator('.grid-head', { hasText: 'snapshot_count' }).waitFor({ state: 'visible', timeout: 30_000 });
    const cell = frame.locator('.grid-row .grid-cell').first();
    await cell.waitFor({ state: 'visible', timeout: 30_000 });
    await wb.screenshot('sql-console');
    assert.equal((await cell.innerText()).trim().replace(/,/g, ''), sqlite(database(), sql)[0][0]);
  });

  step('opens a Bootscope notebook, runs its SQL cell and shows the stage table', async () => {
    requires('snapshot');
    const row = await wb.pickQuickInputRow('analysis.bsql', 'analysis.bsql');
    await row.click();
    await wb.page.locator('.notebook-editor').first().waitFor({ state: 'visible', timeout: 30_000 });
    await wb.runCommand('Notebook: Run All');
    // With no kernel chosen yet VS Code asks which one: pick the extension's controller.
    const kernel = wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Bootscope recording' }).first();
    if (await kernel.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false)) await kernel.click();
    const output = await wb.webviewFrame('table', /boot_stage/, 60_000);
    const expected = sqlite(database(), readFileSync(join(__dirname, 'fixtures', 'workspace', 'analysis.bsql'), 'utf8').split('-- %% [sql]')[1]);
    // The header is a row of <th>; data rows have one <td> per column.
    const shown = await waitFor('the output table rows', async () => {
      const rows = await output.locator('table', { hasText: 'boot_stage' }).first().locator('tr:has(td)')
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));
      return rows.length ? rows : undefined;
    }, 30_000);
    await wb.screenshot('notebook');
    assert.deepEqual(shown, expected);
  });

  step('stops the session, leaving no QEMU process and a finished session row', async () => {
    requires('launch');
    await wb.runCommand('Debug: Stop');
    await wb.waitForNoDebugSession(60_000);
    await waitFor(`QEMU (pid ${qemuPid}) to exit`, () => (!existsSync(`/proc/${qemuPid}`) && processesMatching('qemu-system', dirs.workspace).length === 0 ? true : undefined), 30_000);
    const pane = await wb.openView('Recordings');
    // The session row's description starts with its status ("stopped · 4,225 instr · <start time>").
    await wb.treeRow(pane, new RegExp(`^#\\d+ ${SESSION_DESCRIPTION}$`)).locator('.label-description', { hasText: /^stopped · / })
      .waitFor({ state: 'visible', timeout: 15_000 });
    await wb.screenshot('stopped');
    const [[status, reason]] = sqlite(database(), 'SELECT status, end_reason FROM boot_sessions ORDER BY session_id DESC LIMIT 1');
    assert.equal(status, 'stopped', `the session row is closed (end_reason: ${reason})`);
    assert.deepEqual(server?.extensionErrors(EXTENSION_ID), []);
    done.add('stopped');
  });

  step('replays the recorded session from the Recordings view; Step Back moves the pc and the highlighted source line', async () => {
    requires('stopped');
    const pane = await wb.openView('Recordings');
    const row = wb.treeRow(pane, new RegExp(`^#\\d+ ${SESSION_DESCRIPTION}$`));
    await row.hover();
    await row.locator('.action-label[aria-label="Replay in Debugger"]').click();
    // The tree refreshes every second while recordings change; a click that lands during a refresh reaches
    // the command without its row, which then asks which session to replay. Click the row's action again.
    const asked = wb.page.locator('.quick-input-widget', { hasText: 'replay which session?' });
    if (await asked.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) {
      await wb.page.keyboard.press('Escape');
      await row.hover();
      await row.locator('.action-label[aria-label="Replay in Debugger"]').click();
    }
    await wb.waitForDebugPaused(60_000);
    // The Run view opened with the keyboard focus on its "Start Debugging" button, whose hover would cover
    // the Variables view: move the focus (and the pointer) to the editor.
    await wb.page.mouse.move(800, 500, { steps: 5 });
    await wb.runCommand('View: Focus Active Editor Group');
    await wb.page.locator('.context-view .hover-contents').waitFor({ state: 'hidden', timeout: 10_000 });
    assert.match(await wb.statusBarText(), /Bootscope replay · instruction 1 of /);
    await wb.screenshot('replay-entry');
    // A function breakpoint where the live session stopped first: Continue runs the replay to its first hit.
    await wb.runCommand('Remove All Breakpoints');
    await wb.addFunctionBreakpoint(BREAK_SYMBOL);
    await wb.continueUntilFrame(BREAK_SYMBOL, 60_000);
    const entry = symbolAddress(GUEST_ELF, BREAK_SYMBOL);
    assert.equal(BigInt(await wb.variableValue('pc', 'Registers')), entry);
    const atBreakpoint = await wb.topStackFrameLine();
    await wb.screenshot('replay-at-breakpoint');
    // The toolbar's Step Back button (shown because the adapter announces supportsStepBack).
    await wb.page.locator('.debug-toolbar .action-label.codicon-debug-step-back').click();
    const pc = await waitFor('the pc to change after Step Back', async () => {
      const v = BigInt(await wb.variableValue('pc', 'Registers'));
      return v !== entry ? v : undefined;
    }, 30_000);
    // A line step back from a function's first instruction lands on the first instruction of the line
    // that called it, in the caller's source: the editor follows, highlighting that line.
    const where = addr2line(GUEST_ELF, pc);
    const sourceText = readFileSync(join(REPO_ROOT, where.file), 'utf8').split('\n')[where.line - 1];
    await waitFor(`${basename(where.file)} to be the active editor tab`, async () => ((await wb.activeEditorTab()).label === basename(where.file) ? true : undefined), 30_000);
    const line = await waitFor(`line ${where.line} highlighted`, async () => {
      const l = await wb.topStackFrameLine();
      return l.lineNumber === where.line ? l : undefined;
    }, 30_000);
    await wb.screenshot('replay-step-back');
    assert.equal(line.text, sourceText, 'the highlighted line is the caller\'s source line');
    assert.notDeepEqual([basename(where.file), where.line], ['painting.c', atBreakpoint.lineNumber], 'the highlighted line moved');
    assert.match(await wb.statusBarText(), /Bootscope replay · instruction [\d,]+ of/);
    await wb.runCommand('Debug: Stop');
    await wb.waitForNoDebugSession(60_000);
    assert.deepEqual(server?.extensionErrors(EXTENSION_ID), []);
  });

  step('clicks the first corrupted word of stack_region in the heatmap of a plugin-capture recording and "Go to" lands a replay on its write', async () => {
    requires('stopped');
    // The corrupted demo build recorded as a user does with `bootscope record --capture plugin` (QEMU 10):
    // task B's buffer overflows into the painted stack_region from 0x41000f40 up (guest/demo-arm32-corrupted.json).
    const recordDir = join(dirs.root, 'plugin-recording');
    mkdirSync(recordDir, { recursive: true });
    const rec = recordPluginDemo('demo-arm32-corrupted', recordDir);
    const plugin = join(dirs.workspace, 'corrupted-plugin.db');
    cpSync(rec.database, plugin);
    // Truth by plain SQL: the last store to the word (task B's), its pc, and where that pc is in the source.
    const [[seqText, pcText]] = sqlite(plugin, `SELECT w.sequence_number, t.pc_address FROM memory_writes w JOIN instruction_traces t USING (session_id, sequence_number)
      WHERE w.session_id = ${rec.sessionId} AND w.address < ${CORRUPTED_WORD + 4n} AND w.address + w.size > ${CORRUPTED_WORD} ORDER BY w.sequence_number DESC LIMIT 1`);
    const storeSeq = Number(seqText);
    const storePc = BigInt(pcText);
    // Select the new recording in the Recordings view, so the heatmap opens on it.
    await wb.runCommand('View: Close All Editors');
    const pane = await wb.openView('Recordings');
    const fileRow = wb.treeRow(pane, /^corrupted-plugin\.db$/);
    await fileRow.waitFor({ state: 'visible', timeout: 30_000 });
    await fileRow.click();
    await wb.runCommand('Bootscope: Open Pattern Heatmap');
    const frame = await panelFrame('.hm-region[data-region="stack_region"]');
    const card = frame.locator('.hm-region[data-region="stack_region"]');
    // The slider starts on a snapshot taken after task B ran: the card counts the words that match there,
    // as the database does, and the word at 0x41000f40 is not the pattern in it.
    const info = card.locator('.hm-info');
    await info.filter({ hasText: / in snapshot \d+ / }).waitFor({ state: 'visible', timeout: 30_000 });
    const latestSnapshot = Number(/ in snapshot (\d+) /.exec(await info.innerText())?.[1]);
    const [[matches, words, pattern, regionStart, wordThere]] = sqlite(plugin, `SELECT pattern_matches, size / 4, printf('0x%08x', expected_pattern & 0xffffffff), start_address,
      hex(substr(data, ${Number(CORRUPTED_WORD - 0x41000000n) + 1}, 4)) FROM memory_regions WHERE snapshot_id = ${latestSnapshot} AND region_name = 'stack_region'`);
    assert.equal(BigInt(regionStart), 0x41000000n);
    assert.notEqual(wordThere, 'EFBEADDE', `0x41000f40 is corrupted in snapshot ${latestSnapshot}`);
    assert.match(await info.innerText(), new RegExp(`^${Number(matches).toLocaleString('en-US')} of ${Number(words).toLocaleString('en-US')} words match ${pattern} in snapshot ${latestSnapshot} `));
    // The word grid has 64 words per row; click the cell of the first corrupted word.
    const grid = card.locator('canvas.hm-grid');
    const box = await grid.boundingBox();
    assert.ok(box, 'the word grid is shown');
    const cell = box.width / 64;
    const w = Number((CORRUPTED_WORD - 0x41000000n) / 4n);
    await grid.click({ position: { x: (w % 64) * cell + cell / 2, y: Math.floor(w / 64) * cell + cell / 2 } });
    const last = card.locator('.hm-writes .hm-writes-last');
    await last.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await card.locator('.hm-writes-title').innerText(), new RegExp(`^Who wrote 0x${CORRUPTED_WORD.toString(16)} — snapshot ${latestSnapshot}`));
    // The last write before the snapshot is task B's store, with its instruction number.
    assert.match(await last.innerText(), /vTaskB/);
    const goto = last.locator(`button.hm-goto[data-seq="${storeSeq}"]`);
    assert.equal((await goto.innerText()).trim(), `Go to #${storeSeq.toLocaleString('en-US')}`);
    // The word's tooltip would cover the list: move the pointer to the card's title before the screenshot.
    await card.locator('.hm-name').hover();
    await frame.locator('.bs-tooltip').first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
    await wb.screenshot('heatmap-who-wrote');
    await goto.click();
    // A replay session starts, stopped at that instruction: pc, status bar and the highlighted source line.
    await wb.waitForDebugPaused(60_000);
    await wb.page.mouse.move(800, 500, { steps: 5 });
    await waitFor(`pc = 0x${storePc.toString(16)} in the Variables view`, async () => (BigInt(await wb.variableValue('pc', 'Registers')) === storePc ? true : undefined), 30_000);
    assert.equal(await wb.variableValue('function', 'Boot'), 'vTaskB');
    assert.match(await wb.statusBarText(), new RegExp(`Bootscope replay · instruction ${storeSeq.toLocaleString('en-US')} of `));
    const where = addr2line(CORRUPTED_ELF, storePc);
    const sourceText = readFileSync(join(REPO_ROOT, where.file), 'utf8').split('\n')[where.line - 1];
    await waitFor(`${basename(where.file)} to be the active editor tab`, async () => ((await wb.activeEditorTab()).label === basename(where.file) ? true : undefined), 30_000);
    const line = await waitFor(`line ${where.line} highlighted`, async () => {
      const l = await wb.topStackFrameLine();
      return l.lineNumber === where.line ? l : undefined;
    }, 30_000);
    await wb.screenshot('heatmap-goto-write');
    assert.equal(line.text, sourceText, 'the highlighted line is vTaskB\'s store');
    // From the debugger: a watch expression on the word, right-click → Who Wrote This? lists the stores to
    // it (plain SQL) in a quick pick; picking the painter's goes there.
    const stores = sqlite(plugin, `SELECT w.sequence_number, printf('0x%x', t.pc_address) FROM memory_writes w JOIN instruction_traces t USING (session_id, sequence_number)
      WHERE w.session_id = ${rec.sessionId} AND w.address < ${CORRUPTED_WORD + 4n} AND w.address + w.size > ${CORRUPTED_WORD} ORDER BY w.sequence_number DESC`);
    const watch = wb.viewPane('Watch');
    await watch.locator('.pane-header').hover();
    await watch.locator('.pane-header .action-label[aria-label^="Add Expression"]').click();
    await wb.page.keyboard.type(`*(unsigned int *)0x${CORRUPTED_WORD.toString(16)}`);
    await wb.page.keyboard.press('Enter');
    const watchRow = watch.locator('.monaco-list-row', { hasText: `0x${CORRUPTED_WORD.toString(16)}` }).first();
    await watchRow.waitFor({ state: 'visible', timeout: 15_000 });
    await watchRow.click({ button: 'right' });
    const menuItem = wb.page.locator('.context-view .monaco-menu .action-label', { hasText: /^Who Wrote This\?$/ });
    await menuItem.waitFor({ state: 'visible', timeout: 15_000 });
    await menuItem.hover();
    await menuItem.click();
    // The menu may swallow a click while it is still opening (it then stays open with the item focused): Enter runs the focused item.
    if (await menuItem.isVisible()) await wb.page.keyboard.press('Enter');
    const rows = wb.page.locator('.quick-input-widget .monaco-list-row');
    await waitFor('the who-wrote quick pick rows', async () => ((await rows.count()) === stores.length ? true : undefined), 15_000);
    const shown = await rows.evaluateAll((els) => els.map((e) => (e.querySelector('.label-name')?.textContent ?? '').replace(/\s+/g, ' ').trim()));
    assert.deepEqual(shown.map((t) => /#([\d,]+) (0x[0-9a-f]+)/.exec(t)?.slice(1).join(' ')), stores.map(([seq, pc]) => `${Number(seq).toLocaleString('en-US')} ${pc}`));
    await wb.screenshot('who-wrote-quick-pick');
    const [paintSeq, paintPc] = stores[stores.length - 1];
    await rows.nth(stores.length - 1).click();
    await waitFor(`pc = ${paintPc} after picking #${paintSeq}`, async () => (BigInt(await wb.variableValue('pc', 'Registers')) === BigInt(paintPc) ? true : undefined), 30_000);
    assert.match(await wb.statusBarText(), new RegExp(`Bootscope replay · instruction ${Number(paintSeq).toLocaleString('en-US')} of `));
    assert.equal(await wb.variableValue('function', 'Boot'), 'vPaintMemoryPattern');
    await wb.screenshot('who-wrote-went-to-painter');
    // Leave no watch expression behind for the next steps (its edit box would be one more input in the Run view).
    await watch.locator('.pane-header').hover();
    await watch.locator('.pane-header .action-label[aria-label^="Remove All Expressions"]').click();
    await waitFor('the Watch view to be empty', async () => ((await watch.locator('.monaco-list-row').count()) === 0 ? true : undefined), 15_000);
    await wb.runCommand('Debug: Stop');
    await wb.waitForNoDebugSession(60_000);
    assert.deepEqual(server?.extensionErrors(EXTENSION_ID), []);
  });

  step(`without the guest sources, stopping at ${BREAK_SYMBOL} shows the Disassembly view at the pc`, async () => {
    requires('stopped');
    await wb.runCommand('View: Close All Editors');
    // A firmware handed over without its sources: the ELF stays where launch.json says, guest/src is gone.
    renameSync(join(dirs.workspace, 'guest', 'src'), join(dirs.workspace, 'guest', 'src-not-shipped'));
    await wb.runCommand('Debug: Start Debugging');
    await wb.waitForDebugPaused(120_000);
    const disassemblyTab = async (what: string): Promise<void> => {
      await waitFor(`the Disassembly view as the active editor (${what})`, async () => ((await wb.activeEditorTab()).label === 'Disassembly' ? true : undefined), 30_000)
        .catch(async (e: unknown) => { throw new Error(`${String(e)}; the active tab is "${(await wb.activeEditorTab(1_000).catch(() => ({ label: '(none)' }))).label}", the editor area shows "${(await wb.editorAreaText()).slice(0, 200)}"`); });
    };
    // The entry (guest/src/arm32/start.S) has no source on disk either.
    await disassemblyTab('at entry');
    await wb.screenshot('no-sources-entry');
    // Recording is not under test here: run to the breakpoint with QEMU's own continue.
    await wb.runCommand('Bootscope: Stop Recording');
    await waitFor('the status bar to say "recording off"', async () => (/Bootscope stopped · .* · recording off/.test(await wb.statusBarText()) ? true : undefined), 15_000);
    await wb.runCommand('Remove All Breakpoints');
    await wb.addFunctionBreakpoint(BREAK_SYMBOL);
    await wb.continueUntilFrame(BREAK_SYMBOL, 120_000);
    await disassemblyTab(`at ${BREAK_SYMBOL}`);
    const address = symbolAddress(GUEST_ELF, BREAK_SYMBOL);
    // The current instruction's row: "<address> <bytes> <instruction>", the instruction objdump reads there.
    const current = await waitFor(`the current instruction at 0x${address.toString(16)}`, async () => {
      const row = await wb.currentInstructionInDisassembly();
      return new RegExp(`^(0x)?0*${address.toString(16)}\\b`, 'i').test(row) ? row : undefined;
    }, 30_000).catch(async (e: unknown) => { throw new Error(`${String(e)}; the marked row reads "${await wb.currentInstructionInDisassembly(1_000).catch(() => '(none)')}"`); });
    // The Variables view shows this stop's registers too (the first call's r0 = stack_region), not the entry's.
    await waitFor('r0 = 0x41000000 in the Variables view', async () => (BigInt(await wb.variableValue('r0', 'Registers')) === 0x41000000n ? true : undefined), 30_000);
    await wb.screenshot(`no-sources-${BREAK_SYMBOL}-disassembly`);
    assert.match(current, new RegExp(`\\b${objdumpMnemonic(GUEST_ELF, address)}\\b`));
    assert.doesNotMatch(await wb.editorAreaText(), /could not load source/i);
    await wb.runCommand('Debug: Stop');
    await wb.waitForNoDebugSession(60_000);
    await waitFor('QEMU to exit', () => (processesMatching('qemu-system', dirs.workspace).length === 0 ? true : undefined), 30_000);
    assert.deepEqual(server?.extensionErrors(EXTENSION_ID), []);
  });
});
