/**
 * Options of a {@link Task}'s methods (`start`, `use` and `wrap`, `waitFor`) and the shape of the
 * wrappers `useWrapper` applies to middlewares.
 * @module
 */
import type { Context } from "./context.ts";
import type { Lock } from "./lock.ts";
import type { Middleware } from "./middleware.ts";
import type { TaskRouter } from "./router-link.ts";

/**
 * Options of {@link Task.start}.
 * @example
 * ```ts
 * const options: TaskStartOptions = { asyncMode: true, nAsyncWorkers: 2, labels: ["gpu"] };
 * new Task().start(options);
 * ```
 */
export interface TaskStartOptions {
  /** Start every middleware of a step concurrently. Default `false`. */
  asyncMode?: boolean;
  /** Most `asyncExecutor` jobs running at once; more wait their turn. Default 3. */
  nAsyncWorkers?: number;
  /** The first context. Default `new Context()`. */
  ctx?: Context<any>;
  /** Labels of this node, added to the built-in ones. Default none. */
  labels?: Iterable<string>;
  /** Router linking this node to the rest of the job. Default: the active `Parallel` router, if any. */
  router?: TaskRouter;
}

/**
 * Options of {@link Task.use} and {@link Task.wrap}.
 * @example
 * ```ts
 * task.use(saveCheckpoint, { lock: true });
 * ```
 */
export interface UseOptions {
  /** `true`: run under the task's lock; a {@link Lock}: run under that lock; default: no lock. */
  lock?: boolean | Lock;
}

/**
 * Options of {@link Task.waitFor}.
 * @example
 * ```ts
 * const args = await task.waitFor("model.updated", { timeoutMs: 5000, ignoreTimeoutException: true });
 * if (args === undefined) console.log("no update within 5 s");
 * ```
 */
export interface WaitForOptions {
  /** Deadline in ms. Default `Infinity` (the wait still ends with ClosedError when the task stops). */
  timeoutMs?: number;
  /** On timeout resolve `undefined` instead of rejecting with TimeoutError. Default `false`. */
  ignoreTimeoutException?: boolean;
}

/**
 * A wrapper applied by {@link Task.useWrapper} to every middleware.
 * @example
 * ```ts
 * const logged: MiddlewareWrapper = (fn) => (ctx) => {
 *   console.log("running", fn.name);
 *   return fn(ctx);
 * };
 * task.useWrapper(logged);
 * ```
 */
export type MiddlewareWrapper = (fn: Middleware) => Middleware;
