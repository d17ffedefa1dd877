/**
 * Waiting for the next occurrence of an event (`Task.waitFor`). A wait ends in one of three ways: the
 * event comes, its deadline passes, or the task stops.
 * @module
 */
import { TimeoutError } from "../core/errors.ts";
import type { Listener } from "./event-loop.ts";
import type { WaitForOptions } from "./task-options.ts";

/**
 * What a wait needs from the object that emits its event: a {@link Task}, or anything with the same
 * `once` and `off`.
 * @example
 * ```ts
 * const source: WaitSource = task;
 * const args = await waitForEvent(source, new Set(), "ready", { timeoutMs: 1000 });
 * ```
 */
export interface WaitSource {
  /** Adds `fn` for the next `event` only. */
  once(event: string, fn: Listener): unknown;
  /** Removes `fn` from `event`. */
  off(event: string, fn: Listener): unknown;
}

/**
 * Resolves with the arguments of the next `event` of `source`. Rejects with TimeoutError after
 * `options.timeoutMs` (or resolves `undefined` with `ignoreTimeoutException`). While it waits, its stop
 * callback is in `stopWaiters`: calling that callback with an error ends the wait and rejects with the
 * error (the owner of the set calls them all when it stops).
 * @example
 * ```ts
 * const stopWaiters = new Set<(e: Error) => void>();
 * const ready = waitForEvent(task, stopWaiters, "ready", { timeoutMs: 5000 });
 * task.emitLocal("ready", 1, 2);
 * console.log(await ready); // [1, 2]
 * ```
 */
export function waitForEvent(
  source: WaitSource,
  stopWaiters: Set<(e: Error) => void>,
  event: string,
  options: WaitForOptions,
): Promise<unknown[] | undefined> {
  const timeoutMs = options.timeoutMs ?? Infinity;
  return new Promise((resolve, reject) => {
    // One object per wait and no closures: a request/reply loop calls this once per message.
    const w = new EventWait(
      source,
      stopWaiters,
      event,
      resolve,
      reject,
      options.ignoreTimeoutException === true,
    );
    source.once(event, w.listener);
    stopWaiters.add(w.onStop);
    if (Number.isFinite(timeoutMs)) w.timer = setTimeout(waitTimedOut, timeoutMs, w, timeoutMs);
  });
}

/** State of one {@link waitForEvent}. */
class EventWait {
  timer: NodeJS.Timeout | undefined;
  readonly listener: Listener;
  readonly onStop: (e: Error) => void;

  constructor(
    readonly source: WaitSource,
    readonly stopWaiters: Set<(e: Error) => void>,
    readonly event: string,
    readonly resolve: (args: unknown[] | undefined) => void,
    readonly reject: (e: unknown) => void,
    readonly ignoreTimeout: boolean,
  ) {
    this.listener = this.#fire.bind(this);
    this.onStop = this.#stop.bind(this);
  }

  /** Ends the wait: its event came, it timed out, or the task stopped. */
  end(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.stopWaiters.delete(this.onStop);
    this.source.off(this.event, this.listener);
  }

  #fire(...args: unknown[]): void {
    this.end();
    this.resolve(args);
  }

  #stop(e: Error): void {
    this.end();
    this.reject(e);
  }
}

function waitTimedOut(w: EventWait, timeoutMs: number): void {
  w.end();
  if (w.ignoreTimeout) w.resolve(undefined);
  else w.reject(new TimeoutError(`no "${w.event}" event within ${timeoutMs} ms`));
}
