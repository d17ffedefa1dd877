/**
 * Middleware types and the mechanics of running one forward and one backward.
 * @module
 */
import type { Lock } from "./lock.ts";

/**
 * A middleware: a plain or async function, or a generator / async generator function. A generator's
 * code before its first `yield` is the forward; the code after it is the backward, run at the end of
 * the step, last-in first-out.
 * @example
 * ```ts
 * const timed: Middleware<Context> = function* (ctx) {
 *   const t0 = performance.now();
 *   yield; // the rest of the step runs here
 *   ctx.set("stepMs", performance.now() - t0);
 * };
 * task.use(timed);
 * ```
 */
export type Middleware<C = any> = (ctx: C) => unknown;

/**
 * Returned by a wrapped middleware (see `Task.wrap`): runs that middleware's backward.
 * @example
 * ```ts
 * const backward: Backward = await task.wrap(timed)(task.ctx);
 * await backward(); // runs timed's code after its yield now, not at the end of the step
 * ```
 */
export type Backward = () => void | Promise<void>;

/**
 * A middleware suspended at its first `yield`, waiting for its backward.
 * @example
 * ```ts
 * const entry: StackEntry | undefined = await runForward(timed, ctx, undefined);
 * if (entry) await runBackward(entry);
 * ```
 */
export interface StackEntry {
  gen: Generator<unknown, unknown, unknown> | AsyncGenerator<unknown, unknown, unknown>;
  isAsync: boolean;
  lock: Lock | undefined;
}

/**
 * True for promises and other thenables.
 * @example
 * ```ts
 * isPromiseLike(Promise.resolve(1)); // true
 * isPromiseLike({ then: 1 }); // false
 * ```
 */
export function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === "object" && typeof (v as PromiseLike<unknown>).then === "function";
}

/**
 * Runs `fn(ctx)` up to its first yield. Returns the stack entry when it suspended, `undefined` when it
 * finished, or a promise of either when the middleware is asynchronous.
 *
 * With `waits`, the promise of a plain async middleware without lock (which never has a backward) is
 * appended there as it is and `undefined` is returned, so a caller that waits for many middlewares at
 * once does not pay for one more promise per middleware.
 * @example
 * ```ts
 * const entry = await runForward(function* () { console.log("forward"); yield; console.log("backward"); }, ctx, undefined);
 * // logs "forward"; entry holds the generator, suspended at its yield
 * ```
 */
export function runForward(
  fn: Middleware,
  ctx: unknown,
  lock: Lock | undefined,
  waits?: Array<PromiseLike<unknown>>,
): StackEntry | undefined | Promise<StackEntry | undefined> {
  if (lock === undefined) return forwardOnce(fn, ctx, undefined, waits);
  const release = lock.tryAcquire();
  if (release === undefined) {
    return lock.acquire().then(async (rel) => {
      try {
        return await forwardOnce(fn, ctx, lock);
      } finally {
        rel();
      }
    });
  }
  let r: StackEntry | undefined | Promise<StackEntry | undefined>;
  try {
    r = forwardOnce(fn, ctx, lock);
  } catch (e) {
    release();
    throw e;
  }
  if (isPromiseLike(r)) return r.finally(release);
  release();
  return r;
}

const toUndefined = (): undefined => undefined;

function forwardOnce(
  fn: Middleware,
  ctx: unknown,
  lock: Lock | undefined,
  waits?: Array<PromiseLike<unknown>>,
): StackEntry | undefined | Promise<StackEntry | undefined> {
  const r = fn(ctx) as any;
  if (r === null || typeof r !== "object") return undefined;
  if (typeof r.next === "function") {
    if (typeof r[Symbol.asyncIterator] === "function") {
      const gen = r as AsyncGenerator<unknown, unknown, unknown>;
      return gen.next().then((res) => (res.done === true ? undefined : { gen, isAsync: true, lock }));
    }
    const gen = r as Generator<unknown, unknown, unknown>;
    // A generator that ends without yielding has no backward and is not stacked.
    return gen.next().done === true ? undefined : { gen, isAsync: false, lock };
  }
  if (typeof r.then === "function") {
    if (waits === undefined) return (r as Promise<unknown>).then(toUndefined);
    waits.push(r as PromiseLike<unknown>);
  }
  return undefined;
}

/**
 * Runs one suspended middleware's backward: resumes it once; code after a second yield never runs.
 * @example
 * ```ts
 * const entry = await runForward(timed, ctx, undefined);
 * if (entry) await runBackward(entry); // runs timed's code after its yield
 * ```
 */
export function runBackward(entry: StackEntry): void | Promise<void> {
  if (entry.lock === undefined) return backwardOnce(entry);
  return entry.lock.runExclusive(() => backwardOnce(entry));
}

function backwardOnce(entry: StackEntry): void | Promise<void> {
  if (entry.isAsync) {
    const gen = entry.gen as AsyncGenerator<unknown, unknown, unknown>;
    return gen.next().then(async (res) => {
      if (res.done !== true) await gen.return(undefined);
    });
  }
  const gen = entry.gen as Generator<unknown, unknown, unknown>;
  // return() after a second yield runs only `finally` blocks, so resources are released.
  if (gen.next().done !== true) gen.return(undefined);
}
