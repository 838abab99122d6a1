// src/target's public surface: one connection to one gdbstub (GdbTarget) and its benchmark helper.

export * from './target';
export * from './bench';
