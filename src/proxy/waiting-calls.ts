/**
 * The calls of one proxy that wait for replies (send, scatter, broadcast, receiveById), indexed by the
 * session ids they await, so that each received message goes to the call it answers.
 * @module
 */
import { ownIdSequence } from "../core/ids.ts";
import type { Message } from "../core/message.ts";
import type { Inbox } from "./inbox.ts";
import { OwnSessionRing } from "./own-session-ring.ts";
import { ReplyWaiter, type Expectation } from "./reply-waiter.ts";

/** Ring slots (2^n) for calls awaiting a session of this process (more calls in flight use the map). */
const RING_BITS = 12;

/**
 * Waiting calls by session id.
 * @example
 * ```ts
 * const calls = new WaitingCalls(inbox);
 * const waiter = calls.add([{ sessionId, source: "worker.0" }], 5000);
 * if (!calls.offer(received)) inbox.push(received); // not a reply anyone waits for
 * const replies = await waiter.done;
 * ```
 */
export class WaitingCalls {
  // A call awaiting one session this process started (send, the usual case) sits in a ring slot chosen by
  // the session id's counter: no string hashing and no Set per call. Every other call, and one whose
  // slot is taken, is indexed in the map by session id.
  private readonly ring = new OwnSessionRing<ReplyWaiter>(RING_BITS);
  private readonly bySession = new Map<string, Set<ReplyWaiter>>();

  /** @param settled called for each call once it has ended (replies in, failed or timed out). */
  constructor(
    private readonly inbox: Inbox,
    private readonly settled: (waiter: ReplyWaiter) => void = () => {},
  ) {}

  /** Whether no call waits. */
  get empty(): boolean {
    return this.ring.size === 0 && this.bySession.size === 0;
  }

  /** Hands `message` to the first waiting call it answers; false when none takes it. */
  offer(message: Message): boolean {
    if (this.ring.size > 0) {
      const seq = ownIdSequence(message.sessionId);
      if (seq >= 0 && this.ring.get(seq)?.offer(message) === true) return true;
    }
    // (No lookup while no call waits: hashing each fresh session id costs more than the rest of a receive.)
    const set = this.bySession.size === 0 ? undefined : this.bySession.get(message.sessionId);
    if (set) for (const w of set) if (w.offer(message)) return true;
    return false;
  }

  /**
   * A new waiting call for `expectations` under `timeoutMs` (none when undefined). Replies that reached the
   * inbox before the call are taken from it first. (No closures made per call here: this runs for every
   * request, and the dev-time transform also wraps each named one it creates.)
   */
  add(expectations: Expectation[], timeoutMs: number | undefined): ReplyWaiter {
    const waiter = new ReplyWaiter(expectations, timeoutMs, this.remove);
    if (waiter.settled) return waiter;
    const ids = waiter.awaitedIds;
    if (ids.length !== 1 || !this.putInRing(ids[0] as string, waiter)) {
      for (const id of ids) {
        let set = this.bySession.get(id);
        if (!set) this.bySession.set(id, (set = new Set()));
        set.add(waiter);
      }
    }
    while (this.inbox.size > 0 && !waiter.settled) {
      const m = this.inbox.takeMatching((x) => waiter.sessionIds().includes(x.sessionId));
      if (m === undefined) break;
      if (!waiter.offer(m)) {
        this.inbox.push(m);
        break;
      }
    }
    // A reader paused on a full inbox must go on: the awaited replies may be behind unclaimed messages.
    if (!waiter.settled) this.inbox.releaseReader();
    return waiter;
  }

  /** A call settled: it is no longer indexed. One function for every waiter rather than one per call. */
  private readonly remove = (w: ReplyWaiter): void => {
    const ids = w.awaitedIds;
    if (ids.length !== 1 || !this.takeFromRing(ids[0] as string, w)) {
      for (const id of ids) {
        const set = this.bySession.get(id);
        set?.delete(w);
        if (set?.size === 0) this.bySession.delete(id);
      }
    }
    this.settled(w);
  };

  /**
   * Puts a call awaiting own session `id` in its ring slot; false when the slot is taken or the map already
   * has calls on `id`.
   */
  private putInRing(id: string, waiter: ReplyWaiter): boolean {
    const seq = ownIdSequence(id);
    if (seq < 0) return false;
    // A call already waiting on this id in the map came first and must be offered replies first.
    if (this.bySession.size > 0 && this.bySession.has(id)) return false;
    return this.ring.setIfFree(seq, waiter);
  }

  /** Removes `waiter` from the ring slot of `id`; false when it is not there. */
  private takeFromRing(id: string, waiter: ReplyWaiter): boolean {
    const seq = ownIdSequence(id);
    return seq >= 0 && this.ring.delete(seq, waiter);
  }

  /** Peer `name` is gone: calls awaiting it end (`drop`: they resolve without its replies instead of failing). */
  peerGone(name: string, drop: boolean): void {
    for (const w of this.waiters()) w.peerGone(name, drop);
  }

  /** Ends every waiting call, each with its own error from `error()`. */
  failAll(error: () => Error): void {
    for (const w of this.waiters()) w.fail(error());
  }

  /** Every waiting call once, collected first: ending one edits the ring and the map. */
  private waiters(): ReplyWaiter[] {
    const all = new Set<ReplyWaiter>();
    for (const w of this.ring.values()) all.add(w);
    for (const set of this.bySession.values()) for (const w of set) all.add(w);
    return [...all];
  }
}
