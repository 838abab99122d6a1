// The `replay` launch configuration: debug a recorded session of a recording file instead of a live QEMU
// (`"request": "launch", "replay": { "database": "bootscope.db", "session": 3 }`). Parsed apart from
// RecordingConfig because none of the recording attributes mean anything here: each one is refused by name.
import * as path from 'node:path';
import { ConfigError } from './errors';
import { parseNumber } from './config';

export interface ReplayConfig {
  /** Absolute path of the recording file. */
  database: string;
  session: number;
  /** The instruction to stop at first (default: the session's first). */
  at?: number;
  /** The ELF to take symbols and sources from, instead of the session's elf_path. */
  elf?: string;
}

export const REPLAY_KEYS = ['database', 'session', 'at'] as const;

/** launch.json attributes a replay accepts beside `replay` (VS Code's own and `elf`). */
const TOP_LEVEL = new Set(['type', 'request', 'name', 'replay', 'elf', 'cwd', 'stopOnEntry', 'preLaunchTask', 'postDebugTask',
  'internalConsoleOptions', 'debugServer', '__configurationTarget', '__sessionId', 'presentation', 'noDebug', '$schema']);

export function isReplayConfiguration(raw: Record<string, unknown>): boolean {
  return raw.replay !== undefined;
}

export function parseReplayConfig(raw: Record<string, unknown>, baseDir: string): ReplayConfig {
  for (const k of Object.keys(raw)) {
    if (!TOP_LEVEL.has(k)) throw new ConfigError(k, `has no meaning in a replay (it reads what "replay.database" recorded): remove "${k}", or remove "replay" to debug a live QEMU`);
  }
  if (raw.request !== undefined && raw.request !== 'launch') throw new ConfigError('request', `a replay is "request": "launch", got ${JSON.stringify(raw.request)}`);
  const r = raw.replay;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new ConfigError('replay', 'expected an object naming the recording and the session, e.g. "replay": { "database": "bootscope.db", "session": 1 }');
  }
  const o = r as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(REPLAY_KEYS as readonly string[]).includes(k)) throw new ConfigError(`replay.${k}`, `unknown attribute; known attributes are ${REPLAY_KEYS.join(', ')}`);
  }
  if (typeof o.database !== 'string' || o.database === '') throw new ConfigError('replay.database', 'expected the recording file\'s path, e.g. "bootscope.db"');
  if (o.session === undefined) throw new ConfigError('replay.session', 'is required: the session number (the Recordings view and `bootscope sessions` list them)');
  const session = parseNumber(o.session, 'replay.session');
  if (session < 1) throw new ConfigError('replay.session', `expected a session number >= 1, got ${session}`);
  const at = o.at === undefined ? undefined : parseNumber(o.at, 'replay.at');
  if (at !== undefined && at < 1) throw new ConfigError('replay.at', `expected an instruction's sequence number >= 1, got ${at}`);
  if (raw.elf !== undefined && typeof raw.elf !== 'string') throw new ConfigError('elf', 'expected the path of the ELF to take symbols from');
  const resolve = (p: string): string => (path.isAbsolute(p) ? p : path.resolve(baseDir, p));
  return { database: resolve(o.database), session, at, elf: typeof raw.elf === 'string' ? resolve(raw.elf) : undefined };
}
