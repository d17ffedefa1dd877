/**
 * `String.prototype` methods held in constants, for hot loops over strings.
 *
 * Why: once any module in the process subclasses `String` (ioredis does), V8 stops inlining calls such
 * as `s.charCodeAt(i)` on string primitives, and each costs several times more (measured on Node 20: a
 * loop over a short string 15 → 70–110 ns). A call through the method held here stays fast either way.
 * @module
 */
const nativeCharCodeAt = String.prototype.charCodeAt;
const nativeStartsWith = String.prototype.startsWith;

/**
 * `s.charCodeAt(i)`, fast whatever else the process has loaded.
 * @example
 * ```ts
 * charCodeAt("weft", 0); // 119
 * ```
 */
export function charCodeAt(s: string, i: number): number {
  return nativeCharCodeAt.call(s, i);
}

/**
 * `s.startsWith(prefix)`, fast whatever else the process has loaded.
 * @example
 * ```ts
 * startsWith("worker.0", "worker."); // true
 * ```
 */
export function startsWith(s: string, prefix: string): boolean {
  return nativeStartsWith.call(s, prefix);
}
