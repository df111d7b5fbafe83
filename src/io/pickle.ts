// A restricted unpickler: a stack machine over an explicit allow-list of pickle opcodes that builds plain
// values only (None, bools, ints, floats, strings, tuples, lists, dicts). It never imports or calls
// anything: GLOBAL yields an inert name that the caller's rules must accept first, and REDUCE, BUILD and
// persistent ids are handed to those rules, which build the few objects they know or refuse. Every other
// opcode (INST, OBJ, NEWOBJ, EXT*, the text protocol-0 forms, ...) is refused where it is met, so a
// hostile pickle fails before anything it names exists. Memo size, stack size and nesting are bounded.
import { FormatError } from "../errors.ts";

export type PickleKey = string | number | bigint | boolean | null;

/** A Python tuple. */
export class PickleTuple {
  constructor(
    readonly items: readonly PickleValue[],
    readonly depth: number,
  ) {}
}

/** A Python list. */
export class PickleList {
  readonly items: PickleValue[] = [];
  depth = 1;
  /** Set once the list is inside another value; it may not change after that. */
  sealed = false;
}

/** A Python dict (or an OrderedDict built by the rules), with keys that are plain scalars. */
export class PickleDict {
  readonly map = new Map<PickleKey, PickleValue>();
  depth = 1;
  /** Set once the dict is inside another value; it may not change after that. */
  sealed = false;
  constructor(readonly ordered = false) {}
}

/** A name from GLOBAL / STACK_GLOBAL that the rules allowed: inert, only REDUCE or the rules can use it. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object the rules built (a storage, a tensor). */
export class PickleObject<T = unknown> {
  constructor(
    readonly kind: string,
    readonly value: T,
  ) {}
}

export type PickleValue = PickleKey | PickleTuple | PickleList | PickleDict | PickleGlobal | PickleObject;

/** Thrown by rules to refuse what a pickle asks for; reported as a FormatError with the byte offset. */
export class PickleRefusal extends Error {}

/** What a caller allows beyond plain values. Each hook throws PickleRefusal to refuse. */
export interface UnpickleRules {
  /** Whether GLOBAL `module.name` may be named at all; checked before anything else happens. */
  allowGlobal(module: string, name: string): boolean;
  /** A short list of what is allowed, for the message that refuses any other global. */
  readonly allowedNote: string;
  /** REDUCE: `callable(*args)` for an allowed global. */
  reduce(callable: PickleGlobal, args: PickleTuple): PickleValue;
  /** BUILD: `target.__setstate__(state)`. */
  build(target: PickleValue, state: PickleValue): void;
  /** BINPERSID: the object a persistent id stands for. */
  persistentLoad(pid: PickleValue): PickleValue;
}

export interface UnpickleLimits {
  /** Memo entries. Default 1,000,000. */
  maxMemo?: number;
  /** Values on the stack at once. Default 1,000,000. */
  maxStack?: number;
  /** Nesting of MARKs and of containers. Default 100. */
  maxDepth?: number;
}

export interface UnpickleOptions extends UnpickleLimits {
  /** Prefix for messages, e.g. the entry inside an archive ("archive/data.pkl"). */
  where?: string;
}

const OP = {
  MARK: 0x28,
  EMPTY_TUPLE: 0x29,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  BINFLOAT: 0x47,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  NONE: 0x4e,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  APPENDS: 0x65,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_DICT: 0x7d,
  PROTO: 0x80,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

/** The opcodes this unpickler runs, by pickletools name; any other byte is refused. */
export const ALLOWED_OPCODES: readonly string[] = Object.keys(OP);

const NAMES = new Map<number, string>(Object.entries(OP).map(([k, v]) => [v, k]));

/** Opcodes a hostile or foreign pickle may hold, named in the refusal (pickletools' names). */
const REFUSED_NAMES = new Map<number, string>(
  Object.entries({
    NEWOBJ: 0x81,
    NEWOBJ_EX: 0x92,
    INST: 0x69,
    OBJ: 0x6f,
    EXT1: 0x82,
    EXT2: 0x83,
    EXT4: 0x84,
    PERSID: 0x50,
    INT: 0x49,
    LONG: 0x4c,
    FLOAT: 0x46,
    STRING: 0x53,
    UNICODE: 0x56,
    GET: 0x67,
    PUT: 0x70,
    DICT: 0x64,
    LIST: 0x6c,
    LONG4: 0x8b,
    BINSTRING: 0x54,
    SHORT_BINSTRING: 0x55,
    BINBYTES: 0x42,
    SHORT_BINBYTES: 0x43,
    BINBYTES8: 0x8e,
    BYTEARRAY8: 0x96,
    NEXT_BUFFER: 0x97,
    READONLY_BUFFER: 0x98,
    EMPTY_SET: 0x8f,
    ADDITEMS: 0x90,
    FROZENSET: 0x91,
  }).map(([k, v]) => [v, k]),
);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Nesting depth of `v` as it is put inside another value. Python's pickler fills every list and dict before
 * using it as an item, so a container is sealed then: its depth is final, and no cycle can form (a
 * self-referencing structure, which a state_dict never is, is refused).
 */
function nestAs(v: PickleValue): number {
  if (v instanceof PickleList || v instanceof PickleDict) v.sealed = true;
  return v instanceof PickleTuple || v instanceof PickleList || v instanceof PickleDict ? v.depth : 0;
}

/** "a str", "an int", "None": a value's type with its article, for messages. */
export function aPickleType(v: PickleValue): string {
  const name = pickleTypeName(v);
  return v === null ? name : /^[aeiouAEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}

/** A value's Python type, for messages (never its contents: they may be huge or deep). */
export function pickleTypeName(v: PickleValue): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  if (v instanceof PickleTuple) return "tuple";
  if (v instanceof PickleList) return "list";
  if (v instanceof PickleDict) return v.ordered ? "OrderedDict" : "dict";
  if (v instanceof PickleGlobal) return v.qualified;
  return v.kind;
}

/**
 * Runs a pickle (protocol 2 to 5) under `rules` and returns what STOP pops. Any refused opcode or global,
 * truncation, or limit exceeded is a FormatError naming `file`, the byte offset and the problem.
 */
export function unpickle(bytes: Uint8Array, file: string, rules: UnpickleRules, opts: UnpickleOptions = {}): PickleValue {
  const maxMemo = opts.maxMemo ?? 1_000_000;
  const maxStack = opts.maxStack ?? 1_000_000;
  const maxDepth = opts.maxDepth ?? 100;
  const where = opts.where ? `${opts.where} ` : "";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const memo = new Map<number, PickleValue>();
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  let pos = 0;
  let opPos = 0;
  let opName = "";

  function fail(problem: string): never {
    throw new FormatError(file, `${where}byte ${opPos}: ${problem}`);
  }
  const need = (n: number): number => {
    if (pos + n > bytes.length) fail(`truncated: ${opName} needs ${n} more bytes, the pickle ends after ${bytes.length - pos}`);
    const at = pos;
    pos += n;
    return at;
  };
  const push = (v: PickleValue): void => {
    if (stack.length >= maxStack) fail(`more than ${maxStack} values on the stack`);
    stack.push(v);
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) fail(`${opName} on an empty stack`);
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail(`${opName} on an empty stack`);
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) fail(`${opName} without a MARK`);
    stack = prev;
    return items;
  };
  const nested = (d: number): number => {
    if (d > maxDepth) fail(`values nested more than ${maxDepth} deep`);
    return d;
  };
  const tuple = (items: PickleValue[]): PickleTuple => {
    let d = 0;
    for (const v of items) d = Math.max(d, nestAs(v));
    return new PickleTuple(items, nested(1 + d));
  };
  const str = (at: number, n: number): string => {
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return fail("a string that is not valid UTF-8");
    }
  };
  const memoPut = (i: number): void => {
    if (!memo.has(i) && memo.size >= maxMemo) fail(`more than ${maxMemo} memo entries`);
    memo.set(i, top());
  };
  const memoGet = (i: number): void => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
    push(memo.get(i)!);
  };
  const global = (module: string, name: string): PickleGlobal => {
    if (!IDENT.test(module) || !IDENT.test(name)) fail(`global ${JSON.stringify(`${module} ${name}`)} is not a Python name`);
    if (!rules.allowGlobal(module, name)) fail(`global ${module}.${name} is refused: ${rules.allowedNote}`);
    return new PickleGlobal(module, name);
  };
  const key = (k: PickleValue): PickleKey => {
    if (k === null || typeof k !== "object") return k;
    return fail(`a dict key that is ${aPickleType(k)}; only str, int, bool and None keys are read`);
  };
  const setItems = (dict: PickleValue, pairs: PickleValue[]): void => {
    if (!(dict instanceof PickleDict)) fail(`${opName} on ${aPickleType(dict)}, not a dict`);
    if (dict.sealed) fail(`${opName} on a dict already inside another value (a recursive structure)`);
    if (pairs.length % 2) fail(`${opName} with an odd number of items`);
    for (let i = 0; i < pairs.length; i += 2) {
      const v = pairs[i + 1]!;
      if (v === dict) fail(`${opName} puts a dict inside itself`);
      dict.map.set(key(pairs[i]!), v);
      dict.depth = Math.max(dict.depth, nested(1 + nestAs(v)));
    }
  };
  const appendItems = (list: PickleValue, items: PickleValue[]): void => {
    if (!(list instanceof PickleList)) fail(`${opName} on ${aPickleType(list)}, not a list`);
    if (list.sealed) fail(`${opName} on a list already inside another value (a recursive structure)`);
    for (const v of items) {
      if (v === list) fail(`${opName} puts a list inside itself`);
      list.items.push(v);
      list.depth = Math.max(list.depth, nested(1 + nestAs(v)));
    }
  };
  // Rules refuse with PickleRefusal; give it the position like any other refusal.
  const ruled = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof PickleRefusal) return fail(e.message);
      throw e;
    }
  };

  for (;;) {
    opPos = pos;
    if (pos >= bytes.length) {
      opName = "";
      fail("truncated: the pickle ends without STOP");
    }
    const op = bytes[pos++]!;
    const name = NAMES.get(op);
    if (name === undefined) {
      const refused = REFUSED_NAMES.get(op);
      fail(refused ? `opcode ${refused} is not allowed in a state_dict pickle` : `unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
    opName = name;
    switch (op) {
      case OP.PROTO: {
        const v = bytes[need(1)]!;
        if (v < 2 || v > 5) fail(`pickle protocol ${v}; protocols 2 to 5 are read`);
        break;
      }
      case OP.FRAME:
        need(8); // frames only group opcodes for buffered reading; the whole pickle is in memory
        break;
      case OP.STOP: {
        if (marks.length) fail("STOP inside an open MARK");
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack, expected 1`);
        if (pos !== bytes.length) fail(`${bytes.length - pos} bytes after STOP`);
        return stack[0]!;
      }
      case OP.MARK:
        if (marks.length >= maxDepth) fail(`MARKs nested more than ${maxDepth} deep`);
        marks.push(stack);
        stack = [];
        break;
      case OP.POP:
        if (stack.length) stack.pop();
        else popMark(); // as Python: POP on an empty stack after MARK discards the mark
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        push(top());
        break;
      case OP.NONE:
        push(null);
        break;
      case OP.NEWTRUE:
        push(true);
        break;
      case OP.NEWFALSE:
        push(false);
        break;
      case OP.BININT1:
        push(bytes[need(1)]!);
        break;
      case OP.BININT2:
        push(view.getUint16(need(2), true));
        break;
      case OP.BININT:
        push(view.getInt32(need(4), true));
        break;
      case OP.LONG1: {
        const n = bytes[need(1)]!;
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
        if (n > 0 && bytes[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case OP.BINFLOAT:
        push(view.getFloat64(need(8), false));
        break;
      case OP.SHORT_BINUNICODE: {
        const n = bytes[need(1)]!;
        push(str(need(n), n));
        break;
      }
      case OP.BINUNICODE: {
        const n = view.getUint32(need(4), true);
        push(str(need(n), n));
        break;
      }
      case OP.BINUNICODE8: {
        const n = view.getBigUint64(need(8), true);
        if (n > BigInt(bytes.length)) fail(`truncated: a ${n}-byte string in a ${bytes.length}-byte pickle`);
        push(str(need(Number(n)), Number(n)));
        break;
      }
      case OP.EMPTY_TUPLE:
        push(tuple([]));
        break;
      case OP.TUPLE1:
        push(tuple([pop()]));
        break;
      case OP.TUPLE2: {
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case OP.TUPLE:
        push(tuple(popMark()));
        break;
      case OP.EMPTY_LIST:
        push(new PickleList());
        break;
      case OP.APPEND: {
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case OP.EMPTY_DICT:
        push(new PickleDict());
        break;
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.BINPUT:
        memoPut(bytes[need(1)]!);
        break;
      case OP.LONG_BINPUT:
        memoPut(view.getUint32(need(4), true));
        break;
      case OP.MEMOIZE:
        memoPut(memo.size);
        break;
      case OP.BINGET:
        memoGet(bytes[need(1)]!);
        break;
      case OP.LONG_BINGET:
        memoGet(view.getUint32(need(4), true));
        break;
      case OP.GLOBAL: {
        const line = (): string => {
          const end = bytes.subarray(pos, pos + 257).indexOf(0x0a);
          if (end < 0) fail("GLOBAL without a name line (truncated, or a name over 256 bytes)");
          return str(need(end + 1), end);
        };
        const module = line();
        push(global(module, line()));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL with a module or name that is not a str");
        push(global(module, name));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal)) fail(`REDUCE of ${aPickleType(callable)}, which is not callable here`);
        if (!(args instanceof PickleTuple)) fail(`REDUCE with arguments that are ${aPickleType(args)}, not a tuple`);
        push(ruled(() => rules.reduce(callable, args)));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        nestAs(state);
        ruled(() => rules.build(top(), state));
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        push(ruled(() => rules.persistentLoad(pid)));
        break;
      }
      default:
        fail(`opcode ${name} is not handled`);
    }
  }
}
