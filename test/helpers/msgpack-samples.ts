// Payload values at every msgpack size and kind boundary, shared by the head writer and reader tests, and
// msgpackr configured as weft's codec configures it (the reference both are checked against).
import { Packr } from "msgpackr";

/** msgpackr with the codec's options; its extensions are registered globally when codec.ts loads. */
export const codecPackr = new Packr({
  useRecords: false,
  moreTypes: true,
  int64AsType: "bigint",
  mapsAsObjects: true,
});

/** Integers at each msgpack width boundary (fixint, 8, 16, 32 bits, beyond), positive and negative. */
export const numbers = [
  0,
  1,
  127,
  128,
  255,
  256,
  65535,
  65536,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53,
  -1,
  -32,
  -33,
  -128,
  -129,
];
export const moreNumbers = [
  -32768,
  -32769,
  -(2 ** 31),
  -(2 ** 31) - 1,
  0.5,
  -0.25,
  1e300,
  NaN,
  Infinity,
  -Infinity,
];
export const strings = [
  "",
  "a",
  "x".repeat(31),
  "x".repeat(32),
  "x".repeat(255),
  "x".repeat(256),
  "y".repeat(70_000),
];
export const binaries = [0, 1, 64, 255, 256, 70_000].map((n) => Buffer.alloc(n, 7));
export const typedArrays = [
  new Uint8Array(64).fill(3),
  new Uint8Array(254),
  new Uint8Array(255),
  new Int8Array([-1, 2, -3]),
  new Uint8ClampedArray([1, 255]),
  new Int16Array([-300, 300]),
  new Uint16Array([65535]),
  new Int32Array([-(2 ** 31)]),
  new Uint32Array([2 ** 32 - 1]),
  new Float32Array([1.5, -2.5]),
  new Float64Array([Math.PI]),
  new BigInt64Array([-5n]),
  new BigUint64Array([5n]),
  new Float32Array(new ArrayBuffer(40), 4, 8), // a view in the middle of a larger buffer
];
export const others = [
  { a: 1, b: [2, "c"] },
  [1, 2, 3],
  new Map([["k", 1]]),
  new Date(0),
  new ArrayBuffer(4),
];
