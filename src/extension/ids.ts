// Every identifier the extension shares with package.json "contributes": command ids, view ids, the
// debug type and context keys. Kept in one place so a rename touches one file (and package.json).

export const DEBUG_TYPE = 'bootscope';

export const Commands = {
  captureSnapshot: 'bootscope.captureSnapshot',
  startRecording: 'bootscope.startRecording',
  stopRecording: 'bootscope.stopRecording',
  openRecording: 'bootscope.openRecording',
  exportCsv: 'bootscope.exportCsv',
  generateReport: 'bootscope.generateReport',
  recordHeadless: 'bootscope.recordHeadless',
  refreshSessions: 'bootscope.refreshSessions',
  revealInstruction: 'bootscope.revealInstruction',
  deleteSession: 'bootscope.deleteSession',
  copySql: 'bootscope.copySql',
  replayInDebugger: 'bootscope.replayInDebugger',
  gotoInstruction: 'bootscope.gotoInstruction',
  whoWroteThis: 'bootscope.whoWroteThis',
} as const;

export const Views = {
  container: 'bootscope',
  sessions: 'bootscope.sessions',
} as const;

/** `when`-clause context keys set with `setContext`. */
export const ContextKeys = {
  /** True while the active bootscope debug session records instructions. */
  recording: 'bootscope.recording',
} as const;

/** `contextValue` of the session-tree items (package.json menus match on them). */
export const TreeItemKinds = {
  file: 'bootscope.file',
  session: 'bootscope.session',
  stage: 'bootscope.stage',
  snapshot: 'bootscope.snapshot',
  region: 'bootscope.region',
} as const;
