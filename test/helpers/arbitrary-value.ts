/**
 * Random values for codec property tests, from a seeded generator so that a failure can be replayed, and a
 * strict deep equality that tells typed array kinds, Buffers and Uint8Arrays apart.
 * @module
 */

/** A small, fast, seeded PRNG (mulberry32). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Every typed array constructor the codec supports. */
export const TYPED_ARRAY_KINDS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

/** Options of {@link arbitraryValue}. */
export interface ArbitraryOptions {
  /** Deepest nesting of containers. Default 4. */
  maxDepth?: number;
  /** Byte size from which the codec sends binary values as attachments. Default 1024. */
  attachmentThreshold?: number;
}

const STRINGS = ["", "a", "tag", "héllo", "日本語", "emoji 😀🎉", "\u0000nul", "line\nbreak", "ß∂ƒ©", "👩‍👩‍👧"];

function arbitraryString(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
      return rng.pick(STRINGS);
    case 1: {
      // Random code points from several planes, surrogate pairs included (lone surrogates excluded: UTF-8
      // cannot carry them).
      let s = "";
      const n = rng.int(40);
      for (let i = 0; i < n; i++) {
        const plane = rng.int(3);
        const cp =
          plane === 0
            ? 0x20 + rng.int(0x5f)
            : plane === 1
              ? 0xa0 + rng.int(0xd700 - 0xa0)
              : 0x10000 + rng.int(0xfffff);
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    case 2:
      // Long enough for str16 now and then.
      return "x".repeat(rng.int(300));
    default:
      return `k${rng.int(1000)}`;
  }
}

function arbitraryNumber(rng: Rng): number {
  const n = anyNumber(rng);
  return n === 0 ? 0 : n; // -0 is documented to arrive as 0
}

function anyNumber(rng: Rng): number {
  switch (rng.int(7)) {
    case 0:
      return rng.int(128);
    case 1:
      return -rng.int(33);
    case 2:
      return rng.int(2 ** 32) - 2 ** 31;
    case 3:
      return Math.floor((rng.next() - 0.5) * 2 ** 53);
    case 4:
      return (rng.next() - 0.5) * 10 ** rng.int(40);
    case 5:
      return rng.pick([
        NaN,
        Infinity,
        -Infinity,
        Number.MAX_VALUE,
        Number.MIN_VALUE,
        2 ** 53,
        -(2 ** 53),
        0.1,
      ]);
    default:
      return rng.next();
  }
}

function arbitraryBigInt(rng: Rng): bigint {
  const big = (bits: number): bigint => {
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(rng.int(2 ** 32));
    return v & ((1n << BigInt(bits)) - 1n);
  };
  switch (rng.int(5)) {
    case 0:
      return BigInt(rng.int(1000)) - 500n; // small: still int64 on the wire
    case 1:
      return big(63) * (rng.int(2) === 0 ? 1n : -1n); // inside int64
    case 2:
      return (1n << 63n) + big(63); // above int64, inside uint64
    case 3:
      return rng.pick([(1n << 63n) - 1n, -(1n << 63n), (1n << 64n) - 1n, 1n << 64n, -(1n << 63n) - 1n]);
    default:
      return (big(64 + rng.int(200)) + (1n << 64n)) * (rng.int(2) === 0 ? 1n : -1n); // out of 64-bit range
  }
}

function arbitraryDate(rng: Rng): Date {
  switch (rng.int(4)) {
    case 0:
      return new Date(rng.int(2 ** 31) * 1000); // whole seconds: timestamp 32
    case 1:
      return new Date(Math.floor(rng.next() * 4e12)); // milliseconds: timestamp 64
    case 2:
      return new Date(-Math.floor(rng.next() * 4e12)); // before 1970: timestamp 96
    default:
      return new Date(Math.floor(rng.next() * 8.64e15)); // far future
  }
}

/**
 * A typed array or Buffer, sometimes a view at an offset inside a larger buffer, with a byte size just
 * below, at or above the attachment threshold.
 */
export function arbitraryBinary(rng: Rng, threshold = 1024): ArrayBufferView {
  const sizes = [0, 1, 7, threshold - 1, threshold, threshold + 1, 2 * threshold + 13, 4096];
  if (rng.int(6) === 0) {
    // Buffer: Buffer.allocUnsafe draws small ones from the shared pool, at varying offsets.
    const n = rng.pick(sizes);
    const b = Buffer.allocUnsafe(n);
    b.set(rng.bytes(n));
    return b;
  }
  const Ctor = rng.pick(TYPED_ARRAY_KINDS);
  const size = Math.floor(rng.pick(sizes) / Ctor.BYTES_PER_ELEMENT);
  const offset = rng.int(3);
  const backing = new Uint8Array((size + offset) * Ctor.BYTES_PER_ELEMENT);
  backing.set(rng.bytes(backing.byteLength));
  return new Ctor(backing.buffer, offset * Ctor.BYTES_PER_ELEMENT, size);
}

function arbitraryLeaf(rng: Rng, threshold: number): unknown {
  switch (rng.int(10)) {
    case 0:
      return arbitraryNumber(rng);
    case 1:
      return arbitraryString(rng);
    case 2:
      return rng.int(2) === 0;
    case 3:
      return null;
    case 4:
      return undefined;
    case 5:
      return arbitraryBigInt(rng);
    case 6:
      return arbitraryDate(rng);
    case 7:
    case 8:
      return arbitraryBinary(rng, threshold);
    default:
      return arbitraryNumber(rng);
  }
}

/**
 * A random value built from every type the codec supports: numbers, strings (unicode), booleans, null,
 * undefined, bigints in and out of the 64-bit range, Dates, typed arrays of every kind and Buffers on both
 * sides of the attachment threshold, arrays, plain objects and Maps with non-string keys, nested at random.
 * Excluded on purpose (documented lossy cases): `-0`, the key `"__proto__"`, sparse arrays.
 */
export function arbitraryValue(rng: Rng, options: ArbitraryOptions = {}, depth = 0): unknown {
  const maxDepth = options.maxDepth ?? 4;
  const threshold = options.attachmentThreshold ?? 1024;
  if (depth >= maxDepth || rng.int(3) === 0) return arbitraryLeaf(rng, threshold);
  const n = rng.int(5);
  switch (rng.int(3)) {
    case 0:
      return Array.from({ length: n }, () => arbitraryValue(rng, options, depth + 1));
    case 1: {
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) obj[arbitraryString(rng)] = arbitraryValue(rng, options, depth + 1);
      return obj;
    }
    default: {
      const map = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        // Keys of any type: numbers, null, undefined, bigints, dates, objects, arrays, even Maps.
        map.set(arbitraryValue(rng, options, depth + 2), arbitraryValue(rng, options, depth + 1));
      }
      return map;
    }
  }
}

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value))
    return `${Buffer.isBuffer(value) ? "Buffer" : value.constructor.name}(${value.byteLength} bytes)`;
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date) return `Date(${value.getTime()})`;
  if (value instanceof Map) return `Map(${value.size})`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (typeof value === "object" && value !== null) return "Object";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Strict structural equality for codec round trips. Returns `undefined` when equal, else the path and
 * reason of the first difference. Numbers compare with `Object.is` (NaN equals NaN; -0 differs from 0);
 * typed arrays must have the same class (Buffer ≠ Uint8Array ≠ Uint8ClampedArray) and the same bytes;
 * Maps compare entry by entry in insertion order; objects must have the same own keys in the same order.
 */
export function deepDifference(actual: unknown, expected: unknown, path = "$"): string | undefined {
  const fail = (why: string): string =>
    `${path}: ${why} (got ${describe(actual)}, want ${describe(expected)})`;
  if (typeof actual !== typeof expected) return fail("types differ");
  if (typeof expected !== "object" || expected === null || actual === null) {
    return Object.is(actual, expected) ? undefined : fail("values differ");
  }
  if (ArrayBuffer.isView(expected)) {
    if (!ArrayBuffer.isView(actual)) return fail("not a binary view");
    if (Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) return fail("binary kinds differ");
    if (Buffer.isBuffer(actual) !== Buffer.isBuffer(expected)) return fail("Buffer vs Uint8Array");
    if (actual.byteLength !== expected.byteLength) return fail("byte lengths differ");
    const a = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
    const e = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
    for (let i = 0; i < e.length; i++) if (a[i] !== e[i]) return fail(`byte ${i} differs`);
    return undefined;
  }
  if (expected instanceof Date) {
    if (!(actual instanceof Date)) return fail("not a Date");
    return Object.is(actual.getTime(), expected.getTime()) ? undefined : fail("times differ");
  }
  if (expected instanceof Map) {
    if (!(actual instanceof Map)) return fail("not a Map");
    if (actual.size !== expected.size) return fail("sizes differ");
    const ea = [...actual];
    let i = 0;
    for (const [k, v] of expected) {
      const [ak, av] = ea[i] as [unknown, unknown];
      const d = deepDifference(ak, k, `${path}.key[${i}]`) ?? deepDifference(av, v, `${path}.value[${i}]`);
      if (d !== undefined) return d;
      i++;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return fail("not an array");
    if (actual.length !== expected.length) return fail("lengths differ");
    for (let i = 0; i < expected.length; i++) {
      const d = deepDifference(actual[i], expected[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(expected);
  if (proto !== Object.prototype && proto !== null) return fail("unsupported expected type");
  if (Object.getPrototypeOf(actual) !== Object.prototype) return fail("not a plain object");
  const ak = Object.keys(actual as object);
  const ek = Object.keys(expected);
  if (ak.length !== ek.length || ak.some((k, i) => k !== ek[i]))
    return fail(`keys differ: ${JSON.stringify(ak)} vs ${JSON.stringify(ek)}`);
  for (const k of ek) {
    const d = deepDifference(
      (actual as Record<string, unknown>)[k],
      (expected as Record<string, unknown>)[k],
      `${path}.${k}`,
    );
    if (d !== undefined) return d;
  }
  return undefined;
}
