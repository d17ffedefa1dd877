/**
 * Small utilities: dotted access to nested config objects (`DottableDict`) and a deep `clone`.
 * @module
 */

import { ConfigError } from "./errors.ts";

type PlainObject = Record<string, unknown>;

/**
 * A plain config object whose nested plain objects are dottable too: `d.a.b` reads, `d.a.b = 2` writes,
 * and a plain object assigned later (`d.c = { e: 1 }`) becomes dottable as well, so `getPath`/`setPath`
 * and the `isDottable` check hold at every depth. Arrays stay arrays (their plain-object elements are
 * converted). `JSON.stringify`, spreading and `Object.keys` see an ordinary object.
 *
 * @example
 * ```ts
 * const cfg: DottableDict<{ learner: { lr: number } }> = convertDottable({ learner: { lr: 0.1 } });
 * cfg.learner.lr = 0.05;
 * ```
 */
export type DottableDict<T extends object = PlainObject> = {
  [K in keyof T]: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends PlainObject
      ? DottableDict<T[K]>
      : T[K];
};

const DOTTABLE = Symbol.for("weft.dottable");
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function isPlainObject(value: unknown): value is PlainObject {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * True when `value` was made by {@link convertDottable}.
 *
 * @example
 * ```ts
 * isDottable(convertDottable({})); // true
 * ```
 */
export function isDottable(value: unknown): boolean {
  return (
    typeof value === "object" && value !== null && (value as { [DOTTABLE]?: boolean })[DOTTABLE] === true
  );
}

function convertValue(value: unknown, seen: Map<object, unknown>): unknown {
  if (Array.isArray(value)) {
    const cached = seen.get(value);
    if (cached !== undefined) return cached;
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(convertValue(item, seen));
    return out;
  }
  if (isPlainObject(value) && !isDottable(value)) {
    const cached = seen.get(value);
    if (cached !== undefined) return cached;
    const target: PlainObject = {};
    const proxy = new Proxy(target, HANDLER);
    seen.set(value, proxy);
    for (const key of Object.keys(value)) {
      checkKey(key);
      target[key] = convertValue(value[key], seen);
    }
    return proxy;
  }
  return value;
}

function checkKey(key: string): void {
  if (FORBIDDEN_KEYS.has(key)) {
    throw new ConfigError(`config key "${key}" is not allowed (it would change the object's prototype)`);
  }
}

const HANDLER: ProxyHandler<PlainObject> = {
  get(target, key, receiver) {
    if (key === DOTTABLE) return true;
    return Reflect.get(target, key, receiver) as unknown;
  },
  set(target, key, value) {
    if (typeof key === "string") checkKey(key);
    target[key as string] = convertValue(value, new Map());
    return true;
  },
};

/**
 * Makes a dottable copy of a plain object: nested plain objects are copied and converted, other values
 * (class instances, typed arrays, Dates…) are kept by reference. Cycles are preserved.
 *
 * @throws {@link ConfigError} when `obj` is not a plain object or has a `__proto__`/`constructor`/
 * `prototype` key.
 * @example
 * ```ts
 * const d = convertDottable({ a: { b: 1 } });
 * d.a.b; // 1
 * d.a.c = { e: 2 } as never; // converted too
 * ```
 */
export function convertDottable<T extends object>(obj: T): DottableDict<T> {
  if (isDottable(obj)) return obj as DottableDict<T>;
  if (!isPlainObject(obj)) {
    throw new ConfigError("convertDottable needs a plain object (e.g. parsed YAML or JSON)");
  }
  return convertValue(obj, new Map()) as DottableDict<T>;
}

function splitPath(path: string): string[] {
  const parts = path.split(".");
  if (parts.some((p) => p === "")) throw new ConfigError(`config path "${path}" has an empty segment`);
  parts.forEach(checkKey);
  return parts;
}

/**
 * Reads a dotted path (`"learner.optimizer.lr"`) from nested objects; `undefined` when any step is
 * missing.
 *
 * @example
 * ```ts
 * getPath({ a: { b: 1 } }, "a.b"); // 1
 * ```
 */
export function getPath(obj: object, path: string): unknown {
  let cur: unknown = obj;
  for (const part of splitPath(path)) {
    if (typeof cur !== "object" || cur === null || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as PlainObject)[part];
  }
  return cur;
}

/**
 * Writes a dotted path, creating missing intermediate objects (command-line overrides like
 * `--set learner.lr=0.1`).
 *
 * @throws {@link ConfigError} when a step exists and is not an object, or a segment is empty/forbidden.
 * @example
 * ```ts
 * const cfg = convertDottable({});
 * setPath(cfg, "learner.lr", 0.1); // cfg.learner.lr === 0.1
 * ```
 */
export function setPath(obj: object, path: string, value: unknown): void {
  const parts = splitPath(path);
  let cur = obj as PlainObject;
  for (const part of parts.slice(0, -1)) {
    if (!Object.hasOwn(cur, part) || cur[part] === undefined) cur[part] = {};
    const next = cur[part];
    if (typeof next !== "object" || next === null) {
      throw new ConfigError(`cannot set "${path}": "${part}" holds ${typeof next}, not an object`);
    }
    cur = next as PlainObject;
  }
  cur[parts[parts.length - 1]!] = value;
}

/**
 * Deep clone. Handles nested objects and arrays, Maps, Sets, Dates, RegExps, ArrayBuffers, Buffers
 * (stay Buffers), every typed array and DataView, boxed primitives, and cycles/shared references (a value
 * reached twice is cloned once). Objects keep their prototype and property descriptors (so class
 * instances and Errors stay what they were; private `#fields` cannot be copied). Functions, Promises,
 * WeakMaps and WeakSets are shared, not copied. A typed array covering its whole ArrayBuffer clones the
 * buffer (so two such views of one buffer still share in the copy); a partial view copies only its bytes.
 *
 * @example
 * ```ts
 * const weights = { layer1: new Float32Array([1, 2]), step: 3 };
 * const copy = clone(weights);
 * copy.layer1[0] = 9; // weights.layer1[0] is still 1
 * ```
 */
export function clone<T>(value: T): T {
  return cloneInner(value, new Map()) as T;
}

function cloneInner(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== "object" || value === null) return value; // primitives and functions
  const known = seen.get(value);
  if (known !== undefined) return known;
  const out = cloneShell(value, seen);
  return out;
}

function cloneShell(value: object, seen: Map<object, unknown>): unknown {
  if (value instanceof ArrayBuffer) return remember(seen, value, value.slice(0));
  if (ArrayBuffer.isView(value)) return remember(seen, value, cloneView(value, seen));
  if (value instanceof Date) return remember(seen, value, new Date(value.getTime()));
  if (value instanceof RegExp) {
    const re = new RegExp(value.source, value.flags);
    re.lastIndex = value.lastIndex;
    return remember(seen, value, re);
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return remember(seen, value, Object(value.valueOf()));
  }
  if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) return value;
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(cloneInner(k, seen), cloneInner(v, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const v of value) out.add(cloneInner(v, seen));
    return out;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    seen.set(value, out);
    for (let i = 0; i < value.length; i++) if (i in value) out[i] = cloneInner(value[i], seen);
    return out;
  }
  const out = Object.create(Object.getPrototypeOf(value) as object | null) as object;
  seen.set(value, out);
  for (const key of Reflect.ownKeys(value)) {
    const desc = Object.getOwnPropertyDescriptor(value, key)!;
    if ("value" in desc) desc.value = cloneInner(desc.value, seen);
    Object.defineProperty(out, key, desc);
  }
  if (Object.isFrozen(value)) Object.freeze(out);
  else if (Object.isSealed(value)) Object.seal(out);
  return out;
}

function remember<T>(seen: Map<object, unknown>, from: object, to: T): T {
  seen.set(from, to);
  return to;
}

type View = ArrayBufferView & {
  constructor: new (buffer: ArrayBufferLike, offset: number, length: number) => ArrayBufferView;
};

function cloneView(view: ArrayBufferView, seen: Map<object, unknown>): ArrayBufferView {
  if (Buffer.isBuffer(view)) return Buffer.from(view);
  const ctor = (view as View).constructor;
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
  if (whole && view.buffer instanceof ArrayBuffer) {
    // Share the cloned buffer between views of the same source buffer, as the source did.
    let buffer = seen.get(view.buffer) as ArrayBuffer | undefined;
    if (buffer === undefined) {
      buffer = view.buffer.slice(0);
      seen.set(view.buffer, buffer);
    }
    const length =
      view instanceof DataView ? view.byteLength : (view as unknown as { length: number }).length;
    return new ctor(buffer, 0, length);
  }
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  const length = view instanceof DataView ? view.byteLength : (view as unknown as { length: number }).length;
  return new ctor(bytes.buffer, 0, length);
}
