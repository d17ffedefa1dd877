/**
 * Times the calls that wait for replies, for those who listen (`proxy.onReplyWait`, the proxy metrics).
 * @module
 */
import type { ReplyWaiter } from "./reply-waiter.ts";

/** Called with the seconds one call waited for its replies. */
export type ReplyWaitListener = (seconds: number) => void;

/**
 * Remembers when each waiting call began and tells the listeners how long it waited once it ends. Costs
 * nothing while nobody listens: {@link start} then answers 0 and nothing is remembered.
 * @example
 * ```ts
 * const clock = new ReplyWaitClock();
 * const stop = clock.listen((seconds) => histogram.observe(seconds));
 * const start = clock.start();
 * const waiter = calls.add(expectations, timeoutMs);
 * clock.began(waiter, start);
 * // … when the waiter ends:
 * clock.ended(waiter);
 * ```
 */
export class ReplyWaitClock {
  private readonly listeners: ReplyWaitListener[] = [];
  private readonly starts = new WeakMap<ReplyWaiter, number>();

  /** Adds `listener`; answers a function that removes it. */
  listen(listener: ReplyWaitListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  /** The time a call starts waiting, taken before it is set up; 0 while nobody listens. */
  start(): number {
    return this.listeners.length === 0 ? 0 : performance.now();
  }

  /** `waiter` was set up at `start` (from {@link start}); one that settled at once waited for nothing. */
  began(waiter: ReplyWaiter, start: number): void {
    if (start === 0) return;
    if (waiter.settled) this.tell(0);
    else this.starts.set(waiter, start);
  }

  /** `waiter` ended (replies in, failed or timed out): the listeners learn how long it waited. */
  ended(waiter: ReplyWaiter): void {
    if (this.listeners.length === 0) return;
    const start = this.starts.get(waiter);
    if (start !== undefined) this.tell((performance.now() - start) / 1000);
  }

  private tell(seconds: number): void {
    for (const listener of this.listeners) listener(seconds);
  }
}
