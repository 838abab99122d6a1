// User-facing errors: one code per failure kind, each message saying what failed, with which value,
// and what to do. Exit codes of the CLI derive from the error's kind (see src/cli/main.ts).

export enum ErrorCode {
  /** A command-line argument is missing or malformed. */
  Usage = 'usage',
  /** A configuration (config file or launch.json) attribute is missing or malformed. */
  Config = 'config',
  /** QEMU could not be started, died, or refused its arguments. */
  Qemu = 'qemu',
  /** The gdbstub connection failed, timed out, or was lost. */
  Connection = 'connection',
  /** The gdbstub answered a request with an error (`E NN`) or something we cannot use. */
  Target = 'target',
  /** The recording file could not be opened, read or written. */
  Database = 'database',
  /** An ELF or DWARF file could not be read. */
  Symbols = 'symbols',
  /** The operation was cancelled by the user. */
  Cancelled = 'cancelled',
}

export class BootscopeError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BootscopeError';
  }
}

export class ConfigError extends BootscopeError {
  /** `field` is the attribute path, e.g. `regions[2].pattern`. */
  constructor(readonly field: string, message: string) {
    super(ErrorCode.Config, `${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
