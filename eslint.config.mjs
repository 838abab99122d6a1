// Lint = TypeScript's recommended rules + the layer rules of docs/ARCHITECTURE.md: a folder imports only
// from the layers beneath it. A wrong import fails CI here instead of waiting for review.
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', {
      patterns: forbidden.map((group) => ({ group: [group], message })),
      paths: files.some((f) => f.startsWith('src/extension')) ? [] : [{ name: 'vscode', message: '`vscode` may be imported only in src/extension/.' }],
    }],
  },
});

const above = (names) => names.flatMap((n) => [`**/${n}`, `**/${n}/**`, `../${n}/*`, `../../src/${n}/*`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', '.cache/**', 'guest/**', 'artifacts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  // src/rsp: pure codec, no I/O and no other layer.
  {
    files: ['src/rsp/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['net', 'node:net', 'fs', 'node:fs', 'child_process', 'node:child_process', 'vscode'].map((name) => ({ name, message: 'src/rsp does no I/O: it is a pure codec tested with byte arrays.' })),
        patterns: [{ group: above(['target', 'qemu', 'recorder', 'store', 'analysis', 'adapter', 'cli', 'extension', 'symbols', 'arch']), message: 'src/rsp imports only src/common.' }],
      }],
    },
  },
  layer(['src/common/**/*.ts', 'src/arch/**/*.ts', 'src/symbols/**/*.ts', 'src/protocol/**/*.ts'], above(['target', 'qemu', 'recorder', 'store', 'analysis', 'adapter', 'cli', 'extension', 'rsp']), 'Leaf layers (common, arch, symbols, protocol) import no other layer.'),
  layer(['src/target/**/*.ts', 'src/qemu/**/*.ts'], above(['recorder', 'store', 'analysis', 'adapter', 'cli', 'extension']), 'src/target and src/qemu sit below the recorder: they may import rsp, arch, symbols, common.'),
  layer(['src/capture/**/*.ts'], above(['rsp', 'target', 'qemu', 'recorder', 'store', 'analysis', 'adapter', 'cli', 'extension']), 'src/capture (plugin capture: build, run, decode) imports only common, arch and symbols, like src/target.'),
  layer(['src/recorder/**/*.ts'], above(['analysis', 'adapter', 'cli', 'extension']), 'src/recorder may import target, qemu, store, arch, symbols, common.'),
  layer(['src/store/**/*.ts'], above(['recorder', 'target', 'qemu', 'rsp', 'analysis', 'adapter', 'cli', 'extension']), 'src/store imports only common/arch/symbols.'),
  layer(['src/analysis/**/*.ts'], above(['adapter', 'cli', 'extension', 'target', 'qemu', 'rsp']), 'src/analysis reads the store; it does not talk to targets.'),
  layer(['src/adapter/**/*.ts'], above(['cli', 'extension']), 'src/adapter must not import the CLI or the extension (it runs standalone too).'),
  layer(['src/cli/**/*.ts'], above(['extension', 'adapter']), 'src/cli has no vscode and no adapter.'),
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'webviews run in a browser.' }],
        patterns: [{ group: ['node:*', ...above(['common', 'rsp', 'target', 'qemu', 'arch', 'symbols', 'recorder', 'store', 'analysis', 'adapter', 'cli', 'extension'])], message: 'webview/ imports only src/protocol and browser libraries.' }],
      }],
    },
  },
);
