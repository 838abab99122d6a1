// Checks a launch.json `bootscope` configuration before a debug session starts (vscode-free, unit-tested):
// the same parseRecordingConfig the adapter and CLI use, so a bad attribute stops the launch with a
// message naming it. Also fills the defaults the extension adds: `cwd` (the workspace folder).
import { parseRecordingConfig, type RecordingConfig } from '../common/config';
import { ConfigError, errorMessage } from '../common/errors';
import { isReplayConfiguration, parseReplayConfig, type ReplayConfig } from '../common/replay-config';

export type ConfigCheck =
  | { ok: true; config: RecordingConfig | ReplayConfig }
  | { ok: false; attribute: string; message: string };

export function checkDebugConfiguration(raw: Record<string, unknown>, workspaceFolder: string | undefined): ConfigCheck {
  const cwd = typeof raw.cwd === 'string' ? raw.cwd : workspaceFolder ?? process.cwd();
  try {
    return { ok: true, config: isReplayConfiguration(raw) ? parseReplayConfig(raw, cwd) : parseRecordingConfig(raw, cwd) };
  } catch (e) {
    const attribute = e instanceof ConfigError ? e.field : '(configuration)';
    return { ok: false, attribute, message: `Bootscope: invalid "${attribute}" in launch configuration "${String(raw.name ?? '')}": ${errorMessage(e)}` };
  }
}
