/**
 * A bound on background jobs running at once (`Task.asyncExecutor` and its `nAsyncWorkers`).
 * @module
 */

/**
 * Runs jobs, at most `limit` at once; the others wait their turn, first come, first served.
 * @example
 * ```ts
 * const pool = new JobPool(2);
 * const jobs = [1, 2, 3].map((n) => pool.run(async (x: number) => x * 10, [n]));
 * console.log(await Promise.all(jobs)); // [10, 20, 30]; the third started when one of the first two ended
 * ```
 */
export class JobPool {
  /** Most jobs running at once; checked when a job is handed to {@link JobPool.run}. */
  limit: number;
  #active = 0;
  #queue: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /**
   * Runs `fn(...args)` as soon as fewer than `limit` jobs run, never synchronously (a throw becomes a
   * rejection). Settles as the job does.
   */
  run<A extends unknown[]>(fn: (...args: A) => unknown, args: A): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const go = (): void => {
        this.#active++;
        Promise.resolve()
          .then(() => fn(...args))
          .then(resolve, reject)
          .finally(() => {
            this.#active--;
            this.#queue.shift()?.();
          });
      };
      if (this.#active < this.limit) go();
      else this.#queue.push(go);
    });
  }
}
