// ensurePlugin: finds the plugin's sources, reuses an up-to-date build, and when the C toolchain is missing
// says which Debian packages to install instead of failing somewhere inside make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePlugin, findPluginSourceDir } from '../../src/capture/plugin';
import { BootscopeError } from '../../src/common/errors';

test('finds plugin/ above the module, with the GPL LICENSE beside the sources', () => {
  const dir = findPluginSourceDir();
  assert.equal(path.basename(dir), 'plugin');
  assert.match(fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8'), /GNU GENERAL PUBLIC LICENSE\s+Version 2/);
  assert.match(fs.readFileSync(path.join(dir, 'bootscope.c'), 'utf8'), /^\/\* SPDX-License-Identifier: GPL-2\.0-or-later \*\//);
});

test('without gcc/make/pkg-config on PATH, the error names the packages to install', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-build-')), 'libbootscope.so');
  const saved = process.env.PATH;
  process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-empty-path-'));
  try {
    assert.throws(() => ensurePlugin({ output: out }), (e: unknown) => e instanceof BootscopeError && e.code === 'config'
      && /building the QEMU capture plugin needs gcc, which is missing\. Install: sudo apt-get install -y gcc make pkg-config libglib2\.0-dev/.test(e.message));
  } finally {
    process.env.PATH = saved;
  }
  assert.equal(fs.existsSync(out), false);
});

test('builds once, then reuses the library while no source is newer', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-plugin-build-')), 'libbootscope.so');
  assert.equal(ensurePlugin({ output: out }), out);
  const built = fs.statSync(out).mtimeMs;
  assert.ok(fs.readFileSync(out).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])), 'an ELF shared object');
  assert.equal(ensurePlugin({ output: out }), out);
  assert.equal(fs.statSync(out).mtimeMs, built, 'not rebuilt');
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
});
