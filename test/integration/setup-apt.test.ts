// scripts/lib/apt.sh, the Debian package helper of scripts/setup.sh and the e2e install, against this
// machine's dpkg: which packages count as missing, and what a user who is not root is told (nothing is
// installed then). scripts/setup.sh's list itself is checked for the packages only a Recommends brought.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../..');
const MISSING = 'bootscope-no-such-package';

/** Runs bash with apt.sh sourced; as `nobody` when `asNobody` (setpriv, which needs root). */
function withAptHelper(script: string, asNobody = false): { status: number | null; stdout: string; stderr: string } {
  const bash = ['bash', '-c', `. scripts/lib/apt.sh; ${script}`];
  const argv = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...bash] : bash;
  const r = spawnSync(argv[0], argv.slice(1), { cwd: REPO, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scripts/lib/apt.sh', () => {
  test('debian_packages_missing lists only the packages dpkg does not have installed', () => {
    const r = withAptHelper(`debian_packages_missing dpkg ${MISSING} bash`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${MISSING}\n`);
  });

  test('not root and a package missing: prints the apt-get line naming only the missing ones, exits 3', (t) => {
    const asNobody = process.getuid?.() === 0;
    if (asNobody && spawnSync('setpriv', ['--version']).status !== 0) { t.skip('root, and no setpriv to drop to nobody'); return; }
    const r = withAptHelper(`install_debian_packages "apt test" dpkg ${MISSING}; echo not-reached`, asNobody);
    assert.equal(r.status, 3, r.stderr);
    assert.doesNotMatch(r.stdout, /not-reached/);
    assert.match(r.stderr, new RegExp(`apt test: missing Debian packages: ${MISSING}\n`));
    assert.match(r.stderr, new RegExp(`sudo apt-get update && sudo apt-get install -y ${MISSING}\n`));
  });

  test('not root and nothing missing: returns 0 without calling apt', (t) => {
    const asNobody = process.getuid?.() === 0;
    if (asNobody && spawnSync('setpriv', ['--version']).status !== 0) { t.skip('root, and no setpriv to drop to nobody'); return; }
    const r = withAptHelper('install_debian_packages "apt test" dpkg bash && echo ok', asNobody);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ok\n');
    assert.equal(r.stderr, '');
  });
});

describe('scripts/setup.sh', () => {
  const setup = fs.readFileSync(path.join(REPO, 'scripts/setup.sh'), 'utf8');
  const named = new Set([...setup.matchAll(/^\s+([a-z0-9][a-z0-9.+-]+)\s+#/gm)].map((m) => m[1]));

  test('names the packages that only a Recommends pulled in (efi-virtio.rom, nosys.specs, arm64 libc)', () => {
    for (const p of ['ipxe-qemu', 'libnewlib-arm-none-eabi', 'libc6-arm64-cross', 'qemu-system-arm', 'sqlite3']) {
      assert.ok(named.has(p), `scripts/setup.sh does not name ${p} (named: ${[...named].join(' ')})`);
    }
  });

  test('asks apt for the whole list: no per-command probing left', () => {
    assert.doesNotMatch(setup, /command -v/);
    assert.match(setup, /install_debian_packages "bootscope setup" "\$\{pkgs\[@\]\}"/);
  });
});
