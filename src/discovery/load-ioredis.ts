/**
 * Loads ioredis on first use rather than at import time.
 *
 * Why: ioredis defines a subclass of `String` when it loads, and from then on V8 no longer inlines
 * `String.prototype` methods such as `charCodeAt` anywhere in the process (measured on Node 20: a
 * `charCodeAt` loop over short strings 15 → 70–110 ns; encoding a small message 0.62 → 1.1 µs). A process
 * that never uses Redis discovery should not pay that, so ioredis is loaded only by the code that connects.
 * @module
 */
import type { Redis } from "ioredis";

let loading: Promise<typeof Redis> | undefined;

/**
 * The ioredis client class, loaded once.
 * @example
 * ```ts
 * const Redis = await loadRedis();
 * const client = new Redis("redis://127.0.0.1:6379", { lazyConnect: true });
 * ```
 */
export function loadRedis(): Promise<typeof Redis> {
  loading ??= import("ioredis").then((m) => m.Redis);
  return loading;
}
