// escapeForTerminal: guest UART text, ELF names and query results printed by the CLI never reach the
// terminal as control sequences (clear screen, window title, cursor moves, bidi overrides).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeForTerminal, escapeJsonForTerminal } from '../../src/common/terminal-text';

describe('escapeForTerminal', () => {
  test('ESC sequences (CSI clear screen, OSC window title with BEL) are shown escaped', () => {
    assert.equal(escapeForTerminal('\x1b[2J\x1b]0;pwned\x07ok', 'lines'), '\\x1b[2J\\x1b]0;pwned\\x07ok');
  });
  test('lines mode keeps \\n and \\t, drops the CR of a CRLF, and escapes a lone CR (line overwrite)', () => {
    assert.equal(escapeForTerminal('boot\r\n\tstage 1\r\nFAIL\rtests passed\n', 'lines'), 'boot\n\tstage 1\nFAIL\\rtests passed\n');
  });
  test('cell mode escapes line structure too, so a value stays on its row', () => {
    assert.equal(escapeForTerminal('a\nb\tc\r', 'cell'), 'a\\nb\\tc\\r');
  });
  test('DEL, C1 controls (8-bit CSI) and bidi overrides are escaped; other text is untouched', () => {
    assert.equal(escapeForTerminal('x\x7f\u009b2J\u202eevil\u2066', 'cell'), 'x\\x7f\\x9b2J\\u202eevil\\u2066');
    assert.equal(escapeForTerminal('naïve → µs [ok] \\path', 'cell'), 'naïve → µs [ok] \\path');
  });
  test('JSON output keeps its value but loses raw C1 and bidi characters', () => {
    const json = JSON.stringify({ s: '\x1b[2J\u009b\u202e' });
    const safe = escapeJsonForTerminal(json);
    assert.doesNotMatch(safe, /[\x1b\u009b\u202e]/);
    assert.deepEqual(JSON.parse(safe), { s: '\x1b[2J\u009b\u202e' });
  });
});
