// Records a demo build with plugin capture exactly as a user does: `bootscope record --capture plugin`
// (dist/cli.js) with the build's guest/demo-*.json pointed at QEMU 10 and made deterministic (-icount).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DETERMINISTIC, archOf, demoElf, qemu10Binary, type DemoBuild } from './plugin-fixtures';
import { GUEST_DIR } from './demo-recording';

export const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli.js');

/** Records `build` into `<dir>/<build>.db`; throws with the CLI's stderr when it fails. */
export function recordPluginDemo(build: DemoBuild, dir: string): { database: string; sessionId: number; stderr: string } {
  const config = JSON.parse(fs.readFileSync(path.join(GUEST_DIR, `${build}.json`), 'utf8')) as Record<string, unknown> & { qemu: Record<string, unknown> };
  config.qemu = { ...config.qemu, binary: qemu10Binary(archOf(build)), kernel: demoElf(build), extraArgs: DETERMINISTIC };
  config.elf = demoElf(build);
  const file = path.join(dir, `${build}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  const database = path.join(dir, `${build}.db`);
  const r = spawnSync(process.execPath, [CLI, 'record', '--config', file, '--db', database, '--capture', 'plugin'], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`bootscope record --capture plugin of ${build} exited ${r.status}: ${r.stderr}`);
  return { database, sessionId: Number(r.stdout.trim().split('\n').at(-1)), stderr: r.stderr };
}
