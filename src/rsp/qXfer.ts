// `qXfer:features:read:ANNEX:OFFSET,LENGTH` (GDB manual, "General Query Packets", qXfer): the target
// description (target.xml and the files it includes) read in chunks. Each reply is `m<data>` (more
// follows) or `l<data>` (last); data is binary, already unescaped by the framing layer.

import { RspDecodeError, parseErrorReply } from './errors';

/** Chunk length we ask for; QEMU clamps to its packet buffer anyway. */
export const XFER_CHUNK = 0x3fb;

export function encodeQXferFeaturesRead(annex: string, offset: number, length = XFER_CHUNK): string {
  return `qXfer:features:read:${annex}:${offset.toString(16)},${length.toString(16)}`;
}

export interface XferChunk {
  last: boolean;
  data: string;
}

export function decodeQXferChunk(payload: string): XferChunk | RspDecodeError {
  const c = payload.charAt(0);
  if (c === 'm' || c === 'l') return { last: c === 'l', data: payload.slice(1) };
  const err = parseErrorReply(payload);
  if (err) return new RspDecodeError('malformed', `stub refused the read (${payload})`, 0);
  if (payload === '') return new RspDecodeError('malformed', 'qXfer:features:read is not supported by the stub', 0);
  return new RspDecodeError('malformed', `qXfer reply neither m nor l: ${JSON.stringify(payload.slice(0, 20))}`, 0);
}

/** Sends one request and resolves with its reply payload (text); provided by the connection layer. */
export type RequestText = (payload: string) => Promise<string>;

/** Read one annex completely, chunk after chunk, until an `l` reply. */
export async function readXferAnnex(request: RequestText, annex: string, chunk = XFER_CHUNK): Promise<string> {
  let text = '';
  for (let guard = 0; guard < 10_000; guard++) {
    const reply = decodeQXferChunk(await request(encodeQXferFeaturesRead(annex, text.length, chunk)));
    if (reply instanceof RspDecodeError) throw new RspDecodeError(reply.reason, `${annex}: ${reply.message}`, reply.offset);
    text += reply.data;
    // An empty `m` would loop forever; GDB treats it as the end too.
    if (reply.last || reply.data.length === 0) return text;
  }
  throw new RspDecodeError('too-long', `${annex}: more than 10000 chunks`, 0);
}

/**
 * Read target.xml and, recursively, every `<xi:include href="...">` it names. Returns annex -> text,
 * target.xml first. Includes are read once each, so a cycle cannot loop.
 */
export async function readTargetDescription(request: RequestText, root = 'target.xml'): Promise<Map<string, string>> {
  const docs = new Map<string, string>();
  const queue = [root];
  while (queue.length) {
    const annex = queue.shift() as string;
    if (docs.has(annex)) continue;
    const text = await readXferAnnex(request, annex);
    docs.set(annex, text);
    for (const m of text.matchAll(/<xi:include\s+href\s*=\s*["']([^"']+)["']/g)) queue.push(m[1]);
  }
  return docs;
}
