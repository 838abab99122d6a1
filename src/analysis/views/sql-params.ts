// Binding the current session into user SQL: the seed's query 4.1 filters on `session_id = ?`, and the
// console and notebooks run it verbatim, so every positional `?` (or a named :session / $session /
// @session) is bound to the session the user picked.
import { skipSqlQuotedOrComment } from '../../store/read-only-sql';
import type { SqlValue } from './query-worker-protocol';

/** Positional and named parameters of one statement, found outside strings, identifiers and comments. */
export function statementParameters(sql: string): { positional: number; named: string[] } {
  let positional = 0;
  const named = new Set<string>();
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const skipped = skipSqlQuotedOrComment(sql, i);
    if (skipped >= 0) {
      i = skipped;
    } else if (c === '?') {
      const m = /^\?(\d*)/.exec(sql.slice(i, i + 12));
      const digits = m?.[1] ?? '';
      positional = digits ? Math.max(positional, Number(digits)) : positional + 1;
      i += 1 + digits.length;
    } else if ((c === ':' || c === '$' || c === '@') && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const m = /^[:$@][A-Za-z_]\w*/.exec(sql.slice(i, i + 64));
      if (m) named.add(m[0]);
      i += m ? m[0].length : 1;
    } else {
      i++;
    }
  }
  return { positional, named: [...named] };
}

/**
 * Parameters binding `sessionId` for `sql`, or undefined when it has none. Throws when the statement uses
 * parameters other than the session, since nothing else can be supplied from a console or a notebook.
 */
export function sessionParameters(sql: string, sessionId: number | null | undefined): SqlValue[] | Record<string, SqlValue> | undefined {
  const { positional, named } = statementParameters(sql);
  if (positional === 0 && named.length === 0) return undefined;
  const foreign = named.filter((p) => p.slice(1).toLowerCase() !== 'session');
  if (foreign.length) throw new Error(`unknown parameter ${foreign.join(', ')}: only ? and :session (the selected session) can be bound`);
  if (positional > 0 && named.length > 0) throw new Error('mix of ? and :session parameters: use one kind');
  if (sessionId === null || sessionId === undefined) throw new Error('the query has a session parameter (? or :session) but the recording has no session selected');
  if (positional > 0) return Array.from({ length: positional }, () => sessionId);
  return Object.fromEntries(named.map((p) => [p, sessionId]));
}
