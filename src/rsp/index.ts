// The RSP codec's public surface: framing plus one module per packet family. Pure (no I/O): src/target
// drives it over a socket, tests drive it with byte arrays.

export * from './framing';
export * from './errors';
export * from './hex';
export * from './qSupported';
export * from './qXfer';
export * from './targetXml';
export * from './g';
export * from './p';
export * from './m';
export * from './Z';
export * from './vCont';
export * from './stopReply';
export * from './qfThreadInfo';
export * from './qRcmd';
export * from './qqemu';
