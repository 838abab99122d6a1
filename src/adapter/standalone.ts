// Entry point of the standalone debug adapter process (dist/adapter.js): DAP over stdin/stdout. Used by
// the DebugClient tests and by a `debugServer`/executable setup; the extension runs the same session inline.
import { BootscopeDebugSession } from './debug-session';

// What DebugSession.run() does for a single stdio session (it cannot pass constructor options).
const session = new BootscopeDebugSession();
process.on('SIGTERM', () => session.shutdown());
session.start(process.stdin, process.stdout);
