/**
 * Which peers each recent outgoing session awaits replies from: `receiveById` needs them to know whose
 * replies to wait for and which peer's death ends the wait.
 * @module
 */
import { ownIdSequence } from "../core/ids.ts";
import { OwnSessionRing } from "./own-session-ring.ts";
import type { Expectation } from "./reply-waiter.ts";

/** One peer name, or a list after a broadcast. */
export type Targets = string | readonly string[];

// Sessions started here are indexed by their id's counter in a ring: every send remembers one, and hashing
// a fresh id string into a Map cost about twice as much as the rest of the bookkeeping of a small send.
const RING_BITS = 17;
// Sessions of other processes (replies, forwards) go to two map generations: when the newer one holds
// this many the older one is dropped whole, so remembering stays O(1). Small, because a wait on such a
// session follows its send closely, and each id held here is kept alive: with 50 000 per generation a
// worker answering a pipeline of requests spent about 10 % more CPU per reply, mostly collecting them.
const GENERATION_SIZE = 4096;

/**
 * The targets of the most recent sessions: at least the last 131 072 started by this process and the
 * last 4096 of other processes' sessions sent on from here. Older ones are forgotten (a wait on them
 * still matches replies by session id, it just cannot name whose replies to expect).
 * @example
 * ```ts
 * const targets = new SessionTargets();
 * targets.remember(message.sessionId, message.destination);
 * targets.get(message.sessionId); // "worker.0"
 * targets.forget(message.sessionId);
 * ```
 */
export class SessionTargets {
  private readonly ring = new OwnSessionRing<Targets>(RING_BITS);
  private newer = new Map<string, Targets>();
  private older = new Map<string, Targets>();

  /** Records that session `id` awaits replies from `targets`. */
  remember(id: string, targets: Targets): void {
    const seq = ownIdSequence(id);
    if (seq >= 0) {
      this.ring.set(seq, targets);
      return;
    }
    this.newer.set(id, targets);
    if (this.newer.size >= GENERATION_SIZE) {
      this.older = this.newer;
      this.newer = new Map();
    }
  }

  /** The targets of session `id`, if remembered. */
  get(id: string): Targets | undefined {
    const seq = ownIdSequence(id);
    if (seq >= 0) return this.ring.get(seq);
    return this.newer.get(id) ?? this.older.get(id);
  }

  /** Forgets session `id` (its replies have come, or the wait for them ended). */
  forget(id: string): void {
    const seq = ownIdSequence(id);
    if (seq >= 0) {
      this.ring.delete(seq);
      return;
    }
    this.newer.delete(id);
    this.older.delete(id);
  }

  /**
   * One expectation per id of `sessionIds` (an id may repeat, e.g. after a broadcast), naming the peer
   * its reply must come from when that is remembered: the n-th occurrence of an id expects its n-th
   * target.
   */
  expectations(sessionIds: readonly string[]): Expectation[] {
    if (sessionIds.length === 1) {
      // The common case (send, reply): one session, at most one target, without the per-id bookkeeping.
      const id = sessionIds[0] as string;
      const known = this.get(id);
      const source = typeof known === "string" ? known : known?.[0];
      return [source === undefined ? { sessionId: id } : { sessionId: id, source }];
    }
    const expectations: Expectation[] = [];
    const perId = new Map<string, string[]>();
    for (const id of sessionIds) {
      let targets = perId.get(id);
      if (targets === undefined) {
        const known = this.get(id);
        targets = known === undefined ? [] : typeof known === "string" ? [known] : [...known];
        perId.set(id, targets);
      }
      const source = targets.shift();
      expectations.push(source === undefined ? { sessionId: id } : { sessionId: id, source });
    }
    return expectations;
  }
}
