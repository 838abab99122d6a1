// Target description (GDB manual, "Target Descriptions"): target.xml plus its xi:include'd feature files
// -> a RegisterLayout (name, regnum, bitsize, type, group, byte offset in the `g` packet). Never hard-coded:
// QEMU's numbering differs per CPU (e.g. arm cpsr is regnum 25, sysregs are numbered dynamically).
// A tiny XML tokenizer is enough: target descriptions are flat elements with quoted attributes.

import { RspDecodeError } from './errors';

export interface RegisterInfo {
  name: string;
  /** GDB register number: what `p`/`P` take, and the order of the `g` packet. */
  regnum: number;
  bitsize: number;
  /** bitsize / 8, rounded up. */
  byteSize: number;
  /** `int`, `code_ptr`, `data_ptr`, `ieee_double`, a vector/union id, ... (default `int`). */
  type: string;
  group?: string;
  /** Name of the `<feature>` that declared it, e.g. `org.gnu.gdb.arm.core`. */
  feature: string;
  /** Byte offset in the raw `g` reply, or undefined when the register is not in `g` (read it with `p`). */
  gOffset?: number;
}

export interface RegisterLayout {
  /** `<architecture>` text, e.g. `arm`, `aarch64`, `iwmmxt`. Empty if absent. */
  architecture: string;
  /** Every register, sorted by regnum. */
  registers: readonly RegisterInfo[];
  /** Bytes in a `g` reply (the sum of the sizes of the registers that carry a gOffset). */
  gPacketSize: number;
  /** Lookup by name; on duplicate names (QEMU's sysregs have several `DUMMY`), the lowest regnum wins. */
  byName: ReadonlyMap<string, RegisterInfo>;
  byNumber: ReadonlyMap<number, RegisterInfo>;
}

interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  /** Text directly inside (only kept for leaf elements such as `<architecture>`). */
  text: string;
  children: XmlElement[];
}

const ENTITY: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(parseInt(e.slice(1), 10)) : ENTITY[e],
  );
}

/** Parse a small XML document into an element tree. Comments, PIs and DOCTYPE are skipped. */
export function parseXml(text: string): XmlElement | RspDecodeError {
  const root: XmlElement = { name: '#document', attrs: new Map(), text: '', children: [] };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (lt > i) stack[stack.length - 1].text += unescapeXml(text.slice(i, lt));
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) return new RspDecodeError('malformed', 'unterminated XML comment', lt);
      i = end + 3;
      continue;
    }
    if (text.startsWith('<?', lt) || text.startsWith('<!', lt)) {
      const end = text.indexOf('>', lt);
      if (end < 0) return new RspDecodeError('malformed', 'unterminated XML declaration', lt);
      i = end + 1;
      continue;
    }
    const gt = text.indexOf('>', lt);
    if (gt < 0) return new RspDecodeError('malformed', 'unterminated XML tag', lt);
    const inner = text.slice(lt + 1, gt);
    i = gt + 1;
    if (inner.startsWith('/')) {
      const name = inner.slice(1).trim();
      const top = stack.pop();
      if (!top || top.name !== name || stack.length === 0) return new RspDecodeError('malformed', `unexpected </${name}>`, lt);
      continue;
    }
    const selfClosing = inner.endsWith('/');
    const body = selfClosing ? inner.slice(0, -1) : inner;
    const m = /^([\w:.-]+)/.exec(body);
    if (!m) return new RspDecodeError('malformed', `bad tag <${inner.slice(0, 30)}>`, lt);
    const el: XmlElement = { name: m[1], attrs: new Map(), text: '', children: [] };
    const attrRe = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
    for (const a of body.slice(m[1].length).matchAll(attrRe)) el.attrs.set(a[1], unescapeXml(a[2] ?? a[3] ?? ''));
    stack[stack.length - 1].children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length !== 1) return new RspDecodeError('malformed', `unclosed <${stack[stack.length - 1].name}>`, text.length);
  return root;
}

/**
 * Build the layout from the documents read with qXfer (annex -> text; `target.xml` is the root).
 * `gPacketSize`: the length in bytes of a real `g` reply. QEMU only puts the core registers in `g`
 * (coprocessor features are registered with g_pos 0), so registers past that size get no gOffset.
 * Without it, every register gets an offset as if `g` carried them all.
 */
export function buildRegisterLayout(docs: ReadonlyMap<string, string>, gPacketSize?: number, root = 'target.xml'): RegisterLayout | RspDecodeError {
  const regs: RegisterInfo[] = [];
  let architecture = '';
  let nextRegnum = 0;
  const visiting = new Set<string>();

  const walk = (el: XmlElement, feature: string): RspDecodeError | undefined => {
    for (const child of el.children) {
      switch (child.name) {
        case 'architecture':
          architecture = child.text.trim();
          break;
        case 'xi:include': {
          const href = child.attrs.get('href') ?? '';
          const err = include(href, feature);
          if (err) return err;
          break;
        }
        case 'feature': {
          const err = walk(child, child.attrs.get('name') ?? '');
          if (err) return err;
          break;
        }
        case 'reg': {
          const name = child.attrs.get('name');
          const bitsize = Number(child.attrs.get('bitsize'));
          if (!name || !Number.isInteger(bitsize) || bitsize <= 0) {
            return new RspDecodeError('malformed', `<reg> needs name and a positive bitsize (got ${name ?? '?'} / ${child.attrs.get('bitsize') ?? '?'})`, 0);
          }
          const explicit = child.attrs.get('regnum');
          // Without regnum, a register takes the number after the previous one (GDB's rule).
          const regnum = explicit !== undefined ? Number(explicit) : nextRegnum;
          if (!Number.isInteger(regnum) || regnum < 0) return new RspDecodeError('malformed', `bad regnum for ${name}: ${explicit}`, 0);
          nextRegnum = regnum + 1;
          const group = child.attrs.get('group');
          regs.push({ name, regnum, bitsize, byteSize: Math.ceil(bitsize / 8), type: child.attrs.get('type') ?? 'int', ...(group ? { group } : {}), feature });
          break;
        }
        case 'target': {
          const err = walk(child, feature);
          if (err) return err;
          break;
        }
        default:
          break; // vector, union, flags, struct, osabi, compatible: types only, no registers
      }
    }
    return undefined;
  };

  const include = (annex: string, feature: string): RspDecodeError | undefined => {
    const text = docs.get(annex);
    if (text === undefined) return new RspDecodeError('malformed', `target description includes ${annex}, which was not read`, 0);
    if (visiting.has(annex)) return new RspDecodeError('malformed', `include cycle through ${annex}`, 0);
    visiting.add(annex);
    const doc = parseXml(text);
    if (doc instanceof RspDecodeError) return new RspDecodeError(doc.reason, `${annex}: ${doc.message}`, doc.offset);
    const err = walk(doc, feature);
    visiting.delete(annex);
    return err;
  };

  const err = include(root, '');
  if (err) return err;
  if (regs.length === 0) return new RspDecodeError('malformed', 'target description declares no registers', 0);
  regs.sort((a, b) => a.regnum - b.regnum);
  for (let i = 1; i < regs.length; i++) {
    if (regs[i].regnum === regs[i - 1].regnum) return new RspDecodeError('malformed', `regnum ${regs[i].regnum} declared twice (${regs[i - 1].name}, ${regs[i].name})`, 0);
  }
  return finishLayout(architecture, regs, gPacketSize);
}

/** The same layout with offsets recomputed for a `g` reply of `gPacketSize` bytes. */
export function withGPacketSize(layout: RegisterLayout, gPacketSize: number): RegisterLayout {
  return finishLayout(layout.architecture, layout.registers.map((r) => ({ ...r })), gPacketSize);
}

function finishLayout(architecture: string, regs: RegisterInfo[], gPacketSize: number | undefined): RegisterLayout {
  // `g` carries registers in regnum order, gaps (absent regnums) taking no space, until it ends.
  let offset = 0;
  for (const r of regs) {
    delete r.gOffset;
    if (gPacketSize === undefined || offset + r.byteSize <= gPacketSize) {
      r.gOffset = offset;
      offset += r.byteSize;
    } else {
      gPacketSize = offset; // first register that does not fit ends the `g` part
    }
  }
  const byName = new Map<string, RegisterInfo>();
  const byNumber = new Map<number, RegisterInfo>();
  for (const r of regs) {
    if (!byName.has(r.name)) byName.set(r.name, r);
    byNumber.set(r.regnum, r);
  }
  return { architecture, registers: regs, gPacketSize: offset, byName, byNumber };
}
