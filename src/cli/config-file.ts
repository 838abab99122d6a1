// Reads a `--config` file: JSON with the same attributes as a launch.json `bootscope` configuration.
// Errors name the file and the attribute.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseRecordingConfig, type RecordingConfig } from '../common/config';
import { BootscopeError, ErrorCode, errorMessage } from '../common/errors';

export function loadConfigFile(file: string): RecordingConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BootscopeError(ErrorCode.Config, `--config: cannot read ${file}: ${errorMessage(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BootscopeError(ErrorCode.Config, `--config: ${file} is not valid JSON: ${errorMessage(e)}`);
  }
  try {
    return parseRecordingConfig(json, path.dirname(path.resolve(file)));
  } catch (e) {
    if (e instanceof BootscopeError) throw new BootscopeError(e.code, `${file}: ${e.message}`);
    throw e;
  }
}
