/**
 * A FIFO mutual-exclusion lock for middlewares that must not overlap (`task.use(fn, { lock: true })`).
 * @module
 */

/**
 * Releases a held {@link Lock}. Calling it twice is harmless.
 * @example
 * ```ts
 * const release: Release = await lock.acquire();
 * try {
 *   await writeCheckpoint();
 * } finally {
 *   release();
 * }
 * ```
 */
export type Release = () => void;

/**
 * A FIFO async mutex. Acquiring a free lock is synchronous (see {@link Lock.tryAcquire}), so middlewares
 * that never contend pay no extra turn of the event loop.
 * @example
 * ```ts
 * const lock = new Lock();
 * await lock.runExclusive(async () => { await writeCheckpoint(); });
 * ```
 */
export class Lock {
  #held = false;
  #waiters: Array<(release: Release) => void> = [];

  /** True while someone holds the lock. */
  get locked(): boolean {
    return this.#held;
  }

  /** Takes the lock if it is free and returns its release function, else `undefined`. */
  tryAcquire(): Release | undefined {
    if (this.#held) return undefined;
    this.#held = true;
    return this.#releaser();
  }

  /** Waits for the lock (first come, first served) and resolves to its release function. */
  acquire(): Promise<Release> {
    const r = this.tryAcquire();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Runs `fn` while holding the lock; the lock is released even when `fn` throws. */
  async runExclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      // Hand the lock straight to the next waiter so nobody can barge in between.
      if (next !== undefined) next(this.#releaser());
      else this.#held = false;
    };
  }
}
