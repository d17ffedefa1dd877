/**
 * A small synchronous event bus, the local half of the task's events.
 * @module
 */
import { globToRegExp, isGlob } from "./glob.ts";

/**
 * A listener: receives the emitted arguments. It may return a promise; a rejection is reported like a throw.
 * @example
 * ```ts
 * const log: Listener = (step: number) => console.log("step", step);
 * new EventLoop().on("step", log);
 * ```
 */
export type Listener = (...args: any[]) => unknown;

/**
 * Options of {@link EventLoop}.
 * @example
 * ```ts
 * const loop = new EventLoop({ onError: (error, event) => console.error(`listener of ${event} failed`, error) });
 * ```
 */
export interface EventLoopOptions {
  /**
   * Called with each error thrown (or rejected) by a listener. Default: the error is kept and handed out
   * once by {@link EventLoop.takeError}. The error is never re-thrown into `emit`'s caller, so a faulty
   * listener cannot break every later emit.
   */
  onError?: (error: unknown, event: string) => void;
}

interface Entry {
  fn: Listener;
  once: boolean;
  fired: boolean;
}

/**
 * Named events with `on`, `once`, `off` (glob patterns) and `emit`. Listeners run synchronously, in
 * registration order, when `emit` is called; `once` listeners run exactly once even if the event is
 * emitted again from inside a listener.
 * @example
 * ```ts
 * const loop = new EventLoop();
 * loop.on("tick", (n: number) => console.log(n));
 * loop.emit("tick", 1);
 * loop.off("ti*");
 * ```
 */
export class EventLoop {
  #listeners = new Map<string, Entry[]>();
  #onError: ((error: unknown, event: string) => void) | undefined;
  #pending: unknown[] = [];

  constructor(options: EventLoopOptions = {}) {
    this.#onError = options.onError;
  }

  /** Adds `fn` for `event`. Returns `this`. */
  on(event: string, fn: Listener): this {
    return this.#add(event, fn, false);
  }

  /** Adds `fn` for the next `event` only. Returns `this`. */
  once(event: string, fn: Listener): this {
    return this.#add(event, fn, true);
  }

  /**
   * Removes `fn` from `event`, or every listener of `event` when `fn` is omitted. `event` may be a glob
   * (`"model.*"`) matching several event names. Returns the names that lost their last listener.
   */
  off(event: string, fn?: Listener): string[] {
    const names = isGlob(event)
      ? [...this.#listeners.keys()].filter((n) => globToRegExp(event).test(n))
      : [event];
    const emptied: string[] = [];
    for (const name of names) {
      const list = this.#listeners.get(name);
      if (list === undefined) continue;
      const kept = fn === undefined ? [] : list.filter((e) => e.fn !== fn);
      if (kept.length === 0) {
        this.#listeners.delete(name);
        emptied.push(name);
      } else this.#listeners.set(name, kept);
    }
    return emptied;
  }

  /** Calls every listener of `event` with `args`. Returns true when there was at least one listener. */
  emit(event: string, ...args: unknown[]): boolean {
    const list = this.#listeners.get(event);
    if (list === undefined) return false;
    // Snapshot: listeners added or removed while dispatching take effect from the next emit.
    const snapshot = list.slice();
    let removeOnce = false;
    for (const entry of snapshot) {
      if (entry.once) {
        if (entry.fired) continue;
        entry.fired = true;
        removeOnce = true;
      }
      try {
        const r = entry.fn(...args);
        if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
          (r as Promise<unknown>).then(undefined, (e: unknown) => this.#report(e, event));
        }
      } catch (e) {
        this.#report(e, event);
      }
    }
    if (removeOnce) {
      const current = this.#listeners.get(event);
      if (current !== undefined) {
        const kept = current.filter((e) => !e.fired);
        if (kept.length === 0) this.#listeners.delete(event);
        else this.#listeners.set(event, kept);
      }
    }
    return true;
  }

  /** Number of listeners of `event`. */
  listenerCount(event: string): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Names of the events that have listeners. */
  eventNames(): string[] {
    return [...this.#listeners.keys()];
  }

  /** Returns and clears the oldest listener error kept (only when no `onError` was given). */
  takeError(): unknown {
    return this.#pending.shift();
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear();
  }

  #add(event: string, fn: Listener, once: boolean): this {
    const entry: Entry = { fn, once, fired: false };
    const list = this.#listeners.get(event);
    if (list === undefined) this.#listeners.set(event, [entry]);
    else list.push(entry);
    return this;
  }

  #report(error: unknown, event: string): void {
    if (this.#onError !== undefined) this.#onError(error, event);
    else this.#pending.push(error);
  }
}
