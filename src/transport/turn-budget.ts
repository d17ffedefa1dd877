/**
 * How often a run of operations that never pass through the event loop lets it run.
 * @module
 */

/**
 * Counts operations done without a turn of the event loop (ZeroMQ sends and receives that complete at
 * once, for instance) and says when one should first wait for the next turn, so that timers and I/O still
 * run during a long run of them.
 * @example
 * ```ts
 * import { setImmediate as nextTurn } from "node:timers/promises";
 * const turns = new TurnBudget(256);
 * for (const frames of batch) {
 *   if (turns.spend()) await nextTurn();
 *   await socket.send(frames);
 * }
 * ```
 */
export class TurnBudget {
  private used = 0;

  /** @param perTurn operations allowed in a row before one waits for the next turn. */
  constructor(private readonly perTurn: number) {}

  /** Counts one operation; true when it should first wait for the next turn (the count starts again). */
  spend(): boolean {
    if (++this.used < this.perTurn) return false;
    this.used = 0;
    return true;
  }
}
