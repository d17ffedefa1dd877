/**
 * Messages kept for peers that failed, delivered first and in order when they rejoin.
 * @module
 */
import type { Message } from "../core/message.ts";

/**
 * Per-peer bounded FIFO caches. When a cache is full the oldest message is dropped and counted.
 *
 * @example
 * ```ts
 * const cache = new RejoinCache(1024);
 * cache.add("worker.1", message);
 * for (const m of cache.take("worker.1")) await deliver(m);
 * ```
 */
export class RejoinCache {
  private readonly caches = new Map<string, Message[]>();
  /** Messages dropped because a cache was full (or its peer was forgotten). */
  dropped = 0;
  /** Messages cached now, for all peers. */
  total = 0;

  constructor(readonly maxLength: number) {}

  /** Caches `message` for `peer`; returns false when an older message had to be dropped. */
  add(peer: string, message: Message): boolean {
    let list = this.caches.get(peer);
    if (!list) {
      list = [];
      this.caches.set(peer, list);
    }
    list.push(message);
    if (list.length > this.maxLength) {
      list.shift();
      this.dropped++;
      return false;
    }
    this.total++;
    return true;
  }

  /** Number of messages cached for `peer`. */
  size(peer: string): number {
    return this.caches.get(peer)?.length ?? 0;
  }

  /** Removes and returns every message cached for `peer`, oldest first. */
  take(peer: string): Message[] {
    const list = this.caches.get(peer) ?? [];
    this.caches.delete(peer);
    this.total -= list.length;
    return list;
  }

  /** Forgets `peer`, counting its messages as dropped. */
  forget(peer: string): number {
    const n = this.take(peer).length;
    this.dropped += n;
    return n;
  }
}
