/**
 * The bounded inbox of a proxy: messages nobody is waiting for, kept in arrival order for `receive()`.
 * @module
 */
import type { Message } from "../core/message.ts";

type Taker = (m: Message | undefined) => void;
type ResultTaker = (r: IteratorResult<Message>) => void;

/**
 * A FIFO of messages with a bound. `waitForRoom()` lets the socket reader apply backpressure.
 *
 * @example
 * ```ts
 * const inbox = new Inbox(1000);
 * inbox.push(message);
 * const next = await inbox.shift(deadline);
 * ```
 */
export class Inbox {
  private items: Message[] = [];
  private head = 0;
  private readonly takers: (Taker | ResultTaker)[] = [];
  /** For each taker, whether it takes an iterator result (see {@link nextResult}) rather than a message. */
  private readonly takesResult: boolean[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private closed = false;

  constructor(readonly capacity: number) {}

  /** Messages waiting. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** True when the inbox holds `capacity` messages or more. */
  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** Adds a message (hands it straight to a waiting `shift()` if there is one). */
  push(message: Message): void {
    const taker = this.takers.shift();
    if (taker === undefined) this.items.push(message);
    else if (this.takesResult.shift() === true) (taker as ResultTaker)({ done: false, value: message });
    else (taker as Taker)(message);
  }

  /** Resolves when there is room again (or the inbox closed). */
  waitForRoom(): Promise<void> {
    if (!this.full || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Wakes a reader paused by `waitForRoom()` even though the inbox is still full (a reply may be next). */
  releaseReader(): void {
    if (this.roomWaiters.length > 0) for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Removes and returns the oldest message if there is one, without waiting. */
  poll(): Message | undefined {
    if (this.head >= this.items.length) return undefined;
    const m = this.items[this.head] as Message;
    this.items[this.head++] = undefined as unknown as Message;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.roomWaiters.length > 0 && !this.full) for (const wake of this.roomWaiters.splice(0)) wake();
    return m;
  }

  /** Removes and returns the oldest message matching `predicate`, if any. */
  takeMatching(predicate: (m: Message) => boolean): Message | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const m = this.items[i] as Message;
      if (predicate(m)) {
        if (i === this.head) return this.poll();
        this.items.splice(i, 1);
        if (!this.full) for (const wake of this.roomWaiters.splice(0)) wake();
        return m;
      }
    }
    return undefined;
  }

  /**
   * The oldest message; waits for one until `signal` aborts (then resolves `undefined`) or the inbox closes.
   */
  shift(signal?: AbortSignal): Promise<Message | undefined> {
    const m = this.poll();
    if (m !== undefined || this.closed) return Promise.resolve(m);
    if (signal === undefined) return new Promise((resolve) => this.addTaker(resolve, false));
    if (signal.aborted) return Promise.resolve(undefined);
    // With a signal the taker must be found again on abort: two closures (only here, as they cost a
    // little on every wait).
    return new Promise((resolve) => {
      const taker = (value: Message | undefined): void => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const onAbort = (): void => {
        const i = this.takers.indexOf(taker);
        if (i !== -1) {
          this.takers.splice(i, 1);
          this.takesResult.splice(i, 1);
        }
        resolve(undefined);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.addTaker(taker, false);
    });
  }

  /**
   * The oldest message as an async iterator's result: `{ done: true }` once the inbox is closed and empty.
   * The same as `shift()` without a signal, for `receive()`: the waiting taker resolves the iterator's
   * promise itself, one promise and one microtask less per message than mapping `shift()`'s result.
   */
  nextResult(): Promise<IteratorResult<Message>> {
    const m = this.poll();
    if (m !== undefined) return Promise.resolve({ done: false, value: m });
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.addTaker(resolve, true));
  }

  /**
   * The messages as they come, as an async iterator: it ends once the inbox is closed and drained, or
   * when `signal` aborts. A plain iterator rather than an async generator: one promise per message
   * instead of a generator's several.
   * @example
   * ```ts
   * for await (const message of inbox.messages(AbortSignal.timeout(1000))) handle(message);
   * ```
   */
  messages(signal?: AbortSignal): AsyncIterableIterator<Message> {
    let finished = false;
    const end = (): IteratorResult<Message> => {
      finished = true;
      return { done: true, value: undefined };
    };
    const step = (m: Message | undefined): IteratorResult<Message> =>
      m === undefined ? end() : { done: false, value: m };
    return {
      next: () => {
        if (finished || (this.closed && this.size === 0)) return Promise.resolve(end());
        if (signal === undefined) return this.nextResult();
        const ready = signal.aborted ? undefined : this.poll();
        if (ready !== undefined) return Promise.resolve({ done: false, value: ready });
        return this.shift(signal).then(step);
      },
      return: () => Promise.resolve(end()),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private addTaker(taker: Taker | ResultTaker, takesResult: boolean): void {
    this.takers.push(taker);
    this.takesResult.push(takesResult);
  }

  /** Ends every waiting `shift()` with `undefined`; later shifts drain what is left, then end. */
  close(): void {
    this.closed = true;
    const results = this.takesResult.splice(0);
    this.takers.splice(0).forEach((t, i) => {
      if (results[i] === true) (t as ResultTaker)({ done: true, value: undefined });
      else (t as Taker)(undefined);
    });
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}
