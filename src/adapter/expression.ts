// The expression language of `evaluate` (watch, hover, debug console): registers (`pc`, `$r0`), symbols
// (address and value), C-style casts and dereferences such as `*(uint32_t*)0x41000000`, `&symbol`,
// `p[2]`, and hex/decimal integer arithmetic. A small recursive-descent parser plus an async evaluator
// that reads memory through an injected environment, so it is tested without QEMU.
import { BootscopeError, ErrorCode } from '../common/errors';

export type IntType = { kind: 'int'; size: 1 | 2 | 4 | 8; signed: boolean; name: string };
export type PointerType = { kind: 'pointer'; to: CType | 'void' };
export type CType = IntType | PointerType;

export interface SymbolInfo {
  address: bigint;
  /** Size in bytes from the symbol table (0 when unknown). */
  size: number;
  kind: 'function' | 'object' | 'other';
}

/** What the evaluator may ask of the debuggee. */
export interface EvaluationEnvironment {
  /** Pointer size of the target in bytes (4 for AArch32, 8 for AArch64). */
  pointerSize: 4 | 8;
  register(name: string): { value: bigint; bits: number } | undefined;
  symbol(name: string): SymbolInfo | undefined;
  readMemory(address: bigint, length: number): Promise<Uint8Array>;
}

export interface EvaluationResult {
  value: bigint;
  type: CType;
  /** Where the value lives in memory (symbols, dereferences); undefined for registers and literals. */
  address?: bigint;
  /** What the value means when it is a code address (a function symbol). */
  isFunction?: boolean;
}

type Node =
  | { t: 'num'; value: bigint }
  | { t: 'id'; name: string }
  | { t: 'unary'; op: '-' | '~' | '!' | '+'; arg: Node }
  | { t: 'deref'; arg: Node }
  | { t: 'addr'; arg: Node }
  | { t: 'cast'; type: CType; arg: Node }
  | { t: 'index'; base: Node; index: Node }
  | { t: 'bin'; op: string; left: Node; right: Node };

export class ExpressionError extends BootscopeError {
  constructor(message: string) {
    super(ErrorCode.Usage, message);
    this.name = 'ExpressionError';
  }
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

function intType(size: 1 | 2 | 4 | 8, signed: boolean): IntType {
  return { kind: 'int', size, signed, name: `${signed ? '' : 'u'}int${size * 8}_t` };
}

/** C type names understood in casts; `long`, `size_t` and pointers follow the target's pointer size. */
function baseTypeNamed(words: string[], pointerSize: 4 | 8): CType | 'void' | undefined {
  const n = words.join(' ');
  const fixed = /^(u?)int(8|16|32|64)_t$/.exec(n) ?? /^([us])(8|16|32|64)$/.exec(n);
  if (fixed) return intType((Number(fixed[2]) / 8) as 1 | 2 | 4 | 8, fixed[1] !== 'u');
  const table: Record<string, CType | 'void'> = {
    'void': 'void',
    'char': intType(1, false), 'signed char': intType(1, true), 'unsigned char': intType(1, false),
    'short': intType(2, true), 'unsigned short': intType(2, false),
    'int': intType(4, true), 'signed': intType(4, true), 'signed int': intType(4, true),
    'unsigned': intType(4, false), 'unsigned int': intType(4, false),
    'long': intType(pointerSize, true), 'unsigned long': intType(pointerSize, false),
    'long long': intType(8, true), 'unsigned long long': intType(8, false),
    'size_t': intType(pointerSize, false), 'uintptr_t': intType(pointerSize, false), 'intptr_t': intType(pointerSize, true),
  };
  return table[n];
}

const TYPE_WORDS = new Set(['void', 'char', 'short', 'int', 'long', 'signed', 'unsigned', 'const', 'volatile', 'size_t', 'uintptr_t', 'intptr_t']);
function isTypeWord(w: string): boolean {
  return TYPE_WORDS.has(w) || /^u?int(8|16|32|64)_t$/.test(w) || /^[us](8|16|32|64)$/.test(w);
}

type Token = { k: 'num'; v: bigint } | { k: 'id'; v: string } | { k: 'op'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i += 1; continue; }
    const num = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*)([uUlL]*)/.exec(src.slice(i));
    if (num) {
      out.push({ k: 'num', v: BigInt(num[1].replace(/_/g, '')) });
      i += num[0].length;
      continue;
    }
    const id = /^\$?[A-Za-z_.][A-Za-z0-9_.$]*/.exec(src.slice(i));
    if (id) { out.push({ k: 'id', v: id[0] }); i += id[0].length; continue; }
    const op = /^(<<|>>|&&|\|\||[-+*/%&|^~!()[\]])/.exec(src.slice(i));
    if (op) { out.push({ k: 'op', v: op[0] }); i += op[0].length; continue; }
    throw new ExpressionError(`unexpected character "${c}" at column ${i + 1} of "${src}"`);
  }
  return out;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[], private readonly src: string, private readonly pointerSize: 4 | 8) {}

  parse(): Node {
    if (this.tokens.length === 0) throw new ExpressionError('empty expression');
    const n = this.binary(0);
    if (this.pos < this.tokens.length) throw new ExpressionError(`unexpected "${this.show(this.tokens[this.pos])}" in "${this.src}"`);
    return n;
  }

  private show(t: Token): string { return typeof t.v === 'bigint' ? t.v.toString() : t.v; }
  private peekOp(v: string): boolean { const t = this.tokens[this.pos]; return t?.k === 'op' && t.v === v; }
  private expectOp(v: string): void {
    if (!this.peekOp(v)) throw new ExpressionError(`expected "${v}" in "${this.src}"`);
    this.pos += 1;
  }

  // Precedence climbing over C's binary operators (lowest first).
  private static readonly LEVELS: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  private binary(level: number): Node {
    if (level >= Parser.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.tokens[this.pos];
      if (t?.k !== 'op' || !Parser.LEVELS[level].includes(t.v)) return left;
      this.pos += 1;
      left = { t: 'bin', op: t.v, left, right: this.binary(level + 1) };
    }
  }

  private unary(): Node {
    const t = this.tokens[this.pos];
    if (t?.k === 'op') {
      if (t.v === '-' || t.v === '~' || t.v === '!' || t.v === '+') { this.pos += 1; return { t: 'unary', op: t.v, arg: this.unary() }; }
      if (t.v === '*') { this.pos += 1; return { t: 'deref', arg: this.unary() }; }
      if (t.v === '&') { this.pos += 1; return { t: 'addr', arg: this.unary() }; }
      if (t.v === '(') {
        const cast = this.tryCast();
        if (cast) return { t: 'cast', type: cast, arg: this.unary() };
      }
    }
    return this.postfix();
  }

  /** `(type *...)` when the parenthesis opens a type name; otherwise leaves the position unchanged. */
  private tryCast(): CType | undefined {
    const start = this.pos;
    this.pos += 1;
    const words: string[] = [];
    while (this.tokens[this.pos]?.k === 'id' && isTypeWord(this.tokens[this.pos].v as string)) {
      const w = this.tokens[this.pos].v as string;
      if (w !== 'const' && w !== 'volatile') words.push(w);
      this.pos += 1;
    }
    if (words.length === 0) { this.pos = start; return undefined; }
    let type: CType | 'void' | undefined = baseTypeNamed(words, this.pointerSize);
    if (type === undefined) throw new ExpressionError(`unknown type "${words.join(' ')}"; use uint8_t..uint64_t, int, long, char or a pointer to one`);
    while (this.peekOp('*')) { this.pos += 1; type = { kind: 'pointer', to: type }; }
    if (type === 'void') throw new ExpressionError('cannot cast to void; cast to a pointer such as (uint32_t*)');
    this.expectOp(')');
    return type;
  }

  private postfix(): Node {
    let n = this.primary();
    while (this.peekOp('[')) {
      this.pos += 1;
      const index = this.binary(0);
      this.expectOp(']');
      n = { t: 'index', base: n, index };
    }
    return n;
  }

  private primary(): Node {
    const t = this.tokens[this.pos];
    if (!t) throw new ExpressionError(`incomplete expression "${this.src}"`);
    this.pos += 1;
    if (t.k === 'num') return { t: 'num', value: t.v };
    if (t.k === 'id') return { t: 'id', name: t.v };
    if (t.v === '(') {
      const n = this.binary(0);
      this.expectOp(')');
      return n;
    }
    throw new ExpressionError(`unexpected "${t.v}" in "${this.src}"`);
  }
}

export function parseExpression(src: string, pointerSize: 4 | 8): Node {
  return new Parser(tokenize(src), src, pointerSize).parse();
}

function sizeOf(t: CType | 'void', pointerSize: 4 | 8): number {
  if (t === 'void') return 1;
  return t.kind === 'int' ? t.size : pointerSize;
}

function truncate(v: bigint, t: CType, pointerSize: 4 | 8): bigint {
  const bits = sizeOf(t, pointerSize) * 8;
  return t.kind === 'int' && t.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

function littleEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

export class ExpressionEvaluator {
  private readonly word: IntType;
  constructor(private readonly env: EvaluationEnvironment) {
    this.word = intType(env.pointerSize, false);
  }

  async evaluate(src: string): Promise<EvaluationResult> {
    return this.value(parseExpression(src, this.env.pointerSize));
  }

  private async load(address: bigint, type: CType): Promise<EvaluationResult> {
    const size = sizeOf(type, this.env.pointerSize);
    let bytes: Uint8Array;
    try {
      bytes = await this.env.readMemory(address, size);
    } catch (e) {
      throw new ExpressionError(`cannot read ${size} bytes at 0x${address.toString(16)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (bytes.length < size) throw new ExpressionError(`cannot read ${size} bytes at 0x${address.toString(16)} (memory not mapped)`);
    return { value: truncate(littleEndian(bytes), type, this.env.pointerSize), type, address };
  }

  /** The type a data symbol is read as: its own size when it is 1, 2, 4 or 8 bytes, else one word. */
  private symbolType(s: SymbolInfo): IntType {
    return s.size === 1 || s.size === 2 || s.size === 4 || s.size === 8 ? intType(s.size, false) : intType(4, false);
  }

  private async value(n: Node): Promise<EvaluationResult> {
    switch (n.t) {
      case 'num': return { value: n.value, type: n.value > 0xffffffffn ? intType(8, false) : this.word };
      case 'id': {
        const name = n.name.startsWith('$') ? n.name.slice(1) : n.name;
        const reg = this.env.register(name);
        // `$name` always means a register; a bare name prefers a symbol of that name only when no register has it.
        if (reg && (n.name.startsWith('$') || !this.env.symbol(n.name))) {
          const size = reg.bits <= 8 ? 1 : reg.bits <= 16 ? 2 : reg.bits <= 32 ? 4 : 8;
          return { value: reg.value, type: intType(size as 1 | 2 | 4 | 8, false) };
        }
        const sym = this.env.symbol(n.name);
        if (!sym) throw new ExpressionError(`"${n.name}" is neither a register nor a symbol in the loaded ELF`);
        if (sym.kind === 'function') return { value: sym.address, type: { kind: 'pointer', to: 'void' }, address: sym.address, isFunction: true };
        return this.load(sym.address, this.symbolType(sym));
      }
      case 'unary': {
        const a = await this.value(n.arg);
        const v = n.op === '-' ? -a.value : n.op === '~' ? ~a.value : n.op === '!' ? (a.value === 0n ? 1n : 0n) : a.value;
        const type = n.op === '!' ? intType(4, true) : a.type;
        return { value: truncate(v, type, this.env.pointerSize), type };
      }
      case 'cast': {
        const a = await this.value(n.arg);
        return { value: truncate(a.value, n.type, this.env.pointerSize), type: n.type };
      }
      case 'addr': {
        const address = await this.addressOf(n.arg);
        return { value: address, type: { kind: 'pointer', to: this.word } };
      }
      case 'deref': {
        const p = await this.value(n.arg);
        return this.load(U64(p.value), this.pointee(p));
      }
      case 'index': {
        const base = await this.value(n.base);
        const idx = await this.value(n.index);
        const to = this.pointee(base);
        return this.load(U64(base.value + idx.value * BigInt(sizeOf(to, this.env.pointerSize))), to);
      }
      case 'bin': return this.binary(n.op, await this.value(n.left), await this.value(n.right));
    }
  }

  /** A dereferenced integer (not a typed pointer) reads one target word, as gdb's `x/w` would. */
  private pointee(p: EvaluationResult): CType {
    if (p.type.kind === 'pointer') return p.type.to === 'void' ? intType(1, false) : p.type.to;
    return this.word;
  }

  private async addressOf(n: Node): Promise<bigint> {
    if (n.t === 'id') {
      const sym = this.env.symbol(n.name);
      if (!sym) throw new ExpressionError(`cannot take the address of "${n.name}": not a symbol in the loaded ELF`);
      return sym.address;
    }
    if (n.t === 'deref') return U64((await this.value(n.arg)).value);
    if (n.t === 'index') {
      const r = await this.value(n);
      if (r.address !== undefined) return r.address;
    }
    throw new ExpressionError('"&" needs a symbol or a dereference, e.g. &my_var or &*(uint32_t*)0x41000000');
  }

  private binary(op: string, l: EvaluationResult, r: EvaluationResult): EvaluationResult {
    const ps = this.env.pointerSize;
    // Pointer arithmetic scales by the pointee size, as in C.
    if ((op === '+' || op === '-') && l.type.kind === 'pointer' && r.type.kind === 'int') {
      const scale = BigInt(sizeOf(l.type.to, ps));
      const v = op === '+' ? l.value + r.value * scale : l.value - r.value * scale;
      return { value: truncate(v, l.type, ps), type: l.type };
    }
    const type: CType = l.type.kind === 'int' && r.type.kind === 'int'
      ? intType(Math.max(l.type.size, r.type.size, 4) as 4 | 8, l.type.signed && r.type.signed)
      : intType(ps, false);
    const a = l.value;
    const b = r.value;
    let v: bigint;
    switch (op) {
      case '+': v = a + b; break;
      case '-': v = a - b; break;
      case '*': v = a * b; break;
      case '/': if (b === 0n) throw new ExpressionError('division by zero'); v = a / b; break;
      case '%': if (b === 0n) throw new ExpressionError('division by zero'); v = a % b; break;
      case '<<': v = a << b; break;
      case '>>': v = a >> b; break;
      case '&': v = a & b; break;
      case '|': v = a | b; break;
      case '^': v = a ^ b; break;
      case '&&': v = a !== 0n && b !== 0n ? 1n : 0n; break;
      case '||': v = a !== 0n || b !== 0n ? 1n : 0n; break;
      default: throw new ExpressionError(`unknown operator "${op}"`);
    }
    return { value: truncate(v, type, ps), type };
  }
}

export function typeName(t: CType): string {
  if (t.kind === 'int') return t.name;
  return `${t.to === 'void' ? 'void' : typeName(t.to)} *`;
}

/** `0x2a (42)` for unsigned values, `-1 (0xffffffff)` for negative signed ones. */
export function formatValue(r: EvaluationResult): string {
  if (r.type.kind === 'pointer') return `0x${r.value.toString(16)}`;
  if (r.type.signed && r.value < 0n) return `${r.value} (0x${BigInt.asUintN(r.type.size * 8, r.value).toString(16)})`;
  return r.value < 10n ? r.value.toString() : `0x${r.value.toString(16)} (${r.value})`;
}
