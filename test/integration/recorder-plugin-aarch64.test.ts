// Recorder acceptance on the aarch64 demo guest with plugin capture (issue 13): the same checks as the gdbstub
// recorder (test/support/recorder-suite.ts), QEMU 10 from scripts/qemu10.sh, real SQLite file. -icount makes
// the timer tick on instruction counts: free-running at plugin speed on a loaded host, a real-time tick can
// land before a task ran a single instruction, and the task-switch check would depend on the host's load.
import { recorderSuite } from '../support/recorder-suite';
import { DETERMINISTIC, qemu10 } from '../support/plugin-fixtures';

const q = qemu10();
recorderSuite('aarch64', { capture: 'plugin' }, 'skip' in q ? { skip: q.skip } : { qemuBinary: q.binaries.aarch64, extraArgs: DETERMINISTIC });
