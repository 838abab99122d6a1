// Recorder acceptance on the aarch64 demo guest (see test/support/recorder-suite.ts): real QEMU, real SQLite file.
import { recorderSuite } from '../support/recorder-suite';

recorderSuite('aarch64');
