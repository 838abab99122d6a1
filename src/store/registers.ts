// Register state in instruction_traces.registers: a JSON object. Keyframe rows (registers_full = 1) hold
// every register; the other rows hold only the registers whose value changed since the previous row of the
// session (the pc changes on every step, so it is in every row). This keeps 100k ARM32 steps small while
// any state can be rebuilt from the nearest keyframe at or before it (RecordingStore.registersAt).
//
// Value rule (one rule, both directions exact): a value <= 2^53 - 1 (Number.MAX_SAFE_INTEGER) is a JSON
// number; a larger one (64-bit registers) is a lower-case hex string "0x...". So
// json_extract(registers, '$.r0') is an INTEGER for every ARM32 register and for small AArch64 values.

export type RegisterInput = ReadonlyMap<string, bigint> | Readonly<Record<string, bigint | number>>;
export type RegisterState = Map<string, bigint>;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function toRegisterState(input: RegisterInput): RegisterState {
  const state: RegisterState = new Map();
  const entries: Iterable<[string, bigint | number]> = input instanceof Map ? input.entries() : Object.entries(input);
  for (const [name, value] of entries) {
    const v = typeof value === 'bigint' ? value : BigInt(value);
    if (v < 0n) throw new RangeError(`register ${name} must be unsigned, got ${v}`);
    state.set(name, v);
  }
  return state;
}

export function encodeRegisterValue(v: bigint): number | string {
  return v <= MAX_SAFE ? Number(v) : `0x${v.toString(16)}`;
}

export function decodeRegisterValue(v: unknown, name = '?'): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return BigInt(v);
  throw new RangeError(`register ${name}: stored value ${JSON.stringify(v)} is neither a safe integer nor "0x..." hex`);
}

/** JSON of every register (a keyframe row). */
export function encodeFullRegisters(state: RegisterState): string {
  const out: Record<string, number | string> = {};
  for (const [name, v] of state) out[name] = encodeRegisterValue(v);
  return JSON.stringify(out);
}

/** The `"name":` prefix of each register in JSON, built once per name. */
const jsonKeys = new Map<string, string>();
function jsonKey(name: string): string {
  let k = jsonKeys.get(name);
  if (k === undefined) {
    k = `${JSON.stringify(name)}:`;
    jsonKeys.set(name, k);
  }
  return k;
}

/**
 * The writer's per-row step: copies `input` into `state` in place and returns the delta JSON (the registers
 * whose value changed, in input order; "{}" when none) — the same text encodeRegisterDelta gives, built in
 * one pass with no allocation but the text: Map.forEach with one module-level callback (a for-of over a Map
 * makes an [name, value] array per register, i.e. 17 per ARM32 step).
 */
export function updateRegisterState(state: RegisterState, input: RegisterInput): string {
  pass.state = state;
  pass.json = '{';
  if (input instanceof Map) {
    (input as ReadonlyMap<string, bigint>).forEach(visitRegister);
  } else {
    const record = input as Readonly<Record<string, bigint | number>>;
    for (const name of Object.keys(record)) visitRegister(record[name], name);
  }
  const json = `${pass.json}}`;
  pass.state = EMPTY_STATE;
  return json;
}

const EMPTY_STATE: RegisterState = new Map();
/** The pass in progress (updateRegisterState is synchronous and not re-entrant). */
const pass = { state: EMPTY_STATE, json: '{' };

function visitRegister(value: bigint | number, name: string): void {
  const v = typeof value === 'bigint' ? value : BigInt(value);
  if (pass.state.get(name) === v) return;
  if (v < 0n) throw new RangeError(`register ${name} must be unsigned, got ${v}`);
  pass.state.set(name, v);
  pass.json += `${pass.json.length > 1 ? ',' : ''}${jsonKey(name)}${v <= MAX_SAFE ? v.toString() : `"0x${v.toString(16)}"`}`;
}

/** JSON of the registers that differ from `previous` (a delta row); "{}" when nothing changed. */
export function encodeRegisterDelta(previous: RegisterState, current: RegisterState): string {
  const out: Record<string, number | string> = {};
  for (const [name, v] of current) {
    if (previous.get(name) !== v) out[name] = encodeRegisterValue(v);
  }
  return JSON.stringify(out);
}

/** Apply one row's JSON (keyframe or delta) onto `state` in place; returns the names it set. */
export function applyRegisterJson(state: RegisterState, json: string | null): string[] {
  if (json === null || json === '') return [];
  const parsed: unknown = JSON.parse(json);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RangeError(`registers column is not a JSON object: ${json.slice(0, 80)}`);
  }
  const names: string[] = [];
  for (const [name, v] of Object.entries(parsed as Record<string, unknown>)) {
    state.set(name, decodeRegisterValue(v, name));
    names.push(name);
  }
  return names;
}
