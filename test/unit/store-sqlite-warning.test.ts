// node:sqlite prints "ExperimentalWarning: SQLite is an experimental feature" when first loaded on Node
// 22.13-24.14; src/store/sqlite.ts swallows exactly that warning (for the CLI, the adapter, the query
// process and the extension host alike) and no other. Simulated in a child process: its getBuiltinModule
// emits the warning as those Nodes do, plus an unrelated one that must still be printed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const SQLITE_MODULE = path.resolve(__dirname, '..', '..', 'src', 'store', 'sqlite.ts');

describe('node:sqlite experimental warning', () => {
  test('is not printed when the store loads node:sqlite; other warnings during the load still are', () => {
    const script = `
      const real = process.getBuiltinModule.bind(process);
      process.getBuiltinModule = (id) => {
        if (id === 'node:sqlite') {
          process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
          process.emitWarning('something else entirely', 'DeprecationWarning');
        }
        return real(id);
      };
      const { sqlite } = require(${JSON.stringify(SQLITE_MODULE)});
      const db = new (sqlite().DatabaseSync)(':memory:');
      console.log(db.prepare('SELECT 41 + 1 AS n').get().n);
      process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '42');
    assert.match(r.stderr, /DeprecationWarning: something else entirely/);
    // Only the load is filtered: the same warning emitted later (not by the store) is printed once.
    assert.equal(r.stderr.match(/ExperimentalWarning: SQLite is an experimental feature/g)?.length, 1, r.stderr);
  });
});
