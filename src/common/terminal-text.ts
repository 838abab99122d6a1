// Text from a guest (UART output, ELF symbol names) or from a recording (query results) printed to a
// terminal: control characters and escape sequences are shown escaped, never interpreted. A guest must not
// be able to clear the screen, set the window title, move the cursor to overwrite a line ("tests passed"),
// or reverse text with a bidi override by printing bytes the CLI then echoes.

/**
 * `lines`: multi-line text (UART output) — keeps \n and \t as the line structure they are, and a CR just
 *   before LF (serial consoles end lines with \r\n) is dropped; every other control character is escaped.
 * `cell`: one value on one line (a table cell, a name) — \n, \t and \r are escaped too.
 */
export type TerminalTextMode = 'lines' | 'cell';

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/**
 * C0 controls (ESC starts CSI/OSC sequences, BEL, BS, CR...), DEL, C1 controls (U+009B is an 8-bit CSI to
 * some terminals) and the Unicode bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/** `text` with every unsafe character shown as `\x1b`, `\r`, `\u202e`... (see TerminalTextMode). */
export function escapeForTerminal(text: string, mode: TerminalTextMode): string {
  const s = mode === 'lines' ? text.replace(/\r\n/g, '\n') : text;
  return s.replace(UNSAFE, (c) => (mode === 'lines' && (c === '\n' || c === '\t') ? c : escapeChar(c)));
}

/**
 * JSON text whose strings JSON.stringify left raw where a terminal would act on them: DEL, C1 controls and
 * bidi controls become \uXXXX escapes (still valid JSON, same value). JSON.stringify escapes C0 itself.
 */
export function escapeJsonForTerminal(json: string): string {
  return json.replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
