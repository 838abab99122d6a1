// The on-disk form of a Bootscope SQL notebook (*.bsql): plain SQL text in the "percent" cell format, so a
// notebook diffs line by line in git, reads as a script, and even runs with `sqlite3 rec.db < nb.bsql`.
//
//   -- Bootscope SQL notebook
//   -- recording: recordings/demo.db      (path relative to the workspace folder)
//   -- session: 1                         (optional; binds ? and :session)
//
//   -- %% [markdown]
//   -- # Boot sequence timing (seed 4.1)
//
//   -- %% [sql]
//   SELECT ...;
//
// Markdown lines are stored as SQL comments ("-- " + line). Outputs are not stored: they are re-run
// against the recording. Free of vscode: the serializer wraps it and the unit tests call it directly.

export type NotebookCellKind = 'sql' | 'markdown';

export interface NotebookCellText {
  kind: NotebookCellKind;
  source: string;
}

export interface NotebookText {
  /** Recording file, relative to the workspace folder holding the notebook (or absolute). */
  recording?: string;
  session?: number;
  cells: NotebookCellText[];
}

const TITLE = '-- Bootscope SQL notebook';
const MARKER = /^-- %%(?:\s*\[(\w+)\])?\s*$/;

function trimBlankEdges(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && lines[a].trim() === '') a++;
  while (b > a && lines[b - 1].trim() === '') b--;
  return lines.slice(a, b);
}

export function parseNotebook(text: string): NotebookText {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out: NotebookText = { cells: [] };
  let i = 0;
  for (; i < lines.length && !MARKER.test(lines[i]); i++) {
    const m = /^--\s*(recording|session):\s*(.*?)\s*$/.exec(lines[i]);
    if (m?.[1] === 'recording' && m[2]) out.recording = m[2];
    if (m?.[1] === 'session' && /^\d+$/.test(m[2])) out.session = Number(m[2]);
  }
  // Text before the first marker that is not the header (a plain .sql file opened as a notebook): one SQL cell.
  const preamble = trimBlankEdges(lines.slice(0, i).filter((l) => l !== TITLE && !/^--\s*(recording|session):/.test(l)));
  if (preamble.length) out.cells.push({ kind: 'sql', source: preamble.join('\n') });
  while (i < lines.length) {
    const kind: NotebookCellKind = (MARKER.exec(lines[i])?.[1] ?? 'sql').toLowerCase() === 'markdown' ? 'markdown' : 'sql';
    let j = i + 1;
    while (j < lines.length && !MARKER.test(lines[j])) j++;
    let body = trimBlankEdges(lines.slice(i + 1, j));
    if (kind === 'markdown') body = body.map((l) => (l.startsWith('-- ') ? l.slice(3) : l.startsWith('--') ? l.slice(2) : l));
    out.cells.push({ kind, source: body.join('\n') });
    i = j;
  }
  return out;
}

export function formatNotebook(nb: NotebookText): string {
  const head = [TITLE];
  if (nb.recording) head.push(`-- recording: ${nb.recording}`);
  if (nb.session !== undefined) head.push(`-- session: ${nb.session}`);
  const cells = nb.cells.map((c) => {
    const body = c.source.replace(/\r\n/g, '\n').replace(/\s+$/, '');
    if (c.kind === 'markdown') return `-- %% [markdown]\n${body.split('\n').map((l) => (l ? `-- ${l}` : '--')).join('\n')}`;
    return `-- %% [sql]\n${body}`;
  });
  return `${[head.join('\n'), ...cells].join('\n\n')}\n`;
}
