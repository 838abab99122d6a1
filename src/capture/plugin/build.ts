// Finds libbootscope.so, building it from plugin/ with the system C compiler when it is missing or older
// than its sources; names the Debian packages to install when the compiler or glib is missing.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BootscopeError, ErrorCode, errorMessage } from '../../common/errors';

export const PLUGIN_SOURCES = ['bootscope.c', 'qemu-plugin-api.h', 'Makefile'] as const;
const INSTALL_HINT = 'sudo apt-get install -y gcc make pkg-config libglib2.0-dev';

export interface PluginBuildOptions {
  /** The plugin's source directory (default: the `plugin/` found above this module). */
  sourceDir?: string;
  /** Where the built library goes (default: `<sourceDir>/build/libbootscope.so`). */
  output?: string;
  /** Build a variant that declares another plugin API version (tests of QEMU's refusal). */
  apiVersion?: number;
}

/** The `plugin/` directory next to the code: `dist/` (bundled) and `src/capture/plugin/` (tsx) both work. */
export function findPluginSourceDir(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'plugin');
    if (fs.existsSync(path.join(candidate, 'bootscope.c'))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new BootscopeError(ErrorCode.Config, `cannot find the capture plugin's sources (plugin/bootscope.c) in any folder above ${from}; reinstall Bootscope`);
}

/** Path of an up-to-date libbootscope.so, built on first use. */
export function ensurePlugin(options: PluginBuildOptions = {}): string {
  const sourceDir = options.sourceDir ?? findPluginSourceDir();
  const output = options.output ?? path.join(sourceDir, 'build', 'libbootscope.so');
  const newestSource = Math.max(...PLUGIN_SOURCES.map((f) => fs.statSync(path.join(sourceDir, f)).mtimeMs));
  const built = fs.statSync(output, { throwIfNoEntry: false });
  if (built && built.mtimeMs >= newestSource) return output;
  buildPlugin(sourceDir, output, options.apiVersion);
  return output;
}

function buildPlugin(sourceDir: string, output: string, apiVersion: number | undefined): void {
  for (const [tool, args] of [['gcc', ['--version']], ['make', ['--version']], ['pkg-config', ['--exists', 'glib-2.0']]] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      const what = tool === 'pkg-config' ? 'glib-2.0 development files (pkg-config glib-2.0)' : tool;
      throw new BootscopeError(ErrorCode.Config, `building the QEMU capture plugin needs ${what}, which is missing. Install: ${INSTALL_HINT}`);
    }
  }
  fs.mkdirSync(path.dirname(output), { recursive: true });
  // Build to a private name, then rename: two processes building at once never load a half-written .so.
  const temporary = `${output}.${process.pid}.tmp`;
  const args = ['-s', '-C', sourceDir, `OUT=${temporary}`];
  if (apiVersion !== undefined) args.push(`API_VERSION=${apiVersion}`);
  try {
    execFileSync('make', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    fs.renameSync(temporary, output);
  } catch (e) {
    fs.rmSync(temporary, { force: true });
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new BootscopeError(ErrorCode.Config, `building the QEMU capture plugin in ${sourceDir} failed: ${stderr || errorMessage(e)}. Needs: ${INSTALL_HINT}`);
  }
}
