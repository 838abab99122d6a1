// Recorder acceptance on the aarch64 demo guest with plugin capture (issue 13): the same checks as the gdbstub
// recorder (test/support/recorder-suite.ts), QEMU 10 from scripts/qemu10.sh, real SQLite file.
import { recorderSuite } from '../support/recorder-suite';
import { qemu10 } from '../support/plugin-fixtures';

const q = qemu10();
recorderSuite('aarch64', { capture: 'plugin' }, 'skip' in q ? { skip: q.skip } : { qemuBinary: q.binaries.aarch64 });
